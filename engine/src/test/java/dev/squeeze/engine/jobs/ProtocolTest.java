package dev.squeeze.engine.jobs;

import dev.squeeze.engine.jobs.protocol.ParentMessage;
import dev.squeeze.engine.jobs.protocol.Protocol;
import dev.squeeze.engine.jobs.protocol.WorkerMessage;
import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.RunRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The job protocol: every message survives a round trip as one line; anything else is refused; a real worker. */
class ProtocolTest {
    @TempDir
    Path dir;

    private static final String PLAN = "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4,\"groupSize\":16}}";

    static JobSpec spec() {
        return new JobSpec("/models/m\u00e4del \"x\".safetensors", PLAN, "R\u00fcn \u2713 \u6f22\u5b57 \ud83d\ude80\nline2",
                8, -3, true, 12, "/data/images.idx", null, List.of("sweep-\u00e9", "b"));
    }

    /** A run with every nullable field null, unicode text, and instants with nanoseconds. */
    static RunRecord runWithNulls() {
        return new RunRecord(
                new RunRecord.ModelRecord("a".repeat(64), "m\u00f6del", "/p/\u00fc.safetensors", "safetensors", "mlp",
                        2080, 8320),
                new RunRecord.DatasetRecord("eval \u2603", "builtin:x", "b".repeat(64), "evaluation", 40),
                PLAN, "RTN 4-bit \u00b1", "l\u00e4bel \ud83d\ude80 \"quoted\"\ttab\nnewline",
                Instant.parse("2026-03-04T05:06:07.123456789Z"), Instant.parse("2026-03-04T05:06:09.000000001Z"),
                Long.MIN_VALUE, new Provenance("0.1.0", "abc", "h\u00f6st", "25+36", "java"), Long.MAX_VALUE, 0, null,
                List.of(new RunRecord.LayerResult("fc1", "rtn", "RTN 4-bit", 1000, 4.5, null, 0),
                        new RunRecord.LayerResult("fc2", "rtn", "RTN 4-bit", 500, 4.25, 1.0e-300, 7)),
                List.of(new RunRecord.Metric("top1", "evaluation", 0.1 + 0.2),
                        new RunRecord.Metric("accuracy.\u732b", "evaluation", Double.MIN_VALUE)),
                null, List.of(), null);
    }

    static List<WorkerMessage> workerMessages() {
        RunRecord full = runWithNulls();
        RunRecord calibrated = new RunRecord(full.model(), full.dataset(), full.planJson(), full.planDescription(),
                full.label(), full.startedAt(), full.finishedAt(), 1, full.provenance(), 1, 2, 3.5, List.of(), List.of(),
                new RunRecord.DatasetRecord("cal", "src", "c".repeat(64), "calibration", 8192), List.of("t1", "t2"), 42L);
        return List.of(
                new WorkerMessage.Hello(Protocol.VERSION, 12345, "0.1.0-SNAPSHOT", "25+36-LTS", "node1.cluster"),
                new WorkerMessage.Phase("calibration", "block 2 of 5"),
                new WorkerMessage.Phase("loading", null),
                new WorkerMessage.Progress("evaluation", 0, 12802, "tokens"),
                new WorkerMessage.Progress("calibration", 32, 32, "windows"),
                new WorkerMessage.Layer(0, 3, "blocks.0.attn.q_proj", "started"),
                new WorkerMessage.Layer(2, 3, "fc3", "restored"),
                new WorkerMessage.Warning("The checkpoint of layer fc2 is damaged (\u00fc\u2192CRC); computing again"),
                new WorkerMessage.Result(full),
                new WorkerMessage.Result(calibrated),
                new WorkerMessage.Point(full, "budget-4.125"),
                new WorkerMessage.Failed("out of memory \"heap\"\r\n", true),
                new WorkerMessage.Failed(null, false),
                new WorkerMessage.Cancelled("cancelled by the user"));
    }

    static List<ParentMessage> parentMessages() {
        return List.of(
                new ParentMessage.Start(Protocol.VERSION, 7, spec(), "f".repeat(64), "/tmp/ck\u00e4/job-7"),
                new ParentMessage.Start(Protocol.VERSION, 8, spec(), "e".repeat(64), "/shared/ck/job-8", "a".repeat(64)),
                new ParentMessage.Start(99, Long.MAX_VALUE, JobSpec.of("builtin:mlp",
                        dev.squeeze.engine.plan.CompressionPlan.parse(PLAN), "x"), "0".repeat(64), "c"),
                new ParentMessage.Cancel("cancelled by the user"),
                new ParentMessage.Cancel(null));
    }

    @Test
    void everyWorkerMessageRoundTripsAsOneLine() {
        List<String> types = new ArrayList<>();
        for (WorkerMessage m : workerMessages()) {
            String line = Protocol.encode(m);
            assertFalse(line.contains("\n") || line.contains("\r"), line);
            assertEquals(m, Protocol.workerMessage(line), line);
            types.add(m.getClass().getSimpleName());
        }
        // Every permitted subtype is covered.
        for (Class<?> c : WorkerMessage.class.getPermittedSubclasses()) {
            assertTrue(types.contains(c.getSimpleName()), "no round trip for " + c.getSimpleName());
        }
    }

    @Test
    void everyParentMessageRoundTripsAsOneLine() {
        List<String> types = new ArrayList<>();
        for (ParentMessage m : parentMessages()) {
            String line = Protocol.encode(m);
            assertFalse(line.contains("\n") || line.contains("\r"), line);
            assertEquals(m, Protocol.parentMessage(line), line);
            types.add(m.getClass().getSimpleName());
        }
        for (Class<?> c : ParentMessage.class.getPermittedSubclasses()) {
            assertTrue(types.contains(c.getSimpleName()), "no round trip for " + c.getSimpleName());
        }
    }

    @Test
    void theResultKeepsEveryFieldExactly() {
        RunRecord r = runWithNulls();
        var back = (WorkerMessage.Result) Protocol.workerMessage(Protocol.encode(new WorkerMessage.Result(r)));
        assertEquals(Instant.parse("2026-03-04T05:06:07.123456789Z"), back.run().startedAt());
        assertEquals(0.1 + 0.2, back.run().metrics().getFirst().value());
        assertEquals(Double.MIN_VALUE, back.run().metrics().get(1).value());
        assertEquals(null, back.run().bitsPerWeight());
        assertEquals(null, back.run().calibration());
        assertEquals(null, back.run().jobId());
        assertEquals(null, back.run().layers().getFirst().reconError());
        assertEquals(Long.MIN_VALUE, back.run().seed());
        assertEquals(r.label(), back.run().label());
    }

    @Test
    void theMessagesAreTaggedByType() {
        assertTrue(Protocol.encode(new WorkerMessage.Cancelled("x")).contains("\"type\":\"cancelled\""));
        assertTrue(Protocol.encode(new ParentMessage.Cancel("x")).contains("\"type\":\"cancel\""));
        assertTrue(Protocol.encode(new WorkerMessage.Hello(1, 2, "v", "j", "h")).contains("\"type\":\"hello\""));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "",
            "   ",
            "garbage",
            "{",
            "[1,2]",
            "42",
            "null",
            "{}",
            "{\"type\":\"explode\"}",
            "{\"type\":\"hello\",\"protocol\":1,\"pid\":2,\"squeezeVersion\":\"v\",\"javaVersion\":\"j\",\"extra\":true}",
            "{\"type\":\"warning\",\"message\":\"a\",\"colour\":\"red\"}",
            "{\"protocol\":1,\"pid\":2,\"squeezeVersion\":\"v\",\"javaVersion\":\"j\"}",
            "{\"type\":\"layer\",\"index\":\"one\",\"total\":3,\"layer\":\"fc1\",\"state\":\"done\"}",
            "{\"type\":\"cancel\",\"reason\":\"x\"}",
            "{\"type\":\"result\",\"run\":{\"label\":\"x\"}}",
            "{\"type\":\"hello\",\"protocol\":1,\"pid\":2,\"squeezeVersion\":\"v\",\"javaVersion\":\"j\"} {\"type\":\"cancelled\",\"reason\":\"r\"}",
    })
    void anythingElseIsNotAWorkerMessage(String line) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Protocol.workerMessage(line));
        assertTrue(e.getMessage().startsWith("not a WorkerMessage"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "",
            "garbage",
            "null",
            "{\"type\":\"stop\"}",
            "{\"type\":\"cancel\",\"reason\":\"x\",\"force\":true}",
            "{\"type\":\"cancelled\",\"reason\":\"x\"}",
            "{\"type\":\"start\",\"protocol\":1,\"jobId\":1,\"spec\":{\"model\":\"\"},\"specHash\":\"h\",\"checkpointDir\":\"c\"}",
    })
    void anythingElseIsNotAParentMessage(String line) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Protocol.parentMessage(line));
        assertTrue(e.getMessage().startsWith("not a ParentMessage"), e.getMessage());
    }

    @Test
    void aMessageWithAFieldMissingIsRefused() {
        // An older or foreign peer that leaves a field out would otherwise be read with nulls and zeros.
        for (String line : List.of(
                "{\"type\":\"layer\",\"index\":0,\"total\":3,\"layer\":\"fc1\"}",
                "{\"type\":\"hello\",\"pid\":2,\"squeezeVersion\":\"v\",\"javaVersion\":\"j\"}",
                "{\"type\":\"hello\",\"protocol\":null,\"pid\":2,\"squeezeVersion\":\"v\",\"javaVersion\":\"j\"}",
                "{\"type\":\"progress\",\"phase\":\"evaluation\",\"done\":1,\"unit\":\"images\"}",
                "{\"type\":\"result\"}")) {
            assertThrows(IllegalArgumentException.class, () -> Protocol.workerMessage(line), line);
        }
        assertThrows(IllegalArgumentException.class, () -> Protocol.parentMessage(
                "{\"type\":\"start\",\"jobId\":1,\"specHash\":\"h\",\"checkpointDir\":\"c\"}"));
    }

    /**
     * Jackson reads an explicit null for any reference field; the readers of these messages dereference them
     * (the parent compares a layer's state, stores a result's run; the worker opens the checkpoint folder keyed by
     * the spec hash), so each would fail far from the line with a NullPointerException. They are malformed lines.
     */
    @Test
    void aRequiredFieldThatIsNullOrAnUnknownLayerStateIsRefused() {
        for (String line : List.of(
                "{\"type\":\"layer\",\"index\":0,\"total\":3,\"layer\":\"fc1\",\"state\":null}",
                "{\"type\":\"layer\",\"index\":0,\"total\":3,\"layer\":null,\"state\":\"done\"}",
                "{\"type\":\"layer\",\"index\":0,\"total\":3,\"layer\":\"fc1\",\"state\":\"exploded\"}",
                "{\"type\":\"result\",\"run\":null}",
                "{\"type\":\"phase\",\"phase\":null,\"detail\":null}",
                "{\"type\":\"warning\",\"message\":null}",
                "{\"type\":\"progress\",\"phase\":null,\"done\":1,\"total\":2,\"unit\":\"images\"}",
                "{\"type\":\"progress\",\"phase\":\"evaluation\",\"done\":1,\"total\":2,\"unit\":null}",
                "{\"type\":\"progress\",\"phase\":\"evaluation\",\"done\":3,\"total\":2,\"unit\":\"images\"}",
                "{\"type\":\"progress\",\"phase\":\"evaluation\",\"done\":-1,\"total\":2,\"unit\":\"images\"}",
                "{\"type\":\"progress\",\"phase\":\"evaluation\",\"done\":0,\"total\":0,\"unit\":\"images\"}",
                "{\"type\":\"hello\",\"protocol\":1,\"pid\":2,\"squeezeVersion\":null,\"javaVersion\":\"j\"}")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Protocol.workerMessage(line),
                    line);
            assertTrue(e.getMessage().startsWith("not a WorkerMessage"), e.getMessage());
        }
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        String start = Protocol.encode(parentMessages().getFirst());
        for (String field : List.of("spec", "specHash", "checkpointDir")) {
            var tree = (com.fasterxml.jackson.databind.node.ObjectNode) assertDoesNotThrow(() -> json.readTree(start));
            tree.putNull(field);
            String line = tree.toString();
            assertThrows(IllegalArgumentException.class, () -> Protocol.parentMessage(line), line);
        }
        // The spec hash keys the checkpoints: an empty one is refused too.
        var emptyHash = (com.fasterxml.jackson.databind.node.ObjectNode) assertDoesNotThrow(() -> json.readTree(start));
        emptyHash.put("specHash", "");
        assertThrows(IllegalArgumentException.class, () -> Protocol.parentMessage(emptyHash.toString()));
        // The optional fields stay optional.
        assertEquals(new WorkerMessage.Phase("loading", null),
                Protocol.workerMessage("{\"type\":\"phase\",\"phase\":\"loading\",\"detail\":null}"));
        assertEquals(new ParentMessage.Cancel(null), Protocol.parentMessage("{\"type\":\"cancel\",\"reason\":null}"));
    }

    /** A real worker process, started as the engine starts it. */
    private Process startWorker() throws Exception {
        List<String> cmd = WorkerProcess.command(JobTesting.options(1), dir);
        return new ProcessBuilder(cmd).redirectError(dir.resolve("worker.log").toFile()).start();
    }

    private static List<String> readAll(Process p) throws Exception {
        List<String> lines = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                lines.add(line);
            }
        }
        return lines;
    }

    private static int exit(Process p) throws Exception {
        if (!p.waitFor(Duration.ofSeconds(30).toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the worker did not exit");
        }
        return p.exitValue();
    }

    @Test
    void aWorkerSaysHelloAndRefusesAnotherProtocolVersion() throws Exception {
        Process p = startWorker();
        try (Writer w = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8)) {
            w.write(Protocol.encode(new ParentMessage.Start(99, 5, JobSpec.of("/no/such/model.safetensors",
                    dev.squeeze.engine.plan.CompressionPlan.parse(PLAN), "v99"), "0".repeat(64),
                    dir.resolve("ck").toString())) + "\n");
        }
        List<String> lines = readAll(p);
        int code = exit(p);
        assertEquals(2, lines.size(), "hello, then failed: " + lines);
        var hello = assertInstanceOf(WorkerMessage.Hello.class, Protocol.workerMessage(lines.get(0)));
        assertEquals(Protocol.VERSION, hello.protocol());
        assertEquals(p.pid(), hello.pid());
        assertEquals(Runtime.version().toString(), hello.javaVersion());
        var failed = assertInstanceOf(WorkerMessage.Failed.class, Protocol.workerMessage(lines.get(1)));
        assertTrue(failed.reason().contains("99") && failed.reason().contains("worker " + Protocol.VERSION),
                failed.reason());
        assertFalse(failed.resumable(), "a version mismatch is not fixed by resuming");
        assertTrue(code != 0, "exit status " + code);
    }

    @Test
    void aWorkerRefusesAFirstLineThatIsNotAStart() throws Exception {
        Process p = startWorker();
        try (Writer w = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8)) {
            w.write(Protocol.encode(new ParentMessage.Cancel("early")) + "\n");
        }
        List<String> lines = readAll(p);
        int code = exit(p);
        assertEquals(2, lines.size(), lines.toString());
        assertInstanceOf(WorkerMessage.Hello.class, Protocol.workerMessage(lines.get(0)));
        var failed = assertInstanceOf(WorkerMessage.Failed.class, Protocol.workerMessage(lines.get(1)));
        assertTrue(failed.reason().contains("'start'"), failed.reason());
        assertTrue(code != 0);
    }
}
