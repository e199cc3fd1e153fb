package dev.squeeze.engine.jobs;

import dev.squeeze.engine.jobs.launch.FollowedFile;
import dev.squeeze.engine.jobs.launch.WorkerJvm;
import dev.squeeze.engine.jobs.protocol.ParentMessage;
import dev.squeeze.engine.jobs.protocol.Protocol;
import dev.squeeze.engine.jobs.protocol.WorkerMessage;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The worker as the Slurm launcher runs it ({@code WorkerMain --in FILE --out FILE}), started here as a plain
 * process: the protocol through two files, the model's content checked against the hash the parent saw, and a cancel
 * appended to the input file.
 */
class WorkerFileTransportTest {
    @TempDir
    Path dir;

    private static Path model;
    private static Path[] idx;

    @BeforeAll
    static void writeModel(@TempDir Path modelDir) throws Exception {
        model = TinyModels.writeDeepMlp(modelDir, 7);
        idx = TinyModels.writeIdx(modelDir, TinyModels.images(200, 3));
    }

    private static JobSpec spec(Path modelFile) {
        return new JobSpec(modelFile.toString(), CompressionPlan.parse(
                "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4,\"groupSize\":16}}").canonicalJson(), "f",
                32, 0, false, 0, idx[0].toString(), idx[1].toString(), List.of());
    }

    /** Starts the worker on {@code start} through files; returns the process. */
    private Process worker(ParentMessage.Start start, String... jvmArgs) throws Exception {
        Files.writeString(dir.resolve("in.jsonl"), Protocol.encode(start) + "\n");
        List<String> cmd = new ArrayList<>(WorkerJvm.command(null, "400m", List.of(jvmArgs), dir));
        cmd.addAll(List.of("--in", dir.resolve("in.jsonl").toString(), "--out", dir.resolve("out.jsonl").toString()));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile()).start();
    }

    private List<WorkerMessage> out() throws Exception {
        return Files.readAllLines(dir.resolve("out.jsonl")).stream().map(Protocol::workerMessage).toList();
    }

    @Test
    void aModelWhoseContentDiffersFromWhatTheParentSawIsRefusedBeforeAnyWork() throws Exception {
        String parentsHash = ModelFormats.open(model).contentHash();
        Path changed = dir.resolve("changed.safetensors");
        Files.copy(model, changed);
        byte[] bytes = Files.readAllBytes(changed);
        bytes[bytes.length - 1] ^= 1; // the last weight's lowest bit
        Files.write(changed, bytes);
        Process p = worker(new ParentMessage.Start(Protocol.VERSION, 1, spec(changed), "a".repeat(64),
                dir.resolve("ck").toString(), parentsHash));
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the worker ends");
        List<WorkerMessage> msgs = out();
        assertInstanceOf(WorkerMessage.Hello.class, msgs.getFirst());
        WorkerMessage.Failed f = assertInstanceOf(WorkerMessage.Failed.class, msgs.getLast());
        assertTrue(f.reason().contains("is not the one the job was submitted with"), f.reason());
        assertTrue(msgs.stream().noneMatch(m -> m instanceof WorkerMessage.Layer), "no layer was compressed");
    }

    @Test
    void aModelMissingOnTheNodeSaysToKeepModelsOnASharedFilesystem() throws Exception {
        Process p = worker(new ParentMessage.Start(Protocol.VERSION, 1, spec(dir.resolve("gone.safetensors")),
                "a".repeat(64), dir.resolve("ck").toString(), "b".repeat(64)));
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        WorkerMessage.Failed f = assertInstanceOf(WorkerMessage.Failed.class, out().getLast());
        assertTrue(f.reason().contains("cannot be read on " + WorkerMain.workerHost()), f.reason());
        assertTrue(f.reason().contains("filesystem that every cluster node mounts"), f.reason());
    }

    @Test
    void aCancelWrittenBeforeTheWorkerStartedIsNotLost() throws Exception {
        // The parent cancelled while Slurm kept the job pending: the worker finds start and cancel together.
        String start = Protocol.encode(new ParentMessage.Start(Protocol.VERSION, 1, spec(model), "a".repeat(64),
                dir.resolve("ck").toString(), ModelFormats.open(model).contentHash()));
        Files.writeString(dir.resolve("in.jsonl"), start + "\n" + Protocol.encode(new ParentMessage.Cancel(
                "cancelled while pending")) + "\n");
        List<String> cmd = new ArrayList<>(WorkerJvm.command(null, "400m", List.of(), dir));
        cmd.addAll(List.of("--in", dir.resolve("in.jsonl").toString(), "--out", dir.resolve("out.jsonl").toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(new WorkerMessage.Cancelled("cancelled while pending"), out().getLast());
        assertTrue(out().stream().noneMatch(m -> m instanceof WorkerMessage.Result), "no run was made");
    }

    @Test
    void theRightModelRunsAndACancelAppendedToTheInputStopsIt() throws Exception {
        String hash = ModelFormats.open(model).contentHash();
        Process p = worker(new ParentMessage.Start(Protocol.VERSION, 1, spec(model), "a".repeat(64),
                dir.resolve("ck").toString(), hash), "-Dsqueeze.worker.fault=slow-layer:1:60000");
        FollowedFile follow = new FollowedFile(dir.resolve("out.jsonl"));
        List<WorkerMessage> seen = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (seen.stream().noneMatch(m -> m instanceof WorkerMessage.Layer l && l.index() == 1
                && l.state().equals("started"))) {
            assertTrue(System.nanoTime() < deadline, "the second layer starts: " + seen);
            follow.poll().forEach(l -> seen.add(Protocol.workerMessage(l)));
            Thread.sleep(50);
        }
        FollowedFile.append(dir.resolve("in.jsonl"), Protocol.encode(new ParentMessage.Cancel("test")));
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the worker stops at its next safe point");
        assertEquals(0, p.exitValue());
        assertEquals(new WorkerMessage.Cancelled("test"), out().getLast());
        WorkerMessage.Hello hello = assertInstanceOf(WorkerMessage.Hello.class, out().getFirst());
        assertEquals(p.pid(), hello.pid());
        assertEquals(WorkerMain.workerHost(), hello.host());
    }
}
