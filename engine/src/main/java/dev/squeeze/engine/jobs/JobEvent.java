package dev.squeeze.engine.jobs;

import dev.squeeze.engine.store.JobStatus;

/**
 * Something that happened to a job, for whoever watches the engine (the CLI's progress bar, the workbench's job
 * table). Events of one job arrive in order, on the engine's threads: listeners must not block.
 *
 * @param layersDone  layers finished so far (computed or restored), of {@code layersTotal} (0 until known)
 * @param layer       the layer concerned (LAYER), else null
 * @param message     WARNING text, or the reason of an ENDED job that did not finish
 * @param runId       the stored run, when ENDED with status DONE
 * @param progress    how far the current phase is (PROGRESS: calibration windows, evaluation tokens or images),
 *                    else null
 */
public record JobEvent(long jobId, String label, Kind kind, JobStatus status, String phase, String detail,
                       int layersDone, int layersTotal, String layer, String message, Long runId,
                       PhaseProgress progress) {

    /**
     * PROGRESS: work within the phase moved on (at most about ten events a second per job, and one when the
     * phase's work is complete).
     */
    /**
     * What happened. PLACED: the job's worker was submitted or started somewhere ({@code message}: where, e.g.
     * "Slurm job 12 on node2"; the job's row says it too).
     */
    public enum Kind { STARTED, PLACED, PHASE, PROGRESS, LAYER, WARNING, ENDED }

    /** {@code done} of {@code total} {@code unit}s of the current phase ({@code 0 <= done <= total}, total > 0). */
    public record PhaseProgress(long done, long total, String unit) {
        public PhaseProgress {
            if (total <= 0 || done < 0 || done > total) {
                throw new IllegalArgumentException("progress " + done + " of " + total);
            }
        }

        public double fraction() {
            return (double) done / total;
        }
    }

    /** An event without phase progress (every kind but PROGRESS). */
    public JobEvent(long jobId, String label, Kind kind, JobStatus status, String phase, String detail,
                    int layersDone, int layersTotal, String layer, String message, Long runId) {
        this(jobId, label, kind, status, phase, detail, layersDone, layersTotal, layer, message, runId, null);
    }

    /**
     * How far the current phase is, 0..1, or null when the event does not say: a PROGRESS event's fraction; in
     * compression, the layers done of the plan's layers.
     */
    public Double phaseFraction() {
        if (progress != null) {
            return progress.fraction();
        }
        if ("compression".equals(phase) && layersTotal > 0 && status == JobStatus.RUNNING) {
            return Math.min(1.0, (double) layersDone / layersTotal);
        }
        return null;
    }

    /** A one-line description for logs and piped output. */
    public String describe() {
        return switch (kind) {
            case STARTED -> "job " + jobId + " (" + label + "): started";
            case PHASE -> "job " + jobId + " (" + label + "): " + phase + (detail == null || detail.isEmpty() ? ""
                    : " (" + detail + ")");
            case PROGRESS -> "job " + jobId + " (" + label + "): " + phase + " " + progress.done() + "/"
                    + progress.total() + " " + progress.unit();
            case LAYER -> "job " + jobId + " (" + label + "): layer " + layersDone + "/" + layersTotal + " " + layer
                    + (message == null ? "" : " " + message);
            case WARNING -> "job " + jobId + " (" + label + "): warning: " + message;
            case PLACED -> "job " + jobId + " (" + label + "): worker: " + message;
            case ENDED -> "job " + jobId + " (" + label + "): " + status.name().toLowerCase(java.util.Locale.ROOT)
                    + (runId != null ? ", run " + runId : "") + (message == null ? "" : ": " + message);
        };
    }
}
