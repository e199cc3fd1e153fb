package dev.squeeze.engine.nn;

/** Adds a float32 bias to the output of any linear (compressed linears store weights only). */
public final class BiasedLinear implements LinearOp {
    private final LinearOp inner;
    private final float[] bias;

    public BiasedLinear(LinearOp inner, float[] bias) {
        if (bias.length != inner.outFeatures()) {
            throw new IllegalArgumentException("bias has " + bias.length + " values, expected " + inner.outFeatures());
        }
        this.inner = inner;
        this.bias = bias;
    }

    @Override
    public int inFeatures() {
        return inner.inFeatures();
    }

    @Override
    public int outFeatures() {
        return inner.outFeatures();
    }

    @Override
    public void forward(float[] x, int batch, float[] y) {
        inner.forward(x, batch, y);
        int out = bias.length;
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < out; o++) {
                y[b * out + o] += bias[o];
            }
        }
    }

    @Override
    public String describe() {
        return inner.describe() + " + bias";
    }
}
