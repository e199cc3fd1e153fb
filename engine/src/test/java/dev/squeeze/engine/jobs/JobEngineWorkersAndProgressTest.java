package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.plan.CompressionPlan;
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
import java.util.List;

import static dev.squeeze.engine.jobs.JobTesting.Events;
import static dev.squeeze.engine.jobs.JobTesting.engine;
import static dev.squeeze.engine.jobs.JobTesting.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link JobEngine#setWorkers} on a running engine, and the evaluation progress a job reports while its worker
 * evaluates (real worker processes on a tiny three-layer MLP with 1,000 evaluation images).
 */
class JobEngineWorkersAndProgressTest {
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static Path model;
    private static Path[] idx;

    @BeforeAll
    static void writeModel(@TempDir Path modelDir) throws Exception {
        model = TinyModels.writeDeepMlp(modelDir, 7);
        idx = TinyModels.writeIdx(modelDir, TinyModels.images(1000, 3));
    }

    @TempDir
    Path dir;

    private ResultsStore store;
    private final Events events = new Events();

    @BeforeEach
    void open() {
        store = ResultsStore.openFile(dir.resolve("results"));
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static JobSpec rtn4(String label) {
        return new JobSpec(model.toString(), CompressionPlan.parse(
                "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4,\"groupSize\":16}}").canonicalJson(),
                label, 32, 0, false, 0, idx[0].toString(), idx[1].toString(), List.of());
    }

    private boolean started(long id) {
        return events.of(id).stream().anyMatch(e -> e.kind() == JobEvent.Kind.STARTED);
    }

    @Test
    void raisingTheWorkerCountStartsAQueuedJobAtOnceAndLoweringItStartsNoMoreUntilBelow() throws Exception {
        // Every job spends a minute in its first layer (checking for cancellation), so jobs run until cancelled.
        try (JobEngine engine = engine(store, dir, events, 1, "-Dsqueeze.worker.fault=slow-layer:0:60000")) {
            List<Long> ids = engine.submitAll(List.of(rtn4("a"), rtn4("b")));
            long a = ids.get(0);
            long b = ids.get(1);
            events.await(e -> e.jobId() == a && e.kind() == JobEvent.Kind.LAYER, WAIT);
            assertEquals(JobStatus.QUEUED, status(engine, b), "one worker: b waits");

            engine.setWorkers(2);
            assertEquals(2, engine.options().workers());
            events.await(e -> e.jobId() == b && e.kind() == JobEvent.Kind.LAYER, WAIT);
            assertEquals(JobStatus.RUNNING, status(engine, a), "a still runs: b did not wait for it");

            engine.setWorkers(1);
            long c = engine.submit(rtn4("c"));
            engine.cancel(a);
            events.await(e -> e.jobId() == a && e.kind() == JobEvent.Kind.ENDED, WAIT);
            // b still runs and the engine takes one at a time now: c waits although a's worker is gone.
            Thread.sleep(2000);
            assertEquals(JobStatus.QUEUED, status(engine, c));
            assertTrue(!started(c), "c did not start while b runs");

            engine.cancel(b);
            events.await(e -> e.jobId() == c && e.kind() == JobEvent.Kind.STARTED, WAIT);
            engine.cancel(c);
            engine.await(List.of(a, b, c));
            assertEquals(JobStatus.CANCELLED, status(engine, c));
        }
    }

    @Test
    void aWorkerCountOutsideOneToSixtyFourIsRefusedAndChangesNothing() {
        try (JobEngine engine = engine(store, dir, events, 2)) {
            SqueezeException e = assertThrows(SqueezeException.class, () -> engine.setWorkers(0));
            assertTrue(e.getMessage().contains("0"), e.getMessage());
            assertThrows(SqueezeException.class, () -> engine.setWorkers(65));
            assertEquals(2, engine.options().workers());
        }
    }

    @Test
    void aQueuedJobThatIsCancelledLeavesTheQueueAtOnce() throws Exception {
        try (JobEngine engine = engine(store, dir, events, 1, "-Dsqueeze.worker.fault=slow-layer:0:60000")) {
            List<Long> ids = engine.submitAll(List.of(rtn4("running"), rtn4("queued")));
            events.await(e -> e.jobId() == ids.get(0) && e.kind() == JobEvent.Kind.LAYER, WAIT);
            engine.cancel(ids.get(1));
            assertEquals(java.util.Set.of(ids.get(0)), engine.activeJobs());
            engine.cancel(ids.get(0));
            engine.await(ids);
        }
    }

    @Test
    void evaluationReportsSeveralIncreasingFractionsOfItsImagesThrottled() throws Exception {
        // The job evaluates 1,000 images in batches of 256; each report that goes out is followed by 300 ms
        // (the fault), so each batch's report passes the 100 ms throttle: 0, 256, 512, 768 and 1000 of 1000.
        try (JobEngine engine = engine(store, dir, events, 1, "-Dsqueeze.worker.fault=slow-evaluation:0:300")) {
            long id = engine.submit(rtn4("progress"));
            JobEvent end = events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.ENDED, WAIT);
            assertEquals(JobStatus.DONE, end.status(), end.describe());
            List<JobEvent> progress = events.of(id).stream().filter(e -> e.kind() == JobEvent.Kind.PROGRESS).toList();
            assertEquals(List.of(0L, 256L, 512L, 768L, 1000L),
                    progress.stream().map(e -> e.progress().done()).toList(), progress.toString());
            for (JobEvent e : progress) {
                assertEquals("evaluation", e.phase());
                assertEquals(1000, e.progress().total());
                assertEquals("images", e.progress().unit());
                assertEquals(JobStatus.RUNNING, e.status());
                assertEquals(3, e.layersDone(), "every layer is done before evaluation");
            }
            assertEquals(List.of(0.0, 0.256, 0.512, 0.768, 1.0),
                    progress.stream().map(JobEvent::phaseFraction).toList());
            // In order: after the evaluation phase began, before the job ended.
            List<JobEvent> all = events.of(id);
            int phase = indexOf(all, e -> e.kind() == JobEvent.Kind.PHASE && "evaluation".equals(e.phase()));
            assertTrue(phase < all.indexOf(progress.getFirst()));
            assertTrue(all.indexOf(progress.getLast()) < all.indexOf(end));
            assertTrue(progress.getLast().describe().endsWith("evaluation 1000/1000 images"),
                    progress.getLast().describe());
            assertTrue(Files.exists(engine.logFile(id)), "the worker's log is where logFile says");
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
