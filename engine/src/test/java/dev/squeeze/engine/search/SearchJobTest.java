package dev.squeeze.engine.search;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.eval.Latency;
import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.runs.ClassifierSubject;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.runs.RunSink;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.SearchModels;
import dev.squeeze.engine.testing.SharedData;
import dev.squeeze.engine.testing.TinyLlama;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A search as the worker runs it ({@link SearchJob#run}) on a small classifier with two layers of one shape: every
 * stored plan stays within its budget in exact integer bits (checked against budgets computed here in decimal, and
 * against the layers' own stored bits), a budget no plan meets is refused or skipped, and a search with a fixed seed
 * stores the same runs twice.
 */
class SearchJobTest {
    @TempDir
    Path dir;

    private Model model;
    private ImageSet images;

    @BeforeEach
    void setUp() throws Exception {
        model = ModelRefs.open(SearchModels.writeMlp(dir, 21).toString());
        images = TinyModels.images(200, 8);
    }

    /** What one search stored and said. */
    private record Outcome(List<RunRecord> runs, List<String> keys, List<SearchJob.Point> points,
                           List<String> warnings) {
    }

    private Outcome search(SearchSpec spec, String cache) {
        List<RunRecord> runs = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        RunSink sink = new RunSink() {
            @Override
            public long accept(RunRecord run) {
                runs.add(run);
                keys.add(null);
                return runs.size();
            }

            @Override
            public long acceptPoint(RunRecord run, String pointKey) {
                runs.add(run);
                keys.add(pointKey);
                return runs.size();
            }
        };
        RunHooks hooks = new RunHooks() {
            @Override
            public void warning(String message) {
                warnings.add(message);
            }

            @Override
            public Optional<Path> sharedCacheDir() {
                return Optional.of(dir.resolve(cache));
            }
        };
        try (SearchSubject subject = new SearchSubject.Classifier(ClassifierSubject.of(model), images)) {
            List<SearchJob.Point> points = new SearchJob(sink, hooks).run(spec, subject, null,
                    ImageSplit.evaluation(images), dir.resolve(cache), "test search");
            return new Outcome(runs, keys, points, warnings);
        }
    }

    private static SearchSpec front(List<String> methods, double from, double to, double step, int generations,
                                    long seed, boolean baselines) {
        return new SearchSpec(methods, null, null, from, to, step, generations, 4, 0, seed, baselines);
    }

    /** {@code floor(B × weights)} in exact decimal arithmetic, B as written in the point's key. */
    private static long budgetBits(String bpw) {
        return new BigDecimal(bpw).multiply(BigDecimal.valueOf(SearchModels.WEIGHTS))
                .setScale(0, RoundingMode.FLOOR).longValueExact();
    }

    private static long storedBits(RunRecord run) {
        return run.layers().stream().mapToLong(RunRecord.LayerResult::storedBits).sum();
    }

    private static double metric(RunRecord run, String name) {
        return run.metrics().stream().filter(m -> m.name().equals(name)).findFirst().orElseThrow().value();
    }

    /**
     * Fronts with random starts and steps (some with EvoPress, some with the uniform baselines): every searched run
     * takes at most its budget's bits, summed over its layers' stored bits, and its search_bits_per_weight is that
     * sum over the weights; every budget is either stored or skipped with a warning.
     */
    @Test
    void everyStoredPlanOfRandomFrontsStaysWithinItsBudgetInExactBits() {
        SplittableRandom r = new SplittableRandom(13);
        int checked = 0;
        for (int trial = 0; trial < 3; trial++) {
            double from = 2 + r.nextInt(3000) / 1000.0;
            double step = 0.25 + r.nextInt(2000) / 1000.0;
            double to = from + 5 * step;
            List<String> methods = trial == 1 ? List.of("rtn") : List.of("rtn", "magnitude");
            SearchSpec spec = front(methods, from, to, step, trial == 0 ? 3 : 0, trial, trial == 2);
            Outcome o = search(spec, "levels");
            int searched = 0;
            for (int i = 0; i < o.runs().size(); i++) {
                RunRecord run = o.runs().get(i);
                SearchJob.Point p = o.points().get(i);
                assertEquals(4, run.layers().size(), run.label());
                long bits = storedBits(run);
                assertEquals(p.bits(), bits, "the point's bits are its layers' stored bits: " + run.label());
                assertEquals(bits, Math.round(metric(run, "search_bits_per_weight") * SearchModels.WEIGHTS),
                        "search_bits_per_weight × weights: " + run.label());
                assertEquals(spec.seed(), run.seed());
                assertTrue(run.provenance().search().contains(spec.describe()), run.provenance().search());
                if (p.key().startsWith("bpw-")) {
                    long budget = budgetBits(p.key().substring(4));
                    assertTrue(bits <= budget, run.label() + ": " + bits + " bits > budget " + budget);
                    assertTrue(run.label().startsWith("search ≤ "), run.label());
                    searched++;
                    checked++;
                } else {
                    assertTrue(run.label().startsWith("uniform "), run.label());
                }
            }
            assertEquals(o.runs().size(), o.points().size());
            assertTrue(o.points().getLast().last(), "the last run ends the job");
            long skipped = o.warnings().stream().filter(w -> w.startsWith("Skipped: ")).count();
            assertEquals(spec.frontBudgets().size(), searched + skipped, "every budget stored or skipped: "
                    + o.warnings());
        }
        assertTrue(checked >= 10, "budgets checked: " + checked);
    }

    /**
     * The language path: a small random Llama (one block, the stories260K tokenizer's vocabulary) calibrated on
     * TinyStories and evaluated on a few evaluation stories; a random front of RTN levels, a generation of EvoPress
     * on every budget: each searched run takes at most its budget's bits.
     */
    @Test
    void aRandomFrontOnALanguageModelStaysWithinItsBudgetsInExactBits() {
        Path text = SharedData.require("data/tinystories/valid-1k.txt");
        Path tok = SharedData.require("models/stories260K/tok512.bin");
        LlamaConfig c = new LlamaConfig(16, 32, 1, 2, 2, 512, 256, 1e-5, 10000, RopeStyle.INTERLEAVED, false, false);
        Model llama = TinyLlama.model(c, TinyLlama.randomWeights(c, 5));
        long weights = c.nLayers() * (2L * c.dim() * c.dim() + 2L * c.kvDim() * c.dim() + 3L * c.hiddenDim() * c.dim());
        Llama2cTokenizer tokenizer = Llama2cTokenizer.read(tok, c.vocabSize());
        StoryCorpus corpus = StoryCorpus.read(text);
        List<int[]> calibration = corpus.tokens(StoryRange.of(1, 60), tokenizer);
        TextEvaluation evaluation = new TextEvaluation(corpus, StoryRange.of(501, 504), tokenizer);
        SplittableRandom r = new SplittableRandom(17);
        double from = 2.5 + r.nextInt(2000) / 1000.0;
        double step = 0.5 + r.nextInt(1500) / 1000.0;
        SearchSpec spec = new SearchSpec(List.of("rtn"), null, null, from, from + 3 * step, step, 1, 4, 0, 1, false);
        List<RunRecord> runs = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        RunHooks hooks = new RunHooks() {
            @Override
            public void warning(String message) {
                warnings.add(message);
            }
        };
        List<SearchJob.Point> points;
        try (SearchSubject subject = new SearchSubject.Language(llama, calibration, 2, 64, 0)) {
            points = new SearchJob(run -> {
                runs.add(run);
                return runs.size();
            }, hooks).run(spec, subject, evaluation, null, dir.resolve("lm-levels"), "lm search");
        }
        assertEquals(points.size(), runs.size());
        int searched = 0;
        for (int i = 0; i < runs.size(); i++) {
            RunRecord run = runs.get(i);
            long bits = storedBits(run);
            assertEquals(c.nLayers() * 7, run.layers().size());
            assertEquals(points.get(i).bits(), bits, run.label());
            assertEquals(bits, Math.round(metric(run, "search_bits_per_weight") * weights), run.label());
            long budget = new BigDecimal(points.get(i).key().substring(4)).multiply(BigDecimal.valueOf(weights))
                    .setScale(0, RoundingMode.FLOOR).longValueExact();
            assertTrue(bits <= budget, run.label() + ": " + bits + " bits > budget " + budget);
            assertTrue(run.metrics().stream().anyMatch(m -> m.name().equals("perplexity")), run.metrics().toString());
            searched++;
        }
        assertEquals(spec.frontBudgets().size(), searched + warnings.stream().filter(w -> w.startsWith("Skipped: "))
                .count(), warnings.toString());
        assertTrue(searched >= 3, "budgets checked: " + searched);
    }

    /** A byte budget covers the whole model as stored: no stored run is larger. */
    @Test
    void randomByteBudgetsBoundTheWholeStoredModel() {
        SplittableRandom r = new SplittableRandom(5);
        long dense = 4L * (SearchModels.WEIGHTS + 32 * 3 + 4); // fp32 weights and biases
        for (int trial = 0; trial < 3; trial++) {
            long bytes = dense / 6 + r.nextLong(dense / 2);
            SearchSpec spec = new SearchSpec(List.of("rtn", "magnitude"), null, bytes, null, null, null,
                    trial == 0 ? 2 : 0, 4, 0, trial, false);
            Outcome o = search(spec, "levels");
            assertEquals(1, o.runs().size());
            RunRecord run = o.runs().getFirst();
            assertTrue(run.sizeBytes() <= bytes, run.sizeBytes() + " bytes stored > budget " + bytes);
        }
    }

    @Test
    void aBudgetBelowTheSmallestPlanIsRefusedAloneAndSkippedInAFront() {
        // RTN stores at least 2 bits per weight plus its scales: 1 bit per weight is below every plan.
        SqueezeException single = assertThrows(SqueezeException.class, () -> search(
                new SearchSpec(List.of("rtn"), 1.0, null, null, null, null, 0, 4, 0, 0, false), "levels"));
        assertTrue(single.getMessage().startsWith("The search cannot meet its budget: the budget ≤ 1 bits/weight is"
                + " below the smallest plan of these methods ("), single.getMessage());
        SqueezeException bytes = assertThrows(SqueezeException.class, () -> search(
                new SearchSpec(List.of("rtn"), null, 200L, null, null, null, 0, 4, 0, 0, false), "levels"));
        assertTrue(bytes.getMessage().startsWith("The budget of 200 bytes is below the smallest plan"),
                bytes.getMessage());

        Outcome o = search(front(List.of("rtn"), 1, 9, 4, 0, 0, false), "levels");
        assertEquals(List.of("search ≤ 5 bits/weight", "search ≤ 9 bits/weight"),
                o.runs().stream().map(RunRecord::label).toList());
        assertEquals(1, o.warnings().size(), o.warnings().toString());
        assertTrue(o.warnings().getFirst().startsWith("Skipped: the budget ≤ 1 bits/weight is below the smallest"
                + " plan"), o.warnings().getFirst());
    }

    /** The runs of a search as a comparable value: label, plan, seed, provenance and results (latency aside). */
    private static List<String> comparable(Outcome o) {
        List<String> out = new ArrayList<>();
        for (RunRecord run : o.runs()) {
            List<RunRecord.Metric> metrics = run.metrics().stream()
                    .filter(m -> !m.name().equals(Latency.METRIC))
                    .sorted(Comparator.comparing(RunRecord.Metric::name).thenComparing(RunRecord.Metric::split))
                    .toList();
            List<RunRecord.LayerResult> layers = run.layers().stream().map(l -> new RunRecord.LayerResult(
                    l.layer(), l.method(), l.settings(), l.storedBits(), l.bitsPerWeight(), l.reconError(), 0))
                    .toList();
            out.add(run.label() + "\n" + run.planJson() + "\n" + run.seed() + "\n" + run.provenance().search()
                    + "\n" + metrics + "\n" + layers + "\n" + run.sizeBytes());
        }
        return out;
    }

    @Test
    void theSameSeedStoresTheSameRunsAndTheSeedIsRecorded() {
        SearchSpec spec = front(List.of("rtn", "magnitude"), 4.5, 6.5, 1, 4, 3, true);
        Outcome a = search(spec, "levels-a");
        Outcome b = search(spec, "levels-b");
        assertTrue(a.runs().size() >= 3, "two searched points and baselines: " + a.runs().size());
        assertEquals(comparable(a), comparable(b));
        assertTrue(a.runs().stream().filter(r -> r.label().startsWith("search "))
                .allMatch(r -> r.provenance().search().contains("EvoPress from the proxy allocator's plan: 4 generations")),
                "EvoPress ran its 4 generations on every budget");

        SearchSpec other = front(List.of("rtn", "magnitude"), 4.5, 6.5, 1, 4, 4, true);
        Outcome c = search(other, "levels-a"); // the level database of the first search is reused
        assertEquals(a.runs().size(), c.runs().size());
        for (RunRecord run : c.runs()) {
            assertEquals(4, run.seed());
            assertTrue(run.provenance().search().contains("seed 4"), run.provenance().search());
        }
        assertEquals(comparable(c), comparable(search(other, "levels-c")), "seed 4 is deterministic too");
        // The seed drives EvoPress's children and samples: these two seeds end in different plans.
        // Another seed may end elsewhere; on this small model both seeds keep the same plans (no child of either
        // beats the proxy allocator's start), so only the seed's record and its determinism are asserted.
    }
}
