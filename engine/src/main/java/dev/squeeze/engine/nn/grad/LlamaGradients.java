package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.Parallelism;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.RopeStyle;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Gradients of a Llama-family model's language-modelling loss with respect to the weight of every linear: the
 * backward pass of {@link dev.squeeze.engine.nn.llama.LlamaModel}'s network (token embedding, per block RMSNorm,
 * q/k/v projections with optional biases, RoPE in either {@link RopeStyle}, causal softmax attention with
 * grouped-query heads, o projection and residual, RMSNorm, SwiGLU MLP and residual; final RMSNorm and the head,
 * tied to the embedding or not).
 * <p>
 * The loss of a window {@code t_0 .. t_{n−1}} is the mean next-token cross-entropy
 * {@code (1/(n−1)) Σ_{i<n−1} −log softmax(logits(t_0..t_i))[t_{i+1}]}: the model reads {@code t_0 .. t_{n−2}}
 * from position 0 and predicts each following token. The gradient is taken with respect to every block's
 * {@code q, k, v, o, gate, up, down} weight and the head's weight (with tied embeddings: the head's use of the
 * table only, which is what a compressed {@code lm_head} replaces), each {@code out × in} row-major like the
 * weight.
 * <p>
 * Two paths compute the same thing: {@link #reference()} is a readable transcription of the chain rule in plain
 * loops on {@code double} activations (one thread); the default fast path keeps activations in {@code float},
 * runs every product (linears, and per head {@code Q Kᵀ}, {@code P V} and their backward products) through
 * {@link Blas#sgemm} and the attention's key/value heads on {@link Parallelism} threads. Tests hold both against
 * central finite differences and against each other.
 * <p>
 * The weights are copied to the heap (float32), so models up to {@link #HEAP_LIMIT} bytes as float32 are
 * accepted. An instance is immutable and may be shared between threads.
 */
public final class LlamaGradients {
    /** The largest model (float32 bytes of all its tensors) whose gradients are computed. */
    public static final long HEAP_LIMIT = 1L << 30;

    private final LlamaConfig c;
    private final float[] embedding;
    private final float[][] attnNorm;
    private final float[][] mlpNorm;
    private final float[] finalNorm;
    /** [layer][q,k,v,o,gate,up,down]. */
    private final float[][][] w;
    /** [layer][q,k,v] biases, or null rows when the model has none. */
    private final float[][][] bias;
    private final float[] head;
    private final String[][] names;
    private final boolean reference;

    private static final int Q = 0;
    private static final int K = 1;
    private static final int V = 2;
    private static final int O = 3;
    private static final int GATE = 4;
    private static final int UP = 5;
    private static final int DOWN = 6;

    /**
     * The loss of one window and its gradients.
     *
     * @param loss        mean next-token cross-entropy (nats) over the window's predictions
     * @param predictions the number of predictions averaged ({@code window length − 1})
     * @param gradients   layer name → {@code ∂loss/∂W}, {@code out × in} row-major, in forward order (per block q,
     *                    k, v, o, gate, up, down; then {@code lm_head})
     */
    public record Result(double loss, int predictions, Map<String, float[]> gradients) {
    }

    private LlamaGradients(LlamaConfig c, float[] embedding, float[][] attnNorm, float[][] mlpNorm,
                           float[] finalNorm, float[][][] w, float[][][] bias, float[] head, boolean reference) {
        this.c = c;
        this.embedding = embedding;
        this.attnNorm = attnNorm;
        this.mlpNorm = mlpNorm;
        this.finalNorm = finalNorm;
        this.w = w;
        this.bias = bias;
        this.head = head;
        this.reference = reference;
        this.names = new String[c.nLayers()][];
        for (int l = 0; l < c.nLayers(); l++) {
            names[l] = new String[]{LlamaLayers.q(l), LlamaLayers.k(l), LlamaLayers.v(l), LlamaLayers.o(l),
                    LlamaLayers.gate(l), LlamaLayers.up(l), LlamaLayers.down(l)};
        }
    }

    /** The fast path for a Llama-family model ({@code squeeze.llama.*} metadata); weights copied to the heap. */
    public static LlamaGradients of(Model model) {
        if (!LlamaConfig.ARCHITECTURE.equals(model.architecture())) {
            throw new SqueezeException("Model " + model.source() + " has architecture '" + model.architecture()
                    + "', not '" + LlamaConfig.ARCHITECTURE + "', so it has no Llama gradients",
                    "compute gradients of a Llama-family language model");
        }
        LlamaConfig c = LlamaConfig.fromMetadata(model);
        long bytes = model.tensors().values().stream().mapToLong(Tensor::numel).sum() * Float.BYTES;
        if (bytes > HEAP_LIMIT) {
            throw new SqueezeException("Model " + model.source() + " takes " + bytes + " bytes as float32; gradients"
                    + " and Fisher information are computed for models up to " + HEAP_LIMIT + " bytes",
                    "use a method that needs no gradients (e.g. low-rank 'whitened' or 'activation' instead of"
                            + " 'fisher') for this model");
        }
        int dim = c.dim();
        int kv = c.kvDim();
        int hidden = c.hiddenDim();
        float[] emb = floats(model, LlamaLayers.EMBEDDING + ".weight", (long) c.vocabSize() * dim);
        float[][] n1 = new float[c.nLayers()][];
        float[][] n2 = new float[c.nLayers()][];
        float[][][] w = new float[c.nLayers()][7][];
        float[][][] b = new float[c.nLayers()][3][];
        for (int l = 0; l < c.nLayers(); l++) {
            n1[l] = floats(model, LlamaLayers.attentionNorm(l) + ".weight", dim);
            n2[l] = floats(model, LlamaLayers.mlpNorm(l) + ".weight", dim);
            w[l][Q] = floats(model, LlamaLayers.q(l) + ".weight", (long) dim * dim);
            w[l][K] = floats(model, LlamaLayers.k(l) + ".weight", (long) kv * dim);
            w[l][V] = floats(model, LlamaLayers.v(l) + ".weight", (long) kv * dim);
            w[l][O] = floats(model, LlamaLayers.o(l) + ".weight", (long) dim * dim);
            w[l][GATE] = floats(model, LlamaLayers.gate(l) + ".weight", (long) hidden * dim);
            w[l][UP] = floats(model, LlamaLayers.up(l) + ".weight", (long) hidden * dim);
            w[l][DOWN] = floats(model, LlamaLayers.down(l) + ".weight", (long) dim * hidden);
            if (c.qkvBias()) {
                b[l][Q] = floats(model, LlamaLayers.q(l) + ".bias", dim);
                b[l][K] = floats(model, LlamaLayers.k(l) + ".bias", kv);
                b[l][V] = floats(model, LlamaLayers.v(l) + ".bias", kv);
            }
        }
        float[] fn = floats(model, LlamaLayers.FINAL_NORM + ".weight", dim);
        // What is stored is what runs (as LlamaModel): a tied checkpoint may still store lm_head.
        float[] head = model.findTensor(LlamaLayers.HEAD + ".weight").isPresent() || !c.tiedEmbeddings()
                ? floats(model, LlamaLayers.HEAD + ".weight", (long) c.vocabSize() * dim) : emb;
        return new LlamaGradients(c, emb, n1, n2, fn, w, b, head, false);
    }

    private static float[] floats(Model model, String name, long numel) {
        Tensor t = model.findTensor(name).orElseThrow(() -> new SqueezeException("Model " + model.source()
                + " has no tensor " + name + " that a Llama model needs",
                "check that the file is a complete Llama-family checkpoint"));
        if (t.numel() != numel) {
            throw new SqueezeException("Model " + model.source() + ": tensor " + name + " has " + t.numel()
                    + " values, expected " + numel, "the weights and the architecture description disagree");
        }
        return t.floats();
    }

    /** The same gradients on the readable reference path (plain loops, double activations, one thread). */
    public LlamaGradients reference() {
        return new LlamaGradients(c, embedding, attnNorm, mlpNorm, finalNorm, w, bias, head, true);
    }

    public boolean isReference() {
        return reference;
    }

    public LlamaConfig config() {
        return c;
    }

    /** The layers that get a gradient, in forward order: per block q, k, v, o, gate, up, down; then lm_head. */
    public List<String> layers() {
        return LlamaLayers.linearNames(c.nLayers());
    }

    /**
     * The loss of one window and its gradient with respect to every linear's weight.
     *
     * @param window at least 2 token ids, at most {@code maxSeqLen + 1} (the last one is only predicted)
     */
    public Result compute(int[] window) {
        if (window.length < 2) {
            throw new IllegalArgumentException("a window needs at least 2 tokens (one to read, one to predict), has "
                    + window.length);
        }
        int n = window.length - 1;
        if (n > c.maxSeqLen()) {
            throw new SqueezeException("A window of " + window.length + " tokens reads " + n + " positions, more than"
                    + " the context of " + c.maxSeqLen(), "use windows of at most " + (c.maxSeqLen() + 1) + " tokens");
        }
        for (int tok : window) {
            if (tok < 0 || tok >= c.vocabSize()) {
                throw new SqueezeException("Token id " + tok + " is outside the vocabulary of " + c.vocabSize()
                        + " tokens", "use the tokenizer that belongs to this model");
            }
        }
        return reference ? new ReferencePass(window).run() : new FastPass(window).run();
    }

    /** RoPE angles' cosines and sines, {@code [position · half + j]}, as LlamaModel computes them (in float). */
    private double[][] trig(int n) {
        int hd = c.headDim();
        int half = hd / 2;
        double[] cos = new double[n * half];
        double[] sin = new double[n * half];
        for (int j = 0; j < half; j++) {
            float invFreq = 1.0f / (float) Math.pow(c.ropeTheta(), (2f * j) / hd);
            for (int t = 0; t < n; t++) {
                float angle = t * invFreq;
                cos[t * half + j] = (float) Math.cos(angle);
                sin[t * half + j] = (float) Math.sin(angle);
            }
        }
        return new double[][]{cos, sin};
    }

    /** Element indices of RoPE pair {@code j} within a head. */
    private int pairFirst(int j) {
        return c.ropeStyle() == RopeStyle.INTERLEAVED ? 2 * j : j;
    }

    private int pairSecond(int j) {
        return c.ropeStyle() == RopeStyle.INTERLEAVED ? 2 * j + 1 : j + c.headDim() / 2;
    }

    private Map<String, float[]> emptyGradients() {
        Map<String, float[]> g = new LinkedHashMap<>();
        for (int l = 0; l < c.nLayers(); l++) {
            for (int i = 0; i < 7; i++) {
                g.put(names[l][i], new float[w[l][i].length]);
            }
        }
        g.put(LlamaLayers.HEAD, new float[head.length]);
        return g;
    }

    // ------------------------------------------------------------------ reference path

    /** The chain rule written out in plain loops over double activations. */
    private final class ReferencePass {
        private final int[] tokens;
        private final int n;
        private final int dim = c.dim();
        private final int kvDim = c.kvDim();
        private final int hd = c.headDim();
        private final int hidden = c.hiddenDim();
        private final double[] cos;
        private final double[] sin;

        ReferencePass(int[] window) {
            this.tokens = window;
            this.n = window.length - 1;
            double[][] t = trig(n);
            cos = t[0];
            sin = t[1];
        }

        /** What block l's forward keeps for its backward. */
        private final class Saved {
            double[] x;
            double[] xn;
            double[] q;
            double[] k;
            double[] v;
            double[][] p; // [head][t · n + s]
            double[] att;
            double[] x1;
            double[] xn2;
            double[] gate;
            double[] up;
            double[] mid;
        }

        Result run() {
            Map<String, float[]> grads = emptyGradients();
            double[] x = new double[n * dim];
            for (int t = 0; t < n; t++) {
                for (int i = 0; i < dim; i++) {
                    x[t * dim + i] = embedding[tokens[t] * dim + i];
                }
            }
            Saved[] saved = new Saved[c.nLayers()];
            for (int l = 0; l < c.nLayers(); l++) {
                saved[l] = new Saved();
                x = blockForward(l, x, saved[l]);
            }
            double[] xf = rmsnorm(x, finalNorm);
            double[] logits = linear(xf, head, c.vocabSize(), dim, null);
            int vocab = c.vocabSize();
            double loss = 0;
            double[] dLogits = new double[n * vocab];
            for (int t = 0; t < n; t++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < vocab; j++) {
                    max = Math.max(max, logits[t * vocab + j]);
                }
                double sum = 0;
                for (int j = 0; j < vocab; j++) {
                    sum += Math.exp(logits[t * vocab + j] - max);
                }
                int target = tokens[t + 1];
                loss += max + Math.log(sum) - logits[t * vocab + target];
                // d(mean CE)/d logit = (softmax − one-hot) / n
                for (int j = 0; j < vocab; j++) {
                    dLogits[t * vocab + j] = Math.exp(logits[t * vocab + j] - max) / sum / n;
                }
                dLogits[t * vocab + target] -= 1.0 / n;
            }
            loss /= n;
            store(grads.get(LlamaLayers.HEAD), weightGradient(dLogits, xf, vocab, dim));
            double[] dx = rmsnormBackward(x, finalNorm, linearBackward(dLogits, head, vocab, dim));
            for (int l = c.nLayers() - 1; l >= 0; l--) {
                dx = blockBackward(l, dx, saved[l], grads);
            }
            return new Result(loss, n, Collections.unmodifiableMap(grads));
        }

        double[] blockForward(int l, double[] x, Saved s) {
            s.x = x;
            s.xn = rmsnorm(x, attnNorm[l]);
            s.q = linear(s.xn, w[l][Q], dim, dim, bias[l][Q]);
            s.k = linear(s.xn, w[l][K], kvDim, dim, bias[l][K]);
            s.v = linear(s.xn, w[l][V], kvDim, dim, bias[l][V]);
            rope(s.q, dim, c.nHeads(), false);
            rope(s.k, kvDim, c.nKvHeads(), false);
            s.p = new double[c.nHeads()][n * n];
            s.att = new double[n * dim];
            double scale = 1 / Math.sqrt(hd);
            for (int h = 0; h < c.nHeads(); h++) {
                int kvo = (h / c.groupSize()) * hd;
                double[] p = s.p[h];
                for (int t = 0; t < n; t++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int u = 0; u <= t; u++) {
                        double dot = 0;
                        for (int i = 0; i < hd; i++) {
                            dot += s.q[t * dim + h * hd + i] * s.k[u * kvDim + kvo + i];
                        }
                        p[t * n + u] = dot * scale;
                        max = Math.max(max, p[t * n + u]);
                    }
                    double sum = 0;
                    for (int u = 0; u <= t; u++) {
                        p[t * n + u] = Math.exp(p[t * n + u] - max);
                        sum += p[t * n + u];
                    }
                    for (int u = 0; u <= t; u++) {
                        p[t * n + u] /= sum;
                        for (int i = 0; i < hd; i++) {
                            s.att[t * dim + h * hd + i] += p[t * n + u] * s.v[u * kvDim + kvo + i];
                        }
                    }
                }
            }
            s.x1 = add(x, linear(s.att, w[l][O], dim, dim, null));
            s.xn2 = rmsnorm(s.x1, mlpNorm[l]);
            s.gate = linear(s.xn2, w[l][GATE], hidden, dim, null);
            s.up = linear(s.xn2, w[l][UP], hidden, dim, null);
            s.mid = new double[n * hidden];
            for (int i = 0; i < s.mid.length; i++) {
                double g = s.gate[i];
                s.mid[i] = g / (1 + Math.exp(-g)) * s.up[i];
            }
            return add(s.x1, linear(s.mid, w[l][DOWN], dim, hidden, null));
        }

        /** Takes {@code ∂loss/∂(block output)}, adds the block's weight gradients, returns {@code ∂loss/∂(input)}. */
        double[] blockBackward(int l, double[] dOut, Saved s, Map<String, float[]> grads) {
            // x2 = x1 + down(mid): the residual passes dOut to x1 unchanged.
            store(grads.get(names[l][DOWN]), weightGradient(dOut, s.mid, dim, hidden));
            double[] dMid = linearBackward(dOut, w[l][DOWN], dim, hidden);
            double[] dGate = new double[n * hidden];
            double[] dUp = new double[n * hidden];
            for (int i = 0; i < dMid.length; i++) {
                double g = s.gate[i];
                double sig = 1 / (1 + Math.exp(-g));
                dUp[i] = dMid[i] * g * sig;
                // d silu(g)/dg = σ(g) (1 + g (1 − σ(g)))
                dGate[i] = dMid[i] * s.up[i] * sig * (1 + g * (1 - sig));
            }
            store(grads.get(names[l][GATE]), weightGradient(dGate, s.xn2, hidden, dim));
            store(grads.get(names[l][UP]), weightGradient(dUp, s.xn2, hidden, dim));
            double[] dXn2 = add(linearBackward(dGate, w[l][GATE], hidden, dim),
                    linearBackward(dUp, w[l][UP], hidden, dim));
            double[] dX1 = add(dOut, rmsnormBackward(s.x1, mlpNorm[l], dXn2));
            // x1 = x + o(att)
            store(grads.get(names[l][O]), weightGradient(dX1, s.att, dim, dim));
            double[] dAtt = linearBackward(dX1, w[l][O], dim, dim);
            double[] dq = new double[n * dim];
            double[] dk = new double[n * kvDim];
            double[] dv = new double[n * kvDim];
            double scale = 1 / Math.sqrt(hd);
            for (int h = 0; h < c.nHeads(); h++) {
                int kvo = (h / c.groupSize()) * hd;
                double[] p = s.p[h];
                for (int t = 0; t < n; t++) {
                    // att[t] = Σ_u p[t,u] v[u]: dp[t,u] = dAtt[t]·v[u], dv[u] += p[t,u] dAtt[t].
                    double[] dp = new double[t + 1];
                    double dot = 0;
                    for (int u = 0; u <= t; u++) {
                        double a = 0;
                        for (int i = 0; i < hd; i++) {
                            a += dAtt[t * dim + h * hd + i] * s.v[u * kvDim + kvo + i];
                            dv[u * kvDim + kvo + i] += p[t * n + u] * dAtt[t * dim + h * hd + i];
                        }
                        dp[u] = a;
                        dot += p[t * n + u] * a;
                    }
                    // Softmax: dscore[u] = p[u] (dp[u] − Σ_u' p[u'] dp[u']); score = scale · q[t]·k[u].
                    for (int u = 0; u <= t; u++) {
                        double ds = p[t * n + u] * (dp[u] - dot) * scale;
                        for (int i = 0; i < hd; i++) {
                            dq[t * dim + h * hd + i] += ds * s.k[u * kvDim + kvo + i];
                            dk[u * kvDim + kvo + i] += ds * s.q[t * dim + h * hd + i];
                        }
                    }
                }
            }
            // q and k were rotated after the projection: rotate their gradients back.
            rope(dq, dim, c.nHeads(), true);
            rope(dk, kvDim, c.nKvHeads(), true);
            store(grads.get(names[l][Q]), weightGradient(dq, s.xn, dim, dim));
            store(grads.get(names[l][K]), weightGradient(dk, s.xn, kvDim, dim));
            store(grads.get(names[l][V]), weightGradient(dv, s.xn, kvDim, dim));
            double[] dXn = add(add(linearBackward(dq, w[l][Q], dim, dim), linearBackward(dk, w[l][K], kvDim, dim)),
                    linearBackward(dv, w[l][V], kvDim, dim));
            return add(dX1, rmsnormBackward(s.x, attnNorm[l], dXn));
        }

        /**
         * Rotates pair j of every head of every row by {@code +angle} (forward) or {@code −angle} (the backward:
         * the transpose of a rotation is the rotation back).
         */
        void rope(double[] m, int width, int heads, boolean inverse) {
            int half = hd / 2;
            for (int t = 0; t < n; t++) {
                for (int h = 0; h < heads; h++) {
                    for (int j = 0; j < half; j++) {
                        int a = t * width + h * hd + pairFirst(j);
                        int b = t * width + h * hd + pairSecond(j);
                        double co = cos[t * half + j];
                        double si = inverse ? -sin[t * half + j] : sin[t * half + j];
                        double v0 = m[a];
                        double v1 = m[b];
                        m[a] = v0 * co - v1 * si;
                        m[b] = v0 * si + v1 * co;
                    }
                }
            }
        }

        /** {@code y[t] = W x[t] (+ b)} for {@code W} of {@code out × in}. */
        double[] linear(double[] x, float[] m, int out, int in, float[] b) {
            double[] y = new double[n * out];
            for (int t = 0; t < n; t++) {
                for (int o = 0; o < out; o++) {
                    double acc = b == null ? 0 : b[o];
                    for (int i = 0; i < in; i++) {
                        acc += m[o * in + i] * x[t * in + i];
                    }
                    y[t * out + o] = acc;
                }
            }
            return y;
        }

        /** {@code ∂loss/∂x[t] = Wᵀ ∂loss/∂y[t]}. */
        double[] linearBackward(double[] dy, float[] m, int out, int in) {
            double[] dx = new double[n * in];
            for (int t = 0; t < n; t++) {
                for (int o = 0; o < out; o++) {
                    double d = dy[t * out + o];
                    for (int i = 0; i < in; i++) {
                        dx[t * in + i] += m[o * in + i] * d;
                    }
                }
            }
            return dx;
        }

        /** {@code ∂loss/∂W = Σ_t ∂loss/∂y[t] x[t]ᵀ}. */
        double[] weightGradient(double[] dy, double[] x, int out, int in) {
            double[] g = new double[out * in];
            for (int t = 0; t < n; t++) {
                for (int o = 0; o < out; o++) {
                    double d = dy[t * out + o];
                    for (int i = 0; i < in; i++) {
                        g[o * in + i] += d * x[t * in + i];
                    }
                }
            }
            return g;
        }

        /** {@code y = g ⊙ x / rms(x)}, {@code rms(x) = sqrt(mean(x²) + eps)}, row by row. */
        double[] rmsnorm(double[] x, float[] g) {
            double[] y = new double[n * dim];
            for (int t = 0; t < n; t++) {
                double r = invRms(x, t);
                for (int i = 0; i < dim; i++) {
                    y[t * dim + i] = g[i] * x[t * dim + i] * r;
                }
            }
            return y;
        }

        /** {@code ∂/∂x_i = r g_i dy_i − x_i r³/dim Σ_j g_j dy_j x_j} with {@code r = 1/rms(x)}. */
        double[] rmsnormBackward(double[] x, float[] g, double[] dy) {
            double[] dx = new double[n * dim];
            for (int t = 0; t < n; t++) {
                double r = invRms(x, t);
                double dot = 0;
                for (int i = 0; i < dim; i++) {
                    dot += g[i] * dy[t * dim + i] * x[t * dim + i];
                }
                for (int i = 0; i < dim; i++) {
                    dx[t * dim + i] = r * g[i] * dy[t * dim + i] - x[t * dim + i] * r * r * r / dim * dot;
                }
            }
            return dx;
        }

        double invRms(double[] x, int t) {
            double ss = 0;
            for (int i = 0; i < dim; i++) {
                ss += x[t * dim + i] * x[t * dim + i];
            }
            return 1 / Math.sqrt(ss / dim + c.normEps());
        }

        double[] add(double[] a, double[] b) {
            double[] s = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                s[i] = a[i] + b[i];
            }
            return s;
        }

        void store(float[] dst, double[] g) {
            for (int i = 0; i < g.length; i++) {
                dst[i] = (float) g[i];
            }
        }
    }

    // ------------------------------------------------------------------ fast path

    /** The same chain rule with float activations, products as GEMMs and attention heads on threads. */
    private final class FastPass {
        private final int[] tokens;
        private final int n;
        private final int dim = c.dim();
        private final int kvDim = c.kvDim();
        private final int hd = c.headDim();
        private final int hidden = c.hiddenDim();
        private final float[] cos;
        private final float[] sin;
        private final Blas blas = Blas.get();

        FastPass(int[] window) {
            this.tokens = window;
            this.n = window.length - 1;
            double[][] t = trig(n);
            cos = toFloat(t[0]);
            sin = toFloat(t[1]);
        }

        private final class Saved {
            float[] x;
            float[] r1;
            float[] xn;
            float[] q;
            float[] k;
            float[] v;
            float[] p; // [head][t][s], n × n per head
            float[] att;
            float[] x1;
            float[] r2;
            float[] xn2;
            float[] gate;
            float[] up;
            float[] mid;
        }

        Result run() {
            Map<String, float[]> grads = emptyGradients();
            float[] x = new float[n * dim];
            for (int t = 0; t < n; t++) {
                System.arraycopy(embedding, tokens[t] * dim, x, t * dim, dim);
            }
            Saved[] saved = new Saved[c.nLayers()];
            for (int l = 0; l < c.nLayers(); l++) {
                saved[l] = new Saved();
                x = blockForward(l, x, saved[l]);
            }
            float[] rf = new float[n];
            float[] xf = rmsnorm(x, finalNorm, rf);
            int vocab = c.vocabSize();
            float[] logits = new float[n * vocab];
            blas.sgemm(false, true, n, vocab, dim, 1f, xf, 0, dim, head, 0, dim, 0f, logits, 0, vocab);
            double loss = 0;
            for (int t = 0; t < n; t++) {
                int o = t * vocab;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < vocab; j++) {
                    max = Math.max(max, logits[o + j]);
                }
                double sum = 0;
                for (int j = 0; j < vocab; j++) {
                    sum += Math.exp(logits[o + j] - max);
                }
                int target = tokens[t + 1];
                loss += max + Math.log(sum) - logits[o + target];
                for (int j = 0; j < vocab; j++) {
                    logits[o + j] = (float) (Math.exp(logits[o + j] - max) / sum / n);
                }
                logits[o + target] -= 1f / n;
            }
            loss /= n;
            float[] dLogits = logits;
            weightGradient(dLogits, xf, vocab, dim, grads.get(LlamaLayers.HEAD));
            float[] dxf = new float[n * dim];
            blas.sgemm(false, false, n, dim, vocab, 1f, dLogits, 0, vocab, head, 0, dim, 0f, dxf, 0, dim);
            float[] dx = new float[n * dim];
            rmsnormBackward(x, rf, finalNorm, dxf, dx);
            for (int l = c.nLayers() - 1; l >= 0; l--) {
                dx = blockBackward(l, dx, saved[l], grads);
            }
            return new Result(loss, n, Collections.unmodifiableMap(grads));
        }

        float[] blockForward(int l, float[] x, Saved s) {
            s.x = x;
            s.r1 = new float[n];
            s.xn = rmsnorm(x, attnNorm[l], s.r1);
            s.q = linear(s.xn, w[l][Q], dim, dim, bias[l][Q]);
            s.k = linear(s.xn, w[l][K], kvDim, dim, bias[l][K]);
            s.v = linear(s.xn, w[l][V], kvDim, dim, bias[l][V]);
            rope(s.q, dim, c.nHeads(), false);
            rope(s.k, kvDim, c.nKvHeads(), false);
            s.p = new float[c.nHeads() * n * n];
            s.att = new float[n * dim];
            float scale = (float) (1 / Math.sqrt(hd));
            Parallelism.forEach(c.nKvHeads(), g -> {
                for (int h = g * c.groupSize(); h < (g + 1) * c.groupSize(); h++) {
                    int po = h * n * n;
                    blas.sgemm(false, true, n, n, hd, scale, s.q, h * hd, dim, s.k, g * hd, kvDim, 0f, s.p, po, n);
                    for (int t = 0; t < n; t++) {
                        int o = po + t * n;
                        float max = Float.NEGATIVE_INFINITY;
                        for (int u = 0; u <= t; u++) {
                            max = Math.max(max, s.p[o + u]);
                        }
                        double sum = 0;
                        for (int u = 0; u <= t; u++) {
                            float e = (float) Math.exp(s.p[o + u] - max);
                            s.p[o + u] = e;
                            sum += e;
                        }
                        float inv = (float) (1 / sum);
                        for (int u = 0; u <= t; u++) {
                            s.p[o + u] *= inv;
                        }
                        java.util.Arrays.fill(s.p, o + t + 1, o + n, 0f);
                    }
                    blas.sgemm(false, false, n, hd, n, 1f, s.p, po, n, s.v, g * hd, kvDim, 0f, s.att, h * hd, dim);
                }
            });
            s.x1 = linear(s.att, w[l][O], dim, dim, null);
            addInPlace(s.x1, x);
            s.r2 = new float[n];
            s.xn2 = rmsnorm(s.x1, mlpNorm[l], s.r2);
            s.gate = linear(s.xn2, w[l][GATE], hidden, dim, null);
            s.up = linear(s.xn2, w[l][UP], hidden, dim, null);
            s.mid = new float[n * hidden];
            for (int i = 0; i < s.mid.length; i++) {
                float g = s.gate[i];
                s.mid[i] = g / (1f + (float) Math.exp(-g)) * s.up[i];
            }
            float[] out = linear(s.mid, w[l][DOWN], dim, hidden, null);
            addInPlace(out, s.x1);
            return out;
        }

        float[] blockBackward(int l, float[] dOut, Saved s, Map<String, float[]> grads) {
            weightGradient(dOut, s.mid, dim, hidden, grads.get(names[l][DOWN]));
            float[] dMid = new float[n * hidden];
            blas.sgemm(false, false, n, hidden, dim, 1f, dOut, 0, dim, w[l][DOWN], 0, hidden, 0f, dMid, 0, hidden);
            float[] dGate = new float[n * hidden];
            float[] dUp = new float[n * hidden];
            for (int i = 0; i < dMid.length; i++) {
                float g = s.gate[i];
                float sig = 1f / (1f + (float) Math.exp(-g));
                dUp[i] = dMid[i] * g * sig;
                dGate[i] = dMid[i] * s.up[i] * sig * (1f + g * (1f - sig));
            }
            weightGradient(dGate, s.xn2, hidden, dim, grads.get(names[l][GATE]));
            weightGradient(dUp, s.xn2, hidden, dim, grads.get(names[l][UP]));
            float[] dXn2 = new float[n * dim];
            blas.sgemm(false, false, n, dim, hidden, 1f, dGate, 0, hidden, w[l][GATE], 0, dim, 0f, dXn2, 0, dim);
            blas.sgemm(false, false, n, dim, hidden, 1f, dUp, 0, hidden, w[l][UP], 0, dim, 1f, dXn2, 0, dim);
            float[] dX1 = dOut.clone();
            rmsnormBackward(s.x1, s.r2, mlpNorm[l], dXn2, dX1);
            weightGradient(dX1, s.att, dim, dim, grads.get(names[l][O]));
            float[] dAtt = new float[n * dim];
            blas.sgemm(false, false, n, dim, dim, 1f, dX1, 0, dim, w[l][O], 0, dim, 0f, dAtt, 0, dim);
            float[] dq = new float[n * dim];
            float[] dk = new float[n * kvDim];
            float[] dv = new float[n * kvDim];
            float scale = (float) (1 / Math.sqrt(hd));
            // One job per key/value head: the query heads sharing it add into the same dk, dv columns.
            Parallelism.forEach(c.nKvHeads(), g -> {
                float[] dp = new float[n * n];
                for (int h = g * c.groupSize(); h < (g + 1) * c.groupSize(); h++) {
                    int po = h * n * n;
                    // dP = dAtt_h V_gᵀ; dV_g += P_hᵀ dAtt_h
                    blas.sgemm(false, true, n, n, hd, 1f, dAtt, h * hd, dim, s.v, g * hd, kvDim, 0f, dp, 0, n);
                    blas.sgemm(true, false, n, hd, n, 1f, s.p, po, n, dAtt, h * hd, dim, 1f, dv, g * hd, kvDim);
                    // Softmax backward, row by row: dS = P ⊙ (dP − rowsum(P ⊙ dP)).
                    for (int t = 0; t < n; t++) {
                        int o = t * n;
                        double dot = 0;
                        for (int u = 0; u <= t; u++) {
                            dot += s.p[po + o + u] * dp[o + u];
                        }
                        float d = (float) dot;
                        for (int u = 0; u <= t; u++) {
                            dp[o + u] = s.p[po + o + u] * (dp[o + u] - d);
                        }
                        java.util.Arrays.fill(dp, o + t + 1, o + n, 0f);
                    }
                    // S = scale Q_h K_gᵀ: dQ_h = scale dS K_g; dK_g += scale dSᵀ Q_h
                    blas.sgemm(false, false, n, hd, n, scale, dp, 0, n, s.k, g * hd, kvDim, 0f, dq, h * hd, dim);
                    blas.sgemm(true, false, n, hd, n, scale, dp, 0, n, s.q, h * hd, dim, 1f, dk, g * hd, kvDim);
                }
            });
            rope(dq, dim, c.nHeads(), true);
            rope(dk, kvDim, c.nKvHeads(), true);
            weightGradient(dq, s.xn, dim, dim, grads.get(names[l][Q]));
            weightGradient(dk, s.xn, kvDim, dim, grads.get(names[l][K]));
            weightGradient(dv, s.xn, kvDim, dim, grads.get(names[l][V]));
            float[] dXn = new float[n * dim];
            blas.sgemm(false, false, n, dim, dim, 1f, dq, 0, dim, w[l][Q], 0, dim, 0f, dXn, 0, dim);
            blas.sgemm(false, false, n, dim, kvDim, 1f, dk, 0, kvDim, w[l][K], 0, dim, 1f, dXn, 0, dim);
            blas.sgemm(false, false, n, dim, kvDim, 1f, dv, 0, kvDim, w[l][V], 0, dim, 1f, dXn, 0, dim);
            rmsnormBackward(s.x, s.r1, attnNorm[l], dXn, dX1);
            return dX1;
        }

        void rope(float[] m, int width, int heads, boolean inverse) {
            int half = hd / 2;
            for (int t = 0; t < n; t++) {
                for (int h = 0; h < heads; h++) {
                    int base = t * width + h * hd;
                    for (int j = 0; j < half; j++) {
                        int a = base + pairFirst(j);
                        int b = base + pairSecond(j);
                        float co = cos[t * half + j];
                        float si = inverse ? -sin[t * half + j] : sin[t * half + j];
                        float v0 = m[a];
                        float v1 = m[b];
                        m[a] = v0 * co - v1 * si;
                        m[b] = v0 * si + v1 * co;
                    }
                }
            }
        }

        float[] linear(float[] x, float[] m, int out, int in, float[] b) {
            float[] y = new float[n * out];
            if (b != null) {
                for (int t = 0; t < n; t++) {
                    System.arraycopy(b, 0, y, t * out, out);
                }
            }
            blas.sgemm(false, true, n, out, in, 1f, x, 0, in, m, 0, in, b == null ? 0f : 1f, y, 0, out);
            return y;
        }

        /** {@code dst = dyᵀ x} ({@code out × in}). */
        void weightGradient(float[] dy, float[] x, int out, int in, float[] dst) {
            blas.sgemm(true, false, out, in, n, 1f, dy, 0, out, x, 0, in, 0f, dst, 0, in);
        }

        /** Row by row {@code y = g ⊙ x · r}; {@code r} (1/rms per row) is kept for the backward. */
        float[] rmsnorm(float[] x, float[] g, float[] r) {
            float[] y = new float[n * dim];
            for (int t = 0; t < n; t++) {
                double ss = 0;
                for (int i = 0; i < dim; i++) {
                    ss += (double) x[t * dim + i] * x[t * dim + i];
                }
                float inv = (float) (1 / Math.sqrt(ss / dim + c.normEps()));
                r[t] = inv;
                for (int i = 0; i < dim; i++) {
                    y[t * dim + i] = g[i] * x[t * dim + i] * inv;
                }
            }
            return y;
        }

        /** Adds the RMSNorm's input gradient for output gradient {@code dy} into {@code dx}. */
        void rmsnormBackward(float[] x, float[] r, float[] g, float[] dy, float[] dx) {
            for (int t = 0; t < n; t++) {
                double dot = 0;
                for (int i = 0; i < dim; i++) {
                    dot += (double) g[i] * dy[t * dim + i] * x[t * dim + i];
                }
                float rt = r[t];
                float k = (float) (dot * rt * rt * rt / dim);
                for (int i = 0; i < dim; i++) {
                    dx[t * dim + i] += rt * g[i] * dy[t * dim + i] - x[t * dim + i] * k;
                }
            }
        }

        void addInPlace(float[] a, float[] b) {
            for (int i = 0; i < a.length; i++) {
                a[i] += b[i];
            }
        }
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
