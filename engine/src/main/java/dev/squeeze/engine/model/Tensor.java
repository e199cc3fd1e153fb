package dev.squeeze.engine.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named tensor whose bytes stay where they were read (often a memory-mapped file): values are decoded on
 * demand by {@link #floats()} or {@link #decode}, so opening a model never copies its weights into the heap —
 * also for quantized storage ({@link DType#I8_GROUPS}), which is dequantized only for the range asked for.
 */
public final class Tensor {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final ByteBuffer bytes;
    /** Values per float32 scale for {@link DType#I8_GROUPS}; 0 for the plain types. */
    private final int groupSize;
    private final long numel;

    public Tensor(String name, DType dtype, long[] shape, ByteBuffer bytes) {
        this(name, dtype, shape, bytes, 0);
    }

    private Tensor(String name, DType dtype, long[] shape, ByteBuffer bytes, int groupSize) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.bytes = bytes.asReadOnlyBuffer();
        this.groupSize = groupSize;
        // A reader checks its file's shapes first; this is the last line of defence against a wrapped product.
        this.numel = Shapes.numel(this.shape, "(tensor in memory)", name);
        if (dtype.plain() != (groupSize == 0)) {
            throw new IllegalArgumentException("tensor " + name + ": " + dtype + " with group size " + groupSize);
        }
        if (!dtype.plain() && (groupSize < 0 || numel % groupSize != 0)) {
            throw new IllegalArgumentException("tensor " + name + ": " + numel + " values are not whole groups of "
                    + groupSize);
        }
        long expected = storedBytes();
        if (bytes.remaining() != expected) {
            throw new IllegalArgumentException("tensor " + name + ": " + bytes.remaining()
                    + " bytes for shape " + Arrays.toString(shape) + " of " + dtype + " (expected " + expected + ")");
        }
    }

    /** A float32 tensor holding a copy of {@code values}. */
    public static Tensor of(String name, float[] values, long... shape) {
        return new Tensor(name, DType.F32, shape, ByteBuffer.wrap(DType.F32.encode(values)));
    }

    /**
     * An {@link DType#I8_GROUPS} tensor: {@code bytes} holds all int8 codes, then one little-endian float32 scale
     * per {@code groupSize} consecutive values (llama2.c's version 2 export).
     */
    public static Tensor int8Groups(String name, long[] shape, ByteBuffer bytes, int groupSize) {
        if (groupSize <= 0) {
            throw new IllegalArgumentException("tensor " + name + ": group size " + groupSize);
        }
        return new Tensor(name, DType.I8_GROUPS, shape, bytes, groupSize);
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    /** Values per scale for {@link DType#I8_GROUPS}; 0 for plain types. */
    public int groupSize() {
        return groupSize;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    public long numel() {
        return numel;
    }

    /** Bytes the tensor takes where it is stored (codes and scales for {@link DType#I8_GROUPS}). */
    public long storedBytes() {
        return dtype.plain() ? Shapes.bytes(numel, dtype.bytes(), shape, "(tensor in memory)", name)
                : numel + numel / groupSize * Float.BYTES;
    }

    /** The raw little-endian bytes as stored, read-only, position 0. */
    public ByteBuffer bytes() {
        return bytes.duplicate();
    }

    /** Decodes the values to float32; the array is a fresh copy the caller owns. */
    public float[] floats() {
        if (numel > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor " + name + " has " + numel + " elements: too many for one array");
        }
        float[] out = new float[(int) numel];
        decode(0, out, 0, (int) numel);
        return out;
    }

    /** Decodes {@code count} values starting at flat index {@code from} into {@code dst[offset ..]}. */
    public void decode(long from, float[] dst, int offset, int count) {
        if (from < 0 || count < 0 || from > numel - count) {
            throw new IndexOutOfBoundsException("tensor " + name + ": values " + from + "+" + count + " of " + numel);
        }
        if (dtype.plain()) {
            int width = dtype.bytes();
            dtype.decode(bytes.slice(Math.toIntExact(from * width), count * width), dst, offset, count);
            return;
        }
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long scales = numel;
        long group = -1;
        float scale = 0f;
        for (int i = 0; i < count; i++) {
            long at = from + i;
            if (at / groupSize != group) {
                group = at / groupSize;
                scale = b.getFloat(Math.toIntExact(scales + group * Float.BYTES));
            }
            dst[offset + i] = b.get(Math.toIntExact(at)) * scale;
        }
    }

    @Override
    public String toString() {
        return name + " " + dtype + (groupSize > 0 ? "/" + groupSize : "") + Arrays.toString(shape);
    }
}
