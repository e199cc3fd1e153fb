package dev.squeeze.engine.jobs.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.squeeze.engine.jobs.JobSpec;

/** What the parent (the process that holds the results database) sends a worker, one JSON object per line. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = ParentMessage.Start.class, name = "start"),
        @JsonSubTypes.Type(value = ParentMessage.Cancel.class, name = "cancel")})
public sealed interface ParentMessage {

    /**
     * The first line: do job {@code jobId}. {@code checkpointDir} is where the job's per-layer checkpoints are
     * (already there when the job resumes); {@code specHash} keys them. {@code modelHash}, when not null, is the
     * SHA-256 of the model's content as the parent saw it: a worker on another machine (a cluster node) refuses a
     * model whose content differs, rather than compress another file that happens to have the same path.
     */
    record Start(int protocol, long jobId, JobSpec spec, String specHash, String checkpointDir, String modelHash)
            implements ParentMessage {
        /** A start without a model check (a worker on the parent's own machine reads the same file). */
        public Start(int protocol, long jobId, JobSpec spec, String specHash, String checkpointDir) {
            this(protocol, jobId, spec, specHash, checkpointDir, null);
        }

        public Start {
            Protocol.require(spec, "start", "spec");
            Protocol.require(checkpointDir, "start", "checkpointDir");
            if (Protocol.require(specHash, "start", "specHash").isEmpty()) {
                throw new IllegalArgumentException("start: the field 'specHash' is empty; it keys the job's checkpoints");
            }
        }
    }

    /** Stop at the next safe point (between layers, calibration windows or evaluation sequences). */
    record Cancel(String reason) implements ParentMessage {
    }
}
