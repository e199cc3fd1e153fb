package dev.squeeze.engine.testing;

import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.RopeStyle;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A committed generator of small random Llama-family models under the canonical names, and an independent
 * reference forward pass: a direct, double-precision transcription of the Llama equations (no KV cache, no
 * batching, no LinearOp), for checking {@link dev.squeeze.engine.nn.llama.LlamaModel} against.
 */
public final class TinyLlama {
    private TinyLlama() {
    }

    /** Random weights (seeded): matrices N(0, 0.3²)-ish, norm weights around 1, biases when the config has them. */
    public static Map<String, float[]> randomWeights(LlamaConfig c, long seed) {
        Random rng = new Random(seed);
        Map<String, float[]> w = new LinkedHashMap<>();
        int dim = c.dim();
        w.put(LlamaLayers.EMBEDDING + ".weight", gaussian(rng, c.vocabSize() * dim, 0.5f, 0f));
        for (int l = 0; l < c.nLayers(); l++) {
            w.put(LlamaLayers.attentionNorm(l) + ".weight", gaussian(rng, dim, 0.1f, 1f));
            w.put(LlamaLayers.q(l) + ".weight", gaussian(rng, dim * dim, 0.3f, 0f));
            w.put(LlamaLayers.k(l) + ".weight", gaussian(rng, c.kvDim() * dim, 0.3f, 0f));
            w.put(LlamaLayers.v(l) + ".weight", gaussian(rng, c.kvDim() * dim, 0.3f, 0f));
            if (c.qkvBias()) {
                w.put(LlamaLayers.q(l) + ".bias", gaussian(rng, dim, 0.2f, 0f));
                w.put(LlamaLayers.k(l) + ".bias", gaussian(rng, c.kvDim(), 0.2f, 0f));
                w.put(LlamaLayers.v(l) + ".bias", gaussian(rng, c.kvDim(), 0.2f, 0f));
            }
            w.put(LlamaLayers.o(l) + ".weight", gaussian(rng, dim * dim, 0.3f, 0f));
            w.put(LlamaLayers.mlpNorm(l) + ".weight", gaussian(rng, dim, 0.1f, 1f));
            w.put(LlamaLayers.gate(l) + ".weight", gaussian(rng, c.hiddenDim() * dim, 0.3f, 0f));
            w.put(LlamaLayers.up(l) + ".weight", gaussian(rng, c.hiddenDim() * dim, 0.3f, 0f));
            w.put(LlamaLayers.down(l) + ".weight", gaussian(rng, dim * c.hiddenDim(), 0.3f, 0f));
        }
        w.put(LlamaLayers.FINAL_NORM + ".weight", gaussian(rng, dim, 0.1f, 1f));
        if (!c.tiedEmbeddings()) {
            w.put(LlamaLayers.HEAD + ".weight", gaussian(rng, c.vocabSize() * dim, 0.3f, 0f));
        }
        return w;
    }

    /** The shape of a canonical tensor in a model of config {@code c}. */
    public static long[] shape(LlamaConfig c, String tensor) {
        String layer = tensor.substring(0, tensor.lastIndexOf('.'));
        boolean bias = tensor.endsWith(".bias");
        if (layer.equals(LlamaLayers.EMBEDDING) || layer.equals(LlamaLayers.HEAD)) {
            return new long[]{c.vocabSize(), c.dim()};
        }
        if (layer.endsWith("norm")) {
            return new long[]{c.dim()};
        }
        long out;
        long in = c.dim();
        if (layer.endsWith("k_proj") || layer.endsWith("v_proj")) {
            out = c.kvDim();
        } else if (layer.endsWith("gate_proj") || layer.endsWith("up_proj")) {
            out = c.hiddenDim();
        } else if (layer.endsWith("down_proj")) {
            out = c.dim();
            in = c.hiddenDim();
        } else {
            out = c.dim();
        }
        return bias ? new long[]{out} : new long[]{out, in};
    }

    /** A float32 in-memory model of architecture {@code llama} with the config's metadata. */
    public static Model model(LlamaConfig c, Map<String, float[]> weights) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        weights.forEach((name, values) -> tensors.put(name, Tensor.of(name, values, shape(c, name))));
        return new Model("tiny-llama", "memory:tiny-llama", "memory", LlamaConfig.ARCHITECTURE, "0", tensors,
                c.toMetadata());
    }

    /** Logits of every position, {@code [tokens.length][vocab]}, computed in double from the equations. */
    public static double[][] referenceLogits(LlamaConfig c, Map<String, float[]> w, int[] tokens) {
        int dim = c.dim();
        int hd = c.headDim();
        int kvDim = c.kvDim();
        int n = tokens.length;
        double[][][] keys = new double[c.nLayers()][n][];
        double[][][] values = new double[c.nLayers()][n][];
        double[][] out = new double[n][];
        float[] emb = w.get(LlamaLayers.EMBEDDING + ".weight");
        for (int t = 0; t < n; t++) {
            double[] x = new double[dim];
            for (int i = 0; i < dim; i++) {
                x[i] = emb[tokens[t] * dim + i];
            }
            for (int l = 0; l < c.nLayers(); l++) {
                double[] h = rmsnorm(x, w.get(LlamaLayers.attentionNorm(l) + ".weight"), c.normEps());
                double[] q = matvec(w, LlamaLayers.q(l), h, dim, dim);
                double[] k = matvec(w, LlamaLayers.k(l), h, kvDim, dim);
                double[] v = matvec(w, LlamaLayers.v(l), h, kvDim, dim);
                rope(c, q, c.nHeads(), t);
                rope(c, k, c.nKvHeads(), t);
                keys[l][t] = k;
                values[l][t] = v;
                double[] att = new double[dim];
                for (int head = 0; head < c.nHeads(); head++) {
                    int kvHead = head / (c.nHeads() / c.nKvHeads());
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int p = 0; p <= t; p++) {
                        double dot = 0;
                        for (int i = 0; i < hd; i++) {
                            dot += q[head * hd + i] * keys[l][p][kvHead * hd + i];
                        }
                        s[p] = dot / Math.sqrt(hd);
                        max = Math.max(max, s[p]);
                    }
                    double sum = 0;
                    for (int p = 0; p <= t; p++) {
                        s[p] = Math.exp(s[p] - max);
                        sum += s[p];
                    }
                    for (int p = 0; p <= t; p++) {
                        for (int i = 0; i < hd; i++) {
                            att[head * hd + i] += s[p] / sum * values[l][p][kvHead * hd + i];
                        }
                    }
                }
                add(x, matvec(w, LlamaLayers.o(l), att, dim, dim));
                double[] h2 = rmsnorm(x, w.get(LlamaLayers.mlpNorm(l) + ".weight"), c.normEps());
                double[] g = matvec(w, LlamaLayers.gate(l), h2, c.hiddenDim(), dim);
                double[] u = matvec(w, LlamaLayers.up(l), h2, c.hiddenDim(), dim);
                for (int i = 0; i < g.length; i++) {
                    g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                }
                add(x, matvec(w, LlamaLayers.down(l), g, dim, c.hiddenDim()));
            }
            double[] f = rmsnorm(x, w.get(LlamaLayers.FINAL_NORM + ".weight"), c.normEps());
            String head = w.containsKey(LlamaLayers.HEAD + ".weight") ? LlamaLayers.HEAD : LlamaLayers.EMBEDDING;
            out[t] = matvec(w, head, f, c.vocabSize(), dim);
        }
        return out;
    }

    private static void rope(LlamaConfig c, double[] vec, int heads, int pos) {
        int hd = c.headDim();
        int half = hd / 2;
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < half; j++) {
                double angle = pos * Math.pow(c.ropeTheta(), -2.0 * j / hd);
                int a = c.ropeStyle() == RopeStyle.INTERLEAVED ? h * hd + 2 * j : h * hd + j;
                int b = c.ropeStyle() == RopeStyle.INTERLEAVED ? a + 1 : a + half;
                double x0 = vec[a];
                double x1 = vec[b];
                vec[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
                vec[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
            }
        }
    }

    private static double[] matvec(Map<String, float[]> w, String layer, double[] x, int out, int in) {
        float[] m = w.get(layer + ".weight");
        float[] bias = w.get(layer + ".bias");
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double acc = bias == null ? 0 : bias[o];
            for (int i = 0; i < in; i++) {
                acc += (double) m[o * in + i] * x[i];
            }
            y[o] = acc;
        }
        return y;
    }

    private static double[] rmsnorm(double[] x, float[] weight, double eps) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = weight[i] * x[i] * inv;
        }
        return out;
    }

    private static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    private static float[] gaussian(Random rng, int n, float sd, float mean) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = mean + sd * (float) rng.nextGaussian();
        }
        return v;
    }

    /** A small config with grouped-query attention: dim 16, hidden 24, 2 layers, 4 heads, 2 kv heads, vocab 32. */
    public static LlamaConfig config(RopeStyle style, boolean qkvBias, boolean tied) {
        return new LlamaConfig(16, 24, 2, 4, 2, 32, 24, 1e-5, 10000, style, qkvBias, tied);
    }
}
