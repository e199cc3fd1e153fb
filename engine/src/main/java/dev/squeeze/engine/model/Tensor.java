package dev.squeeze.engine.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named tensor whose bytes stay where they were read (often a memory-mapped file): values are decoded on
 * demand by {@link #floats()} or {@link #decode}, so opening a model never copies its weights into the heap —
 * also for quantized storage ({@link DType#I8_GROUPS}, {@link DType#BLOCKS}), which is dequantized only for the
 * range asked for.
 */
public final class Tensor {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final ByteBuffer bytes;
    /** Values per float32 scale for {@link DType#I8_GROUPS}, per block for {@link DType#BLOCKS}; else 0. */
    private final int groupSize;
    /** How {@link DType#BLOCKS} values are stored; null for the other types. */
    private final BlockCodec codec;
    private final long numel;

    public Tensor(String name, DType dtype, long[] shape, ByteBuffer bytes) {
        this(name, dtype, shape, bytes, 0, null);
    }

    private Tensor(String name, DType dtype, long[] shape, ByteBuffer bytes, int groupSize, BlockCodec codec) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.bytes = bytes.asReadOnlyBuffer();
        this.groupSize = codec != null ? codec.blockValues() : groupSize;
        this.codec = codec;
        // A reader checks its file's shapes first; this is the last line of defence against a wrapped product.
        this.numel = Shapes.numel(this.shape, "(tensor in memory)", name);
        if ((dtype == DType.BLOCKS) != (codec != null)) {
            throw new IllegalArgumentException("tensor " + name + ": " + dtype + " with codec " + codec);
        }
        if (dtype.plain() != (this.groupSize == 0)) {
            throw new IllegalArgumentException("tensor " + name + ": " + dtype + " with group size " + groupSize);
        }
        if (!dtype.plain() && (this.groupSize < 0 || numel % this.groupSize != 0)) {
            throw new IllegalArgumentException("tensor " + name + ": " + numel + " values are not whole groups of "
                    + this.groupSize);
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
        return new Tensor(name, DType.I8_GROUPS, shape, bytes, groupSize, null);
    }

    /**
     * A {@link DType#BLOCKS} tensor: {@code bytes} holds its values block after block as {@code codec} stores
     * them (a row of a matrix is a whole number of blocks).
     */
    public static Tensor blocks(String name, long[] shape, ByteBuffer bytes, BlockCodec codec) {
        if (codec == null || codec.blockValues() <= 0 || codec.blockBytes() <= 0) {
            throw new IllegalArgumentException("tensor " + name + ": codec " + codec);
        }
        return new Tensor(name, DType.BLOCKS, shape, bytes, 0, codec);
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    /** Values per scale for {@link DType#I8_GROUPS}, per block for {@link DType#BLOCKS}; 0 for plain types. */
    public int groupSize() {
        return groupSize;
    }

    /** How {@link DType#BLOCKS} values are stored; null for the other types. */
    public BlockCodec codec() {
        return codec;
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
        if (codec != null) {
            return numel / groupSize * codec.blockBytes();
        }
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
        if (codec != null) {
            decodeBlocks(from, dst, offset, count);
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

    /** Decodes the blocks that hold values {@code from .. from+count}, at most 64 Ki values at a time. */
    private void decodeBlocks(long from, float[] dst, int offset, int count) {
        int values = codec.blockValues();
        int blockBytes = codec.blockBytes();
        int chunkBlocks = Math.max(1, (1 << 16) / values);
        float[] scratch = null;
        long at = from;
        long end = from + count;
        while (at < end) {
            long block = at / values;
            long blocks = Math.min(chunkBlocks, (end - 1) / values - block + 1);
            int n = Math.toIntExact(blocks * values);
            if (scratch == null || scratch.length != n) {
                scratch = new float[n];
            }
            codec.decode(bytes.slice(Math.toIntExact(block * blockBytes), Math.toIntExact(blocks * blockBytes))
                    .order(ByteOrder.LITTLE_ENDIAN), scratch);
            int skip = (int) (at - block * values);
            int take = (int) Math.min(n - skip, end - at);
            System.arraycopy(scratch, skip, dst, offset + (int) (at - from), take);
            at += take;
        }
    }

    @Override
    public String toString() {
        return name + " " + (codec != null ? codec.name() : dtype) + (groupSize > 0 ? "/" + groupSize : "") + Arrays.toString(shape);
    }
}
