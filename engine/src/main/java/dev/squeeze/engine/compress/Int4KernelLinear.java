package dev.squeeze.engine.compress;

import dev.squeeze.engine.kernels.Int4MatVec;
import dev.squeeze.engine.kernels.Int4Matrix;
import dev.squeeze.engine.kernels.Kernels;
import dev.squeeze.engine.nn.LinearOp;

/**
 * A 4-bit quantized linear that computes directly on packed codes through the int4 kernel (native when
 * available), instead of expanding the weights back to float32.
 */
public final class Int4KernelLinear implements LinearOp {
    private final Int4Matrix matrix;
    private final Int4MatVec kernel;
    private final String description;

    /** A linear over packed int4 codes; {@code what} describes the weights (the kernel's name is appended). */
    public Int4KernelLinear(Int4Matrix matrix, String what) {
        this.matrix = matrix;
        this.kernel = Kernels.int4MatVec();
        this.description = what + " (int4 kernel: " + kernel.name() + ")";
    }

    /** A 4-bit RTN matrix on the kernel. */
    static Int4KernelLinear of(QuantizedMatrix q) {
        if (q.bits() != 4) {
            throw new IllegalArgumentException("the int4 kernel takes 4-bit codes, not " + q.bits());
        }
        Int4Matrix m = new Int4Matrix(q.rows(), q.cols(), q.groupSize(), Int4Matrix.pack(q.rows(), q.cols(), q::code),
                q.scales(), q.zeros());
        return new Int4KernelLinear(m, q.describe());
    }

    @Override
    public int inFeatures() {
        return matrix.cols();
    }

    @Override
    public int outFeatures() {
        return matrix.rows();
    }

    @Override
    public void forward(float[] x, int batch, float[] y) {
        int in = batch * matrix.cols();
        int out = batch * matrix.rows();
        if (x.length == in && y.length == out) {
            kernel.multiply(matrix, x, y, batch);
            return;
        }
        // Callers may pass reused buffers longer than this batch; the kernel takes exact lengths.
        float[] yExact = new float[out];
        kernel.multiply(matrix, x.length == in ? x : java.util.Arrays.copyOf(x, in), yExact, batch);
        System.arraycopy(yExact, 0, y, 0, out);
    }

    @Override
    public String describe() {
        return description;
    }
}
