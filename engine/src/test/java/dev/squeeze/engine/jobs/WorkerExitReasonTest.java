package dev.squeeze.engine.jobs;

import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A worker that exits with an error status and no protocol message: the job's reason quotes what it said. */
class WorkerExitReasonTest {
    @Test
    void aWorkerThatCannotStartIsReportedWithTheJvmsOwnWords(@TempDir Path dir) throws Exception {
        Path model = TinyModels.writeMlp(dir, 3);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(20, 2));
        JobSpec spec = new JobSpec(model.toString(), CompressionPlan.parse(
                "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4}}").canonicalJson(), "tiny", 32, 0, false,
                0, idx[0].toString(), idx[1].toString(), List.of());
        try (ResultsStore store = ResultsStore.openFile(dir.resolve("results"));
             JobEngine engine = new JobEngine(store, dir.resolve("checkpoints"),
                     new JobEngine.Options(1, "1k", List.of(), Duration.ofSeconds(10)))) {
            long id = engine.submit(spec);
            engine.await(List.of(id));
            var row = engine.jobs().get(id).orElseThrow();
            assertEquals(JobStatus.FAILED, row.status());
            // Once only "the worker exited with status 1 without finishing the job; its log: ...".
            assertTrue(row.reason().contains("the worker exited with status 1 without finishing the job: Error"
                    + " occurred during initialization of VM / Too small maximum heap (its log: "), row.reason());
        }
    }

    @Test
    void theLastLinesThatSaySomethingAreKept() {
        String log = """
                WARNING: Using incubator modules: jdk.incubator.vector
                [main] INFO WorkerMain - started
                Exception in thread "main" java.lang.IllegalStateException: boom
                \tat dev.squeeze.X.y(X.java:1)
                \tat dev.squeeze.X.main(X.java:2)
                Caused by: java.io.IOException: disk
                \t... 2 more

                """;
        assertEquals("[main] INFO WorkerMain - started / Exception in thread \"main\" java.lang.IllegalStateException:"
                + " boom / Caused by: java.io.IOException: disk", dev.squeeze.engine.jobs.launch.WorkerJvm.lastLines(log));
        assertEquals("", dev.squeeze.engine.jobs.launch.WorkerJvm.lastLines("\n\n"));
        assertEquals(201, dev.squeeze.engine.jobs.launch.WorkerJvm.lastLines("x".repeat(5_000)).length());
    }
}
