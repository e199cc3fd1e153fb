package dev.squeeze.engine.compress.hessian;

import dev.squeeze.engine.compress.linalg.Blas;

/**
 * The layer Hessian {@code H = 2/n Σ x xᵀ} as the reference implementations accumulate it (ALGORITHMS.md,
 * "Common: the layer Hessian"): a running mean over calls of {@link #addBatch}, where {@code n} counts the
 * sequences of the batches, not their tokens. Float32 like the references; only H's shape matters to the
 * methods, its scale cancels. Only the lower triangle is accumulated; {@link #hessian()} returns it mirrored.
 */
public final class HessianAccumulator {
    private static final int ROW_BLOCK = 256;
    private final int cols;
    private final float[] h;
    private long samples;

    public HessianAccumulator(int cols) {
        this.cols = cols;
        this.h = new float[cols * cols];
    }

    /**
     * Adds one batch: {@code x} holds {@code tokens} rows of {@code cols} inputs, and counts as {@code sequences}
     * samples (1 for a {@code [1, T, cols]} input, as the references' {@code add_batch} sees it).
     */
    public void addBatch(float[] x, int tokens, int sequences) {
        if (x.length < (long) tokens * cols) {
            throw new IllegalArgumentException("batch has " + x.length + " values for " + tokens + " × " + cols);
        }
        float keep = (float) samples / (samples + sequences);
        samples += sequences;
        float scale = (float) Math.sqrt(2.0 / samples);
        float[] xs = new float[tokens * cols];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = scale * x[i];
        }
        // H = keep·H + xsᵀ xs, lower triangle only (a block row at a time, each through the fast product; the
        // part of a block row's diagonal square above the diagonal is computed too and ignored): H is symmetric,
        // hessian() mirrors it.
        Blas blas = Blas.get();
        for (int r0 = 0; r0 < cols; r0 += ROW_BLOCK) {
            int rb = Math.min(ROW_BLOCK, cols - r0);
            blas.sgemm(true, false, rb, r0 + rb, tokens, 1f, xs, r0, cols, xs, 0, cols, keep, h, r0 * cols, cols);
        }
    }

    public int cols() {
        return cols;
    }

    /** Number of sequences seen. */
    public long samples() {
        return samples;
    }

    /** A copy of H, {@code cols × cols} row-major. */
    public float[] hessian() {
        float[] out = h.clone();
        // Mirror the lower triangle in 64 × 64 tiles: a plain column walk would miss the cache on every read.
        int t = 64;
        for (int i0 = 0; i0 < cols; i0 += t) {
            for (int j0 = i0; j0 < cols; j0 += t) {
                for (int i = i0; i < Math.min(cols, i0 + t); i++) {
                    for (int j = Math.max(j0, i + 1); j < Math.min(cols, j0 + t); j++) {
                        out[i * cols + j] = out[j * cols + i];
                    }
                }
            }
        }
        return out;
    }
}
