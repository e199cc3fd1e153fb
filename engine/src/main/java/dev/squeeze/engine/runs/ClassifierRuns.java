package dev.squeeze.engine.runs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.eval.ClassifierEvaluator;
import dev.squeeze.engine.eval.ClassifierMetrics;
import dev.squeeze.engine.eval.Latency;
import dev.squeeze.engine.eval.SizeAccounting;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.ImageClassifier;
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
import java.util.Locale;
import java.util.Map;

/**
 * The thinnest real path through the engine for image classifiers: evaluate the dense model, or every
 * compressible weight quantized by RTN, and store each variant as a run with its provenance.
 */
public final class ClassifierRuns {
    private static final Logger LOG = LoggerFactory.getLogger(ClassifierRuns.class);
    /** RTN is deterministic; the seed is stored for the record and for methods that sample. */
    private static final long SEED = 0;

    private final RunSink store;
    private final RunHooks hooks;

    public ClassifierRuns(ResultsStore store) {
        this(store::recordRun, RunHooks.NONE);
    }

    /** Runs that report progress to {@code hooks} and hand finished runs to {@code sink}. */
    public ClassifierRuns(RunSink sink, RunHooks hooks) {
        this.store = sink;
        this.hooks = hooks;
    }

    /** Evaluates the dense model and stores it as a run; returns the run id. */
    public long runDense(Model model, ImageSet eval) {
        try (ClassifierSubject subject = ClassifierSubject.of(model)) {
            Instant start = Instant.now();
            ImageClassifier dense = subject.dense();
            ClassifierMetrics m = ClassifierEvaluator.evaluate(dense, eval);
            return store.accept(record(model, eval, "{\"schema\":1,\"defaults\":{\"method\":\"none\"}}",
                    "dense (no compression)", "dense " + storedType(model), start, m, latency(dense, eval),
                    model.storedBytes(), null, List.of()));
        }
    }

    /** Quantizes every compressible weight with RTN {@code settings}, evaluates the result and stores the run. */
    public long runRtn(Model model, ImageSet eval, RtnSettings settings) {
        String plan = "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":" + settings.bits()
                + ",\"groupSize\":" + settings.groupSize() + ",\"symmetric\":" + settings.symmetric() + "}}";
        return run(model, eval, settings, plan);
    }

    /**
     * Compresses every compressible weight with a data-free method ({@code settings} name it), evaluates the
     * result and stores the run.
     */
    public long run(Model model, ImageSet eval, MethodSettings settings, String planJson) {
        // Every compressible layer of the inventory (the subject's weight matrices are exactly these), without
        // opening the subject a second time: for ONNX that would re-read and re-hash the file.
        Map<String, MethodSettings> perLayer = new LinkedHashMap<>();
        model.layers().stream().filter(l -> l.role().isCompressible()).forEach(l -> perLayer.put(l.name(), settings));
        return run(model, eval, perLayer, planJson, settings.describe(), settings.describe() + " on every compressible weight");
    }

    /**
     * Compresses the layers named in {@code perLayer} (the others stay dense) with data-free methods, evaluates the
     * result and stores the run. Every layer's settings are validated before any work starts.
     */
    public long run(Model model, ImageSet eval, Map<String, MethodSettings> perLayer, String planJson, String label,
                    String planDescription) {
        try (ClassifierSubject subject = ClassifierSubject.of(model)) {
            Instant start = Instant.now();
            Compressed c = compress(subject, perLayer);
            hooks.checkCancelled();
            hooks.phase(RunHooks.Phase.EVALUATION, eval.name());
            ImageClassifier net = subject.with(c.byLayer());
            ClassifierMetrics m = ClassifierEvaluator.evaluate(net, eval, (done, images) -> {
                hooks.checkCancelled();
                hooks.progress(RunHooks.Phase.EVALUATION, done, images, "images");
            });
            hooks.checkCancelled();
            return store.accept(record(model, eval, planJson, planDescription,
                    label, start, m, latency(net, eval), SizeAccounting.modelBytes(model, c.byTensor()),
                    SizeAccounting.bitsPerWeight(c.byTensor()), c.layers()));
        }
    }

    /**
     * Evaluates {@code net} (a classifier whose layers are already compressed) on {@code eval} with progress and
     * stores the run, sizes from {@code byTensor} (weight tensor name → its stored form); returns the sink's id.
     */
    public static long evaluateAndStore(RunSink sink, RunHooks hooks, Model model, ImageClassifier net, ImageSet eval,
                                        String planJson, String planDescription, String label, Instant start,
                                        Map<String, CompressedTensor> byTensor, List<RunRecord.LayerResult> layers,
                                        List<RunRecord.Metric> extraMetrics) {
        hooks.phase(RunHooks.Phase.EVALUATION, eval.name());
        ClassifierMetrics m = ClassifierEvaluator.evaluate(net, eval, (done, images) -> {
            hooks.checkCancelled();
            hooks.progress(RunHooks.Phase.EVALUATION, done, images, "images");
        });
        RunRecord r = record(model, eval, planJson, planDescription, label, start, m, latency(net, eval),
                SizeAccounting.modelBytes(model, byTensor), SizeAccounting.bitsPerWeight(byTensor), layers);
        List<RunRecord.Metric> metrics = new ArrayList<>(r.metrics());
        metrics.addAll(extraMetrics);
        return sink.accept(new RunRecord(r.model(), r.dataset(), r.planJson(), r.planDescription(), r.label(),
                r.startedAt(), r.finishedAt(), r.seed(), r.provenance(), r.sizeBytes(), r.fp16Bytes(),
                r.bitsPerWeight(), r.layers(), metrics, r.calibration(), r.tags(), r.jobId()));
    }

    /**
     * The compression of a run without its evaluation: what an export of a stored run recomputes.
     *
     * @param byLayer  each compressed layer's tensor by layer name
     * @param byTensor the same tensors by weight tensor name
     * @param layers   each layer's result, in compression order
     */
    public record Compressed(Map<String, CompressedTensor> byLayer, Map<String, CompressedTensor> byTensor,
                             List<RunRecord.LayerResult> layers) {
    }

    /** Compresses the layers named in {@code perLayer} as {@link #run} does, and evaluates nothing. */
    public Compressed compress(Model model, Map<String, MethodSettings> perLayer) {
        try (ClassifierSubject subject = ClassifierSubject.of(model)) {
            return compress(subject, perLayer);
        }
    }

    private Compressed compress(ClassifierSubject subject, Map<String, MethodSettings> perLayer) {
        Map<String, CompressedTensor> byLayer = new LinkedHashMap<>();
        Map<String, CompressedTensor> byTensor = new LinkedHashMap<>();
        List<RunRecord.LayerResult> layers = new ArrayList<>();
        // weights() decodes every matrix (for ONNX, from its initializers): once per run.
        List<ClassifierSubject.WeightMatrix> weights = subject.weights();
        int total = 0;
        for (ClassifierSubject.WeightMatrix w : weights) {
            MethodSettings settings = perLayer.get(w.layer());
            if (settings != null) {
                Methods.byName(w.layer(), settings.method());
                settings.validate(w.layer(), w.rows(), w.cols());
                requireDataFree(w.layer(), settings);
                total++;
            }
        }
        int index = 0;
        hooks.phase(RunHooks.Phase.COMPRESSION, total + " layers");
        for (ClassifierSubject.WeightMatrix w : weights) {
            MethodSettings settings = perLayer.get(w.layer());
            if (settings == null) {
                continue;
            }
            hooks.checkCancelled();
            hooks.layerStarted(index, total, w.layer());
            var restored = hooks.restore(index, w.layer());
            CompressedTensor q;
            RunRecord.LayerResult result;
            if (restored.isPresent()) {
                q = restored.get().tensor();
                result = restored.get().result();
            } else {
                long t0 = System.nanoTime();
                q = Methods.compress(new LayerInput(w.layer(), w.values(), w.rows(), w.cols(), null), settings);
                double err = SizeAccounting.relativeError(w.values(), q.dequantize());
                long ms = (System.nanoTime() - t0) / 1_000_000;
                result = new RunRecord.LayerResult(w.layer(), settings.method(), settings.describe(),
                        q.storedBits(), q.bitsPerWeight(), err, ms);
                hooks.save(index, w.layer(), q, result);
                LOG.debug("{}: {} bits/weight, relative error {}", w.layer(), q.bitsPerWeight(), err);
            }
            byLayer.put(w.layer(), q);
            byTensor.put(w.tensor(), q);
            layers.add(result);
            hooks.layerDone(index++, total, w.layer(), restored.isPresent());
        }
        return new Compressed(byLayer, byTensor, layers);
    }

    /**
     * Classifier runs are data-free: they collect no calibration statistics, so a method that needs the layer's
     * Hessian (GPTQ, SpQR, SparseGPT, activation-aware low rank) is refused before any work.
     */
    public static void requireDataFree(String layer, MethodSettings settings) {
        if (settings.needsCalibration()) {
            throw new SqueezeException("Layer " + layer + ": " + settings.describe()
                    + " needs calibration data (the layer Hessian), and classifier runs are data-free",
                    "choose a data-free method for this layer (rtn, magnitude, or lowrank with variant svd)");
        }
    }

    private static RunRecord record(Model model, ImageSet eval, String planJson, String planDescription,
                                    String label, Instant start, ClassifierMetrics m, double latencyMs,
                                    long sizeBytes, Double bitsPerWeight, List<RunRecord.LayerResult> layers) {
        List<RunRecord.Metric> metrics = new ArrayList<>();
        metrics.add(new RunRecord.Metric("top1", "evaluation", m.top1()));
        if (!Double.isNaN(latencyMs)) {
            metrics.add(new RunRecord.Metric(Latency.METRIC, "evaluation", latencyMs));
        }
        double[] perClass = m.perClass();
        for (int c = 0; c < perClass.length; c++) {
            if (!Double.isNaN(perClass[c])) {
                metrics.add(new RunRecord.Metric("accuracy." + m.classNames().get(c), "evaluation", perClass[c]));
            }
        }
        return new RunRecord(RunRecords.model(model), datasetRecord(eval), planJson, planDescription, label, start,
                Instant.now(), SEED, Provenance.current(), sizeBytes,
                SizeAccounting.fp16Bytes(model), bitsPerWeight, layers, metrics);
    }

    /** The median time of one batch of the first evaluation images ({@link Latency#perBatch}). */
    private static double latency(ImageClassifier net, ImageSet eval) {
        int n = Math.min(Latency.CLASSIFIER_BATCH, eval.count());
        return n == 0 ? Double.NaN : Latency.perBatch(net, eval.batch(0, n), n);
    }

    private static RunRecord.DatasetRecord datasetRecord(ImageSet eval) {
        ByteBuffer both = ByteBuffer.allocate(eval.pixels().length + eval.labels().length);
        both.put(eval.pixels()).put(eval.labels()).flip();
        return new RunRecord.DatasetRecord(eval.name(), eval.name(), Hashing.sha256(both), "evaluation", eval.count());
    }

    static String storedType(Model model) {
        return model.tensors().values().stream()
                .map(t -> (t.codec() != null ? t.codec().name() : t.dtype().name()).toLowerCase(Locale.ROOT))
                .distinct().reduce((a, b) -> a + "/" + b).orElse("");
    }
}
