package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks a worker heap size ({@code --worker-heap}, {@code SQUEEZE_WORKER_HEAP}) before any job is queued. The
 * value becomes the worker's {@code -Xmx}; a JVM that cannot start with it ("Too small maximum heap", "Could not
 * reserve enough space") fails every job with nothing but an exit status, so the CLI says what is wrong first.
 */
final class WorkerHeap {
    /** Below this a worker JVM starts, but cannot hold even the built-in sample and its evaluation data. */
    static final long MIN_BYTES = 64L << 20;

    private static final Pattern SIZE = dev.squeeze.engine.jobs.JobEngine.Options.HEAP_SIZE;

    private WorkerHeap() {
    }

    /**
     * Checks {@code value}, named {@code source} in messages (e.g. {@code --worker-heap}); returns it unchanged.
     * The size must be {@code -Xmx} syntax (digits, then k, m, g or t) from {@link #MIN_BYTES} to the machine's
     * physical memory.
     */
    static String check(String value, String source) {
        return check(value, source, dev.squeeze.engine.ResourceErrors.physicalMemory());
    }

    static String check(String value, String source, long physical) {
        String v = value.strip();
        Matcher m = SIZE.matcher(v);
        String machine = physical > 0 ? " (this machine has " + human(physical) + " of memory)" : "";
        if (!m.matches()) {
            throw new SqueezeException(source + " is '" + value + "', which is not a heap size",
                    "give a number with k, m, g or t, as for java -Xmx: e.g. 2g or 1500m" + machine);
        }
        long bytes = bytes(m.group(1), m.group(2));
        if (bytes < MIN_BYTES) {
            throw new SqueezeException(source + " is " + v + " (" + human(bytes) + "); a worker needs at least 64m",
                    "give e.g. 2g" + machine);
        }
        if (physical > 0 && bytes > physical) {
            throw new SqueezeException(source + " is " + v + " (" + human(bytes) + "), more than this machine's "
                    + human(physical) + " of memory",
                    "give at most " + (physical >> 30) + "g, and leave room for the other workers and Squeeze itself");
        }
        return v;
    }

    /**
     * Checks that a heap ({@link #check}ed already) leaves room for the JVM itself in a Slurm job's memory
     * ({@code memory} as sbatch --mem takes it: megabytes, or with K, M, G or T), which Slurm enforces: a worker
     * whose heap fills it is killed.
     */
    static void checkWithin(String heap, String heapSource, String memory, String memorySource) {
        Matcher h = SIZE.matcher(heap.strip());
        Matcher m = Pattern.compile("(\\d+)([kKmMgGtT]?)").matcher(memory.strip());
        if (!h.matches() || !m.matches()) {
            return; // not sizes: their own checks say so
        }
        long heapBytes = bytes(h.group(1), h.group(2));
        long memoryBytes = bytes(m.group(1), m.group(2).isEmpty() ? "m" : m.group(2));
        if (memoryBytes == 0) {
            return; // --mem=0: all of the node's memory, whatever that is
        }
        if (heapBytes > memoryBytes / 10 * 9) {
            throw new SqueezeException(heapSource + " is " + heap + " (" + human(heapBytes) + "), too much for the "
                    + human(memoryBytes) + " each Slurm job has (" + memorySource + " " + memory + "): the JVM needs"
                    + " room beside its heap, and Slurm kills a job that exceeds its memory",
                    "give at most " + (memoryBytes / 10 * 8 >> 20) + "m, or leave " + heapSource + " out (80 % of "
                            + memorySource + " then)");
        }
    }

    /** The size in bytes; Long.MAX_VALUE when it overflows (it is then "more than this machine's memory"). */
    private static long bytes(String digits, String unit) {
        int shift = switch (unit.toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        try {
            long n = Long.parseLong(digits);
            return n > (Long.MAX_VALUE >> shift) ? Long.MAX_VALUE : n << shift;
        } catch (NumberFormatException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    static String human(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "more than 8 EiB";
        }
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%,d bytes", bytes);
    }
}
