package dev.squeeze.engine.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;

/** Element types a tensor can be stored in; names are the safetensors spellings. */
public enum DType {
    F32(4), F16(2), BF16(2);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public static DType parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Decodes {@code count} elements starting at the buffer's position 0 into floats. */
    public float[] decode(ByteBuffer raw, int count) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[count];
        switch (this) {
            case F32 -> b.asFloatBuffer().get(out);
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = Float.float16ToFloat(b.getShort(2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
                }
            }
        }
        return out;
    }

    /** Encodes floats little-endian in this type (F16 rounds to nearest even; BF16 too). */
    public byte[] encode(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (this) {
                case F32 -> b.putFloat(v);
                case F16 -> b.putShort(Float.floatToFloat16(v));
                case BF16 -> b.putShort(toBf16(v));
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
