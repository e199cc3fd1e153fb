package dev.squeeze.engine.store;

import dev.squeeze.engine.eval.MetricKind;
import org.flywaydb.core.Flyway;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A results database written by a V1-era Squeeze (schema version 1 only, rows inserted with plain SQL as that
 * version wrote them) opens with today's store: Flyway upgrades it to the newest schema, the old run reads back
 * exactly as it was written, and the V2 features (jobs, tags, calibration data set) work on the upgraded file. A V2
 * database gets each run's method family and baseline flag from its layer results, by the rule new runs follow.
 */
class MigrationUpgradeTest {
    @TempDir
    Path dir;

    static final String MODEL_HASH = "1".repeat(64);

    static JdbcDataSource dataSource(Path base) {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:file:" + base.toAbsolutePath());
        ds.setUser("sa");
        ds.setPassword("");
        return ds;
    }

    /** A V1 database with one run of two layers and three metrics, as the V1 code wrote it. */
    static void writeV1Database(Path base) throws Exception {
        JdbcDataSource ds = dataSource(base);
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").target("1").load().migrate();
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            assertEquals(List.of("1"), versions(c), "the fixture is at schema V1 only");
            st.executeUpdate("""
                    INSERT INTO model (content_hash, name, source, format, architecture, parameters, stored_bytes)
                    VALUES ('%s', 'old-mlp', '/models/old.safetensors', 'safetensors', 'mlp', 2080, 8320)"""
                    .formatted(MODEL_HASH));
            st.executeUpdate("""
                    INSERT INTO dataset (name, source, content_hash, split, items)
                    VALUES ('fashion-test', '/data/t10k', '%s', 'evaluation', 40)""".formatted("2".repeat(64)));
            st.executeUpdate("""
                    INSERT INTO plan (content_hash, json, description)
                    VALUES ('%s', '{"schema":1,"defaults":{"method":"rtn","bits":4}}', 'RTN 4-bit')"""
                    .formatted("3".repeat(64)));
            st.executeUpdate("""
                    INSERT INTO run (model_id, plan_id, dataset_id, label, status, started_at, finished_at, seed,
                      squeeze_version, git_commit, host, java_version, kernel_backend, size_bytes, fp16_bytes,
                      bits_per_weight)
                    VALUES ((SELECT id FROM model), (SELECT id FROM plan), (SELECT id FROM dataset), 'old rtn4',
                      'DONE', TIMESTAMP WITH TIME ZONE '2025-01-02 03:04:05+00',
                      TIMESTAMP WITH TIME ZONE '2025-01-02 03:04:09+00', 7, '0.0.9', 'deadbeef', 'oldhost', '25',
                      'java', 1234, 4160, 4.25)""");
            st.executeUpdate("""
                    INSERT INTO layer_result (run_id, position, layer, method, settings, stored_bits, bits_per_weight,
                      recon_error, millis)
                    VALUES ((SELECT id FROM run), 0, 'fc1', 'rtn', 'RTN 4-bit g16', 8704, 4.25, 0.0625, 12),
                           ((SELECT id FROM run), 1, 'fc2', 'rtn', 'RTN 4-bit g16', 1088, 4.25, NULL, 3)""");
            st.executeUpdate("""
                    INSERT INTO metric (run_id, name, split, metric_value)
                    VALUES ((SELECT id FROM run), 'top1', 'evaluation', 0.875),
                           ((SELECT id FROM run), 'accuracy.cat', 'evaluation', 0.5),
                           ((SELECT id FROM run), 'top1', 'calibration', 0.9)""");
        }
    }

    static List<String> versions(Connection c) throws Exception {
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT \"version\" FROM \"flyway_schema_history\" WHERE \"success\" AND \"version\" IS NOT NULL ORDER BY \"installed_rank\"")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    @Test
    void aV1DatabaseUpgradesToV2AndKeepsItsRunsIntact() throws Exception {
        Path base = dir.resolve("old/results");
        writeV1Database(base);

        long oldRunId;
        try (ResultsStore store = ResultsStore.openFile(base)) {
            List<RunSummary> runs = store.runs(null);
            assertEquals(1, runs.size());
            RunSummary r = runs.getFirst();
            oldRunId = r.id();
            assertEquals("old-mlp", r.modelName());
            assertEquals(MODEL_HASH, r.modelHash());
            assertEquals("old rtn4", r.label());
            assertEquals("DONE", r.status());
            assertEquals(Instant.parse("2025-01-02T03:04:09Z"), r.finishedAt());
            assertEquals(1234, r.sizeBytes());
            assertEquals(4160, r.fp16Bytes());
            assertEquals(4.25, r.bitsPerWeight());
            assertEquals(MetricKind.TOP1, r.metric());
            assertEquals(0.875, r.metricValue());
            assertEquals("java", r.kernelBackend());
            assertEquals("deadbeef", r.gitCommit());
            assertEquals("rtn", r.methodFamily(), "upgraded from its layer results");
            Provenance upgraded = store.run(oldRunId).orElseThrow().provenance();
            assertEquals("java", upgraded.kernelBackend());
            assertEquals("", upgraded.backends(), "V4: a run from before it records no op backends");
            assertEquals("", upgraded.cpu(), "V4: nor a CPU");
            assertFalse(r.baseline());
            assertEquals(List.of(
                    new RunRecord.Metric("accuracy.cat", "evaluation", 0.5),
                    new RunRecord.Metric("top1", "calibration", 0.9),
                    new RunRecord.Metric("top1", "evaluation", 0.875)), store.metrics(oldRunId));
            assertEquals(List.of(
                    new RunRecord.LayerResult("fc1", "rtn", "RTN 4-bit g16", 8704, 4.25, 0.0625, 12),
                    new RunRecord.LayerResult("fc2", "rtn", "RTN 4-bit g16", 1088, 4.25, null, 3)),
                    store.layerResults(oldRunId));
            assertEquals(List.of(), store.tags(oldRunId), "an old run has no tags");
            assertEquals(List.of(), store.jobs().all(), "an old database has no jobs");
            assertEquals(1, store.models().size());
            assertEquals(1, store.models().getFirst().runs());

            // V2 features on the upgraded file: a job, and a tagged, calibrated run that completes it.
            long job = store.jobs().add("{}", "4".repeat(64), "/models/old.safetensors", "new rtn8");
            assertEquals(JobStatus.QUEUED, store.jobs().get(job).orElseThrow().status());
            assertTrue(store.jobs().markRunning(job));
            RunRecord fresh = new RunRecord(
                    new RunRecord.ModelRecord(MODEL_HASH, "old-mlp", "/models/old.safetensors", "safetensors", "mlp",
                            2080, 8320),
                    new RunRecord.DatasetRecord("fashion-test", "/data/t10k", "2".repeat(64), "evaluation", 40),
                    "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":8}}", "RTN 8-bit", "new rtn8",
                    Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2026-01-01T00:00:02Z"), 0,
                    new Provenance("0.2.0", "cafe", "newhost", "25", "java"), 2345, 4160, 8.25,
                    List.of(new RunRecord.LayerResult("fc1", "rtn", "RTN 8-bit", 17000, 8.25, 0.001, 5)),
                    List.of(new RunRecord.Metric("top1", "evaluation", 0.9)),
                    new RunRecord.DatasetRecord("fashion-train", "/data/train", "5".repeat(64), "calibration", 100),
                    List.of("sweep-a", "upgraded"), job);
            long newRunId = store.recordRun(fresh);
            assertEquals(Set.of(newRunId), store.runsTagged("sweep-a"));
            assertEquals(Set.of(newRunId), store.runsTagged("upgraded"));
            assertEquals(List.of("sweep-a", "upgraded"), store.tags(newRunId));
            JobRow done = store.jobs().get(job).orElseThrow();
            assertEquals(JobStatus.DONE, done.status());
            assertEquals(newRunId, done.runId());
            assertEquals(List.of(oldRunId, newRunId), store.runs(MODEL_HASH).stream().map(RunSummary::id).toList(),
                    "the new run joins the same model row as the old one");
            // A job status that only V2 knows.
            long orphan = store.jobs().add("{}", "6".repeat(64), "m", "orphan");
            store.jobs().end(orphan, JobStatus.INTERRUPTED, "test");
            assertEquals(JobStatus.INTERRUPTED, store.jobs().get(orphan).orElseThrow().status());
        }

        try (Connection c = dataSource(base).getConnection(); Statement st = c.createStatement()) {
            assertEquals(StoreFixtures.shippedVersions(), versions(c), "the upgrade ran every migration after V1 exactly once");
            try (ResultSet rs = st.executeQuery(
                    "SELECT r.calibration_dataset_id, d.split, d.name FROM run r "
                            + "LEFT JOIN dataset d ON d.id = r.calibration_dataset_id ORDER BY r.id")) {
                assertTrue(rs.next());
                assertNull(rs.getObject(1), "the V1 run has no calibration data set");
                assertTrue(rs.next());
                assertEquals("calibration", rs.getString(2));
                assertEquals("fashion-train", rs.getString(3));
                assertFalse(rs.next());
            }
        }

        // Opening the upgraded database again migrates nothing and still reads both runs.
        try (ResultsStore store = ResultsStore.openFile(base)) {
            assertEquals(List.of("old rtn4", "new rtn8"), store.runs(null).stream().map(RunSummary::label).toList());
            assertEquals(0.875, store.runs(null).getFirst().metricValue());
        }
        try (Connection c = dataSource(base).getConnection()) {
            assertEquals(StoreFixtures.shippedVersions(), versions(c));
        }
    }

    /** A layer result row as V1 and V2 wrote it. */
    record Layer(String name, String method) {
    }

    /**
     * A V2 database (schema versions 1 and 2, rows inserted with plain SQL as V2 wrote them) holding runs whose
     * labels say one thing and whose layers another: {@code label → layers}.
     */
    static void writeV2Database(Path base, java.util.SequencedMap<String, List<Layer>> runs) throws Exception {
        JdbcDataSource ds = dataSource(base);
        Flyway.configure().dataSource(ds).locations("classpath:db/migration").target("2").load().migrate();
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            assertEquals(List.of("1", "2"), versions(c), "the fixture is at schema V2");
            st.executeUpdate("""
                    INSERT INTO model (content_hash, name, source, format, architecture, parameters, stored_bytes)
                    VALUES ('%s', 'v2-mlp', '/models/v2.safetensors', 'safetensors', 'mlp', 2080, 8320)"""
                    .formatted(MODEL_HASH));
            st.executeUpdate("""
                    INSERT INTO dataset (name, source, content_hash, split, items)
                    VALUES ('fashion-test', '/data/t10k', '%s', 'evaluation', 40)""".formatted("2".repeat(64)));
            st.executeUpdate("""
                    INSERT INTO plan (content_hash, json, description)
                    VALUES ('%s', '{"schema":1}', 'some plan')""".formatted("3".repeat(64)));
            for (var run : runs.entrySet()) {
                st.executeUpdate("""
                        INSERT INTO run (model_id, plan_id, dataset_id, label, status, started_at, finished_at, seed,
                          squeeze_version, git_commit, host, java_version, kernel_backend, size_bytes, fp16_bytes,
                          bits_per_weight, calibration_dataset_id)
                        VALUES ((SELECT id FROM model), (SELECT id FROM plan), (SELECT id FROM dataset), '%s',
                          'DONE', TIMESTAMP WITH TIME ZONE '2026-01-02 03:04:05+00',
                          TIMESTAMP WITH TIME ZONE '2026-01-02 03:04:09+00', 7, '0.2.0', 'beef', 'host', '25',
                          'java', 1234, 4160, NULL, NULL)""".formatted(run.getKey()));
                int position = 0;
                for (Layer l : run.getValue()) {
                    st.executeUpdate("""
                            INSERT INTO layer_result (run_id, position, layer, method, settings, stored_bits,
                              bits_per_weight, recon_error, millis)
                            VALUES ((SELECT MAX(id) FROM run), %d, '%s', '%s', 's', 100, 4.0, 0.1, 1)"""
                            .formatted(position++, l.name(), l.method()));
                }
                st.executeUpdate("""
                        INSERT INTO metric (run_id, name, split, metric_value)
                        VALUES ((SELECT MAX(id) FROM run), 'top1', 'evaluation', 0.5)""");
            }
        }
    }

    @Test
    void aV2DatabaseGetsEachRunsFamilyAndBaselineFromItsLayersByTheRuleNewRunsFollow() throws Exception {
        Path base = dir.resolve("v2/results");
        java.util.SequencedMap<String, List<Layer>> runs = new java.util.LinkedHashMap<>();
        runs.put("dense f32", List.of());
        runs.put("dense-check", List.of(new Layer("fc1", "rtn"), new Layer("fc2", "rtn")));
        runs.put("mixed", List.of(new Layer("fc1", "spqr"), new Layer("fc2", "rtn"), new Layer("fc3", "gptq"),
                new Layer("fc4", "rtn")));
        runs.put("one kept dense", List.of(new Layer("fc1", "none"), new Layer("fc2", "magnitude")));
        runs.put("all kept dense", List.of(new Layer("fc1", "none")));
        runs.put("RTN 4-bit", List.of(new Layer("fc1", "sparsegpt"), new Layer("fc2", "lowrank")));
        writeV2Database(base, runs);

        try (ResultsStore store = ResultsStore.openFile(base)) {
            List<RunSummary> upgraded = store.runs(MODEL_HASH);
            assertEquals(List.copyOf(runs.keySet()), upgraded.stream().map(RunSummary::label).toList());
            // What the issue asks for, written out by hand: the label never decides.
            assertEquals(List.of("dense", "rtn", "gptq+rtn+spqr", "magnitude", "dense", "lowrank+sparsegpt"),
                    upgraded.stream().map(RunSummary::methodFamily).toList());
            assertEquals(List.of(true, false, false, false, true, false),
                    upgraded.stream().map(RunSummary::baseline).toList());
            // The SQL backfill and the Java rule that recordRun applies agree on every run.
            for (RunSummary r : upgraded) {
                List<RunRecord.LayerResult> layers = store.layerResults(r.id());
                assertEquals(MethodFamily.of(layers), r.methodFamily(), r.label());
                assertEquals(MethodFamily.isBaseline(layers), r.baseline(), r.label());
            }
            // The same layers stored anew by today's recordRun get the same family and flag.
            for (RunSummary r : upgraded) {
                List<RunRecord.LayerResult> layers = store.layerResults(r.id());
                long again = store.recordRun(new RunRecord(
                        new RunRecord.ModelRecord(MODEL_HASH, "v2-mlp", "/models/v2.safetensors", "safetensors", "mlp",
                                2080, 8320),
                        new RunRecord.DatasetRecord("fashion-test", "/data/t10k", "2".repeat(64), "evaluation", 40),
                        "{\"schema\":1}", "some plan", r.label() + " again", Instant.parse("2026-02-01T00:00:00Z"),
                        Instant.parse("2026-02-01T00:00:01Z"), 7, new Provenance("0.3.0", "cafe", "h", "25", "java"),
                        1234, 4160, null, layers, List.of(new RunRecord.Metric("top1", "evaluation", 0.5))));
                RunSummary stored = store.run(again).orElseThrow().summary();
                assertEquals(r.methodFamily(), stored.methodFamily(), r.label());
                assertEquals(r.baseline(), stored.baseline(), r.label());
            }
        }
        try (Connection c = dataSource(base).getConnection(); Statement st = c.createStatement()) {
            assertEquals(StoreFixtures.shippedVersions(), versions(c));
            try (ResultSet rs = st.executeQuery("""
                    SELECT COLUMN_NAME, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS
                    WHERE TABLE_NAME = 'RUN' AND COLUMN_NAME IN ('BASELINE', 'METHOD_FAMILY')
                    ORDER BY COLUMN_NAME""")) {
                assertTrue(rs.next());
                assertEquals("BASELINE", rs.getString(1));
                assertEquals("NO", rs.getString(2), "filled for every run, so NOT NULL");
                assertTrue(rs.next());
                assertEquals("METHOD_FAMILY", rs.getString(1));
                assertEquals("NO", rs.getString(2));
                assertFalse(rs.next());
            }
        }
    }
}
