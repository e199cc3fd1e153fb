package dev.squeeze.engine.cli;

import java.util.Locale;

/**
 * What to tell a person whose command ran out of heap. The CLI's heap is the JVM's default (a quarter of memory)
 * unless the launcher is told otherwise: {@code SQUEEZE_HEAP=12g ./squeeze ...} (the launcher passes it as
 * {@code -Xmx}; it does not reach job workers, whose heap is {@code --worker-heap}).
 */
final class OutOfMemory {
    private static final long GIB = 1L << 30;

    private OutOfMemory() {
    }

    static String message(OutOfMemoryError e, String doing) {
        return message(e, doing, Runtime.getRuntime().maxMemory(), WorkerHeap.physicalMemory());
    }

    static String message(OutOfMemoryError e, String doing, long maxHeap, long physical) {
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
}
