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
}
