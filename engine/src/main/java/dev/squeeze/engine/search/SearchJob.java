package dev.squeeze.engine.search;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.eval.SizeAccounting;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.plan.SettingsJson;
import dev.squeeze.engine.runs.ClassifierRuns;
import dev.squeeze.engine.runs.LanguageModelRuns;
import dev.squeeze.engine.runs.RunCancelledException;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.runs.RunSink;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.data.text.TextEvaluation;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * A search job's work, in the worker (or the calling process): build or reuse the level database, measure per-layer
 * sensitivity, then for each budget allocate levels with the exact proxy allocator and, with generations, refine
 * with EvoPress on KL to the dense model; evaluate each plan on the evaluation split exactly as every run is, and
 * store it. Nothing here looks at the evaluation split before the plan is fixed: the level Hessians, the
 * sensitivity and the fitness all use calibration data ({@link SearchSubject}).
 *
 * <p>Resumable: the level database keeps every finished level; each budget's EvoPress state is saved after every
 * generation ({@link RunHooks#saveState}); each stored point is remembered, and the parent stores a point's run once
 * per key even when a crash makes the worker send it again. Cancelling stops at the next fitness evaluation and keeps
 * the best plan found: it is evaluated and stored as the job's last run.
 */
public final class SearchJob {
    /** EvoPress stages for language models: calibration tokens and survivors (the reference's 3 stages, scaled to a laptop). */
    public static final List<EvoPressSettings.Stage> LANGUAGE_STAGES = List.of(
            new EvoPressSettings.Stage(1024, 8), new EvoPressSettings.Stage(4096, 2),
            new EvoPressSettings.Stage(16384, 1));

    /** EvoPress stages for classifiers: calibration images and survivors. */
    public static final List<EvoPressSettings.Stage> CLASSIFIER_STAGES = List.of(
            new EvoPressSettings.Stage(64, 8), new EvoPressSettings.Stage(256, 2),
            new EvoPressSettings.Stage(2048, 1));

    /** Uniform baselines stored at most (the nearest to the budgets). */
    public static final int MAX_BASELINES = 24;

    private final RunSink sink;
    private final RunHooks hooks;

    public SearchJob(RunSink sink, RunHooks hooks) {
        this.sink = sink;
        this.hooks = hooks;
    }

    /** What a search found and stored, for callers in this process (tests, benchmarks). */
    public record Point(String key, String label, int[] choice, long bits, double bitsPerWeight, double proxyError,
                        double fitness, long runId, boolean last) {
    }

    /**
     * Checks a search before it is queued: the methods suit the model (classifiers take data-free methods only).
     * Budgets are checked when the level database is known (a budget below the smallest plan fails then).
     */
    public static void validate(SearchSpec search, Model model) {
        if (!LlamaConfig.ARCHITECTURE.equals(model.architecture())) {
            for (String m : search.methods()) {
                if (!Candidates.DATA_FREE_FAMILIES.contains(m)) {
                    throw new SqueezeException("The search method '" + m + "' needs calibration data (layer Hessians),"
                            + " and classifier searches are data-free", "use some of "
                            + String.join(", ", Candidates.DATA_FREE_FAMILIES) + " for " + model.name());
                }
            }
        }
    }

    /**
     * Runs the search on an opened subject and stores its runs through the sink; returns what it stored, in order.
     *
     * @param evaluationText   language models: the evaluation split (stories 501–1000); null for classifiers
     * @param evaluationImages classifiers: the images the runs are evaluated on (the first four fifths); else null
     * @param levelRoot        where level databases live
     * @param label            the job's label (each run's label adds its budget)
     */
    public List<Point> run(SearchSpec spec, SearchSubject subject, TextEvaluation evaluationText,
                           ImageSet evaluationImages, Path levelRoot, String label) {
        Instant started = Instant.now();
        Model model = subject.model();
        boolean language = subject instanceof SearchSubject.Language;
        BooleanSupplier cancelled = cancelCheck(hooks);

        // 1. The level database.
        hooks.phase(RunHooks.Phase.COMPRESSION, "level database: every layer at every candidate level ("
                + String.join(", ", spec.methods()) + ")");
        LevelDatabase db = LevelDatabase.build(subject, levelRoot, spec.methods(),
                (layer, level, done, total) -> hooks.progress(RunHooks.Phase.COMPRESSION, done, total, "levels"),
                cancelled);
        LevelDatabase all = db;
        long totalWeights = Allocation.totalWeights(all.layers());
        // Per layer, only the levels that no other level beats on both stored bits and layer-output error on the
        // calibration data go on (a level worse on both is not worth measuring end to end, nor choosing).
        db = all.paretoByOutputError();
        List<LayerLevels> layers = db.layers();
        int kept = layers.stream().mapToInt(l -> l.size() - 1).sum();
        int levels = all.layers().stream().mapToInt(l -> l.size() - 1).sum();

        // 2. Sensitivity: the proxy error of every level.
        hooks.phase(RunHooks.Phase.SENSITIVITY, "KL to the dense model on calibration data, one layer at a time ("
                + kept + " of " + levels + " levels: those on each layer's size/output-error front)");
        Fitness fitness = language ? new LlamaKlFitness(db) : new ClassifierKlFitness(db);
        long samples = language ? Sensitivity.DEFAULT_TOKENS : Sensitivity.DEFAULT_IMAGES;
        // Cached beside the level database (a worker never opens the results database), so the next search of the
        // same model and calibration data measures only levels it has not seen.
        SensitivityCache cache = SensitivityCache.inFolder(db.dir(), subject, SensitivityCache.KL, samples,
                Sensitivity.DEFAULT_SEED);
        Sensitivity.Table table = Sensitivity.measure(db, fitness, cache, samples, Sensitivity.DEFAULT_SEED,
                (layer, level, done, total, cached) -> hooks.progress(RunHooks.Phase.SENSITIVITY, done, total, "levels"),
                cancelled);
        ProxyAllocator allocator = new ProxyAllocator(layers, table.errors());
        Map<String, int[]> uniform = uniformChoices(layers); // what each budget's plan is checked against

        // 3. The budgets, in total stored bits of the searched linears.
        List<Budget> budgets = budgets(spec, db, model, totalWeights, allocator);
        List<Baseline> baselines = spec.baselines() ? baselines(all.layers(), budgets, totalWeights) : List.of();
        int total = baselines.size() + budgets.size();
        if (total == 0) {
            throw new SqueezeException("No budget of the search can be met: the smallest plan takes "
                    + String.format(Locale.ROOT, "%.4f", allocator.minimumBits() / (double) totalWeights)
                    + " bits per weight", "give budgets of at least that");
        }
        List<Point> stored = new ArrayList<>();
        long deadline = spec.timeLimitSeconds() > 0 ? System.nanoTime() + spec.timeLimitSeconds() * 1_000_000_000L
                : Long.MAX_VALUE;
        int index = 0;
        boolean stopped = false;
        for (Baseline b : baselines) {
            boolean last = ++index == total;
            if (!last && hooks.loadState(doneKey(b.key())).isPresent()) {
                continue;
            }
            if (cancelled.getAsBoolean()) {
                stopped = true;
                break;
            }
            String runLabel = "uniform " + b.description();
            stored.add(store(subject, all, evaluationText, evaluationImages, b.choice(), b.key(), runLabel,
                    spec.describe() + "; uniform baseline " + b.description() + " from the same level database",
                    Double.NaN, Double.NaN, started, last, spec));
        }
        for (Budget b : budgets) {
            if (stopped) {
                break;
            }
            boolean last = ++index == total;
            if (!last && hooks.loadState(doneKey(b.key())).isPresent()) {
                continue;
            }
            hooks.phase(RunHooks.Phase.SEARCH, b.describe());
            Allocation a = allocator.allocate(b.bits());
            int[] choice = a.choice();
            double fit = Double.NaN;
            String how = "proxy allocator (" + a.method() + (a.exact() ? ", exact" : "") + "), summed sensitivity "
                    + fmt(a.error());
            // The additive proxy can misjudge far from the dense model (layer errors stop adding up): the plan is
            // checked against the uniform settings that fit the same budget, on the fitness (KL to the dense model
            // on calibration data, never the evaluation split), and the better one is kept.
            Guarded guarded = guard(layers, uniform, fitness, choice, b.bits(), language, spec.seed());
            if (guarded.replaced()) {
                choice = guarded.choice();
                how = "uniform " + guarded.description() + " (KL " + fmt(guarded.fitness())
                        + " on calibration data, below the proxy allocator's plan's " + fmt(guarded.proxyFitness())
                        + "); " + how;
            }
            fit = guarded.fitness();
            if (spec.generations() > 0) {
                long left = deadline == Long.MAX_VALUE ? 0 : deadline - System.nanoTime();
                int pointsLeft = budgets.size() - budgets.indexOf(b);
                EvoPressSettings settings = EvoPressSettings.defaults(spec.generations(), spec.seed())
                        .withOffspring(spec.offspring())
                        .withStages(language ? LANGUAGE_STAGES : CLASSIFIER_STAGES);
                if (deadline != Long.MAX_VALUE) {
                    settings = settings.withTimeLimit(Duration.ofNanos(Math.max(1_000_000_000L, left / pointsLeft)));
                }
                EvoPress evo = new EvoPress(layers, fitness, settings);
                EvoPress.State resume = hooks.loadState(stateKey(b.key()))
                        .map(bytes -> EvoPress.State.fromJson(new String(bytes, StandardCharsets.UTF_8)))
                        .filter(s -> s.fingerprint().equals(evo.fingerprint())).orElse(null);
                int generations = spec.generations();
                EvoPress.Start start = guarded.replaced()
                        ? EvoPress.Start.given(choice, "uniform " + guarded.description()) : EvoPress.Start.proxy(a);
                EvoPress.Result r = evo.run(start, b.bits(), resume, cancelled,
                        new EvoPress.Listener() {
                            @Override
                            public void progress(EvoPress.Progress p) {
                                hooks.progress(RunHooks.Phase.SEARCH, Math.min(p.generation(), generations),
                                        generations, "generations");
                            }

                            @Override
                            public void generationDone(EvoPress.State state, int children) {
                                hooks.saveState(stateKey(b.key()), state.toJson().getBytes(StandardCharsets.UTF_8));
                                hooks.progress(RunHooks.Phase.SEARCH, Math.min(state.generation(), generations),
                                        generations, "generations");
                            }
                        });
                choice = r.choice();
                fit = r.fitness();
                how = "EvoPress from that plan: " + r.generations() + " generations, "
                        + r.evaluations() + " fitness evaluations, stopped by " + r.stop().name().toLowerCase(Locale.ROOT)
                        .replace('_', ' ') + ", KL " + fmt(r.fitness()) + " on calibration data; " + how;
                if (r.stop() == EvoPress.StopReason.CANCELLED) {
                    stopped = true;
                    last = true;
                }
            }
            double proxy = 0;
            double[][] err = table.errors();
            for (int i = 0; i < choice.length; i++) {
                proxy += err[i][choice[i]];
            }
            String runLabel = "search " + b.describe();
            stored.add(store(subject, db, evaluationText, evaluationImages, choice, b.key(), runLabel,
                    spec.describe() + "; " + b.describe() + "; " + how, proxy, fit, started, last, spec));
        }
        if (stored.isEmpty() || !stored.getLast().last()) {
            // Stopped before the last point: the points so far are stored; the job ends cancelled.
            throw new RunCancelledException("the search was stopped after " + stored.size() + " of " + total
                    + " runs; those are stored");
        }
        return stored;
    }

    private Point store(SearchSubject subject, LevelDatabase db, TextEvaluation text, ImageSet images, int[] choice,
                        String key, String label, String provenance, double proxy, double fitness, Instant started,
                        boolean last, SearchSpec spec) {
        // The last run ends the job and must be stored even when the user asked to stop (stop keeps the best).
        RunHooks evalHooks = last ? uncancellable(hooks) : hooks;
        Model model = subject.model();
        List<LayerLevels> layers = db.layers();
        Map<String, CompressedTensor> compressed = db.tensors(choice);
        Map<String, CompressedTensor> byTensor = new LinkedHashMap<>();
        List<RunRecord.LayerResult> results = new ArrayList<>();
        ObjectNode plan = JsonNodeFactory.instance.objectNode().put("schema", CompressionPlan.SCHEMA);
        plan.put("description", label);
        var overrides = plan.putArray("overrides");
        long bits = 0;
        for (int i = 0; i < layers.size(); i++) {
            LayerLevels l = layers.get(i);
            SearchSubject.Linear linear = subject.linears().get(i);
            Level lv = l.level(choice[i]);
            bits += lv.bits();
            ObjectNode entry = overrides.addObject().put("layer", l.layer());
            LevelDatabase.Entry e = lv.dense() ? null : db.entry(i, choice[i]);
            if (lv.dense()) {
                entry.put("method", SettingsJson.NONE);
                byTensor.put(linear.tensor(), new KeptDense(l.rows(), l.cols(), lv.bits(), subject.weights(l.layer())));
                results.add(new RunRecord.LayerResult(l.layer(), SettingsJson.NONE, "dense (kept by the search)",
                        lv.bits(), lv.bits() / (double) l.weights(), 0.0, 0));
            } else {
                entry.setAll(SettingsJson.write(lv.settings()));
                byTensor.put(linear.tensor(), compressed.get(l.layer()));
                results.add(new RunRecord.LayerResult(l.layer(), lv.settings().method(), lv.describe(), lv.bits(),
                        lv.bits() / (double) l.weights(), e.relativeError(), e.millis()));
            }
        }
        String planJson = CompressionPlan.of(plan).canonicalJson();
        double bpw = bits / (double) Allocation.totalWeights(layers);
        List<RunRecord.Metric> extra = new ArrayList<>();
        extra.add(new RunRecord.Metric("search_bits_per_weight", "calibration", bpw));
        if (!Double.isNaN(proxy)) {
            extra.add(new RunRecord.Metric("search_proxy_error", "calibration", proxy));
        }
        if (!Double.isNaN(fitness)) {
            extra.add(new RunRecord.Metric("search_kl", "calibration", fitness));
        }
        String describe = provenance;
        RunSink out = run -> {
            RunRecord r = new RunRecord(run.model(), run.dataset(), run.planJson(), run.planDescription(),
                    run.label(), run.startedAt(), run.finishedAt(), spec.seed(),
                    run.provenance().withSearch(describe), run.sizeBytes(), run.fp16Bytes(), run.bitsPerWeight(),
                    run.layers(), run.metrics(), run.calibration(), run.tags(), run.jobId());
            return last ? sink.accept(r) : sink.acceptPoint(r, key);
        };
        long id;
        Instant start = Instant.now();
        if (subject instanceof SearchSubject.Language lang) {
            hooks.phase(RunHooks.Phase.EVALUATION, label + ": " + text.describe());
            // The database's operators (already packed for the fitness), not a fresh asLinearOp of every tensor.
            Map<String, dev.squeeze.engine.nn.LinearOp> ops = db.ops(choice);
            id = LanguageModelRuns.evaluateAndStore(out, evalHooks, model,
                    ops.isEmpty() ? lang.dense() : lang.dense().withLinears(ops), text, planJson,
                    label, label, start, spec.seed(), byTensor, results, extra, null).runId();
        } else {
            id = ClassifierRuns.evaluateAndStore(out, evalHooks, model,
                    ((SearchSubject.Classifier) subject).network(compressed), images, planJson,
                    label, label, start, byTensor, results, extra);
        }
        if (!last) {
            hooks.saveState(doneKey(key), new byte[]{1});
        }
        return new Point(key, label, choice.clone(), bits, bpw, proxy, fitness, id, last);
    }

    /** Uniform settings (the largest that fit the budget) the proxy allocator's plan is checked against. */
    static final int GUARD_UNIFORM = 3;

    /** Calibration samples of the guard's comparison: the last EvoPress stage's. */
    static long guardSamples(boolean language) {
        return (language ? LANGUAGE_STAGES : CLASSIFIER_STAGES).getLast().samples();
    }

    /** The proxy plan or a uniform setting that fits the budget, whichever has the lower fitness. */
    record Guarded(int[] choice, double fitness, double proxyFitness, boolean replaced, String description) {
    }

    static Guarded guard(List<LayerLevels> layers, Map<String, int[]> uniform, Fitness fitness, int[] proxyChoice,
                         long budgetBits, boolean language, long seed) {
        long samples = guardSamples(language);
        long sampleSeed = seed ^ 0x5EED_6A4DL;
        double proxyFit = fitness.evaluate(proxyChoice, samples, sampleSeed);
        int[] best = proxyChoice;
        double bestFit = proxyFit;
        String bestDescription = null;
        // The uniform settings that fit, largest first; the GUARD_UNIFORM largest are compared (a smaller uniform
        // setting is rarely better than a larger one, and each comparison costs a fitness evaluation).
        List<int[]> fitting = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Map.Entry<String, int[]> u : uniform.entrySet()) {
            if (Allocation.bitsOf(layers, u.getValue()) <= budgetBits) {
                fitting.add(u.getValue());
                names.add(layers.getFirst().level(u.getValue()[0]).describe());
            }
        }
        Integer[] order = new Integer[fitting.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, java.util.Comparator.comparingLong(
                (Integer i) -> -Allocation.bitsOf(layers, fitting.get(i))).thenComparing(i -> names.get(i)));
        for (int n = 0; n < Math.min(GUARD_UNIFORM, order.length); n++) {
            int[] c = fitting.get(order[n]);
            double f = fitness.evaluate(c, samples, sampleSeed);
            if (f < bestFit) {
                best = c;
                bestFit = f;
                bestDescription = names.get(order[n]);
            }
        }
        return new Guarded(best, bestFit, proxyFit, best != proxyChoice, bestDescription);
    }

    /** One budget of the search. */
    record Budget(String key, long bits, double bitsPerWeight, String text) {
        String describe() {
            return text;
        }
    }

    /** A uniform setting the level database holds for every layer. */
    record Baseline(String key, int[] choice, String description, long bits) {
    }

    /**
     * The budgets in total bits of the searched linears: {@code floor(B × weights)} for B bits per weight (exactly,
     * in decimal), or the byte budget less what the rest of the model takes. A budget of a front that even the
     * smallest plan exceeds is skipped with a warning; a single budget that cannot be met is an error.
     */
    List<Budget> budgets(SearchSpec spec, LevelDatabase db, Model model, long totalWeights, ProxyAllocator allocator) {
        List<Budget> out = new ArrayList<>();
        long min = allocator.minimumBits();
        if (spec.budgetBytes() != null) {
            long rest = restBits(db, model);
            long bits = Math.multiplyExact(spec.budgetBytes(), 8L) - rest;
            if (bits < min) {
                throw new SqueezeException(String.format(Locale.ROOT, "The budget of %,d bytes is below the smallest"
                                + " plan: %,d bytes (%,d bytes outside the searched layers plus %,d bytes of the smallest"
                                + " levels)", spec.budgetBytes(), (rest + min + 7) / 8, (rest + 7) / 8, (min + 7) / 8),
                        "give a larger budget");
            }
            out.add(new Budget("bytes-" + spec.budgetBytes(), bits, bits / (double) totalWeights,
                    String.format(Locale.ROOT, "≤ %,d bytes", spec.budgetBytes())));
            return out;
        }
        for (double bpw : spec.frontBudgets()) {
            long bits = new BigDecimal(Double.toString(bpw)).multiply(BigDecimal.valueOf(totalWeights))
                    .setScale(0, RoundingMode.FLOOR).longValueExact();
            String text = String.format(Locale.ROOT, "≤ %s bits/weight", BigDecimal.valueOf(bpw).stripTrailingZeros()
                    .toPlainString());
            if (bits < min) {
                String why = String.format(Locale.ROOT, "the budget %s is below the smallest plan of these methods"
                        + " (%.4f bits/weight)", text, min / (double) totalWeights);
                if (!spec.sweepsFront()) {
                    throw new SqueezeException("The search cannot meet its budget: " + why,
                            "give a budget of at least that, or add methods with smaller levels");
                }
                hooks.warning("Skipped: " + why);
                continue;
            }
            out.add(new Budget("bpw-" + BigDecimal.valueOf(bpw).stripTrailingZeros().toPlainString(), bits, bpw, text));
        }
        return out;
    }

    /** Bits of the model outside the searched linears, as stored. */
    private static long restBits(LevelDatabase db, Model model) {
        long all = 8L * SizeAccounting.modelBytes(model, Map.of());
        long searched = 0;
        for (LayerLevels l : db.layers()) {
            searched += l.level(0).bits();
        }
        return all - searched;
    }

    /**
     * The uniform settings (the same setting key in every layer) whose size lies within the budgets' range, at
     * most {@link #MAX_BASELINES}, the nearest to the range first; for one budget, those within one bit per weight.
     */
    static List<Baseline> baselines(List<LayerLevels> layers, List<Budget> budgets, long totalWeights) {
        if (budgets.isEmpty()) {
            return List.of();
        }
        double lo = budgets.stream().mapToDouble(Budget::bitsPerWeight).min().orElseThrow();
        double hi = budgets.stream().mapToDouble(Budget::bitsPerWeight).max().orElseThrow();
        if (budgets.size() == 1) {
            lo -= 1;
            hi += 1;
        }
        Map<String, int[]> uniform = uniformChoices(layers);
        List<Baseline> out = new ArrayList<>();
        for (Map.Entry<String, int[]> e : uniform.entrySet()) {
            long bits = Allocation.bitsOf(layers, e.getValue());
            double bpw = bits / (double) totalWeights;
            if (bpw >= lo - 1e-9 && bpw <= hi + 1e-9) {
                int[] c = e.getValue();
                out.add(new Baseline("uniform-" + shortHash(e.getKey()), c, layers.getFirst().level(c[0]).describe(),
                        bits));
            }
        }
        out.sort(java.util.Comparator.comparingLong(Baseline::bits).thenComparing(Baseline::key));
        return out.size() <= MAX_BASELINES ? out : out.subList(0, MAX_BASELINES);
    }

    /**
     * The uniform settings: every non-dense setting key that every layer has, in the first layer's level order, with
     * the level index of that setting in each layer.
     */
    static Map<String, int[]> uniformChoices(List<LayerLevels> layers) {
        Map<String, int[]> uniform = new LinkedHashMap<>();
        LayerLevels first = layers.getFirst();
        for (int j = 1; j < first.size(); j++) {
            String key = first.level(j).key();
            int[] choice = new int[layers.size()];
            boolean everywhere = true;
            for (int i = 0; i < layers.size() && everywhere; i++) {
                choice[i] = indexOf(layers.get(i), key);
                everywhere = choice[i] >= 0;
            }
            if (everywhere) {
                uniform.put(key, choice);
            }
        }
        return uniform;
    }

    /** The index of the level with setting {@code key} in {@code layer}, or -1. */
    static int indexOf(LayerLevels layer, String key) {
        for (int k = 0; k < layer.size(); k++) {
            if (layer.level(k).key().equals(key)) {
                return k;
            }
        }
        return -1;
    }

    private static String shortHash(String s) {
        return dev.squeeze.engine.util.Hashing.sha256(s.getBytes(StandardCharsets.UTF_8)).substring(0, 16);
    }

    private static String doneKey(String pointKey) {
        return "done-" + pointKey.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private static String stateKey(String pointKey) {
        return "evo-" + pointKey.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.5g", v);
    }

    /** The hooks' cancellation as the search's stop signal (true: stop and keep the best). */
    private static BooleanSupplier cancelCheck(RunHooks hooks) {
        return () -> isCancelled(hooks);
    }

    private static boolean isCancelled(RunHooks hooks) {
        try {
            hooks.checkCancelled();
            return false;
        } catch (RunCancelledException e) {
            return true;
        }
    }

    /** The hooks, except that cancelling no longer stops: the best plan found is being stored. */
    private static RunHooks uncancellable(RunHooks h) {
        return new RunHooks() {
            @Override
            public void phase(Phase phase, String detail) {
                h.phase(phase, detail);
            }

            @Override
            public void progress(Phase phase, long done, long total, String unit) {
                h.progress(phase, done, total, unit);
            }

            @Override
            public void warning(String message) {
                h.warning(message);
            }

            @Override
            public Optional<byte[]> loadState(String key) {
                return h.loadState(key);
            }

            @Override
            public void saveState(String key, byte[] state) {
                h.saveState(key, state);
            }
        };
    }
}
