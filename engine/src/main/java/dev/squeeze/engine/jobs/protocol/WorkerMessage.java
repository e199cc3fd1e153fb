package dev.squeeze.engine.jobs.protocol;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.squeeze.engine.store.RunRecord;

/**
 * What a worker sends its parent, one JSON object per line on its standard output. Exactly one of
 * {@link Result}, {@link Failed} or {@link Cancelled} ends a job; a worker whose output ends without one has
 * crashed, and the parent reports the job failed (resumable) with what it can tell from the exit status.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = WorkerMessage.Hello.class, name = "hello"),
        @JsonSubTypes.Type(value = WorkerMessage.Phase.class, name = "phase"),
        @JsonSubTypes.Type(value = WorkerMessage.Progress.class, name = "progress"),
        @JsonSubTypes.Type(value = WorkerMessage.Layer.class, name = "layer"),
        @JsonSubTypes.Type(value = WorkerMessage.Warning.class, name = "warning"),
        @JsonSubTypes.Type(value = WorkerMessage.Result.class, name = "result"),
        @JsonSubTypes.Type(value = WorkerMessage.Point.class, name = "point"),
        @JsonSubTypes.Type(value = WorkerMessage.Failed.class, name = "failed"),
        @JsonSubTypes.Type(value = WorkerMessage.Cancelled.class, name = "cancelled")})
public sealed interface WorkerMessage {

    /**
     * The first line: the worker's protocol version (the parent refuses another), process id, versions and the name
     * of the machine it runs on ({@code host}: a cluster node, or the parent's own machine).
     */
    record Hello(int protocol, long pid, String squeezeVersion, String javaVersion, String host)
            implements WorkerMessage {
        public Hello {
            Protocol.require(squeezeVersion, "hello", "squeezeVersion");
            Protocol.require(javaVersion, "hello", "javaVersion");
            Protocol.require(host, "hello", "host");
        }
    }

    /** A phase begins: loading, calibration, compression, evaluation; {@code detail} e.g. "block 2 of 5". */
    record Phase(String phase, String detail) implements WorkerMessage {
        public Phase {
            Protocol.require(phase, "phase", "phase");
        }
    }

    /**
     * How far the current phase is: {@code done} of {@code total} {@code unit}s (calibration windows, evaluation
     * tokens or images). {@code 0 <= done <= total} and {@code total > 0}; sent at most about ten times a second,
     * and once more when the phase's work is complete ({@code done == total}).
     */
    record Progress(String phase, long done, long total, String unit) implements WorkerMessage {
        public Progress {
            Protocol.require(phase, "progress", "phase");
            Protocol.require(unit, "progress", "unit");
            if (total <= 0 || done < 0 || done > total) {
                throw new IllegalArgumentException("progress: done " + done + " of total " + total
                        + " is not 0 <= done <= total with total > 0");
            }
        }
    }

    /**
     * Layer {@code index} (0-based, in compression order) of {@code total}: {@code state} is started, done
     * (computed and checkpointed) or restored (taken from its checkpoint).
     */
    record Layer(int index, int total, String layer, String state) implements WorkerMessage {
        /** The states a layer reports, in the order it passes through them. */
        public static final java.util.List<String> STATES = java.util.List.of("started", "done", "restored");

        public Layer {
            Protocol.require(layer, "layer", "layer");
            if (!STATES.contains(Protocol.require(state, "layer", "state"))) {
                throw new IllegalArgumentException("layer state '" + state + "' is none of " + STATES);
            }
        }
    }

    /** Something the user should know that does not stop the job (e.g. a damaged checkpoint was recomputed). */
    record Warning(String message) implements WorkerMessage {
        public Warning {
            Protocol.require(message, "warning", "message");
        }
    }

    /**
     * One finished run of a job that makes several (a search's front points and baselines): the parent stores it at
     * once, under {@code key}, and the job goes on; a key the job already stored is not stored again.
     */
    record Point(RunRecord run, String key) implements WorkerMessage {
        public Point {
            java.util.Objects.requireNonNull(run, "point: run");
            Protocol.require(key, "point", "key");
        }
    }

    /** The finished run; the parent stores it (and marks the job done) in one transaction. */
    record Result(RunRecord run) implements WorkerMessage {
        public Result {
            Protocol.require(run, "result", "run");
        }
    }

    /** The job failed; {@code reason} says what and what to do. {@code resumable}: checkpoints are kept. */
    record Failed(String reason, boolean resumable) implements WorkerMessage {
    }

    /** The job stopped because the parent asked. */
    record Cancelled(String reason) implements WorkerMessage {
    }
}
