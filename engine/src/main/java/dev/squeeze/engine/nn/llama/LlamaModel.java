package dev.squeeze.engine.nn.llama;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.DenseLinear;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.Parallelism;
import dev.squeeze.engine.nn.RowKernels;
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
 * A batch of tokens at consecutive positions (a window: the teacher-forced, prompt and calibration paths) runs
 * through each linear as one {@code batch × in} matrix product, and attention per head as small matrix products
 * over the window ({@code Q Kᵀ} with a causal mask, softmax, {@code P V}), on {@link Parallelism#threads()}
 * threads; one generated token runs against the KV cache row by row. The block-level methods {@link #embed},
 * {@link #block} and {@link #head} expose the pass one decoder block at a time (layer-streamed calibration);
 * {@link #forward(int[], int, State)} is built on the same code.
 * <p>
 * {@link #reference()} is the same network on the readable reference path: {@link DenseLinear} row-by-row dot
 * products and run.c's attention one query at a time, one thread. The fast path equals it up to float rounding
 * (fused multiply-adds, another summation order in the products); tests hold the two together.
 * <p>
 * A model is immutable and may be shared between threads; a {@link State} (KV cache and scratch) belongs to one.
 */
public final class LlamaModel {
    /** Models whose weights take at most this many bytes as float32 are copied to the heap by default. */
    public static final long HEAP_COPY_LIMIT = 256L << 20;
    /** Windows of at least this many tokens run attention as matrix products (fewer: row by row). */
    private static final int WINDOW_MIN = 8;
    /** Query rows per attention product: bounds the scores held ({@code QUERY_BLOCK × positions}). */
    private static final int QUERY_BLOCK = 64;
    /** Heads at least this wide run a window's attention as matrix products (narrower: SIMD rows). */
    private static final int GEMM_HEAD_DIM = 32;
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

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
    private final boolean reference;

    private static final int Q = 0;
    private static final int K = 1;
    private static final int V = 2;
    private static final int O = 3;
    private static final int GATE = 4;
    private static final int UP = 5;
    private static final int DOWN = 6;

    private LlamaModel(LlamaConfig config, String source, Embedding embedding, float[][] attnNorm, float[][] mlpNorm,
                       float[] finalNorm, LinkedHashMap<String, LinearOp> linears, LinearInputListener listener,
                       boolean reference) {
        this.config = config;
        this.reference = reference;
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
        return new LlamaModel(config, model.source(), embedding, attnNorm, mlpNorm, finalNorm, linears, null, false);
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
        return new LlamaModel(config, source, embedding, attnNorm, mlpNorm, finalNorm, copy, listener, reference);
    }

    /** The same network reporting every linear's input to {@code listener} (null: none). */
    public LlamaModel withListener(LinearInputListener newListener) {
        return new LlamaModel(config, source, embedding, attnNorm, mlpNorm, finalNorm, linears, newListener,
                reference);
    }

    /**
     * The same network on the readable reference path: dense linears as {@link DenseLinear} (row-by-row dot
     * products, summed in input order; weights read in place stay in place, decoded row by row), attention one
     * query at a time, one thread. Compressed linears are kept as they are. Slow; for tests and benchmarks.
     */
    public LlamaModel reference() {
        LinkedHashMap<String, LinearOp> ref = new LinkedHashMap<>();
        for (Map.Entry<String, LinearOp> e : linears.entrySet()) {
            LinearOp op = e.getValue();
            if (op instanceof FastDenseLinear f) {
                op = f.reference();
            } else if (op instanceof TensorLinear t) {
                op = t.reference();
            }
            ref.put(e.getKey(), op);
        }
        return new LlamaModel(config, source, embedding, attnNorm, mlpNorm, finalNorm, ref, listener, true);
    }

    /** Whether this model runs the reference path ({@link #reference()}). */
    public boolean isReference() {
        return reference;
    }

    /**
     * Whether evaluating many sequences should run them on separate threads (one {@link State} each) rather than
     * one after another with the threads inside each window's products: true when the model's matrices are too
     * small for parallel products to pay (stories260K's 64 × 64), and no listener is attached (a listener is
     * called from the thread that runs the window; it need not be thread-safe).
     */
    public boolean prefersSequenceParallelism() {
        return !reference && listener == null
                && (long) config.dim() * Math.max(config.dim(), config.hiddenDim()) < (1L << 20);
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

    // ------------------------------------------------------------------ block-level API

    /**
     * The embedding rows of {@code tokens}: a new {@code tokens.length × dim} array, row-major (the input of
     * block 0). Token ids are checked against the vocabulary.
     */
    public float[] embed(int[] tokens) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("no tokens to embed");
        }
        checkTokens(tokens, 0, tokens.length);
        float[] x = new float[Math.multiplyExact(tokens.length, config.dim())];
        for (int t = 0; t < tokens.length; t++) {
            embedding.row(tokens[t], x, t * config.dim());
        }
        return x;
    }

    /**
     * Runs decoder block {@code layer} in place on {@code n} consecutive positions {@code startPos ..
     * startPos+n−1}: {@code x} ({@code n × dim} row-major, may be longer) is the residual stream before the block
     * and after it. The block's keys and values for these positions go into {@code s}'s cache for this layer;
     * positions {@code 0 .. startPos−1} of that layer must already be there ({@code startPos = 0} needs none).
     * Every linear's input is reported to the listener, as in {@link #forward(int[], int, State)}.
     * Running blocks {@code 0 .. nLayers−1} in order on {@link #embed} and then {@link #head} is exactly
     * {@link #forward(int[], int, State)}.
     */
    public void block(int layer, float[] x, int n, int startPos, State s) {
        if (layer < 0 || layer >= config.nLayers()) {
            throw new IllegalArgumentException("layer " + layer + " is outside 0.." + (config.nLayers() - 1));
        }
        if (n <= 0) {
            throw new IllegalArgumentException("no tokens to run");
        }
        if (x.length < (long) n * config.dim()) {
            throw new IllegalArgumentException("x has " + x.length + " values, fewer than " + n + " × "
                    + config.dim());
        }
        checkState(s, startPos, n, s.layerLength[layer]);
        s.ensure(n, startPos + n);
        s.trig(invFreq, startPos, n);
        runBlock(layer, x, n, startPos, s);
    }

    /**
     * The final RMSNorm and the head on rows {@code 0 .. n−1} of {@code x} ({@code n × dim}; not modified):
     * a new {@code n × vocab} array of logits.
     */
    public float[] head(float[] x, int n) {
        float[] out = new float[Math.multiplyExact(n, config.vocabSize())];
        head(x, 0, n, out);
        return out;
    }

    /**
     * The final RMSNorm and the head on rows {@code fromRow .. fromRow+rows−1} of {@code x} ({@code × dim}; not
     * modified), written to {@code logits[0 .. rows × vocab)}.
     */
    public void head(float[] x, int fromRow, int rows, float[] logits) {
        int dim = config.dim();
        if (rows <= 0 || fromRow < 0 || (long) (fromRow + rows) * dim > x.length) {
            throw new IllegalArgumentException("rows " + fromRow + ".." + (fromRow + rows - 1) + " are not in x of "
                    + x.length / dim + " rows");
        }
        if (logits.length < (long) rows * config.vocabSize()) {
            throw new IllegalArgumentException("logits has " + logits.length + " values, fewer than " + rows
                    + " × " + config.vocabSize());
        }
        float[] xb = new float[rows * dim];
        runHead(x, fromRow, rows, xb, logits);
    }

    // ------------------------------------------------------------------ the pass

    private void checkTokens(int[] tokens, int off, int n) {
        for (int t = 0; t < n; t++) {
            int tok = tokens[off + t];
            if (tok < 0 || tok >= config.vocabSize()) {
                throw new SqueezeException("Token id " + tok + " is outside the vocabulary of " + config.vocabSize()
                        + " tokens of model " + source, "use the tokenizer that belongs to this model");
            }
        }
    }

    private void checkState(State s, int startPos, int n, int cached) {
        LlamaConfig c = config;
        if (!s.config.equals(c)) {
            throw new IllegalArgumentException("the state was made for another architecture: " + s.config);
        }
        if (startPos < 0 || startPos > cached) {
            throw new IllegalArgumentException("position " + startPos + " does not follow the " + cached
                    + " positions in the cache");
        }
        if ((long) startPos + n > c.maxSeqLen()) {
            throw new SqueezeException("Positions " + startPos + "-" + (startPos + n - 1) + " exceed the context of "
                    + c.maxSeqLen() + " tokens of model " + source, "evaluate in windows of at most "
                    + c.maxSeqLen() + " tokens");
        }
    }

    private void run(int[] tokens, int off, int n, int startPos, State s, float[] logitsOut, boolean allRows) {
        if (n <= 0) {
            throw new IllegalArgumentException("no tokens to run");
        }
        checkState(s, startPos, n, s.length());
        checkTokens(tokens, off, n);
        s.ensure(n, startPos + n);
        int dim = config.dim();
        float[] x = s.x;
        for (int t = 0; t < n; t++) {
            embedding.row(tokens[off + t], x, t * dim);
        }
        s.trig(invFreq, startPos, n);
        for (int l = 0; l < config.nLayers(); l++) {
            runBlock(l, x, n, startPos, s);
        }
        int first = allRows ? 0 : n - 1;
        runHead(x, first, n - first, s.xb, logitsOut);
    }

    private void runHead(float[] x, int fromRow, int rows, float[] xb, float[] logitsOut) {
        int dim = config.dim();
        float eps = (float) config.normEps();
        rows(rows, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                rmsnorm(xb, t * dim, x, (fromRow + t) * dim, finalNorm, dim, eps);
            }
        });
        linear(LlamaLayers.HEAD, head, xb, rows, logitsOut);
    }

    /** One decoder block on {@code x} in place; the state is sized and its RoPE table filled for these rows. */
    private void runBlock(int l, float[] x, int n, int startPos, State s) {
        LlamaConfig c = config;
        int dim = c.dim();
        int kvDim = c.kvDim();
        int hd = c.headDim();
        int half = hd / 2;
        int hidden = c.hiddenDim();
        float eps = (float) c.normEps();
        LinearOp[] op = ops[l];
        String[] name = names[l];
        rows(n, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                rmsnorm(s.xb, t * dim, x, t * dim, attnNorm[l], dim, eps);
            }
        });
        linear(name[Q], op[Q], s.xb, n, s.q);
        linear(name[K], op[K], s.xb, n, s.k);
        linear(name[V], op[V], s.xb, n, s.v);
        float[] keys = s.keys[l];
        float[] values = s.values[l];
        rows(n, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                for (int h = 0; h < c.nHeads(); h++) {
                    rope(s.q, t * dim + h * hd, s.cos, s.sin, t * half, half);
                }
                for (int h = 0; h < c.nKvHeads(); h++) {
                    rope(s.k, t * kvDim + h * hd, s.cos, s.sin, t * half, half);
                }
            }
        });
        int cap = s.cachePositions;
        for (int t = 0; t < n; t++) {
            int pos = startPos + t;
            for (int e = 0; e < kvDim; e++) {
                keys[e * cap + pos] = s.k[t * kvDim + e];
                values[e * cap + pos] = s.v[t * kvDim + e];
            }
        }
        s.layerLength[l] = startPos + n;
        attention(s, keys, values, n, startPos);
        linear(name[O], op[O], s.att, n, s.tmp);
        add(x, s.tmp, n * dim);
        rows(n, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                rmsnorm(s.xb, t * dim, x, t * dim, mlpNorm[l], dim, eps);
            }
        });
        linear(name[GATE], op[GATE], s.xb, n, s.hb);
        linear(name[UP], op[UP], s.xb, n, s.hb2);
        if (reference) {
            for (int i = 0; i < n * hidden; i++) {
                float g = s.hb[i];
                s.hb[i] = g * (1.0f / (1.0f + (float) Math.exp(-g))) * s.hb2[i];
            }
        } else {
            rows(n, (t0, t1) -> RowKernels.swiglu(s.hb, s.hb2, t0 * hidden, t1 * hidden));
        }
        linear(name[DOWN], op[DOWN], s.hb, n, s.tmp);
        add(x, s.tmp, n * dim);
    }

    private static void add(float[] x, float[] d, int len) {
        for (int i = 0; i < len; i++) {
            x[i] += d[i];
        }
    }

    private interface RowRange {
        void run(int t0, int t1);
    }

    /**
     * Element-wise work on rows {@code 0 .. n−1}: in blocks on several threads when there is enough of it (a
     * large model's window), else inline. Every row is computed the same way either way.
     */
    private void rows(int n, RowRange body) {
        long work = (long) n * Math.max(config.dim(), config.hiddenDim());
        if (reference || work < (1 << 16) || n < 2) {
            body.run(0, n);
            return;
        }
        int blocks = Math.min(n, 4 * Parallelism.threads());
        int per = (n + blocks - 1) / blocks;
        Parallelism.forEach((n + per - 1) / per, b -> body.run(b * per, Math.min(n, (b + 1) * per)));
    }

    private void linear(String name, LinearOp op, float[] in, int rows, float[] out) {
        if (listener != null) {
            listener.onInput(name, in, rows, op.inFeatures());
        }
        op.forward(in, rows, out);
    }

    /**
     * Causal grouped-query attention of the batch's queries over the cache; writes {@code s.att}. The operations
     * are run.c's: scaled dot products, max-subtracted softmax, weighted sum of values. The reference runs them
     * one query and one head at a time in plain loops. The fast path runs heads and blocks of
     * {@link #QUERY_BLOCK} query rows on several threads: for heads of at least {@link #GEMM_HEAD_DIM} elements and
     * a window of at least {@link #WINDOW_MIN} tokens as matrix products ({@code S = Q Kᵀ} over the positions the
     * block sees, softmax per row with the later positions masked to weight 0, then {@code S V}); otherwise (small
     * heads, a generated token) row by row with SIMD over the positions.
     */
    private void attention(State s, float[] keys, float[] values, int n, int startPos) {
        LlamaConfig c = config;
        int heads = c.nHeads();
        if (reference) {
            float[] scores = scratch(startPos + n);
            for (int h = 0; h < heads; h++) {
                attentionReference(s, keys, values, n, startPos, h, scores);
            }
            return;
        }
        boolean gemm = n >= WINDOW_MIN && c.headDim() >= GEMM_HEAD_DIM;
        int blocks = (n + QUERY_BLOCK - 1) / QUERY_BLOCK;
        double work = (double) heads * n * (startPos + n) * c.headDim();
        if (work < (1 << 16)) {
            for (int job = 0; job < heads * blocks; job++) {
                attentionJob(s, keys, values, n, startPos, job / blocks, job % blocks, gemm);
            }
        } else {
            Parallelism.forEach(heads * blocks, job -> attentionJob(s, keys, values, n, startPos, job / blocks,
                    job % blocks, gemm));
        }
    }

    private void attentionJob(State s, float[] keys, float[] values, int n, int startPos, int h, int block,
                              boolean gemm) {
        int t0 = block * QUERY_BLOCK;
        int rows = Math.min(QUERY_BLOCK, n - t0);
        if (gemm) {
            attentionProducts(s, keys, values, startPos, h, t0, rows);
        } else {
            attentionRows(s, keys, values, startPos, h, t0, rows);
        }
    }

    /** run.c's loops, one query row at a time: the reference. */
    private void attentionReference(State s, float[] keys, float[] values, int n, int startPos, int h,
                                    float[] scores) {
        LlamaConfig c = config;
        int dim = c.dim();
        int hd = c.headDim();
        int cap = s.cachePositions;
        float scale = (float) Math.sqrt(hd);
        int kvo = (h / c.groupSize()) * hd;
        for (int t = 0; t < n; t++) {
            int pos = startPos + t;
            int qo = t * dim + h * hd;
            // score[p] = Σ_i q[i]·k[p][i], summed in i order as run.c does.
            for (int p = 0; p <= pos; p++) {
                float acc = 0f;
                for (int i = 0; i < hd; i++) {
                    acc += s.q[qo + i] * keys[(kvo + i) * cap + p];
                }
                scores[p] = acc;
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
                for (int i = 0; i < hd; i++) {
                    s.att[qo + i] += a * values[(kvo + i) * cap + p];
                }
            }
        }
    }

    /** Query rows {@code t0 .. t0+rows−1} of head h, one at a time, SIMD over the positions. */
    private void attentionRows(State s, float[] keys, float[] values, int startPos, int h, int t0, int rows) {
        LlamaConfig c = config;
        int dim = c.dim();
        int hd = c.headDim();
        int cap = s.cachePositions;
        float scale = (float) Math.sqrt(hd);
        int kvo = (h / c.groupSize()) * hd;
        float[] scores = scratch(startPos + t0 + rows);
        for (int t = t0; t < t0 + rows; t++) {
            int qo = t * dim + h * hd;
            RowKernels.attendRow(s.q, qo, hd, keys, kvo * cap, values, kvo * cap, cap, startPos + t + 1, scale,
                    scores, s.att, qo);
        }
    }

    /** Query rows {@code t0 .. t0+rows−1} of head h as two matrix products. */
    private void attentionProducts(State s, float[] keys, float[] values, int startPos, int h, int t0, int rows) {
        LlamaConfig c = config;
        int dim = c.dim();
        int hd = c.headDim();
        int cap = s.cachePositions;
        float scale = (float) Math.sqrt(hd);
        int kvo = (h / c.groupSize()) * hd;
        Blas blas = Blas.get();
        int seen = startPos + t0 + rows; // positions the block's last row sees
        float[] sc = scratch(rows * seen);
        // Keys and values are cached element-major ([element][position]): Kᵀ is a plain hd × seen block.
        blas.sgemm(false, false, rows, seen, hd, 1f, s.q, t0 * dim + h * hd, dim, keys, kvo * cap, cap, 0f, sc, 0,
                seen);
        for (int r = 0; r < rows; r++) {
            int pos = startPos + t0 + r;
            int o = r * seen;
            RowKernels.softmax(sc, o, pos + 1, scale);
            Arrays.fill(sc, o + pos + 1, o + seen, 0f);
        }
        blas.sgemm(false, true, rows, hd, seen, 1f, sc, 0, seen, values, kvo * cap, cap, 0f, s.att,
                t0 * dim + h * hd, dim);
    }

    /** A per-thread scratch array of at least {@code size} floats (contents undefined). */
    private static float[] scratch(int size) {
        float[] a = SCRATCH.get();
        if (a.length < size) {
            a = new float[Math.max(size, a.length * 2)];
            SCRATCH.set(a);
        }
        return a;
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
        /** [layer][element · cachePositions + position]: element-major, so attention runs over positions. */
        private final float[][] keys;
        /** [layer][element · cachePositions + position]. */
        private final float[][] values;
        /** Positions held in each layer's cache. */
        private final int[] layerLength;
        private final float[] logits;
        private final int[] oneToken = new int[1];
        private int cachePositions;
        private int batch;
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
        private int trigStart = -1;
        private int trigRows;

        private State(LlamaConfig config) {
            this.config = config;
            this.keys = new float[config.nLayers()][0];
            this.values = new float[config.nLayers()][0];
            this.layerLength = new int[config.nLayers()];
            this.logits = new float[config.vocabSize()];
        }

        /**
         * Positions held in the cache (of every layer; after block-level calls the fewest any layer holds); the
         * next token goes at this position.
         */
        public int length() {
            int min = Integer.MAX_VALUE;
            for (int len : layerLength) {
                min = Math.min(min, len);
            }
            return min;
        }

        /** Forgets the sequence (keeps the buffers), so the next token goes at position 0. */
        public void reset() {
            java.util.Arrays.fill(layerLength, 0);
        }

        /** An element-major cache re-laid out for more positions (the cached ones kept). */
        private static float[] regrow(float[] old, int elements, int oldCap, int cap) {
            float[] a = new float[elements * cap];
            for (int e = 0; e < elements && oldCap > 0; e++) {
                System.arraycopy(old, e * oldCap, a, e * cap, oldCap);
            }
            return a;
        }

        private void trig(float[] invFreq, int startPos, int n) {
            if (trigStart == startPos && trigRows >= n) {
                return;
            }
            int half = invFreq.length;
            for (int t = 0; t < n; t++) {
                int pos = startPos + t;
                for (int j = 0; j < half; j++) {
                    float angle = pos * invFreq[j];
                    cos[t * half + j] = (float) Math.cos(angle);
                    sin[t * half + j] = (float) Math.sin(angle);
                }
            }
            trigStart = startPos;
            trigRows = n;
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
                trigStart = -1;
            }
            if (positions > cachePositions) {
                int grown = Math.min(config.maxSeqLen(), Math.max(positions, 2 * cachePositions));
                int kvDim = config.kvDim();
                for (int l = 0; l < keys.length; l++) {
                    keys[l] = regrow(keys[l], kvDim, cachePositions, grown);
                    values[l] = regrow(values[l], kvDim, cachePositions, grown);
                }
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
