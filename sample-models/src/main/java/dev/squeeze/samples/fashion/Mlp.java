package dev.squeeze.samples.fashion;

import dev.squeeze.engine.data.ImageSet;

import java.util.Random;

/**
 * The training-time MLP: ReLU hidden layers, softmax cross-entropy loss, SGD with momentum.
 *
 * <p>Weights are kept transposed ({@code in × out}) so that the forward pass and the weight gradient are
 * "axpy" loops over contiguous rows, which the JIT vectorises; evaluation code in the engine uses its own,
 * independent forward pass on the exported {@code out × in} weights.
 */
public final class Mlp {
    private final int[] widths;
    private final float[][] wt;   // [layer][in * out], row i = weights from input i
    private final float[][] bias; // [layer][out]
    private final float[][] vw;   // momentum buffers
    private final float[][] vb;

    Mlp(int[] widths, Random rng) {
        this.widths = widths.clone();
        int layers = widths.length - 1;
        wt = new float[layers][];
        bias = new float[layers][];
        vw = new float[layers][];
        vb = new float[layers][];
        for (int l = 0; l < layers; l++) {
            int in = widths[l];
            int out = widths[l + 1];
            wt[l] = new float[in * out];
            double std = Math.sqrt(2.0 / in); // He initialisation for ReLU
            for (int i = 0; i < wt[l].length; i++) {
                wt[l][i] = (float) (rng.nextGaussian() * std);
            }
            bias[l] = new float[out];
            vw[l] = new float[in * out];
            vb[l] = new float[out];
        }
    }

    public int layers() {
        return widths.length - 1;
    }

    public int in(int l) {
        return widths[l];
    }

    public int out(int l) {
        return widths[l + 1];
    }

    public float[] bias(int l) {
        return bias[l].clone();
    }

    /** Layer {@code l}'s weights as {@code out × in} row-major (the layout of the exported model). */
    public float[] weightOutByIn(int l) {
        int in = in(l);
        int out = out(l);
        float[] w = new float[in * out];
        for (int i = 0; i < in; i++) {
            for (int o = 0; o < out; o++) {
                w[o * in + i] = wt[l][i * out + o];
            }
        }
        return w;
    }

    /** Activations of every layer for a batch; {@code acts[0]} is the scaled input. */
    private float[][] forward(float[] input, int batch) {
        float[][] acts = new float[widths.length][];
        acts[0] = input;
        for (int l = 0; l < layers(); l++) {
            int in = in(l);
            int out = out(l);
            float[] x = acts[l];
            float[] y = new float[batch * out];
            float[] w = wt[l];
            for (int b = 0; b < batch; b++) {
                int yo = b * out;
                System.arraycopy(bias[l], 0, y, yo, out);
                for (int i = 0; i < in; i++) {
                    float xi = x[b * in + i];
                    if (xi == 0f) {
                        continue; // ReLU outputs and dark pixels are often exactly zero
                    }
                    int wo = i * out;
                    for (int o = 0; o < out; o++) {
                        y[yo + o] += xi * w[wo + o];
                    }
                }
                if (l < layers() - 1) {
                    for (int o = 0; o < out; o++) {
                        y[yo + o] = Math.max(0f, y[yo + o]);
                    }
                }
            }
            acts[l + 1] = y;
        }
        return acts;
    }

    private static float[] scaled(ImageSet set, int[] order, int from, int batch) {
        int size = set.imageSize();
        float[] x = new float[batch * size];
        byte[] px = set.pixels();
        for (int b = 0; b < batch; b++) {
            int src = (order == null ? from + b : order[from + b]) * size;
            for (int i = 0; i < size; i++) {
                x[b * size + i] = (px[src + i] & 0xff) / 255f;
            }
        }
        return x;
    }

    /** One SGD step on images {@code order[from .. from+batch)}; returns the batch's mean loss. */
    double step(ImageSet set, int[] order, int from, int batch, float lr, float momentum, float decay) {
        float[][] acts = forward(scaled(set, order, from, batch), batch);
        int classes = widths[widths.length - 1];
        float[] logits = acts[acts.length - 1];
        float[] delta = new float[batch * classes];
        double loss = 0;
        for (int b = 0; b < batch; b++) {
            int off = b * classes;
            float max = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, logits[off + c]);
            }
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                sum += Math.exp(logits[off + c] - max);
            }
            int label = set.label(order == null ? from + b : order[from + b]);
            for (int c = 0; c < classes; c++) {
                double p = Math.exp(logits[off + c] - max) / sum;
                delta[off + c] = (float) ((p - (c == label ? 1 : 0)) / batch);
            }
            loss += -(logits[off + label] - max - Math.log(sum));
        }
        for (int l = layers() - 1; l >= 0; l--) {
            int in = in(l);
            int out = out(l);
            float[] x = acts[l];
            float[] gw = new float[in * out];
            float[] gb = new float[out];
            for (int b = 0; b < batch; b++) {
                int d = b * out;
                for (int o = 0; o < out; o++) {
                    gb[o] += delta[d + o];
                }
                for (int i = 0; i < in; i++) {
                    float xi = x[b * in + i];
                    if (xi == 0f) {
                        continue;
                    }
                    int go = i * out;
                    for (int o = 0; o < out; o++) {
                        gw[go + o] += xi * delta[d + o];
                    }
                }
            }
            if (l > 0) {
                float[] prev = new float[batch * in];
                float[] w = wt[l];
                for (int b = 0; b < batch; b++) {
                    for (int i = 0; i < in; i++) {
                        if (x[b * in + i] <= 0f) {
                            continue; // ReLU gradient is zero where the activation was clipped
                        }
                        float acc = 0f;
                        int wo = i * out;
                        for (int o = 0; o < out; o++) {
                            acc += w[wo + o] * delta[b * out + o];
                        }
                        prev[b * in + i] = acc;
                    }
                }
                delta = prev;
            }
            float[] w = wt[l];
            float[] v = vw[l];
            for (int k = 0; k < w.length; k++) {
                v[k] = momentum * v[k] + gw[k] + decay * w[k];
                w[k] -= lr * v[k];
            }
            for (int o = 0; o < out; o++) {
                vb[l][o] = momentum * vb[l][o] + gb[o];
                bias[l][o] -= lr * vb[l][o];
            }
        }
        return loss / batch;
    }

    /** Top-1 accuracy with this (training-side) forward pass. */
    public double accuracy(ImageSet set) {
        int classes = widths[widths.length - 1];
        int correct = 0;
        for (int from = 0; from < set.count(); from += 500) {
            int n = Math.min(500, set.count() - from);
            float[] logits = forward(scaled(set, null, from, n), n)[widths.length - 1];
            for (int b = 0; b < n; b++) {
                int best = 0;
                for (int c = 1; c < classes; c++) {
                    if (logits[b * classes + c] > logits[b * classes + best]) {
                        best = c;
                    }
                }
                if (best == set.label(from + b)) {
                    correct++;
                }
            }
        }
        return (double) correct / set.count();
    }
}
