package dev.squeeze.engine.nn.llama;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.TensorLinear;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Llama-family decoder (llama2.c's {@code run.c} generalised): token embedding, then per block
 * {@code x += o(attn(rope(q(n1(x))), rope(k(n1(x))), v(n1(x))))} and {@code x += down(silu(gate(n2(x))) ·
 * up(n2(x)))} with RMSNorms {@code n1, n2}, grouped-query causal attention over a KV cache, a final RMSNorm and
 * the head. Every matrix product goes through a {@link LinearOp} kept under its canonical layer name
 * ({@link LlamaLayers}), so compressed layers replace dense ones with {@link #withLinears(Map)}.
 * <p>
 * A batch of tokens at consecutive positions runs through each linear as one {@code batch × in} product (the
 * teacher-forced and prompt paths); one token is a batch of one. Both paths use the same code and give the same
 * numbers. A model is immutable and may be shared; a {@link State} (KV cache and scratch) belongs to one thread.
 */
public final class LlamaModel {
    /** Models whose weights take at most this many bytes as float32 are copied to the heap by default. */
    public static final long HEAP_COPY_LIMIT = 256L << 20;

    private final LlamaConfig config;
    private final String source;
    private final Embedding embedding;
    private final float[][] attnNorm;
    private final float[][] mlpNorm;
    private final float[] finalNorm;
    private final LinkedHashMap<String, LinearOp> linears;
    private final LinearInputListener listener;
    private final float[] invFreq;
    // Resolved from the map once: [layer][q,k,v,o,gate,up,down].
    private final LinearOp[][] ops;
    private final String[][] names;
    private final LinearOp head;

    private static final int Q = 0;
    private static final int K = 1;
    private static final int V = 2;
    private static final int O = 3;
    private static final int GATE = 4;
    private static final int UP = 5;
    private static final int DOWN = 6;

    private LlamaModel(LlamaConfig config, String source, Embedding embedding, float[][] attnNorm, float[][] mlpNorm,
                       float[] finalNorm, LinkedHashMap<String, LinearOp> linears, LinearInputListener listener) {
        this.config = config;
        this.source = source;
        this.embedding = embedding;
        this.attnNorm = attnNorm;
        this.mlpNorm = mlpNorm;
        this.finalNorm = finalNorm;
        this.linears = linears;
        this.listener = listener;
        int half = config.headDim() / 2;
        this.invFreq = new float[half];
        for (int j = 0; j < half; j++) {
            // As run.c and Hugging Face do it, in float: theta^(-2j/headDim).
            invFreq[j] = 1.0f / (float) Math.pow(config.ropeTheta(), (2f * j) / config.headDim());
        }
        int layers = config.nLayers();
        this.ops = new LinearOp[layers][];
        this.names = new String[layers][];
        for (int l = 0; l < layers; l++) {
            names[l] = new String[]{LlamaLayers.q(l), LlamaLayers.k(l), LlamaLayers.v(l), LlamaLayers.o(l),
                    LlamaLayers.gate(l), LlamaLayers.up(l), LlamaLayers.down(l)};
            ops[l] = new LinearOp[names[l].length];
            for (int i = 0; i < names[l].length; i++) {
                ops[l][i] = linears.get(names[l][i]);
            }
        }
        this.head = linears.get(LlamaLayers.HEAD);
    }

    /** Builds the dense model described by the model's {@code squeeze.llama.*} metadata. */
    public static LlamaModel from(Model model) {
        if (!LlamaConfig.ARCHITECTURE.equals(model.architecture())) {
            throw new SqueezeException("Model " + model.source() + " has architecture '" + model.architecture()
                    + "', not '" + LlamaConfig.ARCHITECTURE + "'", "open a Llama-family language model");
        }
        return from(model, LlamaConfig.fromMetadata(model));
    }

    /**
     * Builds the dense model; its weights are copied to the heap (fast) when they take at most
     * {@link #HEAP_COPY_LIMIT} bytes as float32, and are otherwise read in place from the model's tensors
     * (memory-mapped files stay mapped, the heap stays small).
     */
    public static LlamaModel from(Model model, LlamaConfig config) {
        long floats = model.tensors().values().stream().mapToLong(Tensor::numel).sum();
        return from(model, config, floats * Float.BYTES <= HEAP_COPY_LIMIT);
    }

    /** @param copyToHeap whether to copy the weights to float arrays (fast) or read them in place (small heap) */
    public static LlamaModel from(Model model, LlamaConfig config, boolean copyToHeap) {
        Weights w = new Weights(model, config);
        int dim = config.dim();
        int kv = config.kvDim();
        int hidden = config.hiddenDim();
        Tensor embed = w.matrix(LlamaLayers.EMBEDDING, config.vocabSize(), dim);
        Embedding embedding = new Embedding(embed, copyToHeap);
        float[][] attnNorm = new float[config.nLayers()][];
        float[][] mlpNorm = new float[config.nLayers()][];
        LinkedHashMap<String, LinearOp> linears = new LinkedHashMap<>();
        for (int l = 0; l < config.nLayers(); l++) {
            attnNorm[l] = w.vector(LlamaLayers.attentionNorm(l), dim);
            mlpNorm[l] = w.vector(LlamaLayers.mlpNorm(l), dim);
            linears.put(LlamaLayers.q(l), w.linear(LlamaLayers.q(l), dim, dim, config.qkvBias(), copyToHeap));
            linears.put(LlamaLayers.k(l), w.linear(LlamaLayers.k(l), kv, dim, config.qkvBias(), copyToHeap));
            linears.put(LlamaLayers.v(l), w.linear(LlamaLayers.v(l), kv, dim, config.qkvBias(), copyToHeap));
            linears.put(LlamaLayers.o(l), w.linear(LlamaLayers.o(l), dim, dim, false, copyToHeap));
            linears.put(LlamaLayers.gate(l), w.linear(LlamaLayers.gate(l), hidden, dim, false, copyToHeap));
            linears.put(LlamaLayers.up(l), w.linear(LlamaLayers.up(l), hidden, dim, false, copyToHeap));
            linears.put(LlamaLayers.down(l), w.linear(LlamaLayers.down(l), dim, hidden, false, copyToHeap));
        }
        float[] finalNorm = w.vector(LlamaLayers.FINAL_NORM, dim);
        if (model.tensors().containsKey(LlamaLayers.HEAD + ".weight") || !config.tiedEmbeddings()) {
            // A tied checkpoint may still store lm_head (equal to the embedding); what is stored is what runs.
            linears.put(LlamaLayers.HEAD, w.linear(LlamaLayers.HEAD, config.vocabSize(), dim, false, copyToHeap));
        } else {
            linears.put(LlamaLayers.HEAD, embedding.asLinear());
        }
        return new LlamaModel(config, model.source(), embedding, attnNorm, mlpNorm, finalNorm, linears, null);
    }

    public LlamaConfig config() {
        return config;
    }

    /** Where the weights came from (the model's source). */
    public String source() {
        return source;
    }

    /** Every linear under its canonical layer name, in forward order (per block q, k, v, o, gate, up, down; head). */
    public Map<String, LinearOp> linears() {
        return Collections.unmodifiableMap(linears);
    }

    /**
     * The same network with some linears replaced (e.g. by compressed ones); the rest, the norms and the
     * embedding are shared. Replacing {@code lm_head} of a tied model leaves the embedding lookup dense.
     */
    public LlamaModel withLinears(Map<String, LinearOp> replacements) {
        LinkedHashMap<String, LinearOp> copy = new LinkedHashMap<>(linears);
        for (Map.Entry<String, LinearOp> e : replacements.entrySet()) {
            LinearOp old = copy.get(e.getKey());
            if (old == null) {
                throw new IllegalArgumentException("no linear named " + e.getKey() + " (names: " + LlamaLayers.q(0)
                        + ", ..., " + LlamaLayers.HEAD + ")");
            }
            LinearOp op = e.getValue();
            if (op.inFeatures() != old.inFeatures() || op.outFeatures() != old.outFeatures()) {
                throw new IllegalArgumentException(e.getKey() + " is " + old.outFeatures() + "×" + old.inFeatures()
                        + " but the replacement is " + op.outFeatures() + "×" + op.inFeatures());
            }
            copy.put(e.getKey(), op);
        }
        return new LlamaModel(config, source, embedding, attnNorm, mlpNorm, finalNorm, copy, listener);
    }

    /** The same network reporting every linear's input to {@code listener} (null: none). */
    public LlamaModel withListener(LinearInputListener newListener) {
        return new LlamaModel(config, source, embedding, attnNorm, mlpNorm, finalNorm, linears, newListener);
    }

    /** A fresh KV cache and scratch buffers; they grow on demand up to {@code maxSeqLen} positions. */
    public State newState() {
        return new State(config);
    }

    /**
     * Runs one token at position {@code pos} (positions {@code 0 .. pos-1} must be in the state's cache) and
     * returns its logits. The array belongs to the state and is overwritten by the next call.
     */
    public float[] forward(int token, int pos, State state) {
        int[] one = state.oneToken;
        one[0] = token;
        run(one, 0, 1, pos, state, state.logits, false);
        return state.logits;
    }

    /**
     * Runs {@code tokens} at positions {@code startPos ..} (earlier positions must be in the state's cache) and
     * returns the logits of every one of them, {@code tokens.length × vocab} row-major, in a new array.
     */
    public float[] forward(int[] tokens, int startPos, State state) {
        float[] out = new float[Math.multiplyExact(tokens.length, config.vocabSize())];
        run(tokens, 0, tokens.length, startPos, state, out, true);
        return out;
    }

    /** Like {@link #forward(int[], int, State)} but returns only the last token's logits (state-owned array). */
    public float[] forwardLast(int[] tokens, int startPos, State state) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("no tokens");
        }
        run(tokens, 0, tokens.length, startPos, state, state.logits, false);
        return state.logits;
    }

    /** Teacher-forced logits of a whole sequence from position 0: {@code tokens.length × vocab}, row-major. */
    public float[] logits(int[] tokens) {
        return forward(tokens, 0, newState());
    }

    /**
     * Greedy decoding (temperature 0, first maximum wins, as run.c's argmax): feeds the prompt, then appends the
     * most likely token until a stop token, {@code maxNewTokens} or the context length.
     *
     * @param prompt     at least one token, usually starting with BOS
     * @param stopTokens tokens that end generation (not included in the result), e.g. BOS and EOS
     * @return the generated tokens, without the prompt
     */
    public int[] generate(int[] prompt, int maxNewTokens, int... stopTokens) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt needs at least one token (BOS)");
        }
        State state = newState();
        int limit = Math.min(maxNewTokens, config.maxSeqLen() - prompt.length + 1);
        int[] out = new int[Math.max(0, limit)];
        int n = 0;
        float[] logits = forwardLast(prompt, 0, state);
        int pos = prompt.length;
        while (n < limit) {
            int next = argmax(logits);
            for (int s : stopTokens) {
                if (s == next) {
                    return Arrays.copyOf(out, n);
                }
            }
            out[n++] = next;
            if (pos >= config.maxSeqLen() || n == limit) {
                break;
            }
            logits = forward(next, pos++, state);
        }
        return Arrays.copyOf(out, n);
    }

    /** Index of the largest value; the first one on ties. */
    public static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    private void run(int[] tokens, int off, int n, int startPos, State s, float[] logitsOut, boolean allRows) {
        LlamaConfig c = config;
        if (n <= 0) {
            throw new IllegalArgumentException("no tokens to run");
        }
        if (!s.config.equals(c)) {
            throw new IllegalArgumentException("the state was made for another architecture: " + s.config);
        }
        if (startPos < 0 || startPos > s.length) {
            throw new IllegalArgumentException("position " + startPos + " does not follow the " + s.length
                    + " positions in the cache");
        }
        if ((long) startPos + n > c.maxSeqLen()) {
            throw new SqueezeException("Positions " + startPos + "-" + (startPos + n - 1) + " exceed the context of "
                    + c.maxSeqLen() + " tokens of model " + source, "evaluate in windows of at most "
                    + c.maxSeqLen() + " tokens");
        }
        for (int t = 0; t < n; t++) {
            int tok = tokens[off + t];
            if (tok < 0 || tok >= c.vocabSize()) {
                throw new SqueezeException("Token id " + tok + " is outside the vocabulary of " + c.vocabSize()
                        + " tokens of model " + source, "use the tokenizer that belongs to this model");
            }
        }
        s.ensure(n, startPos + n);
        int dim = c.dim();
        int kvDim = c.kvDim();
        int hd = c.headDim();
        int half = hd / 2;
        int hidden = c.hiddenDim();
        float eps = (float) c.normEps();
        float[] x = s.x;
        for (int t = 0; t < n; t++) {
            embedding.row(tokens[off + t], x, t * dim);
        }
        for (int t = 0; t < n; t++) {
            int pos = startPos + t;
            for (int j = 0; j < half; j++) {
                float angle = pos * invFreq[j];
                s.cos[t * half + j] = (float) Math.cos(angle);
                s.sin[t * half + j] = (float) Math.sin(angle);
            }
        }
        for (int l = 0; l < c.nLayers(); l++) {
            LinearOp[] op = ops[l];
            String[] name = names[l];
            for (int t = 0; t < n; t++) {
                rmsnorm(s.xb, t * dim, x, t * dim, attnNorm[l], dim, eps);
            }
            linear(name[Q], op[Q], s.xb, n, s.q);
            linear(name[K], op[K], s.xb, n, s.k);
            linear(name[V], op[V], s.xb, n, s.v);
            for (int t = 0; t < n; t++) {
                for (int h = 0; h < c.nHeads(); h++) {
                    rope(s.q, t * dim + h * hd, s.cos, s.sin, t * half, half);
                }
                for (int h = 0; h < c.nKvHeads(); h++) {
                    rope(s.k, t * kvDim + h * hd, s.cos, s.sin, t * half, half);
                }
            }
            float[][] keys = s.keys[l];
            float[] values = s.values[l];
            for (int t = 0; t < n; t++) {
                int pos = startPos + t;
                // Keys are stored transposed, one array per key element, so scores vectorise over positions.
                for (int e = 0; e < kvDim; e++) {
                    keys[e][pos] = s.k[t * kvDim + e];
                }
            }
            System.arraycopy(s.v, 0, values, startPos * kvDim, n * kvDim);
            attention(s, keys, values, n, startPos);
            linear(name[O], op[O], s.att, n, s.tmp);
            for (int i = 0; i < n * dim; i++) {
                x[i] += s.tmp[i];
            }
            for (int t = 0; t < n; t++) {
                rmsnorm(s.xb, t * dim, x, t * dim, mlpNorm[l], dim, eps);
            }
            linear(name[GATE], op[GATE], s.xb, n, s.hb);
            linear(name[UP], op[UP], s.xb, n, s.hb2);
            for (int i = 0; i < n * hidden; i++) {
                float g = s.hb[i];
                s.hb[i] = g * (1.0f / (1.0f + (float) Math.exp(-g))) * s.hb2[i];
            }
            linear(name[DOWN], op[DOWN], s.hb, n, s.tmp);
            for (int i = 0; i < n * dim; i++) {
                x[i] += s.tmp[i];
            }
        }
        s.length = startPos + n;
        int first = allRows ? 0 : n - 1;
        int rows = n - first;
        for (int t = first; t < n; t++) {
            rmsnorm(s.xb, (t - first) * dim, x, t * dim, finalNorm, dim, eps);
        }
        linear(LlamaLayers.HEAD, head, s.xb, rows, logitsOut);
    }

    private void linear(String name, LinearOp op, float[] in, int rows, float[] out) {
        if (listener != null) {
            listener.onInput(name, in, rows, op.inFeatures());
        }
        op.forward(in, rows, out);
    }

    /**
     * Causal grouped-query attention of the batch's queries over the cache; writes {@code s.att}. The operations
     * and their order are run.c's: scaled dot products, max-subtracted softmax, weighted sum of values.
     */
    private void attention(State s, float[][] keys, float[] values, int n, int startPos) {
        LlamaConfig c = config;
        int dim = c.dim();
        int kvDim = c.kvDim();
        int hd = c.headDim();
        int group = c.groupSize();
        float scale = (float) Math.sqrt(hd);
        float[] scores = s.scores;
        for (int t = 0; t < n; t++) {
            int pos = startPos + t;
            for (int h = 0; h < c.nHeads(); h++) {
                int qo = t * dim + h * hd;
                int kvo = (h / group) * hd;
                // score[p] = Σ_i q[i]·k[p][i], summed in i order as run.c does, one i at a time over all p.
                Arrays.fill(scores, 0, pos + 1, 0f);
                for (int i = 0; i < hd; i++) {
                    float qi = s.q[qo + i];
                    float[] key = keys[kvo + i];
                    for (int p = 0; p <= pos; p++) {
                        scores[p] += qi * key[p];
                    }
                }
                float max = Float.NEGATIVE_INFINITY;
                for (int p = 0; p <= pos; p++) {
                    float score = scores[p] / scale;
                    scores[p] = score;
                    max = Math.max(max, score);
                }
                float sum = 0f;
                for (int p = 0; p <= pos; p++) {
                    float e = (float) Math.exp(scores[p] - max);
                    scores[p] = e;
                    sum += e;
                }
                Arrays.fill(s.att, qo, qo + hd, 0f);
                for (int p = 0; p <= pos; p++) {
                    float a = scores[p] / sum;
                    int vo = p * kvDim + kvo;
                    for (int i = 0; i < hd; i++) {
                        s.att[qo + i] += a * values[vo + i];
                    }
                }
            }
        }
    }

    private void rope(float[] vec, int base, float[] cos, float[] sin, int trig, int half) {
        boolean interleaved = config.ropeStyle() == RopeStyle.INTERLEAVED;
        for (int j = 0; j < half; j++) {
            int i0 = interleaved ? base + 2 * j : base + j;
            int i1 = interleaved ? i0 + 1 : i0 + half;
            float c = cos[trig + j];
            float sn = sin[trig + j];
            float v0 = vec[i0];
            float v1 = vec[i1];
            vec[i0] = v0 * c - v1 * sn;
            vec[i1] = v0 * sn + v1 * c;
        }
    }

    private static void rmsnorm(float[] out, int oo, float[] x, int xo, float[] weight, int size, float eps) {
        float ss = 0f;
        for (int j = 0; j < size; j++) {
            ss += x[xo + j] * x[xo + j];
        }
        ss /= size;
        ss += eps;
        ss = 1.0f / (float) Math.sqrt(ss);
        for (int j = 0; j < size; j++) {
            out[oo + j] = weight[j] * (ss * x[xo + j]);
        }
    }

    /** The KV cache and scratch buffers of one sequence; not thread-safe. */
    public static final class State {
        private final LlamaConfig config;
        /** [layer][key element][position]: transposed, see {@link LlamaModel#attention}. */
        private final float[][][] keys;
        /** [layer][position · kvDim + element]. */
        private final float[][] values;
        private final float[] logits;
        private final int[] oneToken = new int[1];
        private int cachePositions;
        private int batch;
        private int length;
        private float[] x;
        private float[] xb;
        private float[] q;
        private float[] k;
        private float[] v;
        private float[] att;
        private float[] tmp;
        private float[] hb;
        private float[] hb2;
        private float[] cos;
        private float[] sin;
        private float[] scores;

        private State(LlamaConfig config) {
            this.config = config;
            this.keys = new float[config.nLayers()][config.kvDim()][0];
            this.values = new float[config.nLayers()][0];
            this.logits = new float[config.vocabSize()];
        }

        /** Positions held in the cache; the next token goes at this position. */
        public int length() {
            return length;
        }

        /** Forgets the sequence (keeps the buffers), so the next token goes at position 0. */
        public void reset() {
            length = 0;
        }

        private void ensure(int n, int positions) {
            if (n > batch) {
                batch = Math.max(n, Math.min(2 * batch, config.maxSeqLen()));
                int dim = config.dim();
                x = new float[batch * dim];
                xb = new float[batch * dim];
                q = new float[batch * dim];
                att = new float[batch * dim];
                tmp = new float[batch * dim];
                k = new float[batch * config.kvDim()];
                v = new float[batch * config.kvDim()];
                hb = new float[batch * config.hiddenDim()];
                hb2 = new float[batch * config.hiddenDim()];
                cos = new float[batch * config.headDim() / 2];
                sin = new float[batch * config.headDim() / 2];
            }
            if (positions > cachePositions) {
                int grown = Math.min(config.maxSeqLen(), Math.max(positions, 2 * cachePositions));
                int kvDim = config.kvDim();
                for (int l = 0; l < keys.length; l++) {
                    for (int e = 0; e < kvDim; e++) {
                        keys[l][e] = Arrays.copyOf(keys[l][e], grown);
                    }
                    values[l] = Arrays.copyOf(values[l], grown * kvDim);
                }
                scores = new float[grown];
                cachePositions = grown;
            }
        }
    }

    /** Token embedding rows, copied to the heap or read in place. */
    private static final class Embedding {
        private final Tensor tensor;
        private final float[] table;
        private final int dim;

        Embedding(Tensor tensor, boolean copy) {
            this.tensor = tensor;
            this.table = copy ? tensor.floats() : null;
            this.dim = Math.toIntExact(tensor.dim(1));
        }

        void row(int token, float[] dst, int offset) {
            if (table != null) {
                System.arraycopy(table, token * dim, dst, offset, dim);
            } else {
                // A reader per call: rows are looked up once per token, and readers are cheap views.
                new TensorLinear.RowReader(tensor).row(token, dst, offset);
            }
        }

        LinearOp asLinear() {
            int vocab = Math.toIntExact(tensor.dim(0));
            return table != null ? new FastDenseLinear(vocab, dim, table, null, "dense f32 (tied embedding)")
                    : new TensorLinear(tensor, null);
        }
    }

    /** Looks up and checks the tensors a Llama model needs, naming the model and tensor when one is wrong. */
    private static final class Weights {
        private final Model model;
        private final LlamaConfig config;

        Weights(Model model, LlamaConfig config) {
            this.model = model;
            this.config = config;
        }

        Tensor tensor(String name, long... shape) {
            Tensor t = model.tensors().get(name);
            if (t == null) {
                throw new SqueezeException("Model " + model.source() + " has no tensor " + name + " (shape "
                        + Arrays.toString(shape) + ") that a Llama model with " + summary() + " needs",
                        "check that the file is a complete Llama-family checkpoint");
            }
            if (!Arrays.equals(t.shape(), shape)) {
                throw new SqueezeException("Model " + model.source() + ": tensor " + name + " has shape "
                        + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape) + " for " + summary(),
                        "the weights and the architecture description disagree; re-export the model");
            }
            return t;
        }

        Tensor matrix(String layer, int out, int in) {
            return tensor(layer + ".weight", out, in);
        }

        float[] vector(String layer, int size) {
            return tensor(layer + ".weight", size).floats();
        }

        LinearOp linear(String layer, int out, int in, boolean withBias, boolean copy) {
            Tensor w = matrix(layer, out, in);
            float[] bias = withBias ? tensor(layer + ".bias", out).floats() : null;
            if (!withBias && model.tensors().containsKey(layer + ".bias")) {
                throw new SqueezeException("Model " + model.source() + " has a bias " + layer + ".bias that its "
                        + "architecture description does not use", "set " + LlamaConfig.PREFIX
                        + "qkv_bias=true if the model has q/k/v biases");
            }
            return copy ? new FastDenseLinear(out, in, w.floats(), bias) : new TensorLinear(w, bias);
        }

        private String summary() {
            return "dim " + config.dim() + ", hidden " + config.hiddenDim() + ", " + config.nLayers() + " layers, "
                    + config.nHeads() + " heads, " + config.nKvHeads() + " kv heads, vocab " + config.vocabSize();
        }
    }
}
