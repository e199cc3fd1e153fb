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
     * (already there when the job resumes); {@code specHash} keys them.
     */
    record Start(int protocol, long jobId, JobSpec spec, String specHash, String checkpointDir)
            implements ParentMessage {
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
