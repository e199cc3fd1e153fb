package dev.squeeze.engine.export.gguf;

import dev.squeeze.engine.model.DType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encodes rows of float values into ggml's blocks and decodes them, bit for bit as ggml's reference quantizers
 * ({@code quantize_row_q4_0_ref}, {@code quantize_row_q8_0_ref}) do, so that a file written here is what
 * llama.cpp's own converter would write from the same floats:
 * <ul>
 *   <li>Q8_0: {@code d = amax / 127}, {@code q = round(x / d)} (half away from zero), d stored as fp16;</li>
 *   <li>Q4_0: {@code d = m / -8} where m is the value of largest magnitude (sign kept),
 *       {@code q = min(15, trunc(x / d + 8.5))}; the first 16 values of a block go to the low nibbles, the last
 *       16 to the high nibbles.</li>
 * </ul>
 * The arithmetic is float32, as in ggml; fp16 conversion rounds to nearest even, as the hardware conversion
 * ggml uses on x86 does. F32 and F16 rows are the model readers' own {@link DType} encodings.
 */
public final class GgmlBlocks {
    private GgmlBlocks() {
    }

    /** Appends the encoding of {@code row} (length a multiple of the type's block size) to {@code out}. */
    public static void encode(GgmlType type, float[] row, ByteBuffer out) {
        out.order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32 -> out.put(DType.F32.encode(row));
            case F16 -> out.put(DType.F16.encode(row));
            case Q8_0 -> encodeQ8(row, out);
            case Q4_0 -> encodeQ4(row, out);
        }
    }

    /** Decodes {@code values.length} values from {@code in} (at its position, little-endian). */
    public static void decode(GgmlType type, ByteBuffer in, float[] values) {
        in.order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32, F16 -> {
                DType plain = type == GgmlType.F32 ? DType.F32 : DType.F16;
                plain.decode(in.slice(), values, 0, values.length);
                in.position(in.position() + values.length * type.typeSize());
            }
            case Q8_0 -> {
                for (int b = 0; b < values.length; b += 32) {
                    float d = Float.float16ToFloat(in.getShort());
                    for (int j = 0; j < 32; j++) {
                        values[b + j] = in.get() * d;
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < values.length; b += 32) {
                    float d = Float.float16ToFloat(in.getShort());
                    for (int j = 0; j < 16; j++) {
                        int q = in.get() & 0xff;
                        values[b + j] = ((q & 0x0f) - 8) * d;
                        values[b + 16 + j] = ((q >>> 4) - 8) * d;
                    }
                }
            }
        }
    }

    private static void encodeQ8(float[] row, ByteBuffer out) {
        for (int b = 0; b < row.length; b += 32) {
            float amax = 0f;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(row[b + j]));
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            out.putShort(Float.floatToFloat16(d));
            for (int j = 0; j < 32; j++) {
                out.put((byte) roundHalfAway(row[b + j] * id));
            }
        }
    }

    private static void encodeQ4(float[] row, ByteBuffer out) {
        for (int b = 0; b < row.length; b += 32) {
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < 32; j++) {
                float v = row[b + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            out.putShort(Float.floatToFloat16(d));
            for (int j = 0; j < 16; j++) {
                int lo = Math.min(15, (int) (row[b + j] * id + 8.5f));
                int hi = Math.min(15, (int) (row[b + 16 + j] * id + 8.5f));
                out.put((byte) (lo | hi << 4));
            }
        }
    }

    /** C's {@code roundf}: halves away from zero. */
    private static int roundHalfAway(float v) {
        return (int) (v < 0 ? -Math.floor(-v + 0.5f) : Math.floor(v + 0.5f));
    }
}
