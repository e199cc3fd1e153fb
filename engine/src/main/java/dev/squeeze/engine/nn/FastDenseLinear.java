package dev.squeeze.engine.nn;

import dev.squeeze.engine.compress.linalg.Blas;

/**
 * A dense float32 linear for speed: the weight is kept transposed ({@code in × out}, row-major), so {@code y = x W}
 * is a plain matrix product. A batch of at least {@link #GEMM_MIN} rows goes through {@link Blas#sgemm} (packed,
 * blocked, multi-threaded); fewer rows (a generated token) through row updates {@code y[o] = fma(x[i], Wᵀ[i][o],
 * y[o])} over {@code i} in order, column ranges on several threads when the matrix is large. Both compute every
 * output as the same fused multiply-add chain over the inputs in order, from zero, bias added last — the
 * {@link Blas} contract — so a token gives the same bits alone or inside a batch. {@link DenseLinear}, the
 * reference, sums unfused products; the two agree to float rounding ({@link #reference()} gives it).
 */
public final class FastDenseLinear implements LinearOp {
    /** Batches of at least this many rows go through the packed matrix product. */
    static final int GEMM_MIN = 4;
    /** Matrices of at least this many weights split a few-row product over threads. */
    private static final long PARALLEL_MIN = 1L << 18;

    private final int in;
    private final int out;
    /** {@code in × out}, row-major. */
    private final float[] transposed;
    private final float[] bias;
    private final String description;

    /** @param weight {@code out × in}, row-major (the same layout {@link DenseLinear} takes); not kept */
    public FastDenseLinear(int out, int in, float[] weight, float[] bias) {
        this(out, in, weight, bias, "dense f32");
    }

    public FastDenseLinear(int out, int in, float[] weight, float[] bias, String description) {
        if (out <= 0 || in <= 0 || weight.length != (long) out * in) {
            throw new IllegalArgumentException("weight has " + weight.length + " values, expected " + out + "×" + in);
        }
        if (bias != null && bias.length != out) {
            throw new IllegalArgumentException("bias has " + bias.length + " values, expected " + out);
        }
        this.in = in;
        this.out = out;
        this.transposed = new float[weight.length];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                transposed[i * out + o] = weight[o * in + i];
            }
        }
        this.bias = bias == null ? null : bias.clone();
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
        if (batch >= GEMM_MIN) {
            Blas.get().sgemm(false, false, batch, out, in, 1f, x, 0, in, transposed, 0, out, 0f, y, 0, out);
            addBias(y, 0, batch, 0, out);
            return;
        }
        if ((long) in * out < PARALLEL_MIN) {
            rows(x, batch, y, 0, out);
            return;
        }
        // Column ranges (multiples of 64 outputs) on several threads; each output is computed the same way.
        int parts = Math.min(4 * Parallelism.threads(), (out + 63) / 64);
        int per = ((out + parts - 1) / parts + 63) / 64 * 64;
        Parallelism.forEach((out + per - 1) / per, p -> rows(x, batch, y, p * per, Math.min(out, (p + 1) * per)));
    }

    /** Outputs {@code o0 .. o1−1} of every row by fma row updates over the inputs in order. */
    private void rows(float[] x, int batch, float[] y, int o0, int o1) {
        float[] w = transposed;
        for (int b = 0; b < batch; b++) {
            int xo = b * in;
            int yo = b * out;
            java.util.Arrays.fill(y, yo + o0, yo + o1, 0f);
            for (int i = 0; i < in; i++) {
                float xi = x[xo + i];
                int wo = i * out;
                for (int o = o0; o < o1; o++) {
                    y[yo + o] = Math.fma(xi, w[wo + o], y[yo + o]);
                }
            }
        }
        addBias(y, 0, batch, o0, o1);
    }

    private void addBias(float[] y, int b0, int b1, int o0, int o1) {
        if (bias == null) {
            return;
        }
        for (int b = b0; b < b1; b++) {
            int yo = b * out;
            for (int o = o0; o < o1; o++) {
                y[yo + o] += bias[o];
            }
        }
    }

    /** The same weights as the reference {@link DenseLinear} (a row-major copy). */
    public DenseLinear reference() {
        float[] w = new float[transposed.length];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) {
                w[o * in + i] = transposed[i * out + o];
            }
        }
        return new DenseLinear(out, in, w, bias, description);
    }

    @Override
    public String describe() {
        return description;
    }
}
