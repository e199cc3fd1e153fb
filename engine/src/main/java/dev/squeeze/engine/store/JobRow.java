package dev.squeeze.engine.store;

import java.time.Instant;

/**
 * One job as the database holds it.
 *
 * @param specJson the job's specification (see {@code dev.squeeze.engine.jobs.JobSpec})
 * @param model    the model as the user named it
 * @param reason   why it failed, was cancelled or interrupted; null otherwise
 * @param runId    the run it produced, once DONE
 */
public record JobRow(long id, String specJson, String specHash, String model, String label, JobStatus status,
                     Instant createdAt, Instant startedAt, Instant finishedAt, int attempts, int layersDone,
                     int layersTotal, String phase, String reason, Long runId) {
}
