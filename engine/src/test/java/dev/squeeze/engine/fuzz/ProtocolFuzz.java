package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.jobs.protocol.ParentMessage;
import dev.squeeze.engine.jobs.protocol.Protocol;
import dev.squeeze.engine.jobs.protocol.WorkerMessage;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.RunRecord;

import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Job protocol lines ({@link Protocol}), read as the worker reads its parent's lines and as the parent reads its
 * worker's. The protocol's refusal is by design an {@link IllegalArgumentException} with a reason (the reader
 * logs the line as stray and reads on), so that is the clean refusal here. A line that is accepted must be a
 * message its reader can act on: every field the protocol requires present, a layer state among the documented
 * ones, progress within {@code 0 <= done <= total} with {@code total > 0}, and the same message again after encoding
 * it.
 */
public final class ProtocolFuzz {
    /** Fields docs/job-protocol.md lets a peer leave null; every other reference field is required. */
    /** Fields a message may leave null (Start.modelHash: a local worker reads the parent's own file, unchecked). */
    private static final Set<String> OPTIONAL = Set.of("Phase.detail", "Failed.reason", "Cancelled.reason",
            "Cancel.reason", "Start.modelHash");
    private static final Set<String> LAYER_STATES = Set.of("started", "done", "restored");

    private ProtocolFuzz() {
    }

    public static void fuzzerInitialize() throws Exception {
        FuzzFiles.warmUp(seeds(), ProtocolFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) {
        String line = new String(data, StandardCharsets.UTF_8);
        try {
            WorkerMessage m = Protocol.workerMessage(line);
            check(m, Protocol.workerMessage(Protocol.encode(m)));
        } catch (IllegalArgumentException refused) {
            requireReason(refused);
        }
        try {
            ParentMessage m = Protocol.parentMessage(line);
            check(m, Protocol.parentMessage(Protocol.encode(m)));
        } catch (IllegalArgumentException refused) {
            requireReason(refused);
        }
    }

    private static void requireReason(IllegalArgumentException e) {
        if (e.getMessage() == null || e.getMessage().isBlank()) {
            throw new AssertionError("a refused line without a reason", e);
        }
    }

    private static void check(Object m, Object again) {
        if (!m.equals(again)) {
            throw new AssertionError("not the same message after encoding: " + m + " became " + again);
        }
        for (RecordComponent c : m.getClass().getRecordComponents()) {
            Object v;
            try {
                v = c.getAccessor().invoke(m);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
            String field = m.getClass().getSimpleName() + "." + c.getName();
            if (v == null && !c.getType().isPrimitive() && !OPTIONAL.contains(field)) {
                throw new AssertionError("accepted a line without the required field " + field + ": " + m);
            }
        }
        if (m instanceof WorkerMessage.Layer l && !LAYER_STATES.contains(l.state())) {
            throw new AssertionError("accepted layer state '" + l.state() + "': " + m);
        }
        if (m instanceof WorkerMessage.Progress p && (p.total() <= 0 || p.done() < 0 || p.done() > p.total())) {
            throw new AssertionError("accepted progress outside 0 <= done <= total, total > 0: " + m);
        }
    }

    /** One line of every message type, as the encoder writes them. */
    static Map<String, byte[]> seeds() {
        String plan = "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4,\"groupSize\":16}}";
        JobSpec spec = new JobSpec("/models/m.safetensors", plan, "run", 8, 3, true, 12, "/data/images.idx",
                "/data/labels.idx", List.of("a"));
        RunRecord run = new RunRecord(
                new RunRecord.ModelRecord("a".repeat(64), "m", "/p/m.safetensors", "safetensors", "mlp", 2080, 8320),
                new RunRecord.DatasetRecord("eval", "builtin:x", "b".repeat(64), "evaluation", 40),
                CompressionPlan.parse(plan).canonicalJson(), "RTN 4-bit", "label",
                Instant.parse("2026-03-04T05:06:07.123456789Z"), Instant.parse("2026-03-04T05:06:09Z"), 1,
                new Provenance("0.1.0", "abc", "host", "25", "java"), 100, 200, 4.5,
                List.of(new RunRecord.LayerResult("fc1", "rtn", "RTN 4-bit", 1000, 4.5, null, 2)),
                List.of(new RunRecord.Metric("top1", "evaluation", 0.75)),
                new RunRecord.DatasetRecord("cal", "src", "c".repeat(64), "calibration", 8192), List.of("t"), 42L);
        Map<String, Object> messages = new LinkedHashMap<>();
        messages.put("hello", new WorkerMessage.Hello(Protocol.VERSION, 12345, "0.1.0", "25+36", "node1"));
        messages.put("phase", new WorkerMessage.Phase("calibration", "block 2 of 5"));
        messages.put("progress", new WorkerMessage.Progress("evaluation", 1024, 12802, "tokens"));
        messages.put("layer", new WorkerMessage.Layer(0, 3, "fc1", "started"));
        messages.put("warning", new WorkerMessage.Warning("damaged checkpoint"));
        messages.put("result", new WorkerMessage.Result(run));
        messages.put("failed", new WorkerMessage.Failed("out of memory", true));
        messages.put("cancelled", new WorkerMessage.Cancelled("by the user"));
        messages.put("start", new ParentMessage.Start(Protocol.VERSION, 7, spec, "f".repeat(64), "/tmp/ck/job-7"));
        messages.put("start-checked", new ParentMessage.Start(Protocol.VERSION, 8, spec, "e".repeat(64),
                "/shared/squeeze-k/job-8", "d".repeat(64)));
        messages.put("cancel", new ParentMessage.Cancel("by the user"));
        Map<String, byte[]> out = new LinkedHashMap<>();
        messages.forEach((name, m) -> out.put(name, Protocol.encode(m).getBytes(StandardCharsets.UTF_8)));
        return out;
    }
}
