package dev.squeeze.engine.runs;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.eval.SizeAccounting;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.grad.FisherDiagonals;
import dev.squeeze.engine.nn.grad.LlamaFisher;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LinearInputListener;
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
 * the input of the current block are kept in memory ({@code windows × tokens × dim} floats); block {@code b} runs
 * ({@link LlamaModel#block}) on the stored hidden states while the inputs of its linears are accumulated into their
 * Hessians ({@link HessianAccumulator}, one running mean per window as the reference's {@code add_batch}), its
 * linears are compressed one at a time ({@link Methods}; only the linear being compressed is decoded to float32),
 * and the compressed block runs once more on the stored hidden states to give block {@code b + 1} its inputs. Then
 * block {@code b}'s Hessians and operators are dropped. A model above the heap-copy limit is never copied: its
 * dense linears multiply the mapped weights in place. With {@code trueSequential} the linears of a block are
 * calibrated in the
 * reference's order {q,k,v} → {o} → {gate,up} → {down}, each group's Hessians collected after the groups before it
 * are compressed.
 *
 * <p>The numbers are those of running the whole model from the embedding for every block (the model with the
 * blocks before {@code b} compressed): the hidden states at block {@code b}'s input are the same floats either way,
 * only computed once instead of once per block. What stays in memory: the calibration hidden states, one KV cache
 * and scratch of the block pass, the Hessians of the group being calibrated (q, k and v share one accumulator, as do
 * gate and up: they see the same input; each is dropped after its last user), the weights of the linear being
 * compressed, the current block's compressed operators, and whatever the {@link LayerSink} keeps of the finished
 * layers.
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
     * @param blocks      blocks worked on (up to the last one with a linear to compress)
     * @param tokens      calibration tokens (all windows)
     * @param load        decoding the compressed linears' weights from the model's tensors
     * @param embed       embedding the calibration windows
     * @param forward     the blocks' forward passes that feed the Hessians (Hessian accumulation excluded)
     * @param hessian     accumulating {@code XᵀX} (taking each Hessian out counts as compression)
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
        // The Fisher diagonals (gradients of the DENSE model on the calibration windows), computed when the first
        // layer that needs them is compressed.
        FisherDiagonals fisher = null;
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
                Hessians hessians = Hessians.none();
                if (!calibration.isEmpty() && !toCompute.isEmpty()) {
                    if (!acts.ready()) {
                        acts.embed(blocks, timer);
                        for (int p = 0; p < pending.size(); p++) {
                            hooks.phase(RunHooks.Phase.CALIBRATION, "block " + (p + 1) + " of " + cfg.nLayers()
                                    + ": replaying its restored layers");
                            acts.propagate(blocks, p, blocks.ops(p, pending.get(p)), hooks, timer);
                        }
                        pending.clear();
                    }
                    if (current == null) {
                        current = blocks.ops(b, compressedOps);
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
                        float[] h = hessians.take(n);
                        float[] f = null;
                        if (needsFisher(settings.get(n)) && !calibration.isEmpty()) {
                            if (fisher == null) {
                                hooks.phase(RunHooks.Phase.CALIBRATION, "Fisher information of the dense model on "
                                        + calibration.size() + " windows");
                                long f0 = System.nanoTime();
                                fisher = LlamaFisher.compute(model, calibration);
                                LOG.info("{}: Fisher diagonals on {} windows in {} ms", label, calibration.size(),
                                        (System.nanoTime() - f0) / 1_000_000);
                            }
                            f = fisher.of(n);
                        }
                        c = Methods.compress(new LayerInput(n, weights, (int) w.dim(0), (int) w.dim(1), h, f),
                                settings.get(n));
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
                        current = blocks.ops(b, compressedOps);
                    }
                    // Running compressed block b+1 makes block b+2's inputs: the first part of block b+2's
                    // calibration (in the whole-model procedure, one pass through blocks 1..b+2 did both).
                    hooks.phase(RunHooks.Phase.CALIBRATION, "block " + (b + 2) + " of " + cfg.nLayers());
                    acts.propagate(blocks, b, current, hooks, timer);
                } else {
                    pending.add(compressedOps);
                }
            }
            LOG.info("{}: block {} of {} compressed", label, b + 1, cfg.nLayers());
        }
        return new Stats(last + 1, calibration.size(), acts.tokens(), timer.load, timer.embed, timer.forward,
                timer.hessian, timer.compress, timer.propagate, System.nanoTime() - start, acts.bytes());
    }

    /** Whether a layer's method needs the Fisher diagonal of its weights (the low-rank variant 'fisher'). */
    static boolean needsFisher(MethodSettings s) {
        return s instanceof LowRankSettings l && l.variant() != null && l.variant().needsFisher();
    }

    public static List<String> blockLinears(int b) {
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

    /**
     * The linears that see the same input share one Hessian: q, k, v; o; gate, up; down. The key of a linear's
     * input (the same for q, k and v of a block, and for gate and up).
     */
    public static String inputOf(String layer) {
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
     * The network, run one block at a time. Small models (at most {@code heapCopyLimit} bytes as float32, by default
     * {@link LlamaModel#HEAP_COPY_LIMIT}) have their weights copied to the heap, exactly as
     * {@link LlamaModel#from(Model)} builds them; larger ones keep every weight in place (the dense linears multiply
     * the mapped file's weights, decoding a few rows at a time), and only the linear being compressed is decoded
     * to a float32 array.
     */
    private static final class Blocks {
        private final Model model;
        private final LlamaModel base;

        Blocks(Model model, LlamaConfig cfg, long heapCopyLimit) {
            this.model = model;
            long floats = model.tensors().values().stream().mapToLong(Tensor::numel).sum();
            this.base = LlamaModel.from(model, cfg, floats * Float.BYTES <= heapCopyLimit);
        }

        LlamaModel base() {
            return base;
        }

        /** The float32 weights of linear {@code n} (a new array: the method's input). */
        float[] weights(String n, Timer timer) {
            long t0 = System.nanoTime();
            float[] w = model.tensor(n + ".weight").floats();
            timer.load += System.nanoTime() - t0;
            return w;
        }

        /** The seven linears of block {@code b}: {@code replaced} where given, else the dense ones. */
        Map<String, LinearOp> ops(int b, Map<String, LinearOp> replaced) {
            Map<String, LinearOp> ops = new LinkedHashMap<>();
            for (String n : blockLinears(b)) {
                ops.put(n, replaced.getOrDefault(n, base.linears().get(n)));
            }
            return ops;
        }
    }

    /** Runs one decoder block of {@code net} on one window's hidden states at a time (positions from 0). */
    private static final class BlockForward {
        private final LlamaModel net;
        private final LlamaModel.State state;

        BlockForward(Blocks blocks, Map<String, LinearOp> ops, LinearInputListener listener) {
            LlamaModel m = blocks.base().withLinears(ops);
            this.net = listener == null ? m : m.withListener(listener);
            this.state = net.newState();
        }

        void block(int layer, float[] x, int n) {
            state.reset();
            net.block(layer, x, n, 0, state);
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
                hidden[i] = blocks.base().embed(windows.get(i));
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
         * {@code ops} on a copy of each window's hidden states, and each distinct input is added to its accumulator
         * as one {@code add_batch} of the window's tokens (the block reports each linear's input once per call).
         */
        Hessians hessians(Blocks blocks, int b, Map<String, LinearOp> ops, List<String> names, RunHooks hooks,
                          Timer timer) {
            Hessians hs = new Hessians(names);
            Map<String, Boolean> fed = new HashMap<>();
            BlockForward f = new BlockForward(blocks, ops, (layer, x, rows, cols) -> {
                String key = inputOf(layer);
                if (!layer.equals(hs.feeder.get(key))) {
                    return;
                }
                if (fed.put(key, Boolean.TRUE) != null) {
                    throw new IllegalStateException("the block reported the input of " + layer + " twice in one pass");
                }
                long t0 = System.nanoTime();
                hs.acc.computeIfAbsent(key, k -> new HessianAccumulator(cols)).addBatch(x, rows, 1);
                timer.hessian += System.nanoTime() - t0;
            });
            float[] scratch = null;
            for (int i = 0; i < hidden.length; i++) {
                hooks.checkCancelled();
                hooks.progress(RunHooks.Phase.CALIBRATION, i, hidden.length, "windows");
                if (scratch == null || scratch.length < hidden[i].length) {
                    scratch = new float[hidden[i].length];
                }
                System.arraycopy(hidden[i], 0, scratch, 0, hidden[i].length);
                fed.clear();
                long t0 = System.nanoTime();
                long h0 = timer.hessian;
                f.block(b, scratch, windows.get(i).length);
                timer.forward += System.nanoTime() - t0 - (timer.hessian - h0);
            }
            hooks.progress(RunHooks.Phase.CALIBRATION, hidden.length, hidden.length, "windows");
            return hs;
        }
    }

    /**
     * The accumulated Hessians of a group's linears, one accumulator per distinct input; each linear takes its
     * Hessian once, and an accumulator is dropped as soon as the last linear reading its input has taken it (the
     * Hessian of down_proj is {@code hidden²} floats: it should not outlive its use).
     */
    static final class Hessians {
        private final Map<String, String> feeder = new LinkedHashMap<>();
        private final Map<String, HessianAccumulator> acc = new HashMap<>();
        private final Map<String, Integer> users = new HashMap<>();

        Hessians(List<String> names) {
            for (String n : names) {
                feeder.putIfAbsent(inputOf(n), n);
                users.merge(inputOf(n), 1, Integer::sum);
            }
        }

        static Hessians none() {
            return new Hessians(List.of());
        }

        /** The Hessian of {@code layer} (a fresh array), or null when none was collected for it. */
        float[] take(String layer) {
            String key = inputOf(layer);
            HessianAccumulator h = acc.get(key);
            if (h == null) {
                return null;
            }
            float[] out = h.hessian();
            if (users.merge(key, -1, Integer::sum) <= 0) {
                acc.remove(key);
            }
            return out;
        }
    }
}
