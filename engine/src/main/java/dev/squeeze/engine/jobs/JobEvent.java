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
 */
public record JobEvent(long jobId, String label, Kind kind, JobStatus status, String phase, String detail,
                       int layersDone, int layersTotal, String layer, String message, Long runId) {

    public enum Kind { STARTED, PHASE, LAYER, WARNING, ENDED }

    /** A one-line description for logs and piped output. */
    public String describe() {
        return switch (kind) {
            case STARTED -> "job " + jobId + " (" + label + "): started";
            case PHASE -> "job " + jobId + " (" + label + "): " + phase + (detail == null || detail.isEmpty() ? ""
                    : " (" + detail + ")");
            case LAYER -> "job " + jobId + " (" + label + "): layer " + layersDone + "/" + layersTotal + " " + layer
                    + (message == null ? "" : " " + message);
            case WARNING -> "job " + jobId + " (" + label + "): warning: " + message;
            case ENDED -> "job " + jobId + " (" + label + "): " + status.name().toLowerCase(java.util.Locale.ROOT)
                    + (runId != null ? ", run " + runId : "") + (message == null ? "" : ": " + message);
        };
    }
}
