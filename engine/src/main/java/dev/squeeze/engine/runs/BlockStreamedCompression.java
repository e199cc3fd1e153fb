package dev.squeeze.engine.runs;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.eval.SizeAccounting;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.store.RunRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compresses the linears of a Llama-family model one decoder block at a time, streaming from the model's tensors
 * (usually a memory-mapped file), as GPTQ's {@code llama.py} does: the hidden states of every calibration window at
 * the input of the current block are kept in memory ({@code windows × tokens × dim} floats); for block {@code b}
 * only that block's weights are decoded, the block runs on the stored hidden states while the inputs of its
 * linears are accumulated into their Hessians ({@link HessianAccumulator}, one running mean per window as the
 * reference's {@code add_batch}), its linears are compressed ({@link Methods}), and the compressed block runs once
 * more on the stored hidden states to give block {@code b + 1} its inputs. Then block {@code b}'s weights, Hessians
 * and dense operators are dropped. With {@code trueSequential} the linears of a block are calibrated in the
 * reference's order {q,k,v} → {o} → {gate,up} → {down}, each group's Hessians collected after the groups before it
 * are compressed.
 *
 * <p>The numbers are those of running the whole model from the embedding for every block (the model with the
 * blocks before {@code b} compressed): the hidden states at block {@code b}'s input are the same floats either way,
 * only computed once instead of once per block. What stays in memory: the calibration hidden states, the current
 * block's weights and dense operators, the Hessians of the group being calibrated (q, k and v share one accumulator,
 * as do gate and up: they see the same input), and whatever the {@link LayerSink} keeps of the finished layers.
 *
 * <p>Checkpoints ({@link RunHooks#restore}) are honoured as before: a restored layer is not recomputed, and the
 * hidden states are only computed from the first block that has a layer left to compute (blocks before it are
 * replayed with their restored layers).
 */
public final class BlockStreamedCompression {
    private static final Logger LOG = LoggerFactory.getLogger(BlockStreamedCompression.class);

    private final RunHooks hooks;
    private final long heapCopyLimit;

    public BlockStreamedCompression(RunHooks hooks) {
        this(hooks, LlamaModel.HEAP_COPY_LIMIT);
    }

    /** @param heapCopyLimit models up to this many bytes as float32 are copied to the heap whole (tests vary it) */
    BlockStreamedCompression(RunHooks hooks, long heapCopyLimit) {
        this.hooks = hooks;
        this.heapCopyLimit = heapCopyLimit;
    }

    /**
     * One finished linear, handed to the {@link LayerSink} as soon as it is compressed (or restored).
     *
     * @param index    its number in compression order (block by block, q k v o gate up down), 0..total-1
     * @param name     the canonical layer name ({@link LlamaLayers})
     * @param tensor   the weight tensor's name ({@code <name>.weight})
     * @param op       the compressed tensor as the linear the compressed block computed with
     *                 ({@code compressed.asLinearOp()}, built once)
     * @param restored whether it came back from a checkpoint instead of being computed
     */
    public record Layer(int index, int total, String name, String tensor, MethodSettings settings,
                        CompressedTensor compressed, LinearOp op, RunRecord.LayerResult result, boolean restored) {
    }

    /** Receives each finished layer; it decides what to keep (the whole tensor, a file, or only the result). */
    @FunctionalInterface
    public interface LayerSink {
        void accept(Layer layer);
    }

    /**
     * Where the time went, in nanoseconds, and how much was calibrated.
     *
     * @param load        decoding the blocks' weights from the model's tensors
     * @param embed       embedding the calibration windows
     * @param forward     the blocks' forward passes that feed the Hessians (listener copies included)
     * @param hessian     accumulating {@code XᵀX}
     * @param compress    the methods (GPTQ solves), reconstruction errors included
     * @param propagate   the compressed blocks' forward passes that give the next block its inputs
     * @param activationBytes the calibration hidden states kept in memory
     */
    public record Stats(int blocks, int windows, long tokens, long load, long embed, long forward, long hessian,
                        long compress, long propagate, long total, long activationBytes) {
    }

    /**
     * Compresses every linear named in {@code settings} (already validated; iteration order is irrelevant) block
     * by block, handing each to {@code sink} as soon as it is done.
     *
     * @param calibration windows of token ids (empty for data-free methods: then no forward pass runs at all)
     */
    public Stats compress(Model model, List<int[]> calibration, Map<String, MethodSettings> settings,
                          boolean trueSequential, String label, LayerSink sink) {
        long start = System.nanoTime();
        LlamaConfig cfg = LlamaConfig.fromMetadata(model);
        Blocks blocks = new Blocks(model, cfg, heapCopyLimit);
        Timer timer = new Timer();
        int total = 0;
        // No block after the last one with a linear to compress needs its inputs.
        int last = -1;
        for (int b = 0; b < cfg.nLayers(); b++) {
            for (String n : blockLinears(b)) {
                if (settings.containsKey(n)) {
                    total++;
                    last = b;
                }
            }
        }
        int index = 0;
        Activations acts = new Activations(calibration);
        // Blocks whose layers all came back from checkpoints before the hidden states were needed: replayed (with
        // their restored layers) only if a later block needs the hidden states.
        List<Map<String, LinearOp>> pending = new ArrayList<>();
        for (int b = 0; b <= last; b++) {
            hooks.checkCancelled();
            Map<String, LinearOp> compressedOps = new LinkedHashMap<>();
            Map<String, LinearOp> current = null;
            for (List<String> group : groups(b, trueSequential)) {
                List<String> names = group.stream().filter(settings::containsKey).toList();
                if (names.isEmpty()) {
                    continue;
                }
                Map<String, RunHooks.Restored> restored = new HashMap<>();
                for (int i = 0; i < names.size(); i++) {
                    String n = names.get(i);
                    hooks.restore(index + i, n).ifPresent(r -> restored.put(n, r));
                }
                List<String> toCompute = names.stream().filter(n -> !restored.containsKey(n)).toList();
                Map<String, float[]> hessians = Map.of();
                if (!calibration.isEmpty() && !toCompute.isEmpty()) {
                    if (!acts.ready()) {
                        acts.embed(blocks, timer);
                        for (int p = 0; p < pending.size(); p++) {
                            hooks.phase(RunHooks.Phase.CALIBRATION, "block " + (p + 1) + " of " + cfg.nLayers()
                                    + ": replaying its restored layers");
                            acts.propagate(blocks, p, blocks.ops(p, pending.get(p), timer), hooks, timer);
                        }
                        pending.clear();
                    }
                    if (current == null) {
                        current = blocks.ops(b, compressedOps, timer);
                    }
                    hooks.checkCancelled();
                    hooks.phase(RunHooks.Phase.CALIBRATION, "block " + (b + 1) + " of " + cfg.nLayers());
                    hessians = acts.hessians(blocks, b, current, toCompute, hooks, timer);
                }
                hooks.phase(RunHooks.Phase.COMPRESSION, "block " + (b + 1) + " of " + cfg.nLayers());
                for (String n : names) {
                    hooks.checkCancelled();
                    hooks.layerStarted(index, total, n);
                    Tensor w = model.tensor(n + ".weight");
                    RunHooks.Restored r = restored.get(n);
                    CompressedTensor c;
                    RunRecord.LayerResult result;
                    if (r != null) {
                        c = r.tensor();
                        result = r.result();
                    } else {
                        long t0 = System.nanoTime();
                        float[] weights = blocks.weights(n, timer);
                        long t1 = System.nanoTime();
                        c = Methods.compress(new LayerInput(n, weights, (int) w.dim(0), (int) w.dim(1),
                                hessians.get(n)), settings.get(n));
                        double err = SizeAccounting.relativeError(weights, c.dequantize());
                        long t2 = System.nanoTime();
                        timer.compress += t2 - t1;
                        long ms = (t2 - t0) / 1_000_000;
                        result = new RunRecord.LayerResult(n, settings.get(n).method(), settings.get(n).describe(),
                                c.storedBits(), c.bitsPerWeight(), err, ms);
                        hooks.save(index, n, c, result);
                    }
                    LinearOp op = c.asLinearOp();
                    compressedOps.put(n, op);
                    if (current != null) {
                        current.put(n, op);
                    }
                    sink.accept(new Layer(index, total, n, w.name(), settings.get(n), c, op, result, r != null));
                    hooks.layerDone(index++, total, n, r != null);
                }
            }
            if (!calibration.isEmpty() && b < last) {
                if (acts.ready()) {
                    if (current == null) {
                        current = blocks.ops(b, compressedOps, timer);
                    }
                    hooks.phase(RunHooks.Phase.CALIBRATION, "block " + (b + 1) + " of " + cfg.nLayers()
                            + ": outputs of the compressed block");
                    acts.propagate(blocks, b, current, hooks, timer);
                } else {
                    pending.add(compressedOps);
                }
            }
            blocks.release();
            LOG.info("{}: block {} of {} compressed", label, b + 1, cfg.nLayers());
        }
        return new Stats(cfg.nLayers(), calibration.size(), acts.tokens(), timer.load, timer.embed, timer.forward,
                timer.hessian, timer.compress, timer.propagate, System.nanoTime() - start, acts.bytes());
    }

    static List<String> blockLinears(int b) {
        return List.of(LlamaLayers.q(b), LlamaLayers.k(b), LlamaLayers.v(b), LlamaLayers.o(b),
                LlamaLayers.gate(b), LlamaLayers.up(b), LlamaLayers.down(b));
    }

    /** The calibration groups of block {@code b}: all seven at once, or GPTQ's true-sequential order. */
    static List<List<String>> groups(int b, boolean trueSequential) {
        if (!trueSequential) {
            return List.of(blockLinears(b));
        }
        return List.of(List.of(LlamaLayers.q(b), LlamaLayers.k(b), LlamaLayers.v(b)), List.of(LlamaLayers.o(b)),
                List.of(LlamaLayers.gate(b), LlamaLayers.up(b)), List.of(LlamaLayers.down(b)));
    }

    /** The linears that see the same input share one Hessian: q, k, v; o; gate, up; down. */
    private static String inputOf(String layer) {
        int dot = layer.lastIndexOf('.');
        String leaf = layer.substring(dot + 1);
        String block = layer.substring(0, layer.lastIndexOf('.', dot - 1));
        return switch (leaf) {
            case "q_proj", "k_proj", "v_proj" -> block + ".attn_in";
            case "gate_proj", "up_proj" -> block + ".mlp_in";
            default -> layer;
        };
    }

    private static final class Timer {
        long load;
        long embed;
        long forward;
        long hessian;
        long compress;
        long propagate;
    }

    /**
     * The network one block at a time. Small models (at most {@link LlamaModel#HEAP_COPY_LIMIT} as float32) are
     * built once with their weights on the heap, exactly as {@link LlamaModel#from(Model)} builds them; larger ones
     * keep every weight in place, and the current block's linears are decoded to the heap while it is worked on.
     */
    private static final class Blocks {
        private final Model model;
        private final LlamaConfig cfg;
        private final LlamaModel base;
        private final boolean inPlace;
        private final Map<String, float[]> decoded = new HashMap<>();

        Blocks(Model model, LlamaConfig cfg, long heapCopyLimit) {
            this.model = model;
            this.cfg = cfg;
            long floats = model.tensors().values().stream().mapToLong(Tensor::numel).sum();
            this.inPlace = floats * Float.BYTES > heapCopyLimit;
            this.base = LlamaModel.from(model, cfg, !inPlace);
        }

        LlamaModel base() {
            return base;
        }

        /** The float32 weights of linear {@code n}, decoded once per block. */
        float[] weights(String n, Timer timer) {
            float[] w = decoded.get(n);
            if (w == null) {
                long t0 = System.nanoTime();
                w = model.tensor(n + ".weight").floats();
                timer.load += System.nanoTime() - t0;
                decoded.put(n, w);
            }
            return w;
        }

        /**
         * The seven linears of block {@code b}: {@code replaced} where given, else dense (the base model's for a
         * small model, decoded weights for a large one).
         */
        Map<String, LinearOp> ops(int b, Map<String, LinearOp> replaced, Timer timer) {
            Map<String, LinearOp> ops = new LinkedHashMap<>();
            for (String n : blockLinears(b)) {
                LinearOp op = replaced.get(n);
                if (op == null) {
                    op = inPlace ? heapLinear(n, timer) : base.linears().get(n);
                }
                ops.put(n, op);
            }
            return ops;
        }

        private LinearOp heapLinear(String n, Timer timer) {
            float[] w = weights(n, timer);
            Tensor t = model.tensor(n + ".weight");
            Tensor bias = model.tensors().get(n + ".bias");
            long t0 = System.nanoTime();
            LinearOp op = new FastDenseLinear((int) t.dim(0), (int) t.dim(1), w, bias == null ? null : bias.floats());
            timer.load += System.nanoTime() - t0;
            return op;
        }

        /** Forgets the current block's decoded weights. */
        void release() {
            decoded.clear();
        }
    }

    /** The calibration windows' hidden states at the input of the current block, one array per window. */
    private static final class Activations {
        private final List<int[]> windows;
        private float[][] hidden;

        Activations(List<int[]> windows) {
            this.windows = windows;
        }

        boolean ready() {
            return hidden != null;
        }

        long tokens() {
            return windows.stream().mapToLong(w -> w.length).sum();
        }

        long bytes() {
            return hidden == null ? 0 : Arrays.stream(hidden).mapToLong(h -> 4L * h.length).sum();
        }

        void embed(Blocks blocks, Timer timer) {
            long t0 = System.nanoTime();
            hidden = new float[windows.size()][];
            for (int i = 0; i < windows.size(); i++) {
                hidden[i] = BlockForward.embed(blocks, windows.get(i));
            }
            timer.embed += System.nanoTime() - t0;
        }

        /** Runs block {@code b} with {@code ops} on every window, replacing its hidden states by the block's output. */
        void propagate(Blocks blocks, int b, Map<String, LinearOp> ops, RunHooks hooks, Timer timer) {
            long t0 = System.nanoTime();
            BlockForward f = new BlockForward(blocks, ops, null);
            for (int i = 0; i < hidden.length; i++) {
                hooks.checkCancelled();
                hooks.progress(RunHooks.Phase.CALIBRATION, i, hidden.length, "windows");
                f.block(b, hidden[i], windows.get(i).length);
            }
            hooks.progress(RunHooks.Phase.CALIBRATION, hidden.length, hidden.length, "windows");
            timer.propagate += System.nanoTime() - t0;
        }

        /**
         * The Hessians of {@code names} (linears of block {@code b}) on every window: block {@code b} runs with
         * {@code ops} on a copy of each window's hidden states; one {@code add_batch} per window and input.
         */
        Map<String, float[]> hessians(Blocks blocks, int b, Map<String, LinearOp> ops, List<String> names,
                                      RunHooks hooks, Timer timer) {
            // One accumulator per distinct input, fed by the first of the names that reads it.
            Map<String, String> feeder = new LinkedHashMap<>();
            for (String n : names) {
                feeder.putIfAbsent(inputOf(n), n);
            }
            Map<String, HessianAccumulator> acc = new HashMap<>();
            Map<String, float[]> buffers = new HashMap<>();
            Map<String, Integer> filled = new HashMap<>();
            BlockForward f = new BlockForward(blocks, ops, (layer, x, rows, cols) -> {
                String key = inputOf(layer);
                if (!layer.equals(feeder.get(key))) {
                    return;
                }
                acc.computeIfAbsent(key, k -> new HessianAccumulator(cols));
                int at = filled.getOrDefault(key, 0);
                float[] buf = buffers.get(key);
                if (buf == null || buf.length < (at + rows) * cols) {
                    buf = Arrays.copyOf(buf == null ? new float[0] : buf, Math.max((at + rows) * cols, 2 * at * cols));
                    buffers.put(key, buf);
                }
                System.arraycopy(x, 0, buf, at * cols, rows * cols);
                filled.put(key, at + rows);
            });
            float[] scratch = null;
            for (int i = 0; i < hidden.length; i++) {
                hooks.checkCancelled();
                hooks.progress(RunHooks.Phase.CALIBRATION, i, hidden.length, "windows");
                if (scratch == null || scratch.length < hidden[i].length) {
                    scratch = new float[hidden[i].length];
                }
                System.arraycopy(hidden[i], 0, scratch, 0, hidden[i].length);
                filled.clear();
                long t0 = System.nanoTime();
                f.block(b, scratch, windows.get(i).length);
                long t1 = System.nanoTime();
                for (String key : feeder.keySet()) {
                    HessianAccumulator h = acc.get(key);
                    if (h != null) {
                        h.addBatch(buffers.get(key), filled.get(key), 1);
                    }
                }
                timer.forward += t1 - t0;
                timer.hessian += System.nanoTime() - t1;
            }
            hooks.progress(RunHooks.Phase.CALIBRATION, hidden.length, hidden.length, "windows");
            long t0 = System.nanoTime();
            Map<String, float[]> out = new HashMap<>();
            for (String n : names) {
                HessianAccumulator h = acc.get(inputOf(n));
                if (h != null) {
                    out.put(n, h.hessian());
                }
            }
            timer.hessian += System.nanoTime() - t0;
            return out;
        }
    }

    /**
     * INTERIM (replaced by LlamaModel's block-level API once merged): one decoder block over hidden states, the
     * arithmetic of LlamaModel's batched pass for one layer.
     */
    private static final class BlockForward {
        private final Blocks blocks;
        private final Map<String, LinearOp> ops;
        private final dev.squeeze.engine.nn.llama.LinearInputListener listener;

        BlockForward(Blocks blocks, Map<String, LinearOp> ops, dev.squeeze.engine.nn.llama.LinearInputListener l) {
            this.blocks = blocks;
            this.ops = ops;
            this.listener = l;
        }

        static float[] embed(Blocks blocks, int[] tokens) {
            int dim = blocks.cfg.dim();
            float[] x = new float[tokens.length * dim];
            dev.squeeze.engine.nn.TensorLinear.RowReader r = new dev.squeeze.engine.nn.TensorLinear.RowReader(
                    blocks.model.tensor(LlamaLayers.EMBEDDING + ".weight"));
            for (int t = 0; t < tokens.length; t++) {
                r.row(tokens[t], x, t * dim);
            }
            return x;
        }

        private void linear(String name, float[] in, int rows, float[] out) {
            LinearOp op = ops.get(name);
            if (listener != null) {
                listener.onInput(name, in, rows, op.inFeatures());
            }
            op.forward(in, rows, out);
        }

        void block(int l, float[] x, int n) {
            LlamaConfig c = blocks.cfg;
            int dim = c.dim();
            int kvDim = c.kvDim();
            int hd = c.headDim();
            int half = hd / 2;
            int hidden = c.hiddenDim();
            float eps = (float) c.normEps();
            float[] attnNorm = blocks.model.tensor(LlamaLayers.attentionNorm(l) + ".weight").floats();
            float[] mlpNorm = blocks.model.tensor(LlamaLayers.mlpNorm(l) + ".weight").floats();
            float[] xb = new float[n * dim];
            float[] q = new float[n * dim];
            float[] k = new float[n * kvDim];
            float[] v = new float[n * kvDim];
            float[] att = new float[n * dim];
            float[] tmp = new float[n * dim];
            float[] hb = new float[n * hidden];
            float[] hb2 = new float[n * hidden];
            float[] cos = new float[n * half];
            float[] sin = new float[n * half];
            float[] invFreq = new float[half];
            for (int j = 0; j < half; j++) {
                invFreq[j] = 1.0f / (float) Math.pow(c.ropeTheta(), (2f * j) / hd);
            }
            for (int t = 0; t < n; t++) {
                for (int j = 0; j < half; j++) {
                    float angle = t * invFreq[j];
                    cos[t * half + j] = (float) Math.cos(angle);
                    sin[t * half + j] = (float) Math.sin(angle);
                }
            }
            for (int t = 0; t < n; t++) {
                rmsnorm(xb, t * dim, x, t * dim, attnNorm, dim, eps);
            }
            linear(LlamaLayers.q(l), xb, n, q);
            linear(LlamaLayers.k(l), xb, n, k);
            linear(LlamaLayers.v(l), xb, n, v);
            for (int t = 0; t < n; t++) {
                for (int h = 0; h < c.nHeads(); h++) {
                    rope(c, q, t * dim + h * hd, cos, sin, t * half, half);
                }
                for (int h = 0; h < c.nKvHeads(); h++) {
                    rope(c, k, t * kvDim + h * hd, cos, sin, t * half, half);
                }
            }
            float[][] keys = new float[kvDim][n];
            for (int t = 0; t < n; t++) {
                for (int e = 0; e < kvDim; e++) {
                    keys[e][t] = k[t * kvDim + e];
                }
            }
            float scale = (float) Math.sqrt(hd);
            float[] scores = new float[n];
            int group = c.groupSize();
            for (int t = 0; t < n; t++) {
                for (int h = 0; h < c.nHeads(); h++) {
                    int qo = t * dim + h * hd;
                    int kvo = (h / group) * hd;
                    Arrays.fill(scores, 0, t + 1, 0f);
                    for (int i = 0; i < hd; i++) {
                        float qi = q[qo + i];
                        float[] key = keys[kvo + i];
                        for (int p = 0; p <= t; p++) {
                            scores[p] += qi * key[p];
                        }
                    }
                    float max = Float.NEGATIVE_INFINITY;
                    for (int p = 0; p <= t; p++) {
                        float score = scores[p] / scale;
                        scores[p] = score;
                        max = Math.max(max, score);
                    }
                    float sum = 0f;
                    for (int p = 0; p <= t; p++) {
                        float e = (float) Math.exp(scores[p] - max);
                        scores[p] = e;
                        sum += e;
                    }
                    Arrays.fill(att, qo, qo + hd, 0f);
                    for (int p = 0; p <= t; p++) {
                        float a = scores[p] / sum;
                        int vo = p * kvDim + kvo;
                        for (int i = 0; i < hd; i++) {
                            att[qo + i] += a * v[vo + i];
                        }
                    }
                }
            }
            linear(LlamaLayers.o(l), att, n, tmp);
            for (int i = 0; i < n * dim; i++) {
                x[i] += tmp[i];
            }
            for (int t = 0; t < n; t++) {
                rmsnorm(xb, t * dim, x, t * dim, mlpNorm, dim, eps);
            }
            linear(LlamaLayers.gate(l), xb, n, hb);
            linear(LlamaLayers.up(l), xb, n, hb2);
            for (int i = 0; i < n * hidden; i++) {
                float g = hb[i];
                hb[i] = g * (1.0f / (1.0f + (float) Math.exp(-g))) * hb2[i];
            }
            linear(LlamaLayers.down(l), hb, n, tmp);
            for (int i = 0; i < n * dim; i++) {
                x[i] += tmp[i];
            }
        }

        private static void rope(LlamaConfig config, float[] vec, int base, float[] cos, float[] sin, int trig,
                                 int half) {
            boolean interleaved = config.ropeStyle() == dev.squeeze.engine.nn.llama.RopeStyle.INTERLEAVED;
            for (int j = 0; j < half; j++) {
                int i0 = interleaved ? base + 2 * j : base + j;
                int i1 = interleaved ? i0 + 1 : i0 + half;
                float cc = cos[trig + j];
                float sn = sin[trig + j];
                float v0 = vec[i0];
                float v1 = vec[i1];
                vec[i0] = v0 * cc - v1 * sn;
                vec[i1] = v0 * sn + v1 * cc;
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
    }
}
