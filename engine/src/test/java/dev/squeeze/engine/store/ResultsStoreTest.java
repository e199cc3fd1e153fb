package dev.squeeze.engine.store;

import dev.squeeze.engine.SqueezeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResultsStoreTest {
    @TempDir
    Path dir;

    static RunRecord run(String label, double top1, List<RunRecord.LayerResult> layers) {
        return new RunRecord(
                new RunRecord.ModelRecord("a".repeat(64), "m", "/models/m.safetensors", "safetensors", "mlp", 100, 400),
                new RunRecord.DatasetRecord("eval", "eval", "b".repeat(64), "evaluation", 10),
                "{\"schema\":1}", "test plan", label, Instant.parse("2026-11-27T10:00:00Z"),
                Instant.parse("2026-11-27T10:00:01Z"), 42, new Provenance("0.1.0", "abc123", "host", "25", "java"),
                123, 200, 4.5, layers, List.of(new RunRecord.Metric("top1", "evaluation", top1),
                new RunRecord.Metric("accuracy.cat", "evaluation", 0.5)));
    }

    static final List<RunRecord.LayerResult> LAYERS = List.of(
            new RunRecord.LayerResult("fc1", "rtn", "RTN 4-bit", 1000, 4.5, 0.01, 3),
            new RunRecord.LayerResult("fc2", "rtn", "RTN 4-bit", 500, 4.5, null, 1));

    @Test
    void storesARunWithItsLayersMetricsAndProvenance() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long id = store.recordRun(run("RTN 4-bit", 0.75, LAYERS));
            long id2 = store.recordRun(run("RTN 8-bit", 0.8, LAYERS));
            assertNotEquals(id, id2);
            List<RunSummary> runs = store.runs("a".repeat(64));
            assertEquals(2, runs.size());
            RunSummary r = runs.getFirst();
            assertEquals("RTN 4-bit", r.label());
            assertEquals("DONE", r.status());
            assertEquals(0.75, r.metricValue());
            assertEquals(dev.squeeze.engine.eval.MetricKind.TOP1, r.metric());
            assertEquals("75.00% top-1", r.metricText());
            assertEquals(123, r.sizeBytes());
            assertEquals(4.5, r.bitsPerWeight());
            assertEquals("abc123", r.gitCommit());
            assertEquals(LAYERS, store.layerResults(id));
            assertEquals(2, store.metrics(id).size());
            assertEquals(List.of(), store.runs("c".repeat(64)));
        }
    }

    @Test
    void aFailedWriteLeavesNoHalfWrittenRows() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            store.recordRun(run("ok", 0.5, LAYERS));
            List<RunRecord.LayerResult> duplicate = List.of(LAYERS.getFirst(), LAYERS.getFirst());
            SqueezeException e = assertThrows(SqueezeException.class, () -> store.recordRun(run("bad", 0.6, duplicate)));
            assertTrue(e.getMessage().contains("'bad'") && e.getMessage().contains("nothing of it was written"),
                    e.getMessage());
            assertEquals(List.of("ok"), store.runs(null).stream().map(RunSummary::label).toList());
        }
    }

    @Test
    void fileDatabasePersistsAcrossOpens() {
        Path base = dir.resolve("sub/results");
        try (ResultsStore store = ResultsStore.openFile(base)) {
            store.recordRun(run("kept", 0.9, LAYERS));
        }
        assertTrue(Files.exists(dir.resolve("sub/results.mv.db")));
        try (ResultsStore store = ResultsStore.openFile(base)) {
            assertEquals(List.of("kept"), store.runs(null).stream().map(RunSummary::label).toList());
        }
    }

    @Test
    void aDatabaseHeldByAnotherProcessIsReportedAsInUse() throws Exception {
        Path base = dir.resolve("shared");
        try (var holder = StoreHolder.hold(base)) {
            SqueezeException e = assertThrows(SqueezeException.class, () -> ResultsStore.openFile(base));
            assertTrue(e.getMessage().contains("in use by another Squeeze process")
                    && e.getMessage().contains("shared.mv.db"), e.getMessage());
        }
        // Once the other process is gone the database opens normally.
        try (ResultsStore store = ResultsStore.openFile(base)) {
            assertEquals(List.of(), store.runs(null));
        }
    }

    @Test
    void aDamagedDatabaseFileGivesOneClearMessage() throws Exception {
        Path base = dir.resolve("results");
        Files.write(dir.resolve("results.mv.db"), "this is not an H2 database, just text".repeat(200).getBytes());
        SqueezeException e = assertThrows(SqueezeException.class, () -> ResultsStore.openFile(base));
        assertTrue(e.getMessage().contains("results.mv.db"), e.getMessage());
        assertTrue(e.getMessage().contains("Fix:"), e.getMessage());
        assertEquals(1, e.getMessage().lines().filter(l -> l.contains("Fix:")).count());
    }
}
