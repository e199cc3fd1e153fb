package dev.squeeze.engine.jobs.launch;

/**
 * Where a job's worker runs, as the job table records it.
 *
 * @param launcher {@code local} or {@code slurm}
 * @param workerId the local worker's process id, or the Slurm job id; null until known
 * @param node     the machine it runs on (this one, or a cluster node); null until known
 */
public record Placement(String launcher, String workerId, String node) {
    public static final String LOCAL = "local";
    public static final String SLURM = "slurm";

    /** For people, as the job table shows it ({@link dev.squeeze.engine.store.JobRow#where}). */
    public String describe() {
        return dev.squeeze.engine.store.JobRow.where(launcher, workerId, node);
    }
}
