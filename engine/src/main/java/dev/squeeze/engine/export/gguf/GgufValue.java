package dev.squeeze.engine.export.gguf;

import java.util.List;

/**
 * A typed metadata value of a GGUF file. The type matters to readers (llama.cpp asks for
 * {@code llama.context_length} as UINT32, {@code tokenizer.ggml.scores} as an array of FLOAT32), so values are
 * made with the factory of the exact type.
 *
 * @param type  the GGUF value type (the specification's {@code gguf_metadata_value_type})
 * @param value a Long (integers and UINT64), Float, Double, Boolean, String, or for {@link #ARRAY} a List of
 *              values of {@code elementType}
 */
public record GgufValue(int type, int elementType, Object value) {
    public static final int UINT8 = 0;
    public static final int INT8 = 1;
    public static final int UINT16 = 2;
    public static final int INT16 = 3;
    public static final int UINT32 = 4;
    public static final int INT32 = 5;
    public static final int FLOAT32 = 6;
    public static final int BOOL = 7;
    public static final int STRING = 8;
    public static final int ARRAY = 9;
    public static final int UINT64 = 10;
    public static final int INT64 = 11;
    public static final int FLOAT64 = 12;

    public static GgufValue u32(long v) {
        return new GgufValue(UINT32, -1, v);
    }

    public static GgufValue i32(long v) {
        return new GgufValue(INT32, -1, v);
    }

    public static GgufValue u64(long v) {
        return new GgufValue(UINT64, -1, v);
    }

    public static GgufValue f32(float v) {
        return new GgufValue(FLOAT32, -1, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(BOOL, -1, v);
    }

    public static GgufValue str(String v) {
        return new GgufValue(STRING, -1, v);
    }

    /** An array of {@code elementType} values (Long, Float, Double, Boolean or String as for scalars). */
    public static GgufValue array(int elementType, List<?> values) {
        return new GgufValue(ARRAY, elementType, List.copyOf(values));
    }

    /** The value as a long (any integer type). */
    public long asLong() {
        return (Long) value;
    }

    public String asString() {
        return (String) value;
    }

    /** The elements of an array value. */
    public List<?> asList() {
        return (List<?>) value;
    }
}
