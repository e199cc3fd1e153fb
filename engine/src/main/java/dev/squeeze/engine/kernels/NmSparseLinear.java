package dev.squeeze.engine.kernels;

import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.Parallelism;

/** {@code y = W x} for an N:M sparse {@code W} through {@link SparseKernels#nm}. */
public final class NmSparseLinear implements LinearOp {
    /** Row shares are multiples of this (even boundaries: the dense kernel takes two rows at a time). */
    private static final int ROW_ALIGN = 16;

    private final NmSparseMatrix w;
    private final SparseKernels.Backend backend;
    private final String description;

    public NmSparseLinear(NmSparseMatrix w, SparseKernels.Backend backend, String description) {
        if (w == null || backend == null) {
            throw new IllegalArgumentException("matrix and backend are required");
        }
        this.w = w;
        this.backend = backend;
        this.description = description + " (" + w.n() + ":" + w.m() + " kernel, " + SparseKernels.name(backend) + ")";
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
        long macs = (long) batch * w.rows() * NmSparseMatrix.groups(w.cols(), w.m()) * w.n();
        Parallelism.forRows(w.rows(), ROW_ALIGN, macs, (r0, r1) -> SparseKernels.nm(backend, w, x, y, batch, r0, r1));
    }

    @Override
    public String describe() {
        return description;
    }
}
