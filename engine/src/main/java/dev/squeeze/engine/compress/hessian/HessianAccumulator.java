package dev.squeeze.engine.compress.hessian;

/**
 * The layer Hessian {@code H = 2/n Σ x xᵀ} as the reference implementations accumulate it (ALGORITHMS.md,
 * "Common: the layer Hessian"): a running mean over calls of {@link #addBatch}, where {@code n} counts the
 * sequences of the batches, not their tokens. Float32 like the references; only H's shape matters to the
 * methods, its scale cancels.
 */
public final class HessianAccumulator {
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
        for (int i = 0; i < h.length; i++) {
            h[i] *= keep;
        }
        samples += sequences;
        float scale = (float) Math.sqrt(2.0 / samples);
        float[] row = new float[cols];
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < cols; c++) {
                row[c] = scale * x[t * cols + c];
            }
            for (int i = 0; i < cols; i++) {
                float xi = row[i];
                if (xi == 0f) {
                    continue;
                }
                int ri = i * cols;
                for (int j = 0; j < cols; j++) {
                    h[ri + j] += xi * row[j];
                }
            }
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
        return h.clone();
    }
}
