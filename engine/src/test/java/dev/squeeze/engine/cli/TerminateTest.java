package dev.squeeze.engine.cli;

import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * SIGTERM (what Ctrl-C or a logout sends) to a CLI running a job: the job is recorded as interrupted with that
 * reason, the worker ends, and the user sees a resume hint — no stack trace.
 */
class TerminateTest {
    @TempDir
    Path dir;

    @Test
    void aTerminatedRunLeavesAnInterruptedResumableJobAndNoStackTrace() throws Exception {
        Path model = TinyModels.writeDeepMlp(dir, 3);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(50, 4));
        Path plan = Files.writeString(dir.resolve("rtn4.json"),
                "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4,\"groupSize\":16}}");
        Path db = dir.resolve("results");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector",
                "-Dsqueeze.worker.fault=slow-layer:1:60000", "-cp", System.getProperty("java.class.path"),
                SqueezeCli.class.getName(), "--db", db.toString(), "run", model.toString(), "--plan", plan.toString(),
                "--images", idx[0].toString(), "--labels", idx[1].toString())
                .redirectError(dir.resolve("err.txt").toFile()).redirectOutput(dir.resolve("out.txt").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!Files.readString(dir.resolve("out.txt")).contains("layer 1/3 fc1 done")) {
            if (System.nanoTime() > deadline || !child.isAlive()) {
                child.destroyForcibly();
                fail("the job never finished layer 1: " + Files.readString(dir.resolve("out.txt")) + "\n"
                        + Files.readString(dir.resolve("err.txt")));
            }
            Thread.sleep(50);
        }
        List<ProcessHandle> workers = child.descendants().toList();
        child.destroy(); // SIGTERM
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the CLI exits on SIGTERM");
        String out = Files.readString(dir.resolve("out.txt"));
        for (ProcessHandle w : workers) {
            w.onExit().get(30, TimeUnit.SECONDS);
        }
        String err = Files.readString(dir.resolve("err.txt"));
        assertFalse(err.contains("\tat "), "no stack trace on stderr:\n" + err);
        assertTrue(out.contains("interrupted: Squeeze closed while the job ran, after 1 of 3 layers"),
                out + "\nstderr:\n" + err);
        try (ResultsStore store = ResultsStore.openFile(db)) {
            var job = store.jobs().get(1).orElseThrow();
            assertEquals(JobStatus.INTERRUPTED, job.status());
            assertTrue(job.reason().startsWith("Squeeze closed while the job ran"), job.reason());
            assertTrue(store.runs(null).isEmpty());
        }
    }
}
