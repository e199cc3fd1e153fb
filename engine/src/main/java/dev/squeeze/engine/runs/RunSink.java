package dev.squeeze.engine.runs;

import dev.squeeze.engine.store.RunRecord;

/**
 * Where a finished run goes: into the results database ({@code store::recordRun}) in the process that holds it,
 * or back to that process over the job protocol from a worker. Returns the run's id, or -1 when the receiver
 * assigns it later.
 */
@FunctionalInterface
public interface RunSink {
    long accept(RunRecord run);

    /**
     * One of several runs of a job that makes many (a search's front): stored at once, without ending the job.
     * {@code pointKey} names the run within its job; a run whose key the job already stored (a resumed job
     * repeating its last point) is not stored twice. In the calling process it is simply {@link #accept}.
     */
    default long acceptPoint(RunRecord run, String pointKey) {
        return accept(run);
    }
}
