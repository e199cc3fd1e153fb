package dev.squeeze.engine.store;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a run is comes from what it did to its layers, stored with it (issue #10, "data, not labels"), and a run's
 * whole record reads back: plan, provenance, data sets, seed, tags and job.
 */
class StoredRunDataTest {
    static final String HASH = "a".repeat(64);

    static RunRecord.LayerResult layer(String name, String method) {
        return new RunRecord.LayerResult(name, method, method + " settings", 1000, 4.5, 0.01, 3);
    }

    static RunRecord run(String label, List<RunRecord.LayerResult> layers, Double top1) {
        return new RunRecord(
                new RunRecord.ModelRecord(HASH, "m", "/models/m.safetensors", "safetensors", "mlp", 100, 400),
                new RunRecord.DatasetRecord("eval", "/data/eval", "b".repeat(64), "evaluation", 10),
                "{\"schema\":1}", "test plan", label, Instant.parse("2026-11-27T10:00:00Z"),
                Instant.parse("2026-11-27T10:00:01Z"), 42, new Provenance("0.1.0", "abc123", "host", "25", "java"),
                123, 200, layers.isEmpty() ? null : 4.5, layers,
                top1 == null ? List.of() : List.of(new RunRecord.Metric("top1", "evaluation", top1)));
    }

    @Test
    void aPlanLabelledDenseThatCompressesLayersIsNotABaselineAndAnUnlabelledDenseRunIs() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long check = store.recordRun(run("dense-check", List.of(layer("fc1", "rtn"), layer("fc2", "rtn")), 0.8));
            long plain = store.recordRun(run("my run", List.of(), 0.9));
            long unmeasured = store.recordRun(run("dense f32", List.of(), null));
            List<RunSummary> runs = store.runs(HASH);

            RunSummary c = runs.get(0);
            assertEquals(check, c.id());
            assertFalse(c.baseline(), "it compresses fc1 and fc2, whatever its label says");
            assertFalse(c.isBaseline());
            assertEquals("rtn", c.methodFamily());

            RunSummary p = runs.get(1);
            assertEquals(plain, p.id());
            assertTrue(p.baseline(), "no layer compressed: the dense model, whatever its label says");
            assertTrue(p.isBaseline());
            assertEquals("dense", p.methodFamily());

            RunSummary u = runs.get(2);
            assertEquals(unmeasured, u.id());
            assertTrue(u.baseline());
            assertFalse(u.isBaseline(), "a baseline without a metric is not a measured baseline");

            assertEquals(List.of(plain), runs.stream().filter(RunSummary::isBaseline).map(RunSummary::id).toList());
        }
    }

    @Test
    void theFamilyIsTheSortedDistinctCompressingMethods() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            store.recordRun(run("mixed", List.of(layer("fc1", "spqr"), layer("fc2", "rtn"), layer("fc3", "gptq"),
                    layer("fc4", "rtn")), 0.8));
            store.recordRun(run("kept", List.of(layer("fc1", "none"), layer("fc2", "magnitude")), 0.7));
            store.recordRun(run("all kept", List.of(layer("fc1", "none")), 0.9));
            List<RunSummary> runs = store.runs(HASH);
            assertEquals(List.of("gptq+rtn+spqr", "magnitude", "dense"),
                    runs.stream().map(RunSummary::methodFamily).toList());
            assertEquals(List.of(false, false, true), runs.stream().map(RunSummary::baseline).toList());
        }
    }

    @Test
    void aRunReadsBackWhole() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long job = store.jobs().add("{}", "4".repeat(64), "/models/m.safetensors", "gptq4");
            RunRecord.DatasetRecord calibration =
                    new RunRecord.DatasetRecord("32 windows", "/data/train", "5".repeat(64), "calibration", 8192);
            RunRecord base = run("gptq4", List.of(layer("fc1", "gptq")), 0.85);
            RunRecord calibrated = new RunRecord(base.model(), base.dataset(), "{\"schema\":1,\"preset\":\"x\"}",
                    "GPTQ 4-bit", base.label(), base.startedAt(), base.finishedAt(), 7, base.provenance(),
                    base.sizeBytes(), base.fp16Bytes(), base.bitsPerWeight(), base.layers(), base.metrics(),
                    calibration, List.of("sweep-b", "sweep-a"), job);
            long id = store.recordRun(calibrated);
            long plain = store.recordRun(run("dense", List.of(), 0.9));

            StoredRun r = store.run(id).orElseThrow();
            assertEquals(store.runs(HASH).getFirst(), r.summary());
            assertEquals("gptq", r.summary().methodFamily());
            assertEquals("{\"schema\":1,\"preset\":\"x\"}", r.planJson());
            assertEquals("GPTQ 4-bit", r.planDescription());
            assertEquals(new Provenance("0.1.0", "abc123", "host", "25", "java"), r.provenance());
            assertEquals(new RunRecord.DatasetRecord("eval", "/data/eval", "b".repeat(64), "evaluation", 10),
                    r.evaluation());
            assertEquals(calibration, r.calibration());
            assertEquals(Instant.parse("2026-11-27T10:00:00Z"), r.startedAt());
            assertEquals(7, r.seed());
            assertEquals(List.of("sweep-a", "sweep-b"), r.tags());
            assertEquals(job, r.jobId());

            StoredRun d = store.run(plain).orElseThrow();
            assertNull(d.calibration());
            assertNull(d.jobId());
            assertEquals(List.of(), d.tags());
            assertTrue(d.summary().baseline());

            assertEquals(Optional.empty(), store.run(plain + 100));

            // The explorer's bulk reads agree with the per-run record.
            assertEquals(r.planDescription(), store.planDescriptions(HASH).get(id));
            assertEquals(d.planDescription(), store.planDescriptions(null).get(plain));
            assertEquals(Map.of(id, List.of("sweep-a", "sweep-b")), store.tagsByRun(HASH));
            assertEquals(Map.of(), store.tagsByRun("f".repeat(64)), "another model's runs");
        }
    }

    @Test
    void aSearchJobStoresManyRunsEachOnceAndStaysRunningUntilItsLastRun() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long job = store.jobs().add("{}", "6".repeat(64), "/models/m.safetensors", "search");
            assertTrue(store.jobs().markRunning(job));
            RunRecord base = run("point", List.of(layer("fc1", "gptq")), 0.8);
            Provenance searched = base.provenance().withSearch("search ≤ 4.0 bits/weight; methods gptq; seed 3");
            RunRecord point = new RunRecord(base.model(), base.dataset(), base.planJson(), base.planDescription(),
                    "search ≤ 4.0", base.startedAt(), base.finishedAt(), 3, searched, base.sizeBytes(),
                    base.fp16Bytes(), base.bitsPerWeight(), base.layers(), base.metrics(), null, List.of("s1"), job);

            long first = store.recordJobPoint(point, "budget-4.0");
            long again = store.recordJobPoint(point, "budget-4.0");
            assertEquals(first, again, "a resumed search repeating a point stores it once");
            assertEquals(1, store.runs(HASH).size());
            assertEquals(JobStatus.RUNNING, store.jobs().get(job).orElseThrow().status(), "a point does not end the job");

            StoredRun r = store.run(first).orElseThrow();
            assertEquals("search ≤ 4.0 bits/weight; methods gptq; seed 3", r.provenance().search());
            assertEquals(job, r.jobId(), "a point's job is known");
            assertEquals(List.of("s1"), r.tags());

            long last = store.recordRun(new RunRecord(base.model(), base.dataset(), base.planJson(),
                    base.planDescription(), "search ≤ 5.0", base.startedAt(), base.finishedAt(), 3, searched,
                    base.sizeBytes(), base.fp16Bytes(), base.bitsPerWeight(), base.layers(), base.metrics(), null,
                    List.of("s1"), job));
            assertEquals(JobStatus.DONE, store.jobs().get(job).orElseThrow().status());
            assertEquals(2, store.runs(HASH).size());
            assertEquals("", store.run(store.recordRun(run("plain", List.of(), 0.9))).orElseThrow().provenance().search(),
                    "a run no search made has no search provenance");
            assertTrue(last > first);
        }
    }

    @Test
    void allTagsAreDistinctAndSorted() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            assertEquals(List.of(), store.allTags());
            RunRecord a = run("a", List.of(), 0.9);
            store.recordRun(new RunRecord(a.model(), a.dataset(), a.planJson(), a.planDescription(), "a",
                    a.startedAt(), a.finishedAt(), a.seed(), a.provenance(), a.sizeBytes(), a.fp16Bytes(),
                    a.bitsPerWeight(), a.layers(), a.metrics(), null, List.of("zeta", "alpha"), null));
            store.recordRun(new RunRecord(a.model(), a.dataset(), a.planJson(), a.planDescription(), "b",
                    a.startedAt(), a.finishedAt(), a.seed(), a.provenance(), a.sizeBytes(), a.fp16Bytes(),
                    a.bitsPerWeight(), a.layers(), a.metrics(), null, List.of("alpha", "mid"), null));
            assertEquals(List.of("alpha", "mid", "zeta"), store.allTags());
        }
    }

    @Test
    void methodFamilyRule() {
        assertEquals("dense", MethodFamily.of(List.of()));
        assertEquals("dense", MethodFamily.of(List.of(layer("a", "none"), layer("b", "NONE"))));
        assertEquals("lowrank+sparsegpt", MethodFamily.of(List.of(layer("a", "sparsegpt"), layer("b", "lowrank"),
                layer("c", "sparsegpt"))));
        assertTrue(MethodFamily.isBaseline(List.of(layer("a", "none"))));
        assertFalse(MethodFamily.isBaseline(List.of(layer("a", "none"), layer("b", "rtn"))));
    }
}
