package dev.squeeze.engine.store;

import dev.squeeze.engine.SqueezeException;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParetoStoreTest {
    static final String HASH = "a".repeat(64);
    static final String OTHER = "c".repeat(64);

    static RunRecord run(String hash, String label, long size, Double bpw, String method, List<RunRecord.Metric> metrics) {
        List<RunRecord.LayerResult> layers = method == null ? List.of()
                : List.of(new RunRecord.LayerResult("fc1", method, method, 1000, bpw, 0.01, 1));
        return new RunRecord(
                new RunRecord.ModelRecord(hash, hash.equals(HASH) ? "m" : "other", "/m", "safetensors", "mlp", 100, 400),
                new RunRecord.DatasetRecord("eval", "eval", "b".repeat(64), "evaluation", 10),
                "{\"schema\":1}", "plan", label, Instant.parse("2026-11-27T10:00:00Z"),
                Instant.parse("2026-11-27T10:00:01Z"), 42, new Provenance("0.1.0", "abc", "host", "25", "java"),
                size, 200, bpw, layers, metrics);
    }

    static List<RunRecord.Metric> m(double top1, double cat) {
        return List.of(new RunRecord.Metric("top1", "evaluation", top1),
                new RunRecord.Metric("accuracy.cat", "evaluation", cat),
                new RunRecord.Metric("top1", "calibration", 0.99));
    }

    /** Latency is a stored metric: runs without it are skipped, and the fastest good run leads the frontier. */
    @Test
    void latencyAxisReadsTheStoredLatencyMetric() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long fastWorse = store.recordRun(run(HASH, "RTN 4-bit", 70, 4.0, "rtn",
                    List.of(new RunRecord.Metric("top1", "evaluation", 0.80),
                            new RunRecord.Metric("latency_ms", "evaluation", 1.5))));
            long slowBetter = store.recordRun(run(HASH, "dense", 400, null, null,
                    List.of(new RunRecord.Metric("top1", "evaluation", 0.90),
                            new RunRecord.Metric("latency_ms", "evaluation", 4.0))));
            long slowWorse = store.recordRun(run(HASH, "RTN 2-bit", 40, 2.0, "rtn",
                    List.of(new RunRecord.Metric("top1", "evaluation", 0.50),
                            new RunRecord.Metric("latency_ms", "evaluation", 5.0))));
            store.recordRun(run(HASH, "old run", 60, 3.0, "rtn",
                    List.of(new RunRecord.Metric("top1", "evaluation", 0.99))));
            Pareto.Result r = Pareto.query(store, new Pareto.Query(HASH, Pareto.XAxis.LATENCY, "top1", null, null));
            assertEquals(List.of(fastWorse, slowBetter), ParetoTest.ids(r.frontier()));
            assertEquals(List.of(slowWorse), ParetoTest.ids(r.dominated()));
            assertEquals(1, r.skipped(), "the run stored before latency was measured has no x");
            assertEquals(1.5, r.frontier().getFirst().x());
            assertEquals(Pareto.XAxis.LATENCY, Pareto.XAxis.parse("latency"));
            assertEquals(Pareto.XAxis.LATENCY, Pareto.XAxis.parse("latency_ms"));
        }
    }

    @Test
    void frontierFromStoredRunsWithFiltersAndSkips() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long dense = store.recordRun(run(HASH, "dense f32", 400, null, null, m(0.90, 0.8)));
            long rtn8 = store.recordRun(run(HASH, "RTN 8-bit", 120, 8.0, "rtn", m(0.90, 0.7)));
            long rtn4 = store.recordRun(run(HASH, "RTN 4-bit", 70, 4.0, "rtn", m(0.80, 0.9)));
            long gptq4 = store.recordRun(run(HASH, "GPTQ 4-bit", 70, 4.0, "gptq", m(0.85, 0.6)));
            long noMetric = store.recordRun(run(HASH, "broken", 50, 3.0, "gptq",
                    List.of(new RunRecord.Metric("accuracy.cat", "evaluation", 0.1))));
            store.recordRun(run(OTHER, "RTN 2-bit", 10, 2.0, "rtn", m(0.99, 0.99)));

            // The stored method families: the compressing methods of the runs; the dense run has none.
            assertEquals(Set.of("gptq", "rtn"), store.runs(HASH).stream().filter(r -> r.id() != dense)
                    .map(RunSummary::methodFamily).collect(java.util.stream.Collectors.toSet()));
            assertEquals(MethodFamily.DENSE, store.runs(HASH).stream().filter(r -> r.id() == dense).findFirst()
                    .orElseThrow().methodFamily());
            assertEquals(List.of("accuracy.cat", "top1"), store.metricNames(HASH, "evaluation"));
            assertEquals(Map.of(dense, 0.90, rtn8, 0.90, rtn4, 0.80, gptq4, 0.85),
                    store.metricValues(HASH, "top1", "evaluation"));

            // size vs top1: the dense run ties RTN 8-bit on top1 at a larger size, so it is dominated; at 70 bytes
            // GPTQ beats RTN; the run without top1 is skipped; the other model's better run is not mixed in.
            Pareto.Result r = Pareto.query(store, new Pareto.Query(HASH, Pareto.XAxis.SIZE_BYTES, "top1", null, null));
            assertTrue(r.higherIsBetter());
            assertEquals(List.of(gptq4, rtn8), ParetoTest.ids(r.frontier()));
            assertEquals(List.of(rtn4, dense), ParetoTest.ids(r.dominated()));
            assertEquals(5, r.considered());
            assertEquals(1, r.skipped());
            assertEquals(70.0, r.frontier().getFirst().x());
            assertEquals(0.85, r.frontier().getFirst().y());

            // bits per weight: the dense run has none and is skipped too.
            Pareto.Result bpw = Pareto.query(store, new Pareto.Query(HASH, Pareto.XAxis.BITS_PER_WEIGHT, "accuracy.cat",
                    null, null));
            assertEquals(List.of(noMetric, rtn4), ParetoTest.ids(bpw.frontier()));
            assertEquals(List.of(gptq4, rtn8), ParetoTest.ids(bpw.dominated()));
            assertEquals(1, bpw.skipped());

            Pareto.Result onlyRtn = Pareto.query(store, new Pareto.Query(HASH, Pareto.XAxis.SIZE_BYTES, "top1", "RTN", null));
            assertEquals(List.of(rtn4, rtn8), ParetoTest.ids(onlyRtn.frontier()));
            assertEquals(2, onlyRtn.considered());
            Pareto.Result onlyDense = Pareto.query(store, new Pareto.Query(HASH, Pareto.XAxis.SIZE_BYTES, "top1",
                    Pareto.DENSE, null));
            assertEquals(List.of(dense), ParetoTest.ids(onlyDense.frontier()));
            Pareto.Result byLabel = Pareto.query(store, new Pareto.Query(HASH, Pareto.XAxis.SIZE_BYTES, "top1", null, "4-bit"));
            assertEquals(List.of(gptq4), ParetoTest.ids(byLabel.frontier()));
            assertEquals(List.of(rtn4), ParetoTest.ids(byLabel.dominated()));

            assertEquals(HASH, Pareto.resolveModel(store, "m").orElseThrow());
            assertEquals(OTHER, Pareto.resolveModel(store, OTHER).orElseThrow());
            assertTrue(Pareto.resolveModel(store, "nope").isEmpty());
        }
    }

    @Test
    void unknownOrDirectionlessMetricIsAClearError() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            store.recordRun(run(HASH, "RTN 8-bit", 120, 8.0, "rtn", List.of(
                    new RunRecord.Metric("perplexity", "evaluation", 5.0),
                    new RunRecord.Metric("tokens", "evaluation", 100))));
            SqueezeException e = assertThrows(SqueezeException.class, () -> Pareto.query(store,
                    new Pareto.Query(HASH, Pareto.XAxis.SIZE_BYTES, "top1", null, null)));
            assertTrue(e.getMessage().contains("'top1'") && e.getMessage().contains("perplexity"), e.getMessage());
            SqueezeException t = assertThrows(SqueezeException.class, () -> Pareto.query(store,
                    new Pareto.Query(HASH, Pareto.XAxis.SIZE_BYTES, "tokens", null, null)));
            assertTrue(t.getMessage().contains("'tokens'") && t.getMessage().contains("not a quality"), t.getMessage());
            Pareto.Result ppl = Pareto.query(store, new Pareto.Query(HASH, Pareto.XAxis.SIZE_BYTES, "perplexity", null, null));
            assertEquals(false, ppl.higherIsBetter());
            assertEquals(1, ppl.frontier().size());
        }
    }

    @Test
    void aNameSharedByTwoModelsIsAmbiguous() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            store.recordRun(run(HASH, "a", 1, 1.0, "rtn", m(0.5, 0.5)));
            RunRecord other = run(OTHER, "b", 1, 1.0, "rtn", m(0.5, 0.5));
            store.recordRun(new RunRecord(new RunRecord.ModelRecord(OTHER, "m", "/m2", "safetensors", "mlp", 100, 400),
                    other.dataset(), other.planJson(), other.planDescription(), other.label(), other.startedAt(),
                    other.finishedAt(), other.seed(), other.provenance(), other.sizeBytes(), other.fp16Bytes(),
                    other.bitsPerWeight(), other.layers(), other.metrics()));
            SqueezeException e = assertThrows(SqueezeException.class, () -> Pareto.resolveModel(store, "m"));
            assertTrue(e.getMessage().contains(HASH) && e.getMessage().contains(OTHER), e.getMessage());
        }
    }

    /** {@link #run} finished at {@code finished}. */
    static RunRecord at(RunRecord r, String finished) {
        return new RunRecord(r.model(), r.dataset(), r.planJson(), r.planDescription(), r.label(), r.startedAt(),
                Instant.parse(finished), r.seed(), r.provenance(), r.sizeBytes(), r.fp16Bytes(), r.bitsPerWeight(),
                r.layers(), r.metrics());
    }

    @Test
    void allModelsOnOneChartWithTheirFamiliesAndADateFilter() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long dense = store.recordRun(at(run(HASH, "dense-check", 400, null, null, m(0.90, 0.8)),
                    "2026-11-01T00:00:00Z"));
            long rtn4 = store.recordRun(at(run(HASH, "dense-ish 4-bit", 70, 4.0, "rtn", m(0.80, 0.9)),
                    "2026-11-20T00:00:00Z"));
            long other3 = store.recordRun(at(run(OTHER, "GPTQ 3-bit", 10, 3.0, "gptq", m(0.70, 0.5)),
                    "2026-11-25T00:00:00Z"));
            long other8 = store.recordRun(at(run(OTHER, "x", 30, 8.0, "gptq", List.of(
                    new RunRecord.Metric("perplexity", "evaluation", 9.0))), "2026-11-26T00:00:00Z"));

            assertEquals(List.of("accuracy.cat", "perplexity", "top1"), store.metricNames(null, "evaluation"));
            assertEquals(Map.of(dense, 0.90, rtn4, 0.80, other3, 0.70), store.metricValues(null, "top1", "evaluation"));
            assertEquals(Set.of(dense, rtn4, other3, other8), store.planDescriptions(null).keySet(), "null: every model's runs");

            Pareto.Result all = Pareto.query(store, new Pareto.Query(null, Pareto.XAxis.BITS_PER_WEIGHT, "top1", null,
                    null, null, null));
            assertEquals(null, all.modelHash());
            // bpw: GPTQ 3-bit of the other model (3.0, 0.70), then RTN 4-bit (4.0, 0.80); the dense run has no bpw,
            // the other model's 8-bit run no top1.
            assertEquals(List.of(other3, rtn4), ParetoTest.ids(all.frontier()));
            assertEquals(4, all.considered());
            assertEquals(2, all.skipped());
            Pareto.Point g = all.frontier().getFirst();
            assertEquals(new Pareto.Point(other3, "GPTQ 3-bit", 3.0, 0.70, OTHER, "other", "gptq", false), g);
            Pareto.Point r = all.frontier().get(1);
            assertEquals(new Pareto.Point(rtn4, "dense-ish 4-bit", 4.0, 0.80, HASH, "m", "rtn", false), r);

            Pareto.Result size = Pareto.query(store, new Pareto.Query(HASH, Pareto.XAxis.SIZE_BYTES, "top1", null,
                    null, null, null));
            assertEquals(List.of(rtn4, dense), ParetoTest.ids(size.frontier()), "larger and better: both on it");
            Pareto.Point d = size.frontier().get(1);
            assertEquals("dense", d.methodFamily(), "the family is stored data, not the label's first word");
            assertTrue(d.baseline());

            Pareto.Result since = Pareto.query(store, new Pareto.Query(null, Pareto.XAxis.SIZE_BYTES, "top1", null,
                    null, null, Instant.parse("2026-11-20T00:00:00Z")));
            assertEquals(3, since.considered(), "the run finished before the 20th is left out; the 20th counts");
            assertEquals(Set.of(rtn4, other3), Set.copyOf(ParetoTest.ids(since.frontier())));

            Pareto.Result gptq = Pareto.query(store, new Pareto.Query(null, Pareto.XAxis.SIZE_BYTES, "top1", "GPTQ",
                    null, null, null));
            assertEquals(2, gptq.considered());
            Pareto.Result baselines = Pareto.query(store, new Pareto.Query(null, Pareto.XAxis.SIZE_BYTES, "top1",
                    Pareto.DENSE, "check", null, null));
            assertEquals(List.of(dense), ParetoTest.ids(baselines.frontier()));

            SqueezeException e = assertThrows(SqueezeException.class, () -> Pareto.query(store,
                    new Pareto.Query(null, Pareto.XAxis.SIZE_BYTES, "kl", null, null)));
            assertTrue(e.getMessage().contains("for any model"), e.getMessage());
        }
    }
}
