package dev.squeeze.engine.model;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A named tensor whose bytes stay where they were read (often a memory-mapped file): values are decoded on
 * demand by {@link #floats()}, so opening a model never copies its weights into the heap.
 */
public final class Tensor {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final ByteBuffer bytes;

    public Tensor(String name, DType dtype, long[] shape, ByteBuffer bytes) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.bytes = bytes.asReadOnlyBuffer();
        long expected = numel() * dtype.bytes();
        if (bytes.remaining() != expected) {
            throw new IllegalArgumentException("tensor " + name + ": " + bytes.remaining()
                    + " bytes for shape " + Arrays.toString(shape) + " of " + dtype + " (expected " + expected + ")");
        }
    }

    /** A float32 tensor holding a copy of {@code values}. */
    public static Tensor of(String name, float[] values, long... shape) {
        return new Tensor(name, DType.F32, shape, ByteBuffer.wrap(DType.F32.encode(values)));
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
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
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    public long storedBytes() {
        return numel() * dtype.bytes();
    }

    /** The raw little-endian bytes, read-only, position 0. */
    public ByteBuffer bytes() {
        return bytes.duplicate();
    }

    /** Decodes the values to float32; the array is a fresh copy the caller owns. */
    public float[] floats() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor " + name + " has " + n + " elements: too many for one array");
        }
        return dtype.decode(bytes, (int) n);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
