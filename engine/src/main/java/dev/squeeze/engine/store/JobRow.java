package dev.squeeze.engine.store;

import java.time.Instant;

/**
 * One job as the database holds it.
 *
 * @param specJson the job's specification (see {@code dev.squeeze.engine.jobs.JobSpec})
 * @param model    the model as the user named it
 * @param reason   why it failed, was cancelled or interrupted; null otherwise
 * @param runId    the run it produced, once DONE
 * @param launcher where its worker runs: {@code local} or {@code slurm}
 * @param launcherSettings the Slurm settings it was submitted with (JSON), null for local jobs
 * @param workerId the latest attempt's process id (local) or Slurm job id; null before it started
 * @param node     the machine the latest attempt ran on; null before it is known
 * @param jobRoot  a Slurm job's folder under the shared directory (its checkpoints, log, protocol files); null for
 *                 local jobs, whose folder is beside the database
 */
public record JobRow(long id, String specJson, String specHash, String model, String label, JobStatus status,
                     Instant createdAt, Instant startedAt, Instant finishedAt, int attempts, int layersDone,
                     int layersTotal, String phase, String reason, Long runId, String launcher,
                     String launcherSettings, String workerId, String node, String jobRoot) {
    /** Whether its worker runs (or ran) on a Slurm cluster. */
    public boolean onSlurm() {
        return "slurm".equals(launcher);
    }

    /**
     * Where it runs or ran, for people: {@code local}, {@code local, pid 4711 on host}, {@code Slurm job 12 on node2},
     * {@code Slurm job 12} (pending), {@code Slurm} (not submitted yet).
     */
    public String where() {
        return where(launcher, workerId, node);
    }

    /** {@link #where()} of a job on {@code launcher} ({@code local} or {@code slurm}) in worker {@code workerId} on {@code node}. */
    public static String where(String launcher, String workerId, String node) {
        String on = node == null || node.isBlank() ? "" : " on " + node;
        if ("slurm".equals(launcher)) {
            return workerId == null ? "Slurm" : "Slurm job " + workerId + on;
        }
        return workerId == null ? "local" : "local, pid " + workerId + on;
    }
}
