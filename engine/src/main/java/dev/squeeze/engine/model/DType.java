package dev.squeeze.engine.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * Element types a tensor can be stored in; the plain ones carry the safetensors spellings.
 * {@link #I8_GROUPS} is llama2.c's int8 export: all int8 codes first, then one float32 scale per group of
 * consecutive values ({@code w = code · scale}); its group size lives with the {@link Tensor}.
 * {@link #BLOCKS} is block-quantized storage (ggml's Q4_0, Q8_0, Q4_K, Q6_K of a GGUF file); its
 * {@link BlockCodec} lives with the {@link Tensor}.
 */
public enum DType {
    F32(4), F16(2), BF16(2), I8_GROUPS(1), BLOCKS(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** The plain type with this safetensors spelling (F32, F16, BF16; any case), else null. */
    public static DType parse(String name) {
        if (name == null) {
            return null;
        }
        return switch (name.toUpperCase(Locale.ROOT)) {
            case "F32" -> F32;
            case "F16" -> F16;
            case "BF16" -> BF16;
            default -> null;
        };
    }

    /**
     * Whether one element is its own bytes (every type but {@link #I8_GROUPS}, whose scales lie elsewhere, and
     * {@link #BLOCKS}, whose values are decoded a block at a time).
     */
    public boolean plain() {
        return this != I8_GROUPS && this != BLOCKS;
    }

    /** Decodes {@code count} elements starting at the buffer's position 0 into floats (plain types). */
    public float[] decode(ByteBuffer raw, int count) {
        float[] out = new float[count];
        decode(raw, out, 0, count);
        return out;
    }

    /** Decodes {@code count} elements starting at the buffer's position 0 into {@code out[offset ..]}. */
    public void decode(ByteBuffer raw, float[] out, int offset, int count) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (this) {
            case F32 -> b.asFloatBuffer().get(0, out, offset, count);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out[offset + i] = Float.float16ToFloat(b.getShort(2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out[offset + i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
                }
            }
            case I8_GROUPS, BLOCKS -> throw new IllegalStateException(this + " values need their scales: decode"
                    + " them through Tensor.decode");
        }
    }

    /** Encodes floats little-endian in this type (F16 rounds to nearest even; BF16 too). */
    public byte[] encode(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (this) {
                case F32 -> b.putFloat(v);
                case F16 -> b.putShort(Float.floatToFloat16(v));
                case BF16 -> b.putShort(toBf16(v));
                case I8_GROUPS, BLOCKS -> throw new IllegalStateException("Squeeze does not encode to " + this);
            }
        }
        return b.array();
    }

    private static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
