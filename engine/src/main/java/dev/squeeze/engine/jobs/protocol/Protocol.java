package dev.squeeze.engine.jobs.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * The job protocol: JSON lines between a parent and a worker. The parent writes {@link ParentMessage}s to the
 * worker's standard input; the worker writes {@link WorkerMessage}s to its standard output (its logs go to
 * standard error). Both sides say their {@link #VERSION} first (Start, Hello) and refuse another; a change to any
 * message that an older peer would misread bumps it. docs/job-protocol.md describes it for other implementations.
 */
public final class Protocol {
    /**
     * Bump when a message changes meaning or shape. 2: the worker's {@code progress} message; 3: {@code point} (a
     * search stores many runs) and a job spec may be a search; 4: {@code start.modelHash} (a worker on a cluster
     * node checks the model's content) and {@code hello.host}.
     */
    public static final int VERSION = 4;

    private static final ObjectMapper JSON = new ObjectMapper().findAndRegisterModules()
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(SerializationFeature.INDENT_OUTPUT)
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
            // encode writes every field (nulls included): a line that leaves one out, gives a number as null,
            // or carries more than one value is not a message of this version, rather than one read with zeros
            // and nulls that fail later in the reader.
            .configure(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES, true)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
            .configure(DeserializationFeature.FAIL_ON_TRAILING_TOKENS, true);

    private Protocol() {
    }

    /** One line (no line breaks inside: JSON escapes them). */
    public static String encode(Object message) {
        try {
            return JSON.writeValueAsString(message);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("protocol messages always serialise", e);
        }
    }

    /** A worker's line, or an {@link IllegalArgumentException} saying why it is not one. */
    public static WorkerMessage workerMessage(String line) {
        return decode(line, WorkerMessage.class);
    }

    /** A parent's line, or an {@link IllegalArgumentException} saying why it is not one. */
    public static ParentMessage parentMessage(String line) {
        return decode(line, ParentMessage.class);
    }

    /**
     * A field every message of its type carries. Jackson reads an explicit {@code null} for any reference field, and
     * the reader of the message would then fail far from the line; the message's constructor refuses it instead,
     * which the decoder reports like any other malformed line.
     */
    static <T> T require(T value, String message, String field) {
        if (value == null) {
            throw new IllegalArgumentException(message + ": the field '" + field + "' is null");
        }
        return value;
    }

    private static <T> T decode(String line, Class<T> type) {
        try {
            T message = JSON.readValue(line, type);
            if (message == null) {
                throw new IllegalArgumentException("not a " + type.getSimpleName() + ": the line is JSON null");
            }
            return message;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a " + type.getSimpleName() + ": " + e.getOriginalMessage());
        }
    }
}
