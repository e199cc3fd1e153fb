package dev.squeeze.engine.runs;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.eval.SizeAccounting;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Compresses the linears of a Llama-family model block by block, as GPTQ's {@code llama.py} does: the
 * Hessians of block {@code b} are collected on the calibration windows running the model whose blocks before
 * {@code b} are already compressed, so each block is calibrated on the outputs of the compressed ones before
 * it. Within a block all seven linears are calibrated in one pass (the reference's default), or, with
 * {@code trueSequential}, in the reference's {@code --true-sequential} order {q,k,v} → {o} → {gate,up} → {down},
 * each group's Hessians collected after the groups before it are compressed. The embedding and the (tied) head
 * stay as stored. Every layer's settings are validated before any work starts. Then perplexity on the evaluation
 * split, and the run is stored.
 */
public final class LanguageModelCompression {
    private static final Logger LOG = LoggerFactory.getLogger(LanguageModelCompression.class);

    private final RunSink sink;
    private final RunHooks hooks;

    public LanguageModelCompression(ResultsStore store) {
        this(store::recordRun, RunHooks.NONE);
    }

    /** Runs that report progress to {@code hooks} and hand finished runs to {@code sink}. */
    public LanguageModelCompression(RunSink sink, RunHooks hooks) {
        this.sink = sink;
        this.hooks = hooks;
    }

    /** What was done, for tables and logs. */
    public record Outcome(long runId, double perplexity, Double bitsPerWeight, long sizeBytes) {
    }

    /**
     * @param settingsFor  the settings of each linear (canonical name), or null to keep it dense
     * @param calibration  calibration windows (token ids; from the calibration split, never the evaluation one)
     * @param label        the run's label, e.g. {@code GPTQ 4-bit g128}
     */
    public Outcome run(Model model, TextEvaluation eval, List<int[]> calibration,
                       Function<String, MethodSettings> settingsFor, String label, String planJson, long seed) {
        return run(model, eval, calibration, settingsFor, false, label, planJson, seed);
    }

    /** @param trueSequential calibrate q/k/v, o, gate/up and down of a block one group after the other */
    public Outcome run(Model model, TextEvaluation eval, List<int[]> calibration,
                       Function<String, MethodSettings> settingsFor, boolean trueSequential, String label,
                       String planJson, long seed) {
        Instant start = Instant.now();
        Compressed c = compress(model, calibration, settingsFor, trueSequential, label);
        hooks.checkCancelled();
        hooks.phase(RunHooks.Phase.EVALUATION, eval.describe());
        RunRecord.DatasetRecord calibrationRecord = calibration.isEmpty() ? null : calibrationRecord(eval, calibration);
        LanguageModelRuns.Stored stored = LanguageModelRuns.evaluateAndStore(sink, hooks, model,
                c.network(), eval, planJson, label, label, start, seed, c.byTensor(), c.layers(),
                List.of(new RunRecord.Metric("calibration_windows", "calibration", calibration.size())),
                calibrationRecord);
        return new Outcome(stored.runId(), stored.perplexity(), stored.bitsPerWeight(), stored.sizeBytes());
    }

    /**
     * The compression of a run without its evaluation: what an export of a stored run recomputes.
     *
     * @param network  the model computing with the compressed linears
     * @param byTensor each compressed tensor by weight tensor name ({@code <layer>.weight})
     * @param settings each compressed layer's settings by layer name
     * @param layers   each layer's result, in compression order
     */
    public record Compressed(LlamaModel network, Map<String, CompressedTensor> byTensor,
                             Map<String, MethodSettings> settings, List<RunRecord.LayerResult> layers) {
    }

    /** Compresses the model's linears as {@link #run} does, block by block, and evaluates nothing. */
    public Compressed compress(Model model, List<int[]> calibration, Function<String, MethodSettings> settingsFor,
                               boolean trueSequential, String label) {
        LlamaConfig cfg = LlamaConfig.fromMetadata(model);
        // Every layer's settings are checked before any work starts.
        Map<String, MethodSettings> settings = new LinkedHashMap<>();
        for (int b = 0; b < cfg.nLayers(); b++) {
            for (String n : blockLinears(b)) {
                MethodSettings s = settingsFor.apply(n);
                if (s != null) {
                    Tensor w = model.tensor(n + ".weight");
                    Methods.byName(n, s.method());
                    s.validate(n, (int) w.dim(0), (int) w.dim(1));
                    settings.put(n, s);
                }
            }
        }
        LlamaModel dense = LlamaModel.from(model);
        Map<String, LinearOp> replaced = new LinkedHashMap<>();
        Map<String, CompressedTensor> byTensor = new LinkedHashMap<>();
        List<RunRecord.LayerResult> layers = new ArrayList<>();
        int total = settings.size();
        int index = 0;
        for (int b = 0; b < cfg.nLayers(); b++) {
            for (List<String> group : groups(b, trueSequential)) {
                List<String> names = group.stream().filter(settings::containsKey).toList();
                if (names.isEmpty()) {
                    continue;
                }
                // Checkpointed layers of this group come back as they were; the Hessians of the others are
                // collected exactly as in an uninterrupted run: on the model with the groups before this one
                // compressed and none of this group's layers, so a resumed run computes identical layers.
                Map<String, RunHooks.Restored> restored = new HashMap<>();
                for (int i = 0; i < names.size(); i++) {
                    String n = names.get(i);
                    hooks.restore(index + i, n).ifPresent(r -> restored.put(n, r));
                }
                List<String> toCompute = names.stream().filter(n -> !restored.containsKey(n)).toList();
                Map<String, float[]> hessians = Map.of();
                if (!calibration.isEmpty() && !toCompute.isEmpty()) {
                    hooks.checkCancelled();
                    hooks.phase(RunHooks.Phase.CALIBRATION, "block " + (b + 1) + " of " + cfg.nLayers());
                    hessians = hessians(dense.withLinears(replaced), toCompute, calibration, hooks);
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
                        float[] weights = w.floats();
                        c = Methods.compress(new LayerInput(n, weights, (int) w.dim(0), (int) w.dim(1),
                                hessians.get(n)), settings.get(n));
                        double err = SizeAccounting.relativeError(weights, c.dequantize());
                        long ms = (System.nanoTime() - t0) / 1_000_000;
                        result = new RunRecord.LayerResult(n, settings.get(n).method(), settings.get(n).describe(),
                                c.storedBits(), c.bitsPerWeight(), err, ms);
                        hooks.save(index, n, c, result);
                    }
                    replaced.put(n, c.asLinearOp());
                    byTensor.put(w.name(), c);
                    layers.add(result);
                    hooks.layerDone(index++, total, n, r != null);
                }
            }
            LOG.info("{}: block {} of {} compressed", label, b + 1, cfg.nLayers());
        }
        return new Compressed(dense.withLinears(replaced), byTensor, settings, layers);
    }

    /** The calibration windows as a data set: identified by the hash of their token ids. */
    private static RunRecord.DatasetRecord calibrationRecord(TextEvaluation eval, List<int[]> windows) {
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(windows.stream().mapToInt(w -> 4 * w.length + 4).sum());
        long tokens = 0;
        for (int[] w : windows) {
            bytes.putInt(w.length);
            for (int t : w) {
                bytes.putInt(t);
            }
            tokens += w.length;
        }
        bytes.flip();
        return new RunRecord.DatasetRecord(windows.size() + " calibration windows of " + eval.corpus().source(),
                eval.corpus().source(), dev.squeeze.engine.util.Hashing.sha256(bytes), "calibration", tokens);
    }

    private static List<String> blockLinears(int b) {
        return List.of(LlamaLayers.q(b), LlamaLayers.k(b), LlamaLayers.v(b), LlamaLayers.o(b),
                LlamaLayers.gate(b), LlamaLayers.up(b), LlamaLayers.down(b));
    }

    /** The calibration groups of block {@code b}: all seven at once, or GPTQ's true-sequential order. */
    private static List<List<String>> groups(int b, boolean trueSequential) {
        if (!trueSequential) {
            return List.of(blockLinears(b));
        }
        return List.of(List.of(LlamaLayers.q(b), LlamaLayers.k(b), LlamaLayers.v(b)), List.of(LlamaLayers.o(b)),
                List.of(LlamaLayers.gate(b), LlamaLayers.up(b)), List.of(LlamaLayers.down(b)));
    }

    /** The Hessians of {@code names} on the calibration windows, one sequence per window (as add_batch counts). */
    private static Map<String, float[]> hessians(LlamaModel current, List<String> names, List<int[]> windows,
                                                 RunHooks hooks) {
        Map<String, HessianAccumulator> acc = new HashMap<>();
        Map<String, float[]> buffers = new HashMap<>();
        Map<String, Integer> filled = new HashMap<>();
        LlamaModel listening = current.withListener((layer, x, rows, cols) -> {
            if (!names.contains(layer)) {
                return;
            }
            acc.computeIfAbsent(layer, l -> new HessianAccumulator(cols));
            int at = filled.getOrDefault(layer, 0);
            float[] buf = buffers.get(layer);
            if (buf == null || buf.length < (at + rows) * cols) {
                buf = java.util.Arrays.copyOf(buf == null ? new float[0] : buf, Math.max((at + rows) * cols, 2 * at * cols));
                buffers.put(layer, buf);
            }
            System.arraycopy(x, 0, buf, at * cols, rows * cols);
            filled.put(layer, at + rows);
        });
        int done = 0;
        for (int[] window : windows) {
            hooks.checkCancelled();
            hooks.progress(RunHooks.Phase.CALIBRATION, done++, windows.size(), "windows");
            filled.clear();
            listening.forwardLast(window, 0, listening.newState());
            for (String n : names) {
                HessianAccumulator h = acc.get(n);
                if (h != null) {
                    h.addBatch(buffers.get(n), filled.get(n), 1);
                }
            }
        }
        hooks.progress(RunHooks.Phase.CALIBRATION, windows.size(), windows.size(), "windows");
        Map<String, float[]> out = new HashMap<>();
        acc.forEach((n, h) -> out.put(n, h.hessian()));
        return out;
    }
}
