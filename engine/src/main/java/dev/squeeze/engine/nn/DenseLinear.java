package dev.squeeze.engine.nn;

/** The dense reference linear: float32 weights {@code out × in}, row-major, with an optional bias. */
public final class DenseLinear implements LinearOp {
    private final int in;
    private final int out;
    private final float[] weight;
    private final float[] bias;
    private final String description;

    public DenseLinear(int out, int in, float[] weight, float[] bias) {
        this(out, in, weight, bias, "dense f32");
    }

    /** @param description what the weights are, e.g. {@code RTN 4-bit (dequantized)} */
    public DenseLinear(int out, int in, float[] weight, float[] bias, String description) {
        if (weight.length != (long) out * in) {
            throw new IllegalArgumentException("weight has " + weight.length + " values, expected " + out + "×" + in);
        }
        if (bias != null && bias.length != out) {
            throw new IllegalArgumentException("bias has " + bias.length + " values, expected " + out);
        }
        this.in = in;
        this.out = out;
        this.weight = weight;
        this.bias = bias;
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
        for (int b = 0; b < batch; b++) {
            int xo = b * in;
            int yo = b * out;
            for (int o = 0; o < out; o++) {
                int wo = o * in;
                float acc = 0f;
                for (int i = 0; i < in; i++) {
                    acc += weight[wo + i] * x[xo + i];
                }
                y[yo + o] = bias == null ? acc : acc + bias[o];
            }
        }
    }

    @Override
    public String describe() {
        return description;
    }
}
