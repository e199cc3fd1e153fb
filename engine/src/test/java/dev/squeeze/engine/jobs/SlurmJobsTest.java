package dev.squeeze.engine.jobs;

import dev.squeeze.engine.jobs.launch.LoopbackSlurm;
import dev.squeeze.engine.jobs.launch.SlurmSettings;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.squeeze.engine.jobs.JobTesting.Events;
import static dev.squeeze.engine.jobs.JobTesting.assertSameResults;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jobs on a real Slurm cluster: the loopback cluster of {@code .ci/slurm-loopback.sh} (two nodes, one CPU each),
 * started by CI or by {@link LoopbackSlurm}. Each job is a Slurm batch job running the same worker as a local job;
 * its results must be identical to a local run's, and every way Slurm can end it must leave a job that resumes.
 */
class SlurmJobsTest {
    private static final Duration WAIT = Duration.ofSeconds(120);

    @TempDir
    Path dir;
    @TempDir
    Path shared;

    private static LoopbackSlurm cluster;
    private static Path model;
    private static Path[] idx;
    private ResultsStore store;
    private final Events events = new Events();

    @BeforeAll
    static void setUp(@TempDir Path modelDir) throws Exception {
        cluster = LoopbackSlurm.get();
        model = TinyModels.writeDeepMlp(modelDir, 7);
        idx = TinyModels.writeIdx(modelDir, TinyModels.images(200, 3));
    }

    @BeforeEach
    void open() {
        cluster.awaitIdle(Duration.ofSeconds(60));
        store = ResultsStore.openFile(dir.resolve("results"));
    }

    @AfterEach
    void close() {
        store.close();
        for (String line : cluster.run("squeue", "-h", "-o", "%i %j").split("\\R")) {
            if (line.contains("squeeze-")) {
                cluster.run("scancel", line.strip().split(" ")[0]);
            }
        }
    }

    static JobSpec rtn(int bits, String label) {
        return new JobSpec(model.toString(), CompressionPlan.parse(
                "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":" + bits + ",\"groupSize\":16}}").canonicalJson(),
                label, 32, 0, false, 0, idx[0].toString(), idx[1].toString(), List.of("t-" + label));
    }

    private SlurmSettings settings() {
        return new SlurmSettings(shared.toString(), null, null, 1, "600M", "10:00", null,
                cluster.slurmConf().toString(), null, List.of());
    }

    private JobEngine engine(int workers, String... jvmArgs) {
        JobEngine e = new JobEngine(store, dir.resolve("checkpoints"), new JobEngine.Options(workers, null,
                List.of(jvmArgs), Duration.ofSeconds(10), JobEngine.Launcher.slurm(settings())));
        e.addListener(events);
        return e;
    }

    private JobEvent awaitEnd(long id) throws InterruptedException {
        return events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.ENDED, WAIT);
    }

    @Test
    void aSweepOnSlurmStoresTheSameResultsAsLocalJobsAndRecordsWhereEachRan() throws Exception {
        List<JobSpec> specs = List.of(rtn(4, "s4"), rtn(3, "s3"), rtn(8, "s8"));
        List<Long> ids;
        try (JobEngine engine = engine(3)) {
            ids = engine.submitAll(specs);
            engine.await(ids);
        }
        Set<String> nodes = new HashSet<>();
        for (int i = 0; i < ids.size(); i++) {
            JobRow row = store.jobs().get(ids.get(i)).orElseThrow();
            assertEquals(JobStatus.DONE, row.status(), row.reason());
            assertEquals("slurm", row.launcher());
            assertTrue(row.workerId().matches("\\d+"), "a Slurm job id: " + row.workerId());
            assertTrue(cluster.nodes().contains(row.node()), "ran on a node of the cluster: " + row.node());
            nodes.add(row.node());
            assertSameResults(JobTesting.reference(specs.get(i)), store, row.runId());
            assertTrue(events.of(ids.get(i)).stream().anyMatch(e -> e.kind() == JobEvent.Kind.PLACED
                    && e.message().startsWith("Slurm job " + row.workerId() + " on node")), "the node was reported");
        }
        assertTrue(Files.isDirectory(shared.resolve("squeeze-" + JobEngine.databaseKey(dir.resolve("checkpoints")
                .toAbsolutePath()))), "jobs live under the shared directory");
        assertTrue(Files.exists(logOf(ids.getFirst())), "the job's log is in the shared directory");
    }

    @Test
    void twoJobsRunAtOnceOnTheTwoNodes() throws Exception {
        try (JobEngine engine = engine(3, "-Dsqueeze.worker.fault=slow-layer:0:4000")) {
            List<Long> ids = engine.submitAll(List.of(rtn(4, "a"), rtn(8, "b")));
            // Both workers are inside their first (slow) layer at the same time, on different nodes.
            for (long id : ids) {
                events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.LAYER && "started".equals(e.message()),
                        WAIT);
            }
            String running = cluster.run("squeue", "-h", "-t", "RUNNING", "-o", "%j %N");
            // A third job waits for a node: its phase says so, with Slurm's reason.
            long third = engine.submit(rtn(3, "c"));
            JobEvent pending = events.await(e -> e.jobId() == third && e.kind() == JobEvent.Kind.PHASE
                    && "pending".equals(e.phase()), WAIT);
            assertTrue(pending.detail().matches("Slurm job \\d+ waits in the queue \\((Resources|Priority|None)\\)"),
                    pending.detail());
            ids = new ArrayList<>(ids);
            ids.add(third);
            List<String> lines = running.strip().lines().filter(l -> l.startsWith("squeeze-")).toList();
            assertEquals(2, lines.size(), "two jobs running at once: " + running);
            assertNotEquals(lines.get(0).split(" ")[1], lines.get(1).split(" ")[1], "on two nodes: " + running);
            engine.await(ids);
            for (long id : ids) {
                assertEquals(JobStatus.DONE, store.jobs().get(id).orElseThrow().status());
            }
        }
    }

    @Test
    void scancelFromOutsideFailsTheJobWithSlurmsReasonAndItResumes() throws Exception {
        JobSpec spec = rtn(3, "scancelled");
        long id;
        try (JobEngine engine = engine(1, "-Dsqueeze.worker.fault=slow-layer:1:60000")) {
            id = engine.submit(spec);
            events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.LAYER && "done".equals(e.message())
                    && "fc1".equals(e.layer()), WAIT);
            String slurmId = store.jobs().get(id).orElseThrow().workerId();
            cluster.run("scancel", slurmId);
            JobEvent end = awaitEnd(id);
            assertEquals(JobStatus.FAILED, end.status(), end.describe());
            assertTrue(end.message().contains("Slurm cancelled Slurm job " + slurmId), end.message());
            assertTrue(JobStatus.FAILED.canResume());
        }
        events.clear();
        try (JobEngine engine = engine(1)) {
            engine.resume(id);
            JobEvent end = awaitEnd(id);
            assertEquals(JobStatus.DONE, end.status(), end.describe());
            assertTrue(events.of(id).stream().anyMatch(e -> "restored".equals(e.message()) && "fc1".equals(e.layer())),
                    "the layer done before the scancel came from its checkpoint");
            assertSameResults(JobTesting.reference(spec), store, end.runId());
        }
    }

    @Test
    void aWorkerKilledOnItsNodeIsAResumableFailure() throws Exception {
        JobSpec spec = rtn(3, "killed");
        long id;
        try (JobEngine engine = engine(1, "-Dsqueeze.worker.fault=hang-after-layer:1")) {
            id = engine.submit(spec);
            events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.LAYER && e.layersDone() == 2
                    && "done".equals(e.message()), WAIT);
            ProcessHandle worker = ProcessHandle.of(workerPid(id)).orElseThrow();
            assertTrue(worker.destroyForcibly(), "SIGKILL sent to the worker on its node");
            JobEvent end = awaitEnd(id);
            assertEquals(JobStatus.FAILED, end.status(), end.describe());
            assertTrue(end.message().contains("killed by signal 9"), end.message());
        }
        events.clear();
        try (JobEngine engine = engine(1)) {
            engine.resume(id);
            JobEvent end = awaitEnd(id);
            assertEquals(JobStatus.DONE, end.status(), end.describe());
            long restored = events.of(id).stream().filter(e -> "restored".equals(e.message())).count();
            assertEquals(2, restored, "the two layers done before the kill came from their checkpoints");
            assertSameResults(JobTesting.reference(spec), store, end.runId());
        }
    }

    @Test
    void aClosedParentLeavesItsJobRunningAndResumeReconnectsWithoutSubmittingAgain() throws Exception {
        JobSpec running = rtn(4, "goes-on");
        JobSpec finished = rtn(8, "ends-alone");
        List<Long> ids;
        try (JobEngine engine = engine(2, "-Dsqueeze.worker.fault=slow-layer:2:6000")) {
            ids = engine.submitAll(List.of(running, finished));
            for (long id : ids) {
                events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.LAYER && "fc3".equals(e.layer())
                        && "started".equals(e.message()), WAIT);
            }
        } // the parent closes while both work on their last layer
        List<String> slurmIds = new ArrayList<>();
        for (long id : ids) {
            JobRow row = store.jobs().get(id).orElseThrow();
            assertEquals(JobStatus.INTERRUPTED, row.status());
            assertTrue(row.reason().contains("it goes on there"), row.reason());
            slurmIds.add(row.workerId());
        }
        assertTrue(cluster.run("squeue", "-h", "-j", slurmIds.get(0), "-o", "%T").strip().matches("RUNNING|COMPLETING"),
                "the Slurm job goes on without its parent");
        // The second job finishes while no Squeeze process watches it.
        awaitSlurmState(slurmIds.get(1), "COMPLETED", "the second Slurm job did not complete");
        events.clear();
        try (JobEngine engine = engine(2)) {
            for (long id : ids) {
                engine.resume(id);
            }
            engine.await(ids);
        }
        for (int i = 0; i < ids.size(); i++) {
            JobRow row = store.jobs().get(ids.get(i)).orElseThrow();
            assertEquals(JobStatus.DONE, row.status(), row.reason());
            assertEquals(slurmIds.get(i), row.workerId(), "reconnected to the same Slurm job, not a new one");
            assertSameResults(JobTesting.reference(i == 0 ? running : finished), store, row.runId());
        }
    }

    @Test
    void cancellingAJobLeftRunningByAClosedParentEndsItsSlurmJob() throws Exception {
        long id;
        try (JobEngine engine = engine(1, "-Dsqueeze.worker.fault=slow-layer:1:60000")) {
            id = engine.submit(rtn(4, "left-running"));
            events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.LAYER && "fc2".equals(e.layer())
                    && "started".equals(e.message()), WAIT);
        }
        String slurmId = store.jobs().get(id).orElseThrow().workerId();
        assertEquals("RUNNING", cluster.run("squeue", "-h", "-j", slurmId, "-o", "%T").strip());
        try (JobEngine engine = engine(1)) {
            var refused = assertThrows(dev.squeeze.engine.SqueezeException.class,
                    () -> engine.resume(id, JobEngine.Launcher.LOCAL));
            assertTrue(refused.getMessage().contains("still running as Slurm job " + slurmId), refused.getMessage());
            engine.cancel(id);
        }
        assertEquals(JobStatus.CANCELLED, store.jobs().get(id).orElseThrow().status());
        awaitSlurmState(slurmId, "CANCELLED", "the Slurm job was cancelled");
    }

    @Test
    void aJobThatFailedWithAMessageIsSubmittedAnewOnResumeNotReadAgain() throws Exception {
        JobSpec spec = rtn(4, "fails-once");
        long id;
        Path inTheWay;
        try (JobEngine engine = engine(1)) {
            // A folder where the first layer's checkpoint goes: the worker cannot write it and says so (failed).
            Path jobRoot = shared.resolve("squeeze-" + JobEngine.databaseKey(dir.resolve("checkpoints").toAbsolutePath()));
            inTheWay = jobRoot.resolve("job-1").resolve("00000.ckpt");
            Files.createDirectories(inTheWay.resolve("occupied"));
            long submitted = engine.submit(spec);
            assertEquals(1, submitted);
            JobEvent end = awaitEnd(submitted);
            assertEquals(JobStatus.FAILED, end.status(), end.describe());
            assertTrue(end.message().contains("checkpoint"), end.message());
            id = submitted;
        }
        String first = store.jobs().get(id).orElseThrow().workerId();
        Files.delete(inTheWay.resolve("occupied"));
        Files.delete(inTheWay);
        events.clear();
        try (JobEngine engine = engine(1)) {
            engine.resume(id);
            JobEvent end = awaitEnd(id);
            assertEquals(JobStatus.DONE, end.status(), end.describe());
        }
        JobRow row = store.jobs().get(id).orElseThrow();
        assertNotEquals(first, row.workerId(), "a new Slurm job, not the old one's failure read again");
        assertSameResults(JobTesting.reference(spec), store, row.runId());
    }

    @Test
    void aSearchOnSlurmStoresTheSamePointsAsTheSameSearchRunLocally() throws Exception {
        // A small front (two budgets) with its uniform baselines; the level database goes to the shared directory.
        JobSpec search = new JobSpec(model.toString(), null, "front", 32, 0, false, 0, idx[0].toString(),
                idx[1].toString(), List.of(), new dev.squeeze.engine.search.SearchSpec(List.of("rtn"), null,
                null, 3.0, 4.0, 1.0, 0, 4, 0, 0, true));
        long onSlurm;
        try (JobEngine engine = engine(1)) {
            onSlurm = engine.submit(search.withTags(List.of("t-slurm")));
            JobEvent end = awaitEnd(onSlurm);
            assertEquals(JobStatus.DONE, end.status(), end.describe());
        }
        Path levels = logOf(onSlurm).resolveSibling("levels");
        assertTrue(Files.isDirectory(levels), "the level database is in the shared directory: " + levels);
        long local;
        try (JobEngine engine = new JobEngine(store, dir.resolve("local-checkpoints"), JobTesting.options(1))) {
            local = engine.submit(search.withTags(List.of("t-local")));
            engine.await(List.of(local));
            assertEquals(JobStatus.DONE, store.jobs().get(local).orElseThrow().status());
        }
        assertEquals(points("t-local"), points("t-slurm"), "the same runs, label by label");
        assertTrue(points("t-slurm").size() >= 3, "two searched points and baselines: " + points("t-slurm"));
    }

    /** The stored runs tagged {@code tag}: label → (stored bytes, metrics without latency). */
    private java.util.Map<String, List<Object>> points(String tag) {
        java.util.Map<String, List<Object>> out = new java.util.TreeMap<>();
        for (var r : store.runs(null)) {
            if (store.tags(r.id()).contains(tag)) {
                out.put(r.label(), List.of(r.sizeBytes(), JobTesting.results(store.metrics(r.id())).stream()
                        .map(m -> m.name() + "@" + m.split() + "=" + m.value()).sorted().toList()));
            }
        }
        return out;
    }

    @Test
    void aSharedDirectoryThatDoesNotExistIsRefusedBeforeAnythingIsQueued() {
        SlurmSettings missing = settings().withSharedDir(shared.resolve("not-there").toString());
        try (JobEngine engine = new JobEngine(store, dir.resolve("checkpoints"), new JobEngine.Options(1, "400m",
                List.of(), Duration.ofSeconds(10), JobEngine.Launcher.slurm(missing)))) {
            var e = assertThrows(dev.squeeze.engine.SqueezeException.class, () -> engine.submit(rtn(4, "x")));
            assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
            assertTrue(store.jobs().all().isEmpty(), "nothing queued");
        }
    }

    @Test
    void cancelStopsTheSlurmJobAtItsNextSafePoint() throws Exception {
        try (JobEngine engine = engine(1, "-Dsqueeze.worker.fault=slow-layer:1:60000")) {
            long id = engine.submit(rtn(4, "cancel-me"));
            events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.LAYER && "started".equals(e.message())
                    && "fc2".equals(e.layer()), WAIT);
            String slurmId = store.jobs().get(id).orElseThrow().workerId();
            engine.cancel(id);
            JobEvent end = awaitEnd(id);
            assertEquals(JobStatus.CANCELLED, end.status(), end.describe());
            assertNotNull(slurmId);
            awaitSlurmState(slurmId, "COMPLETED", "the worker stopped by itself (COMPLETED, not killed)");
        }
    }

    /** The worker's process id, as its hello line in the job's protocol file says (the node is this machine). */
    private long workerPid(long id) throws Exception {
        Path jobDir = logOf(id).resolveSibling("job-" + id);
        try (var dirs = Files.list(jobDir)) {
            Path out = dirs.filter(d -> d.getFileName().toString().startsWith("slurm-")).findFirst().orElseThrow()
                    .resolve("out.jsonl");
            var hello = (dev.squeeze.engine.jobs.protocol.WorkerMessage.Hello) dev.squeeze.engine.jobs.protocol.Protocol
                    .workerMessage(Files.readAllLines(out).getFirst());
            return hello.pid();
        }
    }

    /** Waits until Slurm shows job {@code slurmId} in {@code state}; fails with {@code what} after {@link #WAIT}. */
    private static void awaitSlurmState(String slurmId, String state, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!cluster.run("squeue", "-h", "-t", "all", "-j", slurmId, "-o", "%T").strip().equals(state)) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(200);
        }
    }

    private Path logOf(long id) {
        return shared.resolve("squeeze-" + JobEngine.databaseKey(dir.resolve("checkpoints").toAbsolutePath()))
                .resolve("job-" + id + ".log");
    }
}
