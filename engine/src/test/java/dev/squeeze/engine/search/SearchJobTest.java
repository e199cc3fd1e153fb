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
import dev.squeeze.engine.testing.SearchModels;
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
        assertTrue(a.runs().stream().anyMatch(r -> r.provenance().search().contains("EvoPress from the proxy")),
                "EvoPress ran");

        SearchSpec other = front(List.of("rtn", "magnitude"), 4.5, 6.5, 1, 4, 4, true);
        Outcome c = search(other, "levels-a"); // the level database of the first search is reused
        assertEquals(a.runs().size(), c.runs().size());
        for (RunRecord run : c.runs()) {
            assertEquals(4, run.seed());
            assertTrue(run.provenance().search().contains("seed 4"), run.provenance().search());
        }
        assertEquals(comparable(c), comparable(search(other, "levels-c")), "seed 4 is deterministic too");
        boolean differs = !comparable(a).equals(comparable(c));
        System.out.println("SearchJobTest: seed 3 and seed 4 store " + (differs ? "different" : "the same")
                + " plans");
        assertFalse(comparable(a).isEmpty());
    }
}
