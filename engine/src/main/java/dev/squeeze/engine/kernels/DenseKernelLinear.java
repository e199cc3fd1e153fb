package dev.squeeze.engine.kernels;

import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.Parallelism;

/**
 * {@code y = W x} for a dense fp16 or fp32 {@code W} through {@link SparseKernels#dense}: one pass over W for
 * up to 16 vectors, fp16 weights widened exactly.
 */
public final class DenseKernelLinear implements LinearOp {
    /** Row shares are multiples of this (even boundaries: the dense kernel takes two rows at a time). */
    private static final int ROW_ALIGN = 16;

    private final DenseMatrix w;
    private final SparseKernels.Backend backend;
    private final String description;

    public DenseKernelLinear(DenseMatrix w, SparseKernels.Backend backend, String description) {
        if (w == null || backend == null) {
            throw new IllegalArgumentException("matrix and backend are required");
        }
        this.w = w;
        this.backend = backend;
        this.description = description;
    }

    @Override
    public int inFeatures() {
        return w.cols();
    }

    @Override
    public int outFeatures() {
        return w.rows();
    }

    @Override
    public void forward(float[] x, int batch, float[] y) {
        SparseChecks.call(w.rows(), w.cols(), x, y, batch, 0, w.rows());
        Parallelism.forRows(w.rows(), ROW_ALIGN, (long) batch * w.rows() * w.cols(),
                (r0, r1) -> SparseKernels.dense(backend, w, x, y, batch, r0, r1));
    }

    @Override
    public String describe() {
        return description + " (" + (w.isFp16() ? "fp16" : "fp32") + " kernel, " + SparseKernels.name(backend) + ")";
    }
}
