package dev.squeeze.engine.jobs.launch;

import dev.squeeze.engine.jobs.protocol.WorkerMessage;

/**
 * How a worker ended.
 *
 * @param last     its Result, Failed or Cancelled message; null if it ended without one
 * @param exitCode its exit status where known (-1 when not)
 * @param crash    when {@code last} is null and the worker was not detached: what its exit status, the log and (on a
 *                 cluster) the scheduler say happened, for the user
 * @param detached the parent stopped reading while the worker went on (a Slurm job left running on close)
 */
public record WorkerEnding(WorkerMessage last, int exitCode, String crash, boolean detached) {
    public static WorkerEnding detachedNow() {
        return new WorkerEnding(null, -1, null, true);
    }
}
