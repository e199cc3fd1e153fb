package dev.squeeze.engine.runs;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;

import java.time.Instant;
import java.util.ArrayList;
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
 * each group's Hessians collected after the groups before it are compressed. The blocks stream from the model's
 * tensors ({@link BlockStreamedCompression}): the calibration hidden states are kept at the current block's input,
 * so each block runs twice per window (calibration, then its compressed outputs), never the whole model again.
 * The embedding and the (tied) head
 * stay as stored. Every layer's settings are validated before any work starts. Then perplexity on the evaluation
 * split, and the run is stored.
 */
public final class LanguageModelCompression {
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

    /**
     * Compresses the model's linears as {@link #run} does, block by block, and evaluates nothing. The blocks stream
     * from the model's tensors ({@link BlockStreamedCompression}): only the current block's weights, its Hessians
     * and the calibration hidden states are in memory while it works; the finished layers are kept in their
     * compressed form (and as the operators the returned network computes with).
     */
    public Compressed compress(Model model, List<int[]> calibration, Function<String, MethodSettings> settingsFor,
                               boolean trueSequential, String label) {
        Map<String, MethodSettings> settings = settings(model, settingsFor);
        Map<String, LinearOp> replaced = new LinkedHashMap<>();
        Map<String, CompressedTensor> byTensor = new LinkedHashMap<>();
        List<RunRecord.LayerResult> layers = new ArrayList<>();
        new BlockStreamedCompression(hooks).compress(model, calibration, settings, trueSequential, label, layer -> {
            replaced.put(layer.name(), layer.op());
            byTensor.put(layer.tensor(), layer.compressed());
            layers.add(layer.result());
        });
        return new Compressed(LlamaModel.from(model).withLinears(replaced), byTensor, settings, layers);
    }

    /**
     * Every linear's settings ({@code settingsFor} gives null for a layer left dense), block by block in forward
     * order, each checked against its weight's shape and its method's name before any work starts.
     */
    public static Map<String, MethodSettings> settings(Model model, Function<String, MethodSettings> settingsFor) {
        LlamaConfig cfg = LlamaConfig.fromMetadata(model);
        Map<String, MethodSettings> settings = new LinkedHashMap<>();
        for (int b = 0; b < cfg.nLayers(); b++) {
            for (String n : BlockStreamedCompression.blockLinears(b)) {
                MethodSettings s = settingsFor.apply(n);
                if (s != null) {
                    Tensor w = model.tensor(n + ".weight");
                    Methods.byName(n, s.method());
                    s.validate(n, (int) w.dim(0), (int) w.dim(1));
                    settings.put(n, s);
                }
            }
        }
        return settings;
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
}
