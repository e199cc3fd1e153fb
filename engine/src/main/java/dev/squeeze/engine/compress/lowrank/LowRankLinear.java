package dev.squeeze.engine.compress.lowrank;

import dev.squeeze.engine.kernels.DenseKernelLinear;
import dev.squeeze.engine.kernels.DenseMatrix;
import dev.squeeze.engine.kernels.SparseKernels;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;

/**
 * {@code y = A (B x)}: two dense products through the rank-r bottleneck, {@code r (out + in)} multiply-adds per
 * input instead of {@code out · in}. On the native backend each factor goes through the one-pass dense kernel,
 * in fp16 when every value of the factor is an fp16 value (fp16-stored factors; half the bytes, the same
 * products) and in fp32 otherwise (dequantized RTN codes); on the Java backend through {@link FastDenseLinear},
 * which sums in input order like {@link dev.squeeze.engine.nn.DenseLinear}.
 */
final class LowRankLinear implements LinearOp {
    private final int rank;
    private final LinearOp b;
    private final LinearOp a;
    private final String description;

    LowRankLinear(int out, int in, int rank, float[] a, float[] b, String description, SparseKernels.Backend backend) {
        this.rank = rank;
        if (backend == SparseKernels.Backend.NATIVE) {
            this.b = new DenseKernelLinear(DenseMatrix.compact(rank, in, b), backend, "factor B");
            this.a = new DenseKernelLinear(DenseMatrix.compact(out, rank, a), backend, "factor A");
        } else {
            this.b = new FastDenseLinear(rank, in, b, null);
            this.a = new FastDenseLinear(out, rank, a, null);
        }
        this.description = description + " (" + SparseKernels.name(backend) + ")";
    }

    @Override
    public int inFeatures() {
        return b.inFeatures();
    }

    @Override
    public int outFeatures() {
        return a.outFeatures();
    }

    @Override
    public void forward(float[] x, int batch, float[] y) {
        if (x.length < (long) batch * inFeatures() || y.length < (long) batch * outFeatures()) {
            throw new IllegalArgumentException("batch " + batch + " needs " + (long) batch * inFeatures()
                    + " inputs and " + (long) batch * outFeatures() + " outputs; got " + x.length + " and " + y.length);
        }
        float[] t = new float[batch * rank];
        b.forward(x, batch, t);
        a.forward(t, batch, y);
    }

    @Override
    public String describe() {
        return "low-rank r" + rank + " A(Bx): " + description;
    }
}
