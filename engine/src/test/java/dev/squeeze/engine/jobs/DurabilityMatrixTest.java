package dev.squeeze.engine.jobs;

import dev.squeeze.engine.cli.SqueezeCli;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.store.CrashPoints;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.RunSummary;
import dev.squeeze.engine.store.StoreFixtures;
import dev.squeeze.engine.testing.SharedData;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The durability matrix: a job is hit at one point — calibration, inside a layer, while its finished run is
 * written to the database, right after that write commits, during a schema upgrade — by one fault — kill -9 of the
 * process that holds the database, kill -9 of the worker, a full disk. The process that holds the database is a
 * child JVM ({@link DurabilityChild}); the kills are real SIGKILLs at points where the child or its worker has been
 * parked ({@link FaultInjection}, {@link CrashPoints}); the full disk is the simulated one, filling up at the
 * point. After each, from a fresh process's point of view:
 * <ul>
 *   <li>the database opens, and the run stored before the job is exactly as it was;</li>
 *   <li>a job is DONE exactly when its run exists (never a run without a DONE job, nor the reverse, nor twice);</li>
 *   <li>the job is DONE, or resumable (INTERRUPTED or FAILED) with a reason that names what happened, and
 *       {@code squeeze resume --all} finishes it with exactly the metrics and layers of an uninterrupted run.</li>
 * </ul>
 * Every cell, with what was observed, goes into a table printed at the end (and written to
 * {@code target/durability-matrix.md}).
 */
class DurabilityMatrixTest {
    private static final String PARENT = "kill -9 of the process holding the database";
    private static final String WORKER = "kill -9 of the worker";
    private static final String DISK = "full disk";

    private static final Table TABLE = new Table();

    /**
     * JVM options for the short-lived child JVMs and their workers: on two cores a JVM that lives a few seconds
     * spends much of them in the C2 compiler and parallel GC threads; results do not depend on either.
     */
    static final List<String> QUICK_JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    @TempDir
    static Path models;

    @TempDir
    Path dir;

    private static JobSpec mlp;
    private static RunRecord mlpReference;
    private static final Map<String, RunRecord> references = new HashMap<>();

    /** A job cell: where it is hit, by what, how the child is set up, and what must be true afterwards. */
    record Cell(String point, String fault, boolean languageModel, String workerFault, String pauseAt, String disk,
                String waitFor, Expect expect, String reasonMentions) {
        @Override
        public String toString() {
            return point + " × " + fault;
        }
    }

    enum Expect { INTERRUPTED, FAILED, DONE }

    static Stream<Cell> jobCells() {
        String block2 = "calibration (block 2 of 5)";
        return Stream.of(
                // Calibration (GPTQ on stories260K): the worker is parked when block 2's calibration begins,
                // 7 of 35 layers done; for the full disk it is not parked and the disk fills at that moment.
                new Cell("calibration", PARENT, true, "hang-in-calibration:7", null, "real", block2,
                        Expect.INTERRUPTED, "after 7 of 35 layers"),
                new Cell("calibration", WORKER, true, "hang-in-calibration:7", null, "real", block2,
                        Expect.FAILED, "killed by signal 9 (SIGKILL)"),
                new Cell("calibration", DISK, true, null, null, "event:" + block2, null,
                        Expect.INTERRUPTED, "after 7 of 35 layers"),
                // Inside layer 2 of 3 (RTN on a small MLP): the worker spends a while inside fc2.
                new Cell("inside a layer", PARENT, false, "slow-layer:1:60000", null, "real", "fc2 started",
                        Expect.INTERRUPTED, "after 1 of 3 layers"),
                new Cell("inside a layer", WORKER, false, "slow-layer:1:60000", null, "real", "fc2 started",
                        Expect.FAILED, "killed by signal 9 (SIGKILL)"),
                new Cell("inside a layer", DISK, false, "slow-layer:1:1500", null, "event:fc2 started", null,
                        Expect.INTERRUPTED, "after 1 of 3 layers"),
                // Writing the finished run: the run's rows and the job's DONE are written, not committed.
                new Cell("database write of the run", PARENT, false, null, CrashPoints.RUN_WRITTEN, "real",
                        "paused at " + CrashPoints.RUN_WRITTEN, Expect.INTERRUPTED, "after 3 of 3 layers"),
                // The worker has delivered its run and is parked; killed while the parent writes (paused 1.5 s).
                new Cell("database write of the run", WORKER, false, "hang-after-result:0",
                        CrashPoints.RUN_WRITTEN + ":1500", "real", "paused at " + CrashPoints.RUN_WRITTEN,
                        Expect.DONE, null),
                new Cell("database write of the run", DISK, false, null, null, "point:" + CrashPoints.RUN_WRITTEN,
                        null, Expect.INTERRUPTED, "after 3 of 3 layers"),
                // Just after the run's commit, before the engine has heard of it.
                new Cell("run committed", PARENT, false, null, CrashPoints.RUN_COMMITTED, "real",
                        "paused at " + CrashPoints.RUN_COMMITTED, Expect.DONE, null),
                new Cell("run committed", DISK, false, null, null, "point:" + CrashPoints.RUN_COMMITTED, null,
                        Expect.DONE, null));
    }

    /** A schema-upgrade cell: which database, where the child stops, and by what. */
    record Upgrade(String point, String fault, boolean fromV1) {
        @Override
        public String toString() {
            return (fromV1 ? "upgrade V1→V3 at " : "new database at ") + point + " × " + fault;
        }
    }

    static Stream<Upgrade> upgradeCells() {
        return Stream.of(
                new Upgrade(CrashPoints.UPGRADE_COPIED, PARENT, true),
                new Upgrade(CrashPoints.migrated("2"), PARENT, true),
                new Upgrade(CrashPoints.migrated("3"), PARENT, true),
                new Upgrade(CrashPoints.UPGRADE_READY, PARENT, true),
                new Upgrade(CrashPoints.UPGRADE_MOVED, PARENT, true),
                new Upgrade(CrashPoints.migrated("1"), PARENT, false),
                new Upgrade(CrashPoints.UPGRADE_COPIED, DISK, true),
                new Upgrade(CrashPoints.migrated("2"), DISK, true),
                new Upgrade(CrashPoints.migrated("1"), DISK, false));
    }

    @BeforeAll
    static void models() throws Exception {
        Path model = TinyModels.writeDeepMlp(models, 17);
        Path[] idx = TinyModels.writeIdx(models, TinyModels.images(120, 9));
        mlp = new JobSpec(model.toString(), CompressionPlan.parse(
                "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4,\"groupSize\":16}}").canonicalJson(),
                "rtn4", 32, 0, false, 0, idx[0].toString(), idx[1].toString(), List.of("matrix"));
        mlpReference = JobTesting.reference(mlp);
        TABLE.add("| point | fault | what the fault hit | state after the fault (next start) | after `resume --all` |");
        TABLE.add("|---|---|---|---|---|");
    }

    private static JobSpec languageModel() {
        Path bin = SharedData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        return new JobSpec(bin.toString(), CompressionPlan.parse("{\"schema\":1,\"preset\":\"gptq-4bit-g128\"}")
                .canonicalJson(), "gptq4", 1, 5, false, 1, null, null, List.of("matrix"));
    }

    private static synchronized RunRecord reference(JobSpec spec) {
        return references.computeIfAbsent(spec.toJson(), k -> JobTesting.reference(spec));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("jobCells")
    void aJobHitByAFaultLosesNothingAndResumesToTheUninterruptedResult(Cell cell) throws Exception {
        JobSpec spec = cell.languageModel() ? languageModel() : mlp;
        RunRecord reference = cell.languageModel() ? reference(spec) : mlpReference;
        Path base = dir.resolve("results");
        RunRecord earlier = earlierRun();
        long earlierId;
        try (ResultsStore store = ResultsStore.openFile(base)) {
            earlierId = store.recordRun(earlier);
        }
        Path specFile = Files.writeString(dir.resolve("job.json"), spec.toJson());

        Child child = Child.start(dir, base, specFile.toString(), cell.disk(), cell.workerFault(), cell.pauseAt());
        String hit;
        if (cell.waitFor() != null) {
            child.awaitLine(cell.waitFor());
            if (cell.fault().equals(PARENT)) {
                child.killParent();
                hit = "SIGKILL after \"" + cell.waitFor() + "\"";
            } else {
                hit = "SIGKILL of the worker after \"" + cell.waitFor() + "\"";
                child.killWorkers();
            }
        } else {
            hit = "disk full from " + cell.disk().substring(cell.disk().indexOf(':') + 1);
        }
        int exit = child.awaitExit();
        child.assertNoStackTrace();
        if (cell.fault().equals(PARENT)) {
            assertEquals(137, exit, "killed by SIGKILL");
        } else if (cell.fault().equals(DISK) && cell.expect() != Expect.DONE) {
            assertTrue(child.output().stream().anyMatch(l -> l.startsWith("squeeze: The results database ")
                    && l.contains("cannot be written any more: the disk is full")), child.describe());
            assertEquals(1, child.output().stream().filter(l -> l.startsWith("squeeze: ")).count(), "said once");
        }

        String after;
        try (ResultsStore store = ResultsStore.openFile(base)) {
            // What the next start does: a job left RUNNING by a dead process becomes INTERRUPTED.
            JobEngine.recoverInterrupted(store.jobs());
            assertEarlierRunIntact(store, earlierId, earlier);
            JobRow job = store.jobs().get(1).orElseThrow();
            assertConsistent(store, earlierId);
            assertEquals(cell.expect().name(), job.status().name(), cell + ": " + job.reason() + "\n" + child.describe());
            if (cell.expect() == Expect.DONE) {
                JobTesting.assertSameResults(reference, store, job.runId());
                assertEquals(1, job.attempts());
            } else {
                assertTrue(job.status().resumable(), job.status().name());
                assertTrue(job.reason().contains(cell.reasonMentions()), job.reason());
                assertNull(job.runId());
            }
            after = job.status().name() + (job.reason() == null ? ", run " + job.runId() : ": " + job.reason());
        }

        String resumed = "—";
        if (cell.expect() != Expect.DONE) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = SqueezeCli.execute(new String[]{"--db", base.toString(), "resume", "--all"},
                    new PrintWriter(out, true), new PrintWriter(err, true));
            assertEquals(0, code, out + "\n" + err);
            assertFalse(err.toString().contains("\tat "), err.toString());
            try (ResultsStore store = ResultsStore.openFile(base)) {
                JobRow job = store.jobs().get(1).orElseThrow();
                assertEquals(JobStatus.DONE, job.status(), job.reason());
                assertEquals(2, job.attempts());
                JobTesting.assertSameResults(reference, store, job.runId());
                assertEarlierRunIntact(store, earlierId, earlier);
                assertConsistent(store, earlierId);
                assertEquals(2, store.runs(null).size(), "the earlier run and this job's, once");
            }
            resumed = "DONE, metrics and layers equal to the uninterrupted run";
        }
        TABLE.add("| " + cell.point() + " | " + cell.fault() + " | " + hit + " | " + after + " | " + resumed + " |");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("upgradeCells")
    void anUpgradeHitByAFaultLeavesTheDatabaseUsable(Upgrade cell) throws Exception {
        Path base = dir.resolve("results");
        Files.createDirectories(dir);
        byte[] before = null;
        if (cell.fromV1()) {
            StoreFixtures.writeV1Database(base);
            before = Files.readAllBytes(StoreFixtures.fileOf(base));
        }
        boolean kill = cell.fault().equals(PARENT);
        Child child = Child.start(dir, base, "-", kill ? "real" : "point:" + cell.point(), null,
                kill ? cell.point() : null);
        String state;
        if (kill) {
            child.awaitLine("paused at " + cell.point());
            child.killParent();
            assertEquals(137, child.awaitExit());
            boolean moved = cell.point().equals(CrashPoints.UPGRADE_MOVED);
            Path file = StoreFixtures.fileOf(base);
            if (!moved) {
                assertTrue(fileNames(dir).stream().anyMatch(n -> n.startsWith("results.upgrading-")),
                        "killed while the copy was being made: " + fileNames(dir));
            }
            if (cell.fromV1() && !moved) {
                assertArrayEquals(before, Files.readAllBytes(file), "the original is untouched until the move");
                state = "the original V1 file byte-identical; the copy left beside it";
            } else if (moved) {
                state = "the upgraded file in place";
            } else {
                assertFalse(Files.exists(file), "no half-created database in place");
                state = "no database file yet; the half-built copy beside it";
            }
        } else {
            assertEquals(3, child.awaitExit(), child.describe());
            String verb = cell.fromV1() ? "squeeze: Cannot upgrade the results database " : "squeeze: Cannot create the results database ";
            assertTrue(child.output().stream().anyMatch(l -> l.startsWith(verb) && l.contains("the disk is full")),
                    child.describe());
            if (cell.fromV1()) {
                // Full right after the copy: the migration cannot write; after V2: the copy cannot be closed
                // properly — or it can, and then the store's own open is what fails. Either way nothing is lost.
                byte[] now = Files.readAllBytes(StoreFixtures.fileOf(base));
                state = java.util.Arrays.equals(before, now) ? "clear error; the original V1 file byte-identical"
                        : "clear error; the upgraded file in place";
            } else {
                assertFalse(Files.exists(StoreFixtures.fileOf(base)));
                state = "clear error; no database file, nothing half-created";
            }
            assertEquals(List.of("results.mv.db", "results.upgrade.lock").subList(cell.fromV1() ? 0 : 1, 2),
                    fileNames(dir).stream().filter(n -> n.startsWith("results")).toList(), "the copy is deleted");
        }
        child.assertNoStackTrace();

        // The next start: opens (finishing the upgrade or the creation), the old run intact, no copy left over.
        try (ResultsStore store = ResultsStore.openFile(base)) {
            if (cell.fromV1()) {
                StoreFixtures.assertV1RunIntact(store);
            } else {
                assertEquals(List.of(), store.runs(null));
            }
            store.jobs().add("{}", "8".repeat(64), "m", "the V2 tables work");
        }
        assertEquals(List.of("results.mv.db", "results.upgrade.lock"),
                fileNames(dir).stream().filter(n -> n.startsWith("results")).toList());
        TABLE.add("| schema " + (cell.fromV1() ? "upgrade V1→V3" : "creation") + ", at `" + cell.point() + "` | "
                + cell.fault() + " | " + (kill ? "SIGKILL while paused there" : "disk full from there") + " | " + state
                + " | next open: " + (cell.fromV1() ? "upgraded, the V1 run intact" : "created") + " |");
    }

    @AfterAll
    static void printTable() throws IOException {
        TABLE.add("| schema upgrade | " + WORKER + " | not applicable: the database is upgraded when it is opened, "
                + "before any worker starts | — | — |");
        TABLE.add("| run committed | " + WORKER + " | not applicable: the worker delivered its run before the write "
                + "(see \"database write of the run\" × " + WORKER + ") | — | — |");
        String table = String.join("\n", TABLE.rows) + "\n";
        System.out.println("Durability matrix:\n" + table);
        Path target = Path.of("target");
        if (Files.isDirectory(target)) {
            Files.writeString(target.resolve("durability-matrix.md"), table);
        }
    }

    /** A run stored before the job, with its own model, plan and data set. */
    private static RunRecord earlierRun() {
        return new RunRecord(
                new RunRecord.ModelRecord("e".repeat(64), "earlier", "/models/earlier.bin", "llama2c", "llama",
                        1000, 4000),
                new RunRecord.DatasetRecord("earlier-data", "/data/e", "d".repeat(64), "evaluation", 10),
                "{\"schema\":1,\"earlier\":true}", "earlier plan", "earlier run", Instant.parse("2026-01-01T00:00:00Z"),
                Instant.parse("2026-01-01T00:01:00Z"), 3, new Provenance("0.1.0", "abc", "host", "25", "java"), 900,
                2000, 4.5, List.of(new RunRecord.LayerResult("a", "rtn", "RTN 4-bit", 4500, 4.5, 0.01, 7),
                new RunRecord.LayerResult("b", "rtn", "RTN 4-bit", 4500, 4.5, null, 8)),
                List.of(new RunRecord.Metric("perplexity", "evaluation", 9.75),
                        new RunRecord.Metric("kl", "evaluation", 0.125)));
    }

    private static void assertEarlierRunIntact(ResultsStore store, long id, RunRecord earlier) {
        RunSummary s = store.runs(null).stream().filter(r -> r.id() == id).findFirst().orElseThrow();
        assertEquals(earlier.label(), s.label());
        assertEquals(earlier.layers(), store.layerResults(id));
        assertEquals(List.of(new RunRecord.Metric("kl", "evaluation", 0.125),
                new RunRecord.Metric("perplexity", "evaluation", 9.75)), store.metrics(id));
    }

    /** A job is DONE exactly when its run exists; no run without its DONE job (other than the earlier one). */
    private static void assertConsistent(ResultsStore store, long earlierId) {
        Set<Long> runs = new HashSet<>(store.runs(null).stream().map(RunSummary::id).toList());
        Set<Long> ofJobs = new HashSet<>();
        for (JobRow j : store.jobs().all()) {
            if (j.status() == JobStatus.DONE) {
                assertNotNull(j.runId(), "a DONE job without its run: " + j);
                assertTrue(runs.contains(j.runId()), "job " + j.id() + " names a missing run");
                assertTrue(ofJobs.add(j.runId()), "two jobs share run " + j.runId());
            } else {
                assertNull(j.runId(), "an unfinished job with a run: " + j);
            }
        }
        runs.remove(earlierId);
        assertEquals(ofJobs, runs, "runs without a DONE job");
    }

    private static List<String> fileNames(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** The rows of the table, in the order the cells ran. */
    private static final class Table {
        final ConcurrentLinkedQueue<String> rows = new ConcurrentLinkedQueue<>();

        void add(String row) {
            rows.add(row);
        }
    }

    /** A {@link DurabilityChild} JVM, its output, and its workers. */
    private static final class Child {
        private final Process process;
        private final Path stderr;
        private final List<String> lines = new CopyOnWriteArrayList<>();
        private final List<ProcessHandle> seen = new CopyOnWriteArrayList<>();

        private Child(Process process, Path stderr) {
            this.process = process;
            this.stderr = stderr;
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = in.readLine()) != null) {
                        lines.add(l);
                    }
                } catch (IOException ignored) {
                    // The child was killed.
                }
            }, "durability-child-output");
            reader.setDaemon(true);
            reader.start();
        }

        static Child start(Path dir, Path base, String spec, String disk, String workerFault, String pauseAt)
                throws IOException {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector", "-Xmx512m"));
            cmd.addAll(QUICK_JVM);
            // squeeze.* properties travel on to the worker: its faults, the data folders.
            if (workerFault != null) {
                cmd.add("-Dsqueeze.worker.fault=" + workerFault);
            }
            if (pauseAt != null) {
                cmd.add("-Dsqueeze.test.pause-at=" + pauseAt);
            }
            for (String k : List.of("squeeze.root", "squeeze.shared")) {
                if (System.getProperty(k) != null) {
                    cmd.add("-D" + k + "=" + System.getProperty(k));
                }
            }
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DurabilityChild.class.getName(),
                    base.toString(), spec, disk));
            Path err = dir.resolve("child-" + System.nanoTime() + ".err");
            return new Child(new ProcessBuilder(cmd).redirectError(err.toFile()).start(), err);
        }

        /** Waits until a line of standard output, or of standard error (the crash points), contains {@code text}. */
        void awaitLine(String text) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (lines.stream().noneMatch(l -> l.contains(text)) && !Files.readString(stderr).contains(text)) {
                if (System.nanoTime() > deadline || !process.isAlive()) {
                    process.destroyForcibly();
                    fail("the child never reached \"" + text + "\"\n" + describe());
                }
                rememberWorkers();
                Thread.sleep(20);
            }
            rememberWorkers();
        }

        private void rememberWorkers() {
            process.descendants().forEach(p -> {
                if (!seen.contains(p)) {
                    seen.add(p);
                }
            });
        }

        void killParent() {
            rememberWorkers();
            process.toHandle().destroyForcibly(); // SIGKILL
        }

        void killWorkers() {
            List<ProcessHandle> workers = process.descendants().filter(JobTesting::isWorker).toList();
            assertEquals(1, workers.size(), "one worker: " + workers);
            workers.forEach(ProcessHandle::destroyForcibly); // SIGKILL
        }

        /** The child's exit status, once it and every worker it started have ended. */
        int awaitExit() throws Exception {
            if (!process.waitFor(3, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                fail("the child did not end\n" + describe());
            }
            for (ProcessHandle w : seen) {
                // A worker whose parent died stops at its next safe point (the parked ones poll for that).
                w.onExit().get(30, TimeUnit.SECONDS);
            }
            return process.exitValue();
        }

        List<String> output() {
            return lines;
        }

        void assertNoStackTrace() throws IOException {
            String err = Files.readString(stderr);
            assertFalse(err.contains("\tat ") || lines.stream().anyMatch(l -> l.startsWith("\tat ")),
                    "a stack trace reached the user:\n" + describe());
        }

        String describe() {
            try {
                return "stdout:\n" + String.join("\n", lines) + "\nstderr:\n" + Files.readString(stderr);
            } catch (IOException e) {
                return "stdout:\n" + String.join("\n", lines);
            }
        }
    }
}
