package dev.squeeze.engine.jobs;

/**
 * Lets progress reports through at most once per interval (and always the one that completes a phase), so a
 * phase that reports every sequence or batch does not flood the protocol or the listeners. Not thread-safe: one
 * per job.
 */
final class ProgressThrottle {
    /** At most ten progress reports a second. */
    static final long INTERVAL_NANOS = 100_000_000L;

    private final long intervalNanos;
    private long last;
    private boolean any;
    private String lastPhase;

    ProgressThrottle(long intervalNanos) {
        this.intervalNanos = intervalNanos;
    }

    /**
     * Whether a report of {@code done} of {@code total} in {@code phase} at {@code nowNanos} goes out: the first of
     * a phase, a complete one ({@code done == total}), or one at least the interval after the last that went out.
     */
    boolean admit(String phase, long done, long total, long nowNanos) {
        boolean newPhase = !phase.equals(lastPhase);
        if (any && !newPhase && done < total && nowNanos - last < intervalNanos) {
            return false;
        }
        any = true;
        last = nowNanos;
        lastPhase = phase;
        return true;
    }
}
