package dev.squeeze.engine;

import java.util.Locale;

/**
 * Person-readable words for the JVM {@link Error}s that are not bugs but limits: running out of heap, or a stack
 * too deep for an input. The CLI and the workbench print these instead of a stack trace.
 */
public final class ResourceErrors {
    private ResourceErrors() {
    }

    /** Whether {@code t} is a resource limit rather than a bug. */
    public static boolean isResourceLimit(Throwable t) {
        return t instanceof OutOfMemoryError || t instanceof StackOverflowError;
    }

    /**
     * What happened and what to do, for a {@link #isResourceLimit resource limit}.
     *
     * @param doing what Squeeze was doing, e.g. "opening /models/llama-7b.bin" (may be null)
     * @param fix   how to give this process more memory (the CLI and the workbench have different knobs)
     */
    public static String describe(Throwable t, String doing, String fix) {
        String during = doing == null || doing.isBlank() ? "" : " while " + doing;
        if (t instanceof StackOverflowError) {
            return "Squeeze ran out of stack" + during + ": the input nests too deeply to be processed."
                    + "\n  Fix: check the input; if it is valid, please report it";
        }
        long maxMb = Runtime.getRuntime().maxMemory() >> 20;
        String what = t.getMessage() == null ? "" : " (" + t.getMessage().toLowerCase(Locale.ROOT) + ")";
        return "Squeeze ran out of memory" + during + what + "; this process may use at most " + maxMb
                + " MB of heap.\n  Fix: " + fix;
    }
}
