package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.squeeze.engine.jobs.JobTesting.Events;
import static dev.squeeze.engine.jobs.JobTesting.assertSameResults;
import static dev.squeeze.engine.jobs.JobTesting.engine;
import static dev.squeeze.engine.jobs.JobTesting.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job engine with real worker processes on the built-in Fashion-MNIST MLP (three layers, seconds per job):
 * runs, concurrency, kill -9, native crash, out of memory, cancellation, damaged checkpoints, an unwritable
 * checkpoint folder and plan validation.
 */
class JobEngineTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private ResultsStore store;
    private final Events events = new Events();

    private static Path model;
    private static Path[] idx;

    @BeforeAll
    static void writeModel(@TempDir Path modelDir) throws Exception {
        model = TinyModels.writeDeepMlp(modelDir, 7);
        idx = TinyModels.writeIdx(modelDir, TinyModels.images(200, 3));
    }

    @BeforeEach
    void open() {
        store = ResultsStore.openFile(dir.resolve("results"));
    }

    @AfterEach
    void close() {
        store.close();
    }

    static JobSpec rtn(int bits, String label) {
        return spec("{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":" + bits + ",\"groupSize\":16}}", label);
    }

    static JobSpec spec(String plan, String label) {
        return new JobSpec(model.toString(), CompressionPlan.parse(plan).canonicalJson(), label, 32, 0, false, 0,
                idx[0].toString(), idx[1].toString(), List.of("t-" + label));
    }

    private Path checkpointDir(long job) {
        return dir.resolve("checkpoints").resolve("job-" + job);
    }

    @Test
    void aJobRunsInAWorkerProcessAndItsRunIsStoredWithTheJob() throws Exception {
        JobSpec spec = rtn(4, "rtn4");
        RunRecord reference = JobTesting.reference(spec);
        try (JobEngine engine = engine(store, dir, events, 1)) {
            long id = engine.submit(spec);
            JobEvent end = events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.ENDED, WAIT);
            assertEquals(JobStatus.DONE, end.status(), end.describe());
            var row = engine.jobs().get(id).orElseThrow();
            assertEquals(end.runId(), row.runId());
            assertEquals(3, row.layersDone());
            assertEquals(3, row.layersTotal());
            assertSameResults(reference, store, row.runId());
            assertEquals(List.of("t-rtn4"), store.tags(row.runId()));
            List<String> phases = events.of(id).stream().filter(e -> e.kind() == JobEvent.Kind.PHASE)
                    .map(JobEvent::phase).toList();
            assertEquals(List.of("loading", "compression", "evaluation"), phases);
            assertEquals(List.of("fc1", "fc2", "fc3"), events.of(id).stream()
                    .filter(e -> e.kind() == JobEvent.Kind.LAYER && "done".equals(e.message())).map(JobEvent::layer).toList());
            assertFalse(Files.exists(checkpointDir(id)), "a finished job's checkpoints are deleted");
        }
        assertTrue(JobTesting.workers().isEmpty(), "no worker outlives its job");
    }

    @Test
    void twoJobsRunConcurrently() throws Exception {
        // Each job spends 2 s in its first layer, so with two workers both are inside a layer at the same time.
        try (JobEngine engine = engine(store, dir, events, 2, "-Dsqueeze.worker.fault=slow-layer:0:2000")) {
            List<Long> ids = engine.submitAll(List.of(rtn(4, "a"), rtn(8, "b")));
            engine.await(ids);
            List<JobEvent> all = events.all();
            int firstEnd = indexOf(all, e -> e.kind() == JobEvent.Kind.ENDED);
            for (long id : ids) {
                assertTrue(indexOf(all, e -> e.jobId() == id && e.kind() == JobEvent.Kind.LAYER) < firstEnd,
                        "job " + id + " was working before the first job ended: " + all.stream().map(JobEvent::describe).toList());
                assertEquals(JobStatus.DONE, status(engine, id));
            }
            assertSameResults(JobTesting.reference(rtn(4, "a")), store, engine.jobs().get(ids.get(0)).orElseThrow().runId());
            assertSameResults(JobTesting.reference(rtn(8, "b")), store, engine.jobs().get(ids.get(1)).orElseThrow().runId());
        }
    }

    @Test
    void aWorkerKilledWithSigkillLeavesAResumableJobThatResumesWithIdenticalResults() throws Exception {
        JobSpec spec = rtn(3, "rtn3");
        long id;
        try (JobEngine engine = engine(store, dir, events, 1, "-Dsqueeze.worker.fault=hang-after-layer:1")) {
            id = engine.submit(spec);
            events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.LAYER && e.layersDone() == 2
                    && "done".equals(e.message()), WAIT);
            List<ProcessHandle> workers = JobTesting.workers();
            assertEquals(1, workers.size());
            assertTrue(workers.getFirst().destroyForcibly(), "SIGKILL sent");
            JobEvent end = events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.ENDED, WAIT);
            assertEquals(JobStatus.FAILED, end.status());
            assertTrue(end.message().contains("signal 9 (SIGKILL)"), end.message());
            assertTrue(end.message().contains("after 2 of 3 layers"), end.message());
            assertTrue(Files.exists(checkpointDir(id).resolve("00000.ckpt")));
            assertTrue(Files.exists(checkpointDir(id).resolve("00001.ckpt")));
            assertTrue(store.runs(null).isEmpty(), "nothing stored for the killed job");
        }
        try (JobEngine engine = engine(store, dir, events, 1)) {
            engine.resume(id);
            engine.await(List.of(id));
            var row = engine.jobs().get(id).orElseThrow();
            assertEquals(JobStatus.DONE, row.status(), row.reason());
            assertEquals(2, row.attempts());
            List<String> states = events.of(id).stream().filter(e -> e.kind() == JobEvent.Kind.LAYER
                    && !"started".equals(e.message())).map(e -> e.layer() + ":" + e.message()).toList();
            assertEquals(List.of("fc1:done", "fc2:done", "fc1:restored", "fc2:restored", "fc3:done"), states);
            assertSameResults(JobTesting.reference(spec), store, row.runId());
        }
    }

    @Test
    void aNativeCrashInAWorkerIsReportedAndTheEngineCarriesOn() throws Exception {
        try (JobEngine engine = engine(store, dir, events, 1, "-Dsqueeze.test.faults=true",
                "-Dsqueeze.worker.fault=segfault-after-layer:0", "-Dsqueeze.worker.fault.jobs=1")) {
            List<Long> ids = engine.submitAll(List.of(rtn(4, "crash"), rtn(4, "after")));
            engine.await(ids);
            var crashed = engine.jobs().get(ids.get(0)).orElseThrow();
            assertEquals(JobStatus.FAILED, crashed.status());
            assertTrue(crashed.reason().contains("crashed in native code (SIGSEGV"), crashed.reason());
            assertEquals(JobStatus.DONE, status(engine, ids.get(1)), "the next job runs after the crash");
            // The crashed job resumes from its checkpoint of layer 0 (the fault hits job 1 only on layer 0 once
            // more, so resume it in an engine without the fault).
        }
        try (JobEngine engine = engine(store, dir, events, 1)) {
            engine.resume(1);
            engine.await(List.of(1L));
            assertEquals(JobStatus.DONE, status(engine, 1));
            assertTrue(events.of(1).stream().anyMatch(e -> "restored".equals(e.message()) && "fc1".equals(e.layer())));
        }
    }

    @Test
    void aWorkerOutOfMemoryIsReported() throws Exception {
        try (JobEngine engine = new JobEngine(store, dir.resolve("checkpoints"), new JobEngine.Options(1, "64m",
                List.of("-Dsqueeze.worker.fault=oom-after-layer:0"), Duration.ofSeconds(10)))) {
            engine.addListener(events);
            long id = engine.submit(rtn(4, "oom"));
            engine.await(List.of(id));
            var row = engine.jobs().get(id).orElseThrow();
            assertEquals(JobStatus.FAILED, row.status());
            assertTrue(row.reason().contains("ran out of memory"), row.reason());
            assertTrue(row.reason().contains("--worker-heap"), row.reason());
        }
    }

    @Test
    void cancellingMidLayerStopsTheWorkerAndStoresNothing() throws Exception {
        try (JobEngine engine = engine(store, dir, events, 1, "-Dsqueeze.worker.fault=slow-layer:1:60000")) {
            List<Long> ids = engine.submitAll(List.of(rtn(4, "cancel-me"), rtn(4, "queued")));
            long id = ids.get(0);
            events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.LAYER && "started".equals(e.message())
                    && "fc2".equals(e.layer()), WAIT);
            engine.cancel(ids.get(1));
            assertEquals(JobStatus.CANCELLED, status(engine, ids.get(1)), "a queued job is cancelled at once");
            long t0 = System.nanoTime();
            engine.cancel(id);
            JobEvent end = events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.ENDED, WAIT);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(JobStatus.CANCELLED, end.status());
            assertTrue(ms < 9_000, "stopped cooperatively (before the 10 s grace), took " + ms + " ms");
            engine.await(ids);
            assertTrue(store.runs(null).isEmpty(), "no run stored");
            assertFalse(Files.exists(checkpointDir(id)), "a cancelled job's checkpoints are deleted");
            assertTrue(events.of(ids.get(1)).stream().noneMatch(e -> e.kind() == JobEvent.Kind.STARTED),
                    "the cancelled queued job never started");
        }
    }

    @Test
    void aDamagedCheckpointIsDetectedAndThatLayerComputedAgain() throws Exception {
        JobSpec spec = rtn(4, "damaged");
        long id;
        try (JobEngine engine = engine(store, dir, events, 1, "-Dsqueeze.worker.fault=hang-after-layer:1")) {
            id = engine.submit(spec);
            events.await(e -> e.jobId() == id && e.layersDone() == 2 && "done".equals(e.message()), WAIT);
            JobTesting.workers().forEach(ProcessHandle::destroyForcibly);
            engine.await(List.of(id));
        }
        Path first = checkpointDir(id).resolve("00000.ckpt");
        byte[] bytes = Files.readAllBytes(first);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(first, bytes);
        try (JobEngine engine = engine(store, dir, events, 1)) {
            engine.resume(id);
            engine.await(List.of(id));
            var row = engine.jobs().get(id).orElseThrow();
            assertEquals(JobStatus.DONE, row.status(), row.reason());
            JobEvent warning = events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.WARNING, WAIT);
            assertTrue(warning.message().contains("checkpoint of layer fc1 is damaged"), warning.message());
            List<String> second = events.of(id).stream().filter(e -> e.kind() == JobEvent.Kind.LAYER
                    && !"started".equals(e.message())).map(e -> e.layer() + ":" + e.message()).toList().subList(2, 5);
            assertEquals(List.of("fc1:done", "fc2:restored", "fc3:done"), second);
            assertSameResults(JobTesting.reference(spec), store, row.runId());
        }
    }

    @Test
    void anUnwritableCheckpointFolderFailsTheJobWithAClearReasonAndStoresNothing() throws Exception {
        Files.createDirectories(dir.resolve("checkpoints"));
        Files.writeString(checkpointDir(1), "a file where the job's checkpoint folder should be");
        try (JobEngine engine = engine(store, dir, events, 1)) {
            long id = engine.submit(rtn(4, "unwritable"));
            assertEquals(1, id);
            engine.await(List.of(id));
            var row = engine.jobs().get(id).orElseThrow();
            assertEquals(JobStatus.FAILED, row.status());
            assertTrue(row.reason().contains(checkpointDir(1).toString()), row.reason());
            assertTrue(row.reason().contains("not a folder is in the way"), row.reason());
            assertTrue(row.reason().contains("SQUEEZE_HOME"), row.reason());
            assertTrue(store.runs(null).isEmpty());
        }
    }

    @Test
    void invalidPlansAreRejectedBeforeAnyJobIsQueued() {
        JobSpec bad = spec("{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":12,\"groupSize\":16}}", "bad bits");
        try (JobEngine engine = engine(store, dir, events, 1)) {
            SqueezeException e = assertThrows(SqueezeException.class,
                    () -> engine.submitAll(List.of(rtn(4, "fine"), bad)));
            assertTrue(e.getMessage().contains("fc1") && e.getMessage().contains("bits"), e.getMessage());
            assertTrue(engine.jobs().all().isEmpty(), "no job queued");
        }
    }

    @Test
    void jobsLeftRunningOrQueuedByADeadProcessBecomeInterruptedAtStart() {
        long running = store.jobs().add(rtn(4, "x").toJson(), rtn(4, "x").hash(), model.toString(), "x");
        long queued = store.jobs().add(rtn(8, "y").toJson(), rtn(8, "y").hash(), model.toString(), "y");
        assertTrue(store.jobs().markRunning(running));
        store.jobs().progress(running, 2, 3, "compression");
        try (JobEngine engine = engine(store, dir, events, 1)) {
            assertEquals(List.of(running, queued), engine.interruptedAtStart().stream().map(r -> r.id()).toList());
            var row = engine.jobs().get(running).orElseThrow();
            assertEquals(JobStatus.INTERRUPTED, row.status());
            assertTrue(row.reason().contains("after 2 of 3 layers"), row.reason());
            assertNotNull(engine.jobs().get(queued).orElseThrow().reason());
        }
    }

    private static int indexOf(List<JobEvent> all, java.util.function.Predicate<JobEvent> p) {
        for (int i = 0; i < all.size(); i++) {
            if (p.test(all.get(i))) {
                return i;
            }
        }
        return Integer.MAX_VALUE;
    }
}
