package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.data.EvaluationData;
import dev.squeeze.engine.data.text.CalibrationWindows;
import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.plan.PlanResolver;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.runs.ClassifierRuns;
import dev.squeeze.engine.runs.ClassifierSubject;
import dev.squeeze.engine.search.ImageSplit;
import dev.squeeze.engine.search.LevelDatabase;
import dev.squeeze.engine.search.SearchJob;
import dev.squeeze.engine.search.SearchSubject;
import dev.squeeze.engine.runs.LanguageModelCompression;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.runs.RunSink;
import dev.squeeze.engine.store.RunRecord;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Does the work of one {@link JobSpec} in this process: the same code a worker runs, and what tests call to get
 * an uninterrupted reference run. Language models are calibrated on TinyStories stories 1–500 and evaluated on
 * 501–1000; classifiers take data-free methods and their evaluation images.
 */
public final class JobExecution {
    /** Calibration windows are 256 tokens long, as in the GPTQ reference's C4/WikiText runs scaled to TinyStories. */
    public static final int WINDOW_TOKENS = 256;

    private JobExecution() {
    }

    /**
     * Checks a job before it is queued: the model opens, the plan resolves to at least one layer and every
     * layer's settings are valid for its shape. Throws a {@link SqueezeException} naming the layer and field.
     *
     * @param m the job's model, opened ({@link ModelRefs#open})
     * @return the resolved settings per layer
     */
    public static Map<String, MethodSettings> validate(JobSpec spec, Model m) {
        if (spec.hasSearch()) {
            SearchJob.validate(spec.search(), m);
            return Map.of();
        }
        CompressionPlan plan = spec.plan();
        Map<String, MethodSettings> settings = PlanResolver.resolve(plan, m);
        if (settings.isEmpty()) {
            throw new SqueezeException("Plan '" + spec.label() + "' compresses no layer of " + m.name(),
                    "give the plan defaults or overrides that match the model's layers (squeeze inspect lists them)");
        }
        for (LayerInfo l : m.layers()) {
            MethodSettings s = settings.get(l.name());
            if (s != null) {
                Methods.byName(l.name(), s.method());
                long[] shape = l.shape();
                long cols = 1;
                for (int i = 1; i < shape.length; i++) {
                    cols *= shape[i];
                }
                s.validate(l.name(), (int) shape[0], (int) cols);
                if (!LlamaConfig.ARCHITECTURE.equals(m.architecture())) {
                    ClassifierRuns.requireDataFree(l.name(), s);
                }
            }
        }
        return settings;
    }

    /** Runs the job; the finished run goes to {@code sink}; returns what the sink returned. */
    public static long run(JobSpec spec, RunSink sink, RunHooks hooks) {
        return run(spec, sink, hooks, null);
    }

    /**
     * Runs the job, first checking that the model's content has the SHA-256 {@code expectedModelHash} (when not
     * null): a worker on a cluster node reads the model through a path the parent named, and a different or missing
     * file there must stop the job before any work, not produce a run of another model.
     */
    public static long run(JobSpec spec, RunSink sink, RunHooks hooks, String expectedModelHash) {
        hooks.phase(RunHooks.Phase.LOADING, spec.model());
        Model m = openChecked(spec.model(), expectedModelHash);
        Map<String, MethodSettings> settings = validate(spec, m);
        if (spec.hasSearch()) {
            return search(spec, m, sink, hooks);
        }
        if (LlamaConfig.ARCHITECTURE.equals(m.architecture())) {
            TextEvaluation eval = evaluationText(spec, m);
            return new LanguageModelCompression(sink, hooks).run(m, eval, calibration(spec, eval), settings::get,
                    spec.trueSequential(), spec.label(), spec.planJson(), spec.seed()).runId();
        }
        return new ClassifierRuns(sink, hooks).run(m, ModelRefs.evaluationImages(spec.model(), m, path(spec.images()),
                path(spec.labels())), settings, spec.planJson(), spec.label(), "plan " + spec.label());
    }

    /** Opens the job's model; with {@code expectedHash}, refuses one whose content differs (see {@link #run}). */
    static Model openChecked(String ref, String expectedHash) {
        String host = dev.squeeze.engine.store.Provenance.hostName();
        Model m;
        try {
            m = ModelRefs.open(ref);
        } catch (SqueezeException e) {
            if (expectedHash == null) {
                throw e;
            }
            throw new SqueezeException("The model " + ref + " cannot be read on " + host + ": " + e.getMessage(),
                    "keep models on a filesystem that every cluster node mounts at the same path (e.g. under the "
                            + "shared directory), then resume the job");
        }
        if (expectedHash != null && !expectedHash.equals(m.contentHash())) {
            throw new SqueezeException("The model " + ref + " on " + host + " is not the one the job was submitted with"
                    + " (content SHA-256 " + abbreviate(m.contentHash()) + " here, " + abbreviate(expectedHash)
                    + " when submitted)", "make the file the same on every node (or submit the job again for the"
                    + " changed model), then resume the job");
        }
        return m;
    }

    private static String abbreviate(String hash) {
        return hash == null ? "none" : hash.length() > 12 ? hash.substring(0, 12) + "…" : hash;
    }

    /**
     * A search job: language models calibrate on stories 1–500 (the job's windows and seed draw the level Hessians)
     * and are evaluated as every run; classifiers calibrate on the last fifth of their evaluation images and are
     * evaluated on the first four fifths ({@link ImageSplit}). Returns the id the sink gave the last run.
     */
    private static long search(JobSpec spec, Model m, RunSink sink, RunHooks hooks) {
        java.nio.file.Path root = hooks.sharedCacheDir().orElseGet(LevelDatabase::defaultRoot);
        SearchJob job = new SearchJob(sink, hooks);
        List<SearchJob.Point> points;
        if (LlamaConfig.ARCHITECTURE.equals(m.architecture())) {
            TextEvaluation eval = evaluationText(spec, m);
            List<int[]> calibration = eval.corpus().tokens(DataSplit.TINYSTORIES_1K.calibration(), eval.tokenizer());
            try (SearchSubject subject = new SearchSubject.Language(m, calibration, spec.calibrationWindows(),
                    WINDOW_TOKENS, spec.seed())) {
                points = job.run(spec.search(), subject, eval, null, root, spec.label());
            }
        } else {
            ImageSet images = ModelRefs.evaluationImages(spec.model(), m, path(spec.images()), path(spec.labels()));
            try (SearchSubject subject = new SearchSubject.Classifier(ClassifierSubject.of(m), images)) {
                points = job.run(spec.search(), subject, null, ImageSplit.evaluation(images), root, spec.label());
            }
        }
        return points.getLast().runId();
    }

    /** A job's compressed layers and their results, computed as {@link #run} computes them, without evaluating. */
    public record Compression(Map<String, CompressedTensor> byLayer, Map<String, MethodSettings> settings,
                              List<RunRecord.LayerResult> layers) {
    }

    /**
     * Compresses {@code m} (the job's model, opened) as the job does, calibration included, and evaluates nothing:
     * what an export of a stored run recomputes. The result is identical to the run's, layer for layer.
     */
    public static Compression compress(JobSpec spec, Model m, RunHooks hooks) {
        if (spec.hasSearch()) {
            throw new SqueezeException("Job '" + spec.label() + "' is a search; its runs each have a plan",
                    "export one of the runs the search stored");
        }
        Map<String, MethodSettings> settings = validate(spec, m);
        if (LlamaConfig.ARCHITECTURE.equals(m.architecture())) {
            TextEvaluation eval = evaluationText(spec, m);
            LanguageModelCompression.Compressed c = new LanguageModelCompression((RunSink) r -> -1, hooks)
                    .compress(m, calibration(spec, eval), settings::get, spec.trueSequential(), spec.label());
            Map<String, CompressedTensor> byLayer = new LinkedHashMap<>();
            // Llama linears are named <layer>.weight (LlamaLayers).
            c.byTensor().forEach((tensor, t) -> byLayer.put(tensor.substring(0, tensor.length() - ".weight".length()), t));
            return new Compression(byLayer, c.settings(), c.layers());
        }
        ClassifierRuns.Compressed c = new ClassifierRuns((RunSink) r -> -1, hooks).compress(m, settings);
        Map<String, MethodSettings> used = new LinkedHashMap<>();
        c.byLayer().keySet().forEach(l -> used.put(l, settings.get(l)));
        return new Compression(c.byLayer(), used, c.layers());
    }

    private static TextEvaluation evaluationText(JobSpec spec, Model m) {
        TextEvaluation full = EvaluationData.textFor(m).orElseThrow(() -> new SqueezeException(
                "No evaluation text for " + m.source() + ": it needs TinyStories ("
                        + EvaluationData.describeSearch(EvaluationData.TINYSTORIES) + ") and its tokenizer",
                "put the data in one of those places, or set SQUEEZE_DATA"));
        return spec.evaluationStories() == 0 ? full : new TextEvaluation(full.corpus(),
                StoryRange.of(full.range().first(), Math.min(full.range().last(),
                        full.range().first() + spec.evaluationStories() - 1)), full.tokenizer());
    }

    private static List<int[]> calibration(JobSpec spec, TextEvaluation eval) {
        return CalibrationWindows.sample(eval.corpus().tokens(DataSplit.TINYSTORIES_1K.calibration(),
                eval.tokenizer()), spec.calibrationWindows(), WINDOW_TOKENS, spec.seed());
    }

    private static Path path(String p) {
        return p == null ? null : Path.of(p);
    }
}
