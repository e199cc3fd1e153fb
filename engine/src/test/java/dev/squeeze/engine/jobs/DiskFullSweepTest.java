package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.store.StoreFixtures;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.testing.FaultyDisk;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.squeeze.engine.jobs.JobTesting.Events;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The "a full disk mid-sweep prints the same 'could not mark FAILED' block 36 times": once the database
 * cannot be written, the engine says so once, stops the running job, starts no other, and every unfinished job
 * can be resumed once there is space — with the results an uninterrupted run gives.
 */
class DiskFullSweepTest {
    @TempDir
    Path dir;

    private static Path model;
    private static Path[] idx;

    @BeforeAll
    static void writeModel(@TempDir Path modelDir) throws Exception {
        FaultyDisk.register();
        model = TinyModels.writeDeepMlp(modelDir, 11);
        idx = TinyModels.writeIdx(modelDir, TinyModels.images(120, 5));
    }

    @AfterEach
    void heal() {
        FaultyDisk.heal();
    }

    private static JobSpec rtn(int bits) {
        return new JobSpec(model.toString(), dev.squeeze.engine.plan.CompressionPlan.parse(
                "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":" + bits + ",\"groupSize\":16}}").canonicalJson(),
                "bits=" + bits, 32, 0, false, 0, idx[0].toString(), idx[1].toString(), List.of("sweep"));
    }

    @Test
    void aFullDiskMidSweepIsReportedOnceStopsTheSweepAndEveryUnfinishedJobResumes() throws Exception {
        Path base = dir.resolve("results");
        List<JobSpec> sweep = List.of(rtn(8), rtn(4), rtn(3), rtn(2));
        Events events = new Events();
        List<Long> ids;
        SqueezeException stopped;
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        PrintStream originalErr = System.err;
        System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
        try (ResultsStore store = StoreFixtures.openOnFaultyDisk(base);
             JobEngine engine = JobTesting.engine(store, dir, events, 1)) {
            // The disk fills up while job 2 works: its first layer is done (and recorded), the second is not.
            engine.addListener(e -> {
                if (e.jobId() == 2 && e.kind() == JobEvent.Kind.LAYER && "done".equals(e.message())
                        && e.layersDone() == 1) {
                    FaultyDisk.fillUpAfter(0);
                }
            });
            ids = engine.submitAll(sweep);
            engine.await(ids);
            stopped = engine.stoppedBy();
            assertNotNull(stopped, "the engine noticed that the database cannot be written");
            assertThrows(SqueezeException.class, () -> engine.submit(rtn(7)), "a stopped engine takes no job");
        } finally {
            System.setErr(originalErr);
        }
        FaultyDisk.heal();

        String msg = stopped.getMessage();
        assertTrue(msg.startsWith("The results database " + dir.resolve("results.mv.db") + " cannot be written any "
                + "more: the disk is full (No space left on device); the job engine stopped"), msg);
        assertTrue(msg.contains("Fix: free space on the disk that holds " + dir) && msg.contains("squeeze resume --all"),
                msg);
        assertEquals(2, msg.lines().count(), msg);

        // Said once: one error line for the disk, nothing per job, no stack trace.
        String log = stderr.toString(StandardCharsets.UTF_8);
        assertEquals(1, log.lines().filter(l -> l.contains("No space left on device")).count(), log);
        assertFalse(log.contains("could not record") || log.contains("\tat "), log);

        // Jobs 3 and 4 never started; job 2 was stopped; no worker is left behind.
        for (long id : ids.subList(2, ids.size())) {
            assertTrue(events.of(id).stream().noneMatch(e -> e.kind() == JobEvent.Kind.STARTED), "job " + id);
        }
        JobEvent end2 = events.await(e -> e.jobId() == 2 && e.kind() == JobEvent.Kind.ENDED, Duration.ofSeconds(1));
        assertEquals(JobStatus.INTERRUPTED, end2.status());
        assertTrue(end2.message().contains("the disk is full"), end2.message());
        assertTrue(JobTesting.workers().isEmpty(), "the worker of job 2 was ended");

        // Space again: the next start marks the unfinished jobs interrupted, and they all resume.
        try (ResultsStore store = ResultsStore.openFile(base)) {
            List<JobRow> interrupted = JobEngine.recoverInterrupted(store.jobs());
            assertEquals(ids.subList(1, ids.size()), interrupted.stream().map(JobRow::id).toList());
            assertEquals(1, store.jobs().get(2).orElseThrow().layersDone(), "job 2's first layer was recorded");
            assertEquals(JobStatus.DONE, store.jobs().get(1).orElseThrow().status());
            assertEquals(1, store.runs(null).size());
            assertTrue(Files.exists(dir.resolve("checkpoints/job-2/00000.ckpt")));
            try (JobEngine engine = JobTesting.engine(store, dir, events, 1)) {
                for (long id : interrupted.stream().map(JobRow::id).toList()) {
                    engine.resume(id);
                }
                engine.await(ids);
                for (int i = 0; i < ids.size(); i++) {
                    JobRow row = store.jobs().get(ids.get(i)).orElseThrow();
                    assertEquals(JobStatus.DONE, row.status(), row.label() + ": " + row.reason());
                    JobTesting.assertSameResults(JobTesting.reference(sweep.get(i)), store, row.runId());
                }
            }
            assertEquals(sweep.size(), store.runs(null).size(), "one run per job, none twice");
        }
    }
}
