package dev.squeeze.engine.runs;

import dev.squeeze.engine.compress.QuantizedMatrix;
import dev.squeeze.engine.compress.RtnQuantizer;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.eval.ClassifierEvaluator;
import dev.squeeze.engine.eval.ClassifierMetrics;
import dev.squeeze.engine.eval.SizeAccounting;
import dev.squeeze.engine.kernels.Kernels;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.BiasedLinear;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.util.Hashing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The thinnest real path through the engine: evaluate an MLP classifier dense, then with every linear layer
 * quantized by RTN, and store each variant as a run with its provenance.
 */
public final class RtnClassifierRuns {
    private static final Logger LOG = LoggerFactory.getLogger(RtnClassifierRuns.class);
    /** RTN is deterministic; the seed is stored for the record and for methods that sample. */
    private static final long SEED = 0;

    private final ResultsStore store;

    public RtnClassifierRuns(ResultsStore store) {
        this.store = store;
    }

    /** Evaluates the dense model and stores it as a run; returns the run id. */
    public long runDense(Model model, ImageSet eval) {
        Instant start = Instant.now();
        MlpClassifier net = MlpClassifier.dense(model);
        ClassifierMetrics m = ClassifierEvaluator.evaluate(net, eval);
        return store.recordRun(record(model, eval, "{\"schema\":1,\"defaults\":{\"method\":\"none\"}}",
                "dense (no compression)", "dense " + storedType(model), start, m,
                model.storedBytes(), null, List.of()));
    }

    /** Quantizes every linear of the model with {@code settings}, evaluates it and stores the run. */
    public long runRtn(Model model, ImageSet eval, RtnSettings settings) {
        Instant start = Instant.now();
        MlpClassifier dense = MlpClassifier.dense(model);
        Map<String, QuantizedMatrix> compressed = new LinkedHashMap<>();
        Map<String, LinearOp> replaced = new LinkedHashMap<>();
        List<RunRecord.LayerResult> layers = new ArrayList<>();
        for (LayerInfo layer : model.layers()) {
            if (layer.role() != LayerRole.LINEAR || !dense.layers().containsKey(layer.name())) {
                continue;
            }
            long t0 = System.nanoTime();
            Tensor w = model.tensor(layer.name() + ".weight");
            float[] weights = w.floats();
            QuantizedMatrix q = RtnQuantizer.quantize(layer.name(), weights, (int) w.dim(0), (int) w.dim(1), settings);
            compressed.put(w.name(), q);
            LinearOp op = q.asLinearOp();
            var bias = model.findTensor(layer.name() + ".bias");
            replaced.put(layer.name(), bias.isPresent() ? new BiasedLinear(op, bias.get().floats()) : op);
            double err = SizeAccounting.relativeError(weights, q.dequantize());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            layers.add(new RunRecord.LayerResult(layer.name(), "rtn", settings.describe(), q.storedBits(),
                    q.bitsPerWeight(), err, ms));
            LOG.debug("{}: {} bits/weight, relative error {}", layer.name(), q.bitsPerWeight(), err);
        }
        ClassifierMetrics m = ClassifierEvaluator.evaluate(dense.withLayers(replaced), eval);
        String plan = "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":" + settings.bits()
                + ",\"groupSize\":" + settings.groupSize() + ",\"symmetric\":" + settings.symmetric() + "}}";
        return store.recordRun(record(model, eval, plan, settings.describe() + " on every linear",
                settings.describe(), start, m, SizeAccounting.modelBytes(model, compressed),
                SizeAccounting.bitsPerWeight(compressed), layers));
    }

    private static RunRecord record(Model model, ImageSet eval, String planJson, String planDescription,
                                    String label, Instant start, ClassifierMetrics m, long sizeBytes,
                                    Double bitsPerWeight, List<RunRecord.LayerResult> layers) {
        List<RunRecord.Metric> metrics = new ArrayList<>();
        metrics.add(new RunRecord.Metric("top1", "evaluation", m.top1()));
        double[] perClass = m.perClass();
        for (int c = 0; c < perClass.length; c++) {
            if (!Double.isNaN(perClass[c])) {
                metrics.add(new RunRecord.Metric("accuracy." + m.classNames().get(c), "evaluation", perClass[c]));
            }
        }
        return new RunRecord(
                new RunRecord.ModelRecord(model.contentHash(), model.name(), model.source(), model.format(),
                        model.architecture(), model.parameterCount(), model.storedBytes()),
                datasetRecord(eval), planJson, planDescription, label, start, Instant.now(), SEED,
                Provenance.current(Kernels.backendName()), sizeBytes, SizeAccounting.fp16Bytes(model),
                bitsPerWeight, layers, metrics);
    }

    private static RunRecord.DatasetRecord datasetRecord(ImageSet eval) {
        ByteBuffer both = ByteBuffer.allocate(eval.pixels().length + eval.labels().length);
        both.put(eval.pixels()).put(eval.labels()).flip();
        return new RunRecord.DatasetRecord(eval.name(), eval.name(), Hashing.sha256(both), "evaluation", eval.count());
    }

    private static String storedType(Model model) {
        return model.tensors().values().stream().map(t -> t.dtype().name().toLowerCase(java.util.Locale.ROOT))
                .distinct().reduce((a, b) -> a + "/" + b).orElse("");
    }
}
