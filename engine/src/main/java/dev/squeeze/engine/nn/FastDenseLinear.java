package dev.squeeze.engine.nn;

/**
 * A dense float32 linear that keeps its weight transposed, one array per input feature, so that the product is
 * a sequence of {@code acc[o] += x[i] · Wᵀ[i][o]} updates. Because both arrays are indexed by the same loop
 * variable, the JIT can prove the loop free of dependences and turns it into SIMD code (about ten times the
 * speed of the dot-product form on AVX2). Every output still sums its terms in input order, from zero, bias
 * last: the results are bit-for-bit those of the reference {@link DenseLinear} (a test holds them to that).
 */
public final class FastDenseLinear implements LinearOp {
    private final int in;
    private final int out;
    private final float[][] transposed;
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
        this.transposed = new float[in][out];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                transposed[i][o] = weight[o * in + i];
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
        // Row 0 accumulates in y itself (indices 0..out, so the loop still vectorises): one token, no allocation.
        float[] acc = batch > 1 ? new float[out] : null;
        for (int b = 0; b < batch; b++) {
            int xo = b * in;
            float[] dst = b == 0 ? y : acc;
            java.util.Arrays.fill(dst, 0, out, 0f);
            for (int i = 0; i < in; i++) {
                float xi = x[xo + i];
                float[] row = transposed[i];
                for (int o = 0; o < out; o++) {
                    dst[o] += xi * row[o];
                }
            }
            if (bias != null) {
                for (int o = 0; o < out; o++) {
                    dst[o] += bias[o];
                }
            }
            if (b > 0) {
                System.arraycopy(acc, 0, y, b * out, out);
            }
        }
    }

    @Override
    public String describe() {
        return description;
    }
}
