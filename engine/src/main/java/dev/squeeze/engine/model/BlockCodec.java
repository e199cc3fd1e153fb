package dev.squeeze.engine.model;

import java.nio.ByteBuffer;

/**
 * Block-quantized storage of a {@link Tensor} ({@link DType#BLOCKS}), such as ggml's Q4_0 or Q4_K: every run of
 * {@link #blockValues()} consecutive values is stored in {@link #blockBytes()} bytes, so any block can be
 * decoded on its own, in place, without the rest of the tensor.
 */
public interface BlockCodec {
    /** How the storage is called, e.g. {@code Q4_K}. */
    String name();

    /** Values per block. */
    int blockValues();

    /** Bytes per block. */
    int blockBytes();

    /**
     * Decodes {@code out.length} values (a whole number of blocks) from {@code in}, starting at its position,
     * which it advances past them.
     */
    void decode(ByteBuffer in, float[] out);
}
