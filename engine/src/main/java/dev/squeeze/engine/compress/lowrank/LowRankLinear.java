package dev.squeeze.engine.compress.lowrank;

import dev.squeeze.engine.nn.LinearOp;

/** {@code y = A (B x)} with float factors; the rank-r intermediate is one small buffer per call. */
final class LowRankLinear implements LinearOp {
    private final int out;
    private final int in;
    private final int rank;
    private final float[] a;
    private final float[] b;
    private final String description;

    LowRankLinear(int out, int in, int rank, float[] a, float[] b, String description) {
        this.out = out;
        this.in = in;
        this.rank = rank;
        this.a = a;
        this.b = b;
        this.description = description;
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    @Override
    public void forward(float[] x, int batch, float[] y) {
        if (x.length < (long) batch * in || y.length < (long) batch * out) {
            throw new IllegalArgumentException("batch " + batch + " needs " + (long) batch * in + " inputs and "
                    + (long) batch * out + " outputs; got " + x.length + " and " + y.length);
        }
        float[] t = new float[rank];
        for (int n = 0; n < batch; n++) {
            int xo = n * in;
            for (int k = 0; k < rank; k++) {
                int bk = k * in;
                float acc = 0f;
                for (int j = 0; j < in; j++) {
                    acc += b[bk + j] * x[xo + j];
                }
                t[k] = acc;
            }
            int yo = n * out;
            for (int i = 0; i < out; i++) {
                int ai = i * rank;
                float acc = 0f;
                for (int k = 0; k < rank; k++) {
                    acc += a[ai + k] * t[k];
                }
                y[yo + i] = acc;
            }
        }
    }

    @Override
    public String describe() {
        return "low-rank r" + rank + " A(Bx): " + description;
    }
}
