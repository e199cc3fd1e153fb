package dev.squeeze.engine.kernels;

/**
 * Test-only native crashes, on purpose. The job engine promises that a worker JVM killed by a segfault in
 * native code becomes a failed, resumable job and never takes the GUI or CLI with it (issue #5); proving
 * that needs a worker that really dies the way a buggy kernel would, not one that merely calls
 * {@code System.exit} or throws. {@link #segfault()} stores through a null pointer inside
 * {@code libsqueeze_kernels}, so the JVM's own crash handler reports SIGSEGV in our library, writes its
 * fatal-error log ({@code -XX:ErrorFile}) and aborts the process.
 *
 * <p>It cannot be reached by accident: every call throws {@link IllegalStateException} unless the JVM was
 * started with {@code -D}{@value #PROPERTY}{@code =true}, which only crash tests pass to the worker JVMs
 * they start. No production code path calls this class.
 */
public final class NativeFaults {

    /** The system property that must be {@code true} for any fault to be raised. */
    public static final String PROPERTY = "squeeze.test.faults";

    private NativeFaults() {
    }

    /**
     * Kills this JVM with a genuine SIGSEGV in native code. Does not return when it works. On Linux with
     * HotSpot (Temurin 25 seen) the process then ends by {@code abort()}: a parent sees exit status 134
     * (128 + SIGABRT); HotSpot's summary on the child's <em>stdout</em> has the lines
     * {@code #  SIGSEGV (0xb) at pc=...} and {@code # C  [libsqueeze_kernels.so+0x...]  fault_for_test+0x...},
     * and the error file ({@code -XX:ErrorFile}, else {@code hs_err_pid<pid>.log} in the working directory)
     * has {@code si_signo: 11 (SIGSEGV)}. A worker launched with {@code -XX:-CreateCoredumpOnCrash} exits
     * with status 1 instead, which a parent cannot tell from an uncaught exception by the status alone.
     *
     * @throws IllegalStateException if {@value #PROPERTY} is not {@code true} (checked first, so a
     *         production JVM is refused before anything native happens), or if the native library did not
     *         load (the pure-Java fallback has no native code to crash in); the message says which and why
     */
    public static void segfault() {
        if (!Boolean.getBoolean(PROPERTY)) {
            throw new IllegalStateException("NativeFaults.segfault() deliberately crashes the JVM and is for"
                    + " crash tests only; it is refused unless the JVM runs with -D" + PROPERTY + "=true");
        }
        if (!NativeLibrary.status().available()) {
            throw new IllegalStateException("NativeFaults.segfault() needs the native kernels, but this JVM uses"
                    + " the pure-Java fallback: " + NativeLibrary.status().problem());
        }
        NativeBridge.faultForTest(NativeBridge.FAULT_SEGV);
        throw new IllegalStateException("the native fault returned: the segfault did not happen");
    }
}
