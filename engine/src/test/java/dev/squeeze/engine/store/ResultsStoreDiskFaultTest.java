package dev.squeeze.engine.store;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.testing.FaultyDisk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A full or read-only disk under the results database (simulated by {@link FaultyDisk}: the tests run as root,
 * where folder permissions do not stop writes): a clear error, and no half-written rows.
 */
class ResultsStoreDiskFaultTest {
    private static final String FAULTY = FaultyDisk.SCHEME + ":";
    private static final List<String> TABLES = List.of("model", "dataset", "plan", "run", "layer_result", "metric");

    @TempDir
    Path dir;

    @BeforeAll
    static void registerDisk() {
        FaultyDisk.register();
    }

    @AfterEach
    void healDisk() {
        FaultyDisk.heal();
    }

    /** A run of {@code layers} layers and metrics; {@code variant} makes its model, plan and dataset new rows too. */
    static RunRecord run(String label, int variant, int layers) {
        List<RunRecord.LayerResult> ls = new ArrayList<>();
        List<RunRecord.Metric> ms = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            ls.add(new RunRecord.LayerResult("model.layers." + i + ".mlp.down_proj", "gptq",
                    "GPTQ 4-bit g128 act-order damp 0.01 layer " + i + " " + "s".repeat(150), 4096L * (i + 1),
                    4.25 + variant, i % 3 == 0 ? null : 0.001 * i, i));
            ms.add(new RunRecord.Metric("kl.layer" + i, "evaluation", 0.5 / (i + 1) + variant));
        }
        ms.add(new RunRecord.Metric("perplexity", "evaluation", 12.5 + variant));
        String hash = Integer.toString(variant).repeat(64);
        return new RunRecord(
                new RunRecord.ModelRecord(hash, "m" + variant, "/models/m" + variant + ".bin", "llama2c", "llama", 260_000,
                        1_040_000),
                new RunRecord.DatasetRecord("tinystories", "/data/ts.bin", hash, "evaluation", 4096),
                "{\"schema\":1,\"variant\":" + variant + "}", "plan " + variant, label,
                Instant.parse("2026-11-27T10:00:00Z"), Instant.parse("2026-11-27T10:05:00Z"), 42 + variant,
                new Provenance("0.1.0", "abc123", "host", "25", "java"), 500_000, 520_000, 4.25 + variant, ls, ms);
    }

    @Test
    void aFullDiskInTheMiddleOfARunLeavesNoHalfWrittenRowsAndTheStoreReopens() throws Exception {
        Path base = dir.resolve("results");
        Path file = dir.resolve("results.mv.db");
        RunRecord failing = run("GPTQ 4-bit g128", 9, 2000);

        // How much the file grows for the failing run on a healthy disk (a scratch database, same history).
        List<RunRecord> before = List.of(run("RTN 4-bit", 1, 3), run("RTN 8-bit", 1, 40), run("SpQR", 2, 200));
        long growth;
        try (ResultsStore scratch = ResultsStore.openFile(dir.resolve("scratch/results"), FAULTY)) {
            before.forEach(scratch::recordRun);
            long size = Files.size(dir.resolve("scratch/results.mv.db"));
            scratch.recordRun(failing);
            growth = Files.size(dir.resolve("scratch/results.mv.db")) - size;
        }
        assertTrue(growth > 64 * 1024, "the failing run should need a large write, grew by " + growth);

        Map<Long, RunRecord> stored = new LinkedHashMap<>();
        try (ResultsStore store = ResultsStore.openFile(base, FAULTY)) {
            for (RunRecord r : before) {
                stored.put(store.recordRun(r), r);
            }
            // A quarter of what the run needs: the write is cut short part-way, leaving a partial chunk on disk.
            FaultyDisk.fillUpAfter(growth / 4);
            SqueezeException[] thrown = new SqueezeException[1];
            String stderr = stderrOf(() -> thrown[0] = assertThrows(SqueezeException.class,
                    () -> store.recordRun(failing)));
            assertEquals("", stderr, "H2 printed on stderr");
            String msg = thrown[0].getMessage();
            assertTrue(msg.contains("Could not store run 'GPTQ 4-bit g128' in " + file), msg);
            assertTrue(msg.contains("the disk is full (No space left on device)"), msg);
            assertTrue(msg.contains("nothing of the run was written"), msg);
            assertTrue(msg.contains("Fix: free space on the disk that holds " + dir) && msg.contains("SQUEEZE_HOME"),
                    msg);
            assertClean(msg);
        }
        FaultyDisk.heal();

        // Reopening needs nothing special, even through the normal file system.
        Map<String, Long> rows;
        try (ResultsStore store = ResultsStore.openFile(base)) {
            assertStored(store, stored);
        }
        rows = rowCounts(base);
        assertEquals(expectedRows(stored.values()), rows, "rows of the failed run (or of its model, plan or dataset)");

        // And the same run stores fine once there is space again.
        try (ResultsStore store = ResultsStore.openFile(base, FAULTY)) {
            stored.put(store.recordRun(failing), failing);
            assertStored(store, stored);
        }
        assertEquals(expectedRows(stored.values()), rowCounts(base));
    }

    @Test
    void aReadOnlyDiskOpensForReadingAndRefusesWritesClearlyWithoutTouchingTheFile() throws Exception {
        Path base = dir.resolve("results");
        Path file = dir.resolve("results.mv.db");
        Map<Long, RunRecord> stored = new LinkedHashMap<>();
        try (ResultsStore store = ResultsStore.openFile(base, FAULTY)) {
            for (RunRecord r : List.of(run("RTN 4-bit", 1, 5), run("RTN 8-bit", 2, 7))) {
                stored.put(store.recordRun(r), r);
            }
        }
        Map<String, byte[]> filesBefore = snapshot(dir);

        FaultyDisk.readOnly();
        try (ResultsStore store = ResultsStore.openFile(base, FAULTY)) {
            // H2 opens a file it cannot write read-only: the runs can still be looked at ...
            assertStored(store, stored);
            // ... and a write says why it failed and what to do.
            SqueezeException e = assertThrows(SqueezeException.class, () -> store.recordRun(run("new", 3, 4)));
            String msg = e.getMessage();
            assertTrue(msg.contains("Could not store run 'new' in " + file), msg);
            assertTrue(msg.contains("the disk or folder is read-only"), msg);
            assertTrue(msg.contains("nothing of the run was written"), msg);
            assertTrue(msg.contains("Fix: make " + dir + " writable") && msg.contains("SQUEEZE_HOME"), msg);
            assertClean(msg);
        }
        FaultyDisk.heal();

        Map<String, byte[]> filesAfter = snapshot(dir);
        assertEquals(filesBefore.keySet(), filesAfter.keySet());
        for (String name : filesBefore.keySet()) {
            assertArrayEquals(filesBefore.get(name), filesAfter.get(name), name + " changed on a read-only disk");
        }
        try (ResultsStore store = ResultsStore.openFile(base)) {
            assertStored(store, stored);
        }
    }

    @Test
    void creatingADatabaseOnAReadOnlyDiskFailsAtOpenWithTheFix() throws Exception {
        Path base = dir.resolve("results");
        FaultyDisk.readOnly();
        SqueezeException[] thrown = new SqueezeException[1];
        String stderr = stderrOf(() -> thrown[0] = assertThrows(SqueezeException.class,
                () -> ResultsStore.openFile(base, FAULTY)));
        assertEquals("", stderr, "H2 printed on stderr");
        String msg = thrown[0].getMessage();
        assertTrue(msg.contains("Cannot open the results database " + dir.resolve("results.mv.db")), msg);
        assertTrue(msg.contains("the disk or folder is read-only (Read-only file system)"), msg);
        assertTrue(msg.contains("Fix: make " + dir + " writable") && msg.contains("SQUEEZE_HOME"), msg);
        assertClean(msg);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.toList());
        }
    }

    @Test
    void creatingADatabaseOnAFullDiskFailsAtOpenLeavesNothingBehindAndWorksOnceThereIsSpace() throws Exception {
        Path base = dir.resolve("results");
        FaultyDisk.fillUpAfter(1000);
        SqueezeException[] thrown = new SqueezeException[1];
        String stderr = stderrOf(() -> thrown[0] = assertThrows(SqueezeException.class,
                () -> ResultsStore.openFile(base, FAULTY)));
        assertEquals("", stderr, "H2 or Flyway printed on stderr");
        String msg = thrown[0].getMessage();
        assertTrue(msg.contains("Cannot create the results database " + dir.resolve("results.mv.db")), msg);
        assertTrue(msg.contains("the disk is full (No space left on device); nothing was left behind"), msg);
        assertTrue(msg.contains("Fix: ") && msg.contains("on the disk that holds " + dir), msg);
        assertClean(msg);
        // The database was being built under another name: no half-created file to trip over later.
        assertEquals(List.of("results.upgrade.lock"), fileNames(dir));
        FaultyDisk.heal();

        try (ResultsStore store = ResultsStore.openFile(base, FAULTY)) {
            RunRecord r = run("first", 1, 3);
            long id = store.recordRun(r);
            assertStored(store, Map.of(id, r));
        }
    }

    @Test
    void aFileCutShortByAnOlderSqueezeOnAFullDiskIsReportedWithTheFix() throws Exception {
        // Older versions created the file in place: a disk that filled up during its first header left the file
        // shorter than H2's two 4 KiB headers, which H2 cannot read back.
        Path scratch = dir.resolve("scratch/results");
        ResultsStore.openFile(scratch).close();
        byte[] start = java.util.Arrays.copyOf(Files.readAllBytes(dir.resolve("scratch/results.mv.db")), 1000);
        Path file = Files.write(dir.resolve("results.mv.db"), start);
        SqueezeException e = assertThrows(SqueezeException.class, () -> ResultsStore.openFile(dir.resolve("results")));
        assertTrue(e.getMessage().contains("the file is cut short at 1000 bytes")
                && e.getMessage().contains("Fix: delete " + file), e.getMessage());
        assertClean(e.getMessage());
        assertArrayEquals(start, Files.readAllBytes(file), "the file is left as it was");
    }

    private static List<String> fileNames(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** One what-line and one Fix-line, and nothing of a stack trace or of H2's internals. */
    static void assertClean(String msg) {
        assertEquals(2, msg.lines().count(), msg);
        assertEquals(1, msg.lines().filter(l -> l.startsWith("  Fix: ")).count(), msg);
        for (String noise : List.of("\tat ", "Exception", "org.h2", "SQL statement", "[90", "[2.4")) {
            assertFalse(msg.contains(noise), "'" + noise + "' in: " + msg);
        }
    }

    private static void assertStored(ResultsStore store, Map<Long, RunRecord> stored) {
        assertEquals(stored.values().stream().map(RunRecord::label).toList(),
                store.runs(null).stream().map(RunSummary::label).toList());
        for (Map.Entry<Long, RunRecord> e : stored.entrySet()) {
            assertEquals(e.getValue().layers(), store.layerResults(e.getKey()), e.getValue().label());
            List<RunRecord.Metric> metrics = new ArrayList<>(e.getValue().metrics());
            metrics.sort(Comparator.comparing(RunRecord.Metric::name).thenComparing(RunRecord.Metric::split));
            assertEquals(metrics, store.metrics(e.getKey()), e.getValue().label());
        }
    }

    /** The rows each table should hold for these runs, counted from the records (distinct model, plan, dataset). */
    private static Map<String, Long> expectedRows(Iterable<RunRecord> runs) {
        List<RunRecord> all = new ArrayList<>();
        runs.forEach(all::add);
        Map<String, Long> rows = new LinkedHashMap<>();
        rows.put("model", all.stream().map(r -> r.model().contentHash()).distinct().count());
        rows.put("dataset", all.stream().map(r -> r.dataset().contentHash() + r.dataset().split()).distinct().count());
        rows.put("plan", all.stream().map(RunRecord::planJson).distinct().count());
        rows.put("run", (long) all.size());
        rows.put("layer_result", all.stream().mapToLong(r -> r.layers().size()).sum());
        rows.put("metric", all.stream().mapToLong(r -> r.metrics().size()).sum());
        return rows;
    }

    /** Counts every table's rows with plain JDBC, past the store's own queries. */
    private static Map<String, Long> rowCounts(Path base) throws SQLException {
        Map<String, Long> rows = new LinkedHashMap<>();
        try (Connection c = DriverManager.getConnection("jdbc:h2:file:" + base.toAbsolutePath(), "sa", "");
             Statement st = c.createStatement()) {
            for (String table : TABLES) {
                try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM " + table)) {
                    rs.next();
                    rows.put(table, rs.getLong(1));
                }
            }
        }
        return rows;
    }

    /** What {@code action} printed on System.err (where H2 prints the errors it cannot write to its trace file). */
    static String stderrOf(Runnable action) {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            action.run();
        } finally {
            System.setErr(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    private static Map<String, byte[]> snapshot(Path folder) throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        try (Stream<Path> list = Files.list(folder)) {
            for (Path p : list.sorted().toList()) {
                files.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return files;
    }
}
