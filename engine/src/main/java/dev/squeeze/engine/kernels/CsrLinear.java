package dev.squeeze.engine.kernels;

import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.Parallelism;

/** {@code y = S x} for a CSR sparse {@code S} through {@link SparseKernels#csrAdd} (on a zeroed y). */
public final class CsrLinear implements LinearOp {
    /** Row shares are multiples of this (even boundaries: the dense kernel takes two rows at a time). */
    private static final int ROW_ALIGN = 16;

    private final CsrMatrix s;
    private final SparseKernels.Backend backend;
    private final String description;

    public CsrLinear(CsrMatrix s, SparseKernels.Backend backend, String description) {
        if (s == null || backend == null) {
            throw new IllegalArgumentException("matrix and backend are required");
        }
        this.s = s;
        this.backend = backend;
        this.description = description + " (CSR kernel, " + s.nnz() + " non-zeros, " + SparseKernels.name(backend) + ")";
    }

    @Override
    public int inFeatures() {
        return s.cols();
    }

    @Override
    public int outFeatures() {
        return s.rows();
    }

    @Override
    public void forward(float[] x, int batch, float[] y) {
        SparseChecks.call(s.rows(), s.cols(), x, y, batch, 0, s.rows());
        java.util.Arrays.fill(y, 0, batch * s.rows(), 0f);
        Parallelism.forRows(s.rows(), ROW_ALIGN, (long) batch * s.nnz(),
                (r0, r1) -> SparseKernels.csrAdd(backend, s, x, y, batch, r0, r1));
    }

    @Override
    public String describe() {
        return description;
    }
}
