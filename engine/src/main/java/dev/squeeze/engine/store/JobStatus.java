package dev.squeeze.engine.store;

/** Where a job stands. FAILED and INTERRUPTED jobs can be resumed from their checkpoints. */
public enum JobStatus {
    QUEUED, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED;

    /** Whether {@code squeeze resume} may pick the job up again. */
    public boolean resumable() {
        return this == FAILED || this == INTERRUPTED;
    }

    /** Whether a job in this state can be queued again ({@code resume}): resumable ones, and cancelled ones. */
    public boolean canResume() {
        return resumable() || this == CANCELLED;
    }

    /** Whether a job in this state can be cancelled: queued or running, or failed/interrupted (then for good). */
    public boolean canCancel() {
        return this == QUEUED || this == RUNNING || resumable();
    }

    /** Whether the job has ended for good or for now (not queued, not running). */
    public boolean ended() {
        return this != QUEUED && this != RUNNING;
    }
}
