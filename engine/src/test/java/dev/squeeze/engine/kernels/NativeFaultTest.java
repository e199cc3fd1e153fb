package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.squeeze.engine.testing.FaultingMain;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test-only native fault: a child JVM that calls it really dies of SIGSEGV in our library, the parent
 * can tell, and the parent is unharmed. Without {@code -Dsqueeze.test.faults=true} it is refused.
 */
class NativeFaultTest {

    /** Generous: HotSpot writes its whole error report before it aborts; this is a hang guard, not a timing. */
    private static final long CHILD_TIMEOUT_SECONDS = 120;

    /** A crash test without the native library has nothing to crash in: skip locally, fail under CI. */
    private static void requireNativeUnlessLocal() {
        NativeLibrary.Status status = NativeLibrary.status();
        if (!status.available()) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail("under CI=true the native library must load for the crash tests: " + status.problem());
            }
            Assumptions.abort("native kernels unavailable, so there is no native code to crash in: "
                    + status.problem());
        }
    }

    @Test
    void refusedWithoutTheProperty() {
        Assumptions.assumeFalse(Boolean.getBoolean(NativeFaults.PROPERTY),
                "this test JVM itself runs with -D" + NativeFaults.PROPERTY + "=true");
        IllegalStateException e = assertThrows(IllegalStateException.class, NativeFaults::segfault);
        assertTrue(e.getMessage().contains("-D" + NativeFaults.PROPERTY + "=true"),
                () -> "the refusal should say how to enable it: " + e.getMessage());
    }

    /** The C side's own check, reached past the Java wrapper: only kind 1 faults, anything else throws. */
    @Test
    void bridgeRejectsUnknownFaultKinds() {
        requireNativeUnlessLocal();
        for (int kind : new int[] {0, 2, -1, Integer.MAX_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> NativeBridge.faultForTest(kind));
            assertTrue(e.getMessage().contains("got " + kind), e::getMessage);
        }
    }

    @Test
    void childJvmDiesOfSigsegvInOurLibraryAndTheParentCarriesOn(@TempDir Path tmp) throws Exception {
        requireNativeUnlessLocal();
        Path out = tmp.resolve("child.out");
        Path err = tmp.resolve("child.err");
        // The child's working directory is the temp folder too, so nothing it leaves (a core file where
        // core dumps are enabled) lands in the module folder.
        Process child = new ProcessBuilder(childCommand(tmp)).directory(tmp.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!child.waitFor(CHILD_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            fail("the faulting child JVM did not die within " + CHILD_TIMEOUT_SECONDS + " s: " + read(out) + read(err));
        }
        int exit = child.exitValue();
        String stdout = read(out);
        String stderr = read(err);
        String both = "exit " + exit + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;

        assertTrue(stdout.contains(FaultingMain.READY), () -> "the child never reached the fault: " + both);
        assertNotEquals(0, exit, both);
        if (NativeLibrary.platform().startsWith("linux")) {
            // HotSpot's handler aborts after its report: 128 + SIGABRT (6). Exit 1 would be a Java exception.
            assertEquals(134, exit, () -> "expected death by SIGABRT after the crash report: " + both);
        }
        // HotSpot prints its fatal-error summary on stdout (stderr has only what the program wrote), e.g.
        //   #  SIGSEGV (0xb) at pc=0x..., pid=..., tid=...
        //   # C  [libsqueeze_kernels.so+0x241c]  fault_for_test+0xc
        assertTrue(stdout.contains("SIGSEGV (0xb)"), () -> "the crash summary should name SIGSEGV: " + both);
        assertTrue(stdout.contains("C  [" + NativeLibrary.LIBRARY), () -> "the problematic frame should be ours: " + both);

        Path errorFile = tmp.resolve("hs_err_" + child.pid() + ".log");
        assertTrue(Files.isRegularFile(errorFile), () -> "no error file at " + errorFile + ": " + both);
        String report = Files.readString(errorFile);
        assertTrue(report.contains("si_signo: 11 (SIGSEGV)"), "the error file should name SIGSEGV");
        assertTrue(report.contains("Problematic frame") && report.contains(NativeLibrary.LIBRARY),
                "the error file should name our library as the problematic frame");

        // The parent, which has the same library loaded, still computes correctly.
        assertNull(PackedMatMul.selfTest(NativePacked.load()));
    }

    private static List<String> childCommand(Path tmp) {
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> command = new ArrayList<>();
        if (Files.isExecutable(Path.of("/bin/sh"))) {
            // No core file: it would cost seconds and megabytes. HotSpot still aborts (status 134), because it
            // decides by -XX:+CreateCoredumpOnCrash, not by the limit; -XX:-CreateCoredumpOnCrash would make
            // it _exit(1), which a parent could not tell from an uncaught exception.
            command.addAll(List.of("/bin/sh", "-c", "ulimit -c 0 && exec \"$@\"", "sh"));
        }
        command.addAll(List.of(java,
                "--enable-native-access=ALL-UNNAMED",
                "-D" + NativeFaults.PROPERTY + "=true",
                "-XX:ErrorFile=" + tmp.resolve("hs_err_%p.log"),
                "-Xss512k", "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        String libraryPath = System.getProperty(NativeLibrary.PATH_PROPERTY);
        if (libraryPath != null) {
            command.add("-D" + NativeLibrary.PATH_PROPERTY + "=" + libraryPath); // load what this JVM loaded
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), FaultingMain.class.getName()));
        return command;
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "(unreadable " + file + ": " + e + ")";
        }
    }
}
