package dev.squeeze.engine.jobs;

import dev.squeeze.engine.cli.SqueezeCli;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The kill -9 test on a real model: a {@code squeeze sweep} of two plans on stories260K runs in a child
 * JVM; while its second job (GPTQ 4-bit g128, 35 layers, each block calibrated on the compressed blocks before it)
 * is past layer 10, the child JVM — the process that holds the database — is killed with SIGKILL. Its worker
 * notices and exits. Then {@code squeeze resume --all} in this JVM: the first run is intact, the second job
 * resumes at layer 11 from its checkpoints, and its stored metrics and per-layer results equal those of an
 * uninterrupted run of the same job, exactly.
 */
class KillAndResumeTest {
    @TempDir
    Path dir;

    @Test
    void aSweepWhoseProcessIsKilledResumesAtTheFirstUnfinishedLayerWithIdenticalResults() throws Exception {
        Path bin = SharedData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path plans = Files.createDirectories(dir.resolve("plans"));
        String rtn = "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":8,\"groupSize\":64}}";
        String gptq = "{\"schema\":1,\"preset\":\"gptq-4bit-g128\"}";
        Files.writeString(plans.resolve("a-rtn8.json"), rtn);
        Files.writeString(plans.resolve("b-gptq4.json"), gptq);
        Path db = dir.resolve("results");

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector",
                "-Dsqueeze.worker.fault=hang-after-layer:9", "-Dsqueeze.worker.fault.jobs=2"));
        if (System.getProperty("squeeze.root") != null) {
            cmd.add("-Dsqueeze.root=" + System.getProperty("squeeze.root"));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), SqueezeCli.class.getName(),
                "--db", db.toString(), "sweep", bin.toString(), "--plans", plans.toString(), "--tag", "k",
                "--calibration-windows", "4", "--seed", "5", "--eval-stories", "20"));
        Process child = new ProcessBuilder(cmd).redirectError(dir.resolve("child.err").toFile()).start();
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = in.readLine()) != null) {
                    lines.add(l);
                }
            } catch (Exception ignored) {
                // The child was killed.
            }
        });
        reader.start();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (lines.stream().noneMatch(l -> l.startsWith("job 2 (b-gptq4): layer 10/35"))) {
            if (System.nanoTime() > deadline || !child.isAlive()) {
                child.destroyForcibly();
                fail("the sweep never reached layer 10 of job 2; output: " + lines + "\nstderr: "
                        + Files.readString(dir.resolve("child.err")));
            }
            Thread.sleep(50);
        }
        List<ProcessHandle> workers = child.descendants().toList();
        assertEquals(1, workers.size(), "one worker: " + workers);
        child.toHandle().destroyForcibly(); // SIGKILL of the process that holds the database
        assertEquals(137, child.waitFor(), "killed by signal 9");
        reader.join(5_000);
        // The orphaned worker sees its input end and exits (after a grace period at most).
        ProcessHandle worker = workers.getFirst();
        worker.onExit().get(30, TimeUnit.SECONDS);
        assertFalse(worker.isAlive(), "the worker exits when its parent dies");

        RunRecord firstBefore;
        long firstRun;
        try (ResultsStore store = ResultsStore.openFile(db)) {
            List<JobRow> jobs = store.jobs().all();
            assertEquals(JobStatus.DONE, jobs.get(0).status());
            assertEquals(JobStatus.RUNNING, jobs.get(1).status(), "left running by the killed process");
            assertEquals(10, jobs.get(1).layersDone());
            firstRun = jobs.get(0).runId();
            firstBefore = snapshot(store, firstRun);
            assertEquals(1, store.runs(null).size());
        }
        assertTrue(Files.exists(ResultsStore.checkpointRootFor(db).resolve("job-2/00009.ckpt")));

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = SqueezeCli.execute(new String[]{"--db", db.toString(), "resume", "--all"}, new PrintWriter(out, true),
                new PrintWriter(err, true));
        assertEquals(0, code, out + "\n" + err);
        assertTrue(err.toString().contains("job 2 (b-gptq4) was interrupted"), "stderr: " + err + "\nstdout: " + out);
        String log = out.toString();
        assertTrue(log.contains("job 2 (b-gptq4): layer 10/35 model.layers.1.self_attn.v_proj restored"), log);
        assertTrue(log.contains("job 2 (b-gptq4): layer 11/35 model.layers.1.self_attn.o_proj done"), log);
        assertFalse(log.contains("layer 10/35 model.layers.1.self_attn.v_proj done"), "layer 10 was not recomputed");

        JobSpec spec = new JobSpec(bin.toString(), CompressionPlan.parse(gptq).canonicalJson(), "b-gptq4", 4, 5, false, 20,
                null, null, List.of("k"));
        RunRecord reference = JobTesting.reference(spec);
        try (ResultsStore store = ResultsStore.openFile(db)) {
            JobRow resumed = store.jobs().get(2).orElseThrow();
            assertEquals(JobStatus.DONE, resumed.status(), resumed.reason());
            assertEquals(2, resumed.attempts());
            JobTesting.assertSameResults(reference, store, resumed.runId());
            assertEquals(firstBefore, snapshot(store, firstRun), "the run finished before the kill is intact");
            assertEquals(List.of("k"), store.tags(resumed.runId()));
        }
        assertFalse(Files.exists(ResultsStore.checkpointRootFor(db).resolve("job-2")), "checkpoints deleted when done");
    }

    /** A run's stored layers and metrics, for comparing before and after. */
    private static RunRecord snapshot(ResultsStore store, long runId) {
        return new RunRecord(null, null, "", "", "", java.time.Instant.EPOCH, java.time.Instant.EPOCH, 0, null, 0, 0,
                null, store.layerResults(runId), store.metrics(runId));
    }
}
