package dev.squeeze.engine;

import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * Person-readable words for the JVM {@link Error}s that are not bugs but limits: running out of heap, or a stack
 * too deep for an input. The CLI and the workbench print these instead of a stack trace.
 *
 * <p>The heap of the CLI and of the workbench is the JVM's default (a quarter of memory) unless the launcher is
 * told otherwise: {@code SQUEEZE_HEAP=12g ./squeeze ...} (passed on as {@code -Xmx}; it does not reach job
 * workers, whose heap is {@code --worker-heap}).
 */
public final class ResourceErrors {
    private static final long GIB = 1L << 30;

    private ResourceErrors() {
    }

    /** The resource limit among {@code t} and its causes, or null when there is none (then it is a bug). */
    public static Error limitIn(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof OutOfMemoryError || c instanceof StackOverflowError) {
                return (Error) c;
            }
        }
        return null;
    }

    /**
     * What happened and what to do, for a {@link #limitIn resource limit}.
     *
     * @param doing what Squeeze was doing, e.g. "running 'squeeze inspect'"
     */
    public static String describe(Error limit, String doing) {
        if (limit instanceof OutOfMemoryError oom) {
            return outOfMemory(oom, doing, Runtime.getRuntime().maxMemory(), physicalMemory());
        }
        return "Squeeze ran out of stack while " + doing + ": the input nests too deeply to be processed."
                + "\n  Fix: check the input; if it is valid, please report it";
    }

    /** The words for running out of heap, suggesting a heap that fits the machine ({@code physical}, 0: unknown). */
    public static String outOfMemory(OutOfMemoryError e, String doing, long maxHeap, long physical) {
        String what = String.format(Locale.ROOT, "Squeeze ran out of memory (%s; the heap may grow to %,d MB) while %s",
                e.getMessage() == null ? "OutOfMemoryError" : e.getMessage(), maxHeap >> 20, doing);
        // Twice the heap, in whole GiB, but leave the system a tenth of the machine.
        long suggest = Math.max(1, (2 * maxHeap + GIB - 1) / GIB);
        String machine = "";
        if (physical > 0) {
            suggest = Math.min(suggest, physical * 9 / 10 / GIB);
            machine = String.format(Locale.ROOT, " (this machine has %.1f GiB)", physical / (double) GIB);
        }
        if (suggest * GIB <= maxHeap) {
            return what + "\n  Fix: this machine" + machine + " has no more memory to give; work on a smaller model,"
                    + " or on a machine with more memory";
        }
        return what + String.format(Locale.ROOT, "%n  Fix: give it a larger heap: SQUEEZE_HEAP=%dg ./squeeze ...%s,"
                + " or java -Xmx%dg when you start Squeeze's jar yourself", suggest, machine, suggest);
    }

    /** Total physical memory (the container's limit inside one), or 0 when the JVM cannot tell. */
    public static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return 0;
    }
}
