package dev.squeeze.engine.compress;

import dev.squeeze.engine.nn.LinearOp;

/**
 * A compressed weight matrix ({@code rows = out_features × cols = in_features}). It knows exactly how many bits
 * it takes as stored (every code, scale, zero, index and factor at its stored precision), can give back the
 * float weights it stands for, and can act as a linear layer.
 *
 * <p>Serializable so that a job can checkpoint each finished layer and resume after a crash with the identical
 * tensor ({@code jobs.checkpoint.CheckpointStore}); implementations hold only their stored form, never a
 * computed linear.
 */
public interface CompressedTensor extends java.io.Serializable {
    int rows();

    int cols();

    /** Every stored bit of this tensor's representation. */
    long storedBits();

    /** Bits per weight, the papers' convention: {@code storedBits / (rows × cols)}. */
    default double bitsPerWeight() {
        return (double) storedBits() / ((double) rows() * cols());
    }

    /** The weights this tensor represents, {@code rows × cols} row-major float32. */
    float[] dequantize();

    /** A linear layer computing with this representation. */
    LinearOp asLinearOp();

    /** A short description, e.g. {@code RTN 4-bit asym per-row}. */
    String describe();
}
