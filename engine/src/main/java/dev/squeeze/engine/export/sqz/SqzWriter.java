package dev.squeeze.engine.export.sqz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.plan.SettingsJson;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.StoredRun;
import dev.squeeze.engine.util.AtomicFiles;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/** Writes {@code .sqz} bundles (layout: {@link Sqz}). */
final class SqzWriter {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private SqzWriter() {
    }

    /** Refuses what the bundle cannot hold, before anything is written. */
    static void check(SqzContents c) {
        CompressedModel cm = c.model();
        Model base = cm.base();
        if (OnnxModel.ARCHITECTURE.equals(base.architecture()) || base.declaredLayers() != null) {
            throw new SqueezeException("Cannot bundle " + base.source() + " as .sqz: its layers are nodes of an "
                    + "ONNX graph, which the bundle does not carry", "export an ONNX classifier with --format onnx");
        }
        for (Map.Entry<String, CompressedTensor> e : cm.compressed().entrySet()) {
            String layer = e.getKey();
            CompressedTensor t = e.getValue();
            if (SqzTensors.kindOf(t) == null) {
                throw new SqueezeException("Cannot bundle layer " + layer + " as .sqz: its compressed form "
                        + t.getClass().getSimpleName() + " (" + t.describe() + ") has no .sqz encoding",
                        "export this run to a format that stores it dequantized (--format hf)");
            }
            Tensor w = base.findTensor(layer + ".weight").orElseThrow(() -> new SqueezeException("Cannot bundle"
                    + " layer " + layer + ": the model " + base.name() + " has no tensor " + layer + ".weight",
                    "export the run with the model it was made from"));
            if (w.dim(0) != t.rows() || w.numel() != (long) t.rows() * t.cols()) {
                throw new SqueezeException("Cannot bundle layer " + layer + ": the compressed tensor is " + t.rows()
                        + " × " + t.cols() + " but " + w + " has another shape",
                        "export the run with the model it was made from");
            }
        }
    }

    static ExportReport write(SqzContents c, Path out) {
        check(c);
        List<ExportReport.TensorNote> notes = new ArrayList<>();
        AtomicFiles.write(out, stream -> {
            Sink s = new Sink(stream);
            s.raw(Sqz.header());
            ArrayNode sections = F.arrayNode();
            CompressedModel cm = c.model();
            Model base = cm.base();
            s.section(sections, "model", "json", null, json(modelJson(cm)));
            if (c.run() != null) {
                s.section(sections, "plan", "json", null, c.run().planJson().getBytes(StandardCharsets.UTF_8));
                s.section(sections, "run", "json", null, json(runJson(c.run(), c.metrics(), c.layers())));
            }
            for (Map.Entry<String, byte[]> t : c.tokenizerFiles().entrySet()) {
                s.section(sections, "tokenizer/" + t.getKey(), "tokenizer", null, t.getValue());
            }
            for (Tensor t : base.tensors().values()) {
                String layer = layerOf(cm, t);
                if (layer != null) {
                    CompressedTensor ct = cm.compressed().get(layer);
                    SqzTensors.Encoded enc = SqzTensors.encode(ct); // one layer's arrays in heap at a time
                    ObjectNode extra = F.objectNode().put("kind", enc.kind());
                    extra.set("attrs", enc.attrs());
                    MethodSettings ms = cm.settings().get(layer);
                    ObjectNode layerSettings = SettingsJson.write(ms);
                    extra.set("settings", layerSettings);
                    if (layerSettings.equals(enc.attrs().get("settings"))) {
                        enc.attrs().remove("settings"); // the tensor's own settings are the layer's: written once
                    }
                    s.section(sections, "layer/" + layer, "layer", extra, enc.payload());
                    notes.add(new ExportReport.TensorNote(t.name(), enc.kind() + " packed (" + ct.describe() + ")",
                            true, ""));
                } else {
                    s.section(sections, "tensor/" + t.name(), "dense", null, t.bytes());
                }
            }
            ObjectNode manifest = F.objectNode().put("format", Sqz.FORMAT_NAME).put("version", Sqz.MAJOR);
            manifest.put("label", cm.label());
            if (cm.runId() == null) {
                manifest.putNull("runId");
            } else {
                manifest.put("runId", cm.runId());
            }
            manifest.set("sections", sections);
            byte[] m = json(manifest);
            long at = s.offset;
            CRC32C crc = new CRC32C();
            crc.update(m);
            s.raw(m);
            s.raw(Sqz.footer(at, m.length, (int) crc.getValue()));
        });
        long bytes;
        try {
            bytes = Files.size(out);
        } catch (IOException e) {
            bytes = -1;
        }
        return new ExportReport(out.toAbsolutePath(), Sqz.FORMAT, bytes, notes);
    }

    /** The layer whose compressed form replaces tensor {@code t}, or null when it is stored as it is. */
    private static String layerOf(CompressedModel cm, Tensor t) {
        String n = t.name();
        if (!n.endsWith(".weight")) {
            return null;
        }
        String layer = n.substring(0, n.length() - ".weight".length());
        return cm.compressed().containsKey(layer) ? layer : null;
    }

    private static byte[] json(JsonNode n) throws IOException {
        return JSON.writeValueAsBytes(n);
    }

    private static ObjectNode modelJson(CompressedModel cm) {
        Model m = cm.base();
        ObjectNode o = F.objectNode().put("name", m.name()).put("source", m.source()).put("format", m.format())
                .put("architecture", m.architecture()).put("contentHash", m.contentHash())
                .put("parameters", m.parameterCount()).put("storedBytes", m.storedBytes());
        ObjectNode meta = o.putObject("metadata");
        m.metadata().forEach(meta::put);
        ArrayNode tensors = o.putArray("tensors");
        for (Tensor t : m.tensors().values()) {
            if (t.codec() != null) {
                throw new SqueezeException("Tensor " + t.name() + " of " + m.name() + " is stored in ggml's "
                        + t.codec().name() + " blocks (a GGUF file), which a .sqz bundle does not hold",
                        "export the model as GGUF, or bundle the F32/F16 model it came from");
            }
            ObjectNode e = tensors.addObject().put("name", t.name()).put("dtype", t.dtype().name())
                    .put("groupSize", t.groupSize());
            ArrayNode shape = e.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            String layer = layerOf(cm, t);
            e.put("section", layer != null ? "layer/" + layer : "tensor/" + t.name());
        }
        return o;
    }

    static ObjectNode runJson(StoredRun r, List<RunRecord.Metric> metrics, List<RunRecord.LayerResult> layers) {
        ObjectNode o = F.objectNode();
        var s = r.summary();
        o.put("id", s.id()).put("modelName", s.modelName()).put("modelHash", s.modelHash()).put("label", s.label())
                .put("status", s.status()).put("finishedAt", s.finishedAt() == null ? null : s.finishedAt().toString())
                .put("sizeBytes", s.sizeBytes()).put("fp16Bytes", s.fp16Bytes()).put("bitsPerWeight", s.bitsPerWeight())
                .put("metric", s.metric() == null ? null : s.metric().name()).put("metricValue", s.metricValue())
                .put("kernelBackend", s.kernelBackend()).put("gitCommit", s.gitCommit())
                .put("baseline", s.baseline()).put("methodFamily", s.methodFamily());
        o.put("planDescription", r.planDescription());
        var p = r.provenance();
        o.putObject("provenance").put("squeezeVersion", p.squeezeVersion()).put("gitCommit", p.gitCommit())
                .put("host", p.host()).put("javaVersion", p.javaVersion()).put("kernelBackend", p.kernelBackend())
                .put("backends", p.backends()).put("cpu", p.cpu());
        o.set("evaluation", dataset(r.evaluation()));
        o.set("calibration", dataset(r.calibration()));
        o.put("startedAt", r.startedAt() == null ? null : r.startedAt().toString()).put("seed", r.seed());
        ArrayNode tags = o.putArray("tags");
        r.tags().forEach(tags::add);
        o.put("jobId", r.jobId());
        ArrayNode ms = o.putArray("metrics");
        for (RunRecord.Metric m : metrics) {
            ms.addObject().put("name", m.name()).put("split", m.split()).put("value", m.value());
        }
        ArrayNode ls = o.putArray("layers");
        for (RunRecord.LayerResult l : layers) {
            ls.addObject().put("layer", l.layer()).put("method", l.method()).put("settings", l.settings())
                    .put("storedBits", l.storedBits()).put("bitsPerWeight", l.bitsPerWeight())
                    .put("reconError", l.reconError()).put("millis", l.millis());
        }
        return o;
    }

    private static JsonNode dataset(RunRecord.DatasetRecord d) {
        if (d == null) {
            return F.nullNode();
        }
        return F.objectNode().put("name", d.name()).put("source", d.source()).put("contentHash", d.contentHash())
                .put("split", d.split()).put("items", d.items());
    }

    /** The output with its offset and each section's CRC32C. */
    private static final class Sink {
        private static final int ALIGN = 64;
        private final OutputStream out;
        private final byte[] chunk = new byte[1 << 16];
        long offset;

        Sink(OutputStream out) {
            this.out = out;
        }

        void raw(byte[] b) throws IOException {
            out.write(b);
            offset += b.length;
        }

        void section(ArrayNode sections, String name, String type, ObjectNode extra, byte[] payload) throws IOException {
            section(sections, name, type, extra, ByteBuffer.wrap(payload));
        }

        void section(ArrayNode sections, String name, String type, ObjectNode extra, ByteBuffer payload)
                throws IOException {
            int pad = (int) ((ALIGN - offset % ALIGN) % ALIGN);
            raw(new byte[pad]);
            long start = offset;
            CRC32C crc = new CRC32C();
            ByteBuffer b = payload.duplicate();
            while (b.hasRemaining()) {
                int n = Math.min(chunk.length, b.remaining());
                b.get(chunk, 0, n);
                crc.update(chunk, 0, n);
                out.write(chunk, 0, n);
                offset += n;
            }
            ObjectNode e = sections.addObject().put("name", name).put("type", type).put("offset", start)
                    .put("length", offset - start)
                    .put("crc32c", HexFormat.of().toHexDigits((int) crc.getValue()));
            if (extra != null) {
                e.setAll(extra);
            }
        }
    }
}
