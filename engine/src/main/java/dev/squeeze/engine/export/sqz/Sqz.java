package dev.squeeze.engine.export.sqz;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Shapes;
import dev.squeeze.engine.model.StoredSizes;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.plan.SettingsJson;
import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.RunSummary;
import dev.squeeze.engine.store.StoredRun;
import dev.squeeze.engine.util.Hashing;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Squeeze's own bundle of a compressed model: {@link #write} and {@link #read}.
 *
 * <p><b>Layout</b> (little-endian):
 * <pre>
 *   header   16 bytes  magic 89 53 51 5A 0D 0A 1A 0A ("\x89SQZ\r\n\x1a\n"), u16 major = 1, u16 minor = 0, u32 0
 *   sections           each payload starts at a multiple of 64 bytes (zero padding between)
 *   manifest           UTF-8 JSON: {"format":"squeeze-bundle","version":1,"label":…,"runId":…,"sections":[…]};
 *                      each section {"name","type","offset","length","crc32c"} (+ "kind","attrs","settings" for
 *                      a compressed layer)
 *   footer   32 bytes  u64 manifest offset, u64 manifest length, u32 manifest CRC32C, u16 major, u16 minor,
 *                      magic "SQZ-END\n"
 * </pre>
 * Sections: {@code model} (JSON: the base model's name, source, format, architecture, content hash, metadata and
 * its tensors in file order with dtype, shape and the section that holds each), {@code plan} (the run's plan,
 * canonical JSON), {@code run} (JSON: the stored run's summary, provenance, data sets, seed, tags, metrics and
 * per-layer results), {@code tokenizer/<file>} (the tokenizer files' bytes), {@code tensor/<name>} (an
 * uncompressed tensor's bytes as the base model stores them) and {@code layer/<name>} (a compressed layer in its
 * packed stored form, {@link SqzTensors}). Every section carries a CRC32C, verified on opening. Nothing is Java
 * serialization.
 */
public final class Sqz {
    /** The format name in exports and model lists. */
    public static final String FORMAT = "sqz";
    static final String FORMAT_NAME = "squeeze-bundle";
    static final int MAJOR = 1;
    static final int MINOR = 0;
    static final byte[] MAGIC = {(byte) 0x89, 'S', 'Q', 'Z', '\r', '\n', 0x1a, '\n'};
    static final byte[] END = {'S', 'Q', 'Z', '-', 'E', 'N', 'D', '\n'};
    static final int HEADER = 16;
    static final int FOOTER = 32;
    /** A manifest is a few hundred bytes per tensor; more than this is not a manifest. */
    static final long MAX_MANIFEST = 64L << 20;
    /** JSON sections (model, plan, run) are read into memory: larger ones are refused. */
    static final long MAX_JSON = 256L << 20;
    /** Files up to this size are read into the heap; larger ones are memory-mapped (their tensors stay in the file). */
    static final long SMALL = 16L << 20;

    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Sqz() {
    }

    /**
     * Writes the bundle to {@code out} (through a temporary file moved into place when complete), one tensor at a
     * time: uncompressed tensors are copied from where the model holds them, compressed layers are packed one after
     * the other. Refuses, before writing anything, a model or tensor kind the bundle cannot hold.
     */
    public static ExportReport write(SqzContents contents, Path out) {
        return SqzWriter.write(contents, out);
    }

    /**
     * Evaluates the bundle again with its compressed layers' own operators on the data its run was evaluated on
     * and sets the measured metrics beside the stored ones ({@link SqzEvaluation#evaluate(SqzBundle)}).
     */
    public static SqzEvaluation evaluate(SqzBundle bundle) {
        return SqzEvaluation.evaluate(bundle);
    }

    /** Whether the bytes start like a bundle. */
    public static boolean recognizes(byte[] head) {
        if (head.length < MAGIC.length) {
            return false;
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (head[i] != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    static byte[] header() {
        ByteBuffer b = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putShort((short) MAJOR).putShort((short) MINOR).putInt(0);
        return b.array();
    }

    static byte[] footer(long manifestOffset, long manifestLength, int crc) {
        ByteBuffer b = ByteBuffer.allocate(FOOTER).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(manifestOffset).putLong(manifestLength).putInt(crc).putShort((short) MAJOR)
                .putShort((short) MINOR).put(END);
        return b.array();
    }

    // ------------------------------------------------------------------------------------------------ reading

    /**
     * Opens a bundle: checks the header, footer, manifest and every section's bounds and CRC32C, parses the model,
     * plan and run, and decodes every compressed layer once through its checking factory. Any problem is a
     * {@link SqueezeException} naming the file, the section and what is wrong.
     */
    public static SqzBundle read(Path file) {
        Path abs = file.toAbsolutePath();
        if (!Files.isRegularFile(abs)) {
            throw new SqueezeException("Bundle not found: " + abs + (Files.exists(abs) ? " is not a file" : " does not exist"),
                    "give the path of a .sqz file written by squeeze export --format sqz");
        }
        MemorySegment all;
        try (FileChannel ch = FileChannel.open(abs, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER + FOOTER) {
                throw damaged(abs, "it has " + size + " bytes, fewer than a header and a footer (" + (HEADER + FOOTER) + ")");
            }
            if (size <= SMALL) {
                ByteBuffer buf = ByteBuffer.allocate((int) size);
                while (buf.hasRemaining() && ch.read(buf, buf.position()) >= 0) {
                    // read the whole small file
                }
                if (buf.hasRemaining()) {
                    throw damaged(abs, "the file ended while it was read (it is being written?)");
                }
                all = MemorySegment.ofArray(buf.array());
            } else {
                all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, Arena.ofAuto());
            }
        } catch (IOException e) {
            throw new SqueezeException("Cannot read bundle " + abs + ": " + e.getMessage(),
                    "check that the file is readable", e);
        }
        try {
            return parse(abs, all);
        } catch (IllegalArgumentException | IndexOutOfBoundsException | ArithmeticException e) {
            throw damaged(abs, e.getMessage());
        }
    }

    static SqueezeException damaged(Path file, String what) {
        return new SqueezeException("Damaged .sqz bundle " + file + ": " + what,
                "export the run again (squeeze export --run ID --format sqz); a bundle cannot be repaired");
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException(what);
        }
    }

    private static SqzBundle parse(Path file, MemorySegment all) {
        long size = all.byteSize();
        require(size >= HEADER + FOOTER, "it has " + size + " bytes, fewer than a header and a footer ("
                + (HEADER + FOOTER) + ")");
        byte[] head = all.asSlice(0, MAGIC.length).toArray(ValueLayout.JAVA_BYTE);
        require(recognizes(head), "it does not start with the bundle magic 89 53 51 5A 0D 0A 1A 0A");
        int major = all.get(SHORT, 8) & 0xffff;
        if (major != MAJOR) {
            throw new SqueezeException("Bundle " + file + " is format version " + major + "; this Squeeze reads version "
                    + MAJOR, major > MAJOR ? "update Squeeze to open it" : "export the run again with this Squeeze");
        }
        long f = size - FOOTER;
        byte[] end = all.asSlice(f + 24, 8).toArray(ValueLayout.JAVA_BYTE);
        require(java.util.Arrays.equals(end, END), "it does not end with the footer magic \"SQZ-END\" (truncated?)");
        require((all.get(SHORT, f + 20) & 0xffff) == major, "header version " + major + " and footer version "
                + (all.get(SHORT, f + 20) & 0xffff) + " differ");
        long mOff = all.get(LONG, f);
        long mLen = all.get(LONG, f + 8);
        require(mOff >= HEADER && mLen >= 2 && mLen <= MAX_MANIFEST && mOff <= f - mLen && mOff + mLen == f,
                "the footer places the manifest at " + mOff + "+" + mLen + " in a file of " + size + " bytes");
        MemorySegment manifestBytes = all.asSlice(mOff, mLen);
        int crc = all.get(INT, f + 16);
        require(crc(manifestBytes) == crc, "the manifest's CRC32C does not match (the file is damaged)");
        JsonNode manifest = json(manifestBytes, "the manifest");
        require(manifest.isObject() && FORMAT_NAME.equals(manifest.path("format").asText(null)),
                "the manifest is not a squeeze-bundle manifest");
        require(manifest.path("version").isInt() && manifest.get("version").intValue() == major,
                "the manifest's version differs from the header's");
        JsonNode list = manifest.get("sections");
        require(list != null && list.isArray(), "the manifest has no 'sections' list");

        Map<String, MemorySegment> sections = new LinkedHashMap<>();
        Map<String, JsonNode> entries = new LinkedHashMap<>();
        long previousEnd = HEADER;
        for (int i = 0; i < list.size(); i++) {
            JsonNode e = list.get(i);
            require(e.isObject(), "section entry " + i + " is not an object");
            String name = e.path("name").asText(null);
            require(name != null && !name.isEmpty() && e.get("name").isTextual(), "section entry " + i + " has no name");
            require(!sections.containsKey(name), "section '" + name + "' appears twice");
            require(e.path("offset").canConvertToLong() && e.path("offset").isIntegralNumber()
                    && e.path("length").isIntegralNumber() && e.path("length").canConvertToLong(),
                    "section '" + name + "' has no integer offset and length");
            long off = e.get("offset").longValue();
            long len = e.get("length").longValue();
            require(off >= previousEnd && len >= 0 && len <= mOff - off, "section '" + name + "' at " + off + "+"
                    + len + " overlaps another or lies outside the sections (" + previousEnd + ".." + mOff + ")");
            previousEnd = off + len;
            MemorySegment data = all.asSlice(off, len);
            String want = e.path("crc32c").asText("");
            require(want.matches("[0-9a-f]{8}"), "section '" + name + "' has no CRC32C");
            require(HexFormat.of().toHexDigits(crc(data)).equals(want), "section '" + name
                    + "' fails its CRC32C check (the file is damaged)");
            sections.put(name, data);
            entries.put(name, e);
        }
        MemorySegment modelSection = sections.get("model");
        require(modelSection != null, "it has no 'model' section");
        JsonNode model = json(limitJson(modelSection, "model"), "section 'model'");
        require(model.isObject(), "section 'model' is not a JSON object");
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode meta = model.get("metadata");
        require(meta != null && meta.isObject(), "section 'model' has no metadata object");
        meta.properties().forEach(p -> {
            require(p.getValue().isTextual(), "metadata '" + p.getKey() + "' is not text");
            metadata.put(p.getKey(), p.getValue().textValue());
        });
        SqzBundle.BaseModel base = new SqzBundle.BaseModel(text(model, "name", "model"), text(model, "source", "model"),
                text(model, "format", "model"), text(model, "architecture", "model"),
                text(model, "contentHash", "model"), model.path("parameters").asLong(-1),
                model.path("storedBytes").asLong(-1), metadata);

        Map<String, SqzBundle.LayerEntry> layers = new LinkedHashMap<>();
        Map<String, byte[]> tokenizer = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> en : entries.entrySet()) {
            String name = en.getKey();
            JsonNode e = en.getValue();
            String type = e.path("type").asText("");
            switch (type) {
                case "json" -> require(List.of("model", "plan", "run").contains(name), "unknown JSON section '" + name + "'");
                case "tokenizer" -> {
                    require(name.startsWith("tokenizer/") && name.length() > 10 && !name.substring(10).contains("/")
                            && !name.substring(10).startsWith("."), "tokenizer section '" + name + "' has no plain file name");
                    require(sections.get(name).byteSize() <= MAX_JSON, "tokenizer section '" + name + "' is too large");
                    tokenizer.put(name.substring(10), sections.get(name).toArray(ValueLayout.JAVA_BYTE));
                }
                case "dense" -> require(name.startsWith("tensor/"), "dense section '" + name + "' is not named tensor/…");
                case "layer" -> {
                    require(name.startsWith("layer/") && name.length() > 6, "layer section '" + name + "' is not named layer/…");
                    String layer = name.substring(6);
                    String kind = e.path("kind").asText("");
                    require(SqzTensors.KINDS.contains(kind), "layer '" + layer + "' has kind '" + kind
                            + "', not one of " + SqzTensors.KINDS);
                    JsonNode attrs = e.get("attrs");
                    require(attrs != null && attrs.isObject(), "layer '" + layer + "' has no attrs");
                    JsonNode settingsNode = e.get("settings");
                    require(settingsNode != null && settingsNode.isObject(), "layer '" + layer + "' has no settings");
                    MethodSettings settings = settings(file, layer, settingsNode);
                    if (!attrs.has("settings") && List.of("rtn", "gptq", "spqr").contains(kind)) {
                        // Written once when the tensor's own settings are the layer's.
                        attrs = ((com.fasterxml.jackson.databind.node.ObjectNode) attrs.deepCopy()).set("settings", settingsNode);
                    }
                    SqzBundle.LayerEntry le = new SqzBundle.LayerEntry(layer, kind, attrs, settings, sections.get(name));
                    layers.put(layer, le);
                }
                default -> require(false, "section '" + name + "' has unknown type '" + type + "'");
            }
        }

        List<SqzBundle.TensorEntry> tensors = new ArrayList<>();
        JsonNode tlist = model.get("tensors");
        require(tlist != null && tlist.isArray(), "section 'model' has no tensor list");
        Set<String> names = new HashSet<>();
        Set<String> usedLayers = new HashSet<>();
        for (int i = 0; i < tlist.size(); i++) {
            JsonNode t = tlist.get(i);
            require(t.isObject(), "tensor entry " + i + " is not an object");
            String name = text(t, "name", "model tensor " + i);
            require(names.add(name), "tensor '" + name + "' is listed twice");
            JsonNode shapeNode = t.get("shape");
            require(shapeNode != null && shapeNode.isArray() && shapeNode.size() <= 8, "tensor '" + name + "' has no shape");
            long[] shape = new long[shapeNode.size()];
            for (int d = 0; d < shape.length; d++) {
                require(shapeNode.get(d).isIntegralNumber() && shapeNode.get(d).canConvertToLong()
                        && shapeNode.get(d).longValue() >= 0, "tensor '" + name + "' has a bad dimension");
                shape[d] = shapeNode.get(d).longValue();
            }
            long numel = Shapes.numel(shape, file.toString(), name);
            String dtype = text(t, "dtype", "tensor '" + name + "'");
            require(dtype.equals("I8_GROUPS") || DType.parse(dtype) != null, "tensor '" + name + "' has dtype '" + dtype + "'");
            int groupSize = t.path("groupSize").asInt(0);
            String section = text(t, "section", "tensor '" + name + "'");
            if (section.startsWith("layer/")) {
                String layer = section.substring(6);
                SqzBundle.LayerEntry le = layers.get(layer);
                require(le != null, "tensor '" + name + "' names missing section '" + section + "'");
                require(usedLayers.add(layer), "layer '" + layer + "' stands for two tensors");
                int rows = SqzTensors.intField(le.attrs(), "rows");
                int cols = SqzTensors.intField(le.attrs(), "cols");
                require(shape.length >= 2 && shape[0] == rows && numel == (long) rows * cols, "tensor '" + name
                        + "' has a shape other than its layer's " + rows + " × " + cols);
                tensors.add(new SqzBundle.TensorEntry(name, dtype, groupSize, shape, null, layer));
            } else {
                require(section.equals("tensor/" + name) && sections.containsKey(section)
                        && "dense".equals(entries.get(section).path("type").asText()),
                        "tensor '" + name + "' names missing section '" + section + "'");
                MemorySegment data = sections.get(section);
                require(data.byteSize() <= Integer.MAX_VALUE, "tensor '" + name + "' is larger than 2 GiB");
                tensors.add(new SqzBundle.TensorEntry(name, dtype, groupSize, shape, data, null));
                denseTensor(tensors.getLast()); // checks bytes against shape and dtype
            }
        }
        require(usedLayers.equals(layers.keySet()), "layer sections " + layers.keySet() + " are not all tensors of the model");
        long dense = entries.values().stream().filter(e -> "dense".equals(e.path("type").asText())).count();
        require(dense + usedLayers.size() == tensors.size(), "the model lists " + tensors.size() + " tensors but the "
                + "bundle holds " + dense + " dense and " + usedLayers.size() + " compressed ones");

        String plan = sections.containsKey("plan")
                ? new String(limitJson(sections.get("plan"), "plan").toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8)
                : null;
        if (plan != null) {
            json(sections.get("plan"), "section 'plan'");
        }
        StoredRun run = null;
        List<RunRecord.Metric> metrics = List.of();
        List<RunRecord.LayerResult> layerResults = List.of();
        if (sections.containsKey("run")) {
            require(plan != null, "it has a run but no plan");
            JsonNode r = json(limitJson(sections.get("run"), "run"), "section 'run'");
            require(r.isObject(), "section 'run' is not an object");
            run = run(r, plan);
            metrics = metrics(r);
            layerResults = layerResults(r);
        }
        Long runId = manifest.path("runId").isIntegralNumber() ? manifest.get("runId").longValue() : null;
        String label = manifest.path("label").isTextual() ? manifest.get("label").textValue() : base.name();
        SqzBundle b = new SqzBundle(file, major, label, runId, base, plan, run, metrics, layerResults, tokenizer,
                layers, tensors, Hashing.sha256(all));
        for (SqzBundle.LayerEntry le : layers.values()) {
            decode(b, le); // every layer passes its tensor's checks once, when the bundle opens
        }
        return b;
    }

    private static MethodSettings settings(Path file, String layer, JsonNode node) {
        try {
            MethodSettings s = SettingsJson.parse(node, file + " layer " + layer);
            require(s != null, "layer '" + layer + "' has settings of method 'none'");
            return s;
        } catch (SqueezeException e) {
            throw new IllegalArgumentException("layer '" + layer + "': " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    static CompressedTensor decode(SqzBundle b, SqzBundle.LayerEntry e) {
        try {
            return SqzTensors.decode(e.kind(), e.attrs(), e.payload(), b.file() + " layer " + e.layer());
        } catch (IllegalArgumentException | IndexOutOfBoundsException | ArithmeticException x) {
            throw damaged(b.file(), "layer '" + e.layer() + "' (" + e.kind() + "): " + x.getMessage());
        } catch (SqueezeException x) {
            throw damaged(b.file(), "layer '" + e.layer() + "' (" + e.kind() + "): "
                    + x.getMessage().lines().findFirst().orElse(""));
        }
    }

    private static Tensor denseTensor(SqzBundle.TensorEntry t) {
        ByteBuffer bytes = t.dense().asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        try {
            if (t.dtype().equals("I8_GROUPS")) {
                return Tensor.int8Groups(t.name(), t.shape(), bytes, t.groupSize());
            }
            require(t.groupSize() == 0, "tensor '" + t.name() + "' of " + t.dtype() + " has a group size");
            return new Tensor(t.name(), DType.parse(t.dtype()), t.shape(), bytes);
        } catch (SqueezeException e) {
            throw new IllegalArgumentException(e.getMessage().lines().findFirst().orElse(""));
        }
    }

    static Model view(SqzBundle b) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>(b.base().metadata());
        for (SqzBundle.TensorEntry t : b.tensorEntries()) {
            if (t.layer() == null) {
                tensors.put(t.name(), denseTensor(t));
            } else {
                CompressedTensor c = b.layer(t.layer());
                tensors.put(t.name(), new Tensor(t.name(), DType.F32, t.shape(), ByteBuffer.wrap(DType.F32.encode(c.dequantize()))));
                metadata.put(StoredSizes.KEY_PREFIX + t.name(), Long.toString(Math.ceilDiv(c.storedBits(), 8)));
                metadata.put(StoredSizes.FORMAT_PREFIX + t.name(), c.describe());
            }
        }
        metadata.put("sqz.version", Integer.toString(b.version()));
        metadata.put("sqz.label", b.label());
        b.runId().ifPresent(id -> metadata.put("sqz.run_id", Long.toString(id)));
        metadata.put("sqz.base.name", b.base().name());
        metadata.put("sqz.base.source", b.base().source());
        metadata.put("sqz.base.format", b.base().format());
        metadata.put("sqz.base.content_hash", b.base().contentHash());
        String name = b.file().getFileName().toString();
        if (name.endsWith(".sqz")) {
            name = name.substring(0, name.length() - 4);
        }
        return new Model(name, b.file().toString(), FORMAT, b.base().architecture(), b.contentHash(), tensors, metadata);
    }

    private static MemorySegment limitJson(MemorySegment s, String name) {
        require(s.byteSize() <= MAX_JSON, "section '" + name + "' has " + s.byteSize() + " bytes, more than a JSON "
                + "section may");
        return s;
    }

    private static int crc(MemorySegment data) {
        CRC32C c = new CRC32C();
        long chunk = 1L << 30;
        for (long at = 0; at < data.byteSize(); at += chunk) {
            c.update(data.asSlice(at, Math.min(chunk, data.byteSize() - at)).asByteBuffer());
        }
        return (int) c.getValue();
    }

    private static JsonNode json(MemorySegment bytes, String what) {
        try {
            JsonNode n = SqzWriter.JSON.readTree(bytes.toArray(ValueLayout.JAVA_BYTE));
            require(n != null && !n.isMissingNode(), what + " is empty");
            return n;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(what + " is not valid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new IllegalArgumentException(what + " cannot be read as JSON (" + e.getMessage() + ")");
        }
    }

    private static String text(JsonNode o, String field, String where) {
        JsonNode v = o.get(field);
        require(v != null && v.isTextual(), where + ": field '" + field + "' is missing or not text");
        return v.textValue();
    }

    private static String optText(JsonNode o, String field) {
        JsonNode v = o.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static Double optDouble(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        require(v.isNumber(), "run field '" + field + "' is not a number");
        return v.doubleValue();
    }

    private static Long optLong(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        require(v.isIntegralNumber() && v.canConvertToLong(), "run field '" + field + "' is not an integer");
        return v.longValue();
    }

    private static Instant instant(JsonNode o, String field) {
        String t = optText(o, field);
        if (t == null) {
            return null;
        }
        try {
            return Instant.parse(t);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("run field '" + field + "' is not a time: " + t);
        }
    }

    private static StoredRun run(JsonNode r, String plan) {
        MetricKind kind = null;
        String k = optText(r, "metric");
        if (k != null) {
            try {
                kind = MetricKind.valueOf(k);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("run metric '" + k + "' is not a known metric");
            }
        }
        Long id = optLong(r, "id");
        RunSummary s = new RunSummary(id == null ? -1 : id, optText(r, "modelName"), optText(r, "modelHash"),
                optText(r, "label"), optText(r, "status"), instant(r, "finishedAt"),
                optLong(r, "sizeBytes") == null ? -1 : optLong(r, "sizeBytes"),
                optLong(r, "fp16Bytes") == null ? -1 : optLong(r, "fp16Bytes"), optDouble(r, "bitsPerWeight"), kind,
                optDouble(r, "metricValue"), optText(r, "kernelBackend"), optText(r, "gitCommit"),
                r.path("baseline").asBoolean(false), optText(r, "methodFamily"));
        JsonNode p = r.path("provenance");
        require(p.isObject(), "the run has no provenance");
        Provenance prov = new Provenance(optText(p, "squeezeVersion"), optText(p, "gitCommit"), optText(p, "host"),
                optText(p, "javaVersion"), optText(p, "kernelBackend"), optText(p, "backends"), optText(p, "cpu"));
        List<String> tags = new ArrayList<>();
        for (JsonNode t : r.path("tags")) {
            require(t.isTextual(), "a run tag is not text");
            tags.add(t.textValue());
        }
        Long seed = optLong(r, "seed");
        return new StoredRun(s, plan, optText(r, "planDescription"), prov, dataset(r.get("evaluation")),
                dataset(r.get("calibration")), instant(r, "startedAt"), seed == null ? 0 : seed, tags,
                optLong(r, "jobId"));
    }

    private static RunRecord.DatasetRecord dataset(JsonNode d) {
        if (d == null || d.isNull()) {
            return null;
        }
        require(d.isObject(), "a run data set is not an object");
        Long items = optLong(d, "items");
        return new RunRecord.DatasetRecord(optText(d, "name"), optText(d, "source"), optText(d, "contentHash"),
                optText(d, "split"), items == null ? 0 : items);
    }

    private static List<RunRecord.Metric> metrics(JsonNode r) {
        List<RunRecord.Metric> out = new ArrayList<>();
        for (JsonNode m : r.path("metrics")) {
            require(m.isObject() && m.path("value").isNumber(), "a run metric has no value");
            out.add(new RunRecord.Metric(optText(m, "name"), optText(m, "split"), m.get("value").doubleValue()));
        }
        return out;
    }

    private static List<RunRecord.LayerResult> layerResults(JsonNode r) {
        List<RunRecord.LayerResult> out = new ArrayList<>();
        for (JsonNode l : r.path("layers")) {
            require(l.isObject(), "a run layer result is not an object");
            Long bits = optLong(l, "storedBits");
            Double bpw = optDouble(l, "bitsPerWeight");
            Long ms = optLong(l, "millis");
            out.add(new RunRecord.LayerResult(optText(l, "layer"), optText(l, "method"), optText(l, "settings"),
                    bits == null ? 0 : bits, bpw == null ? Double.NaN : bpw, optDouble(l, "reconError"),
                    ms == null ? 0 : ms));
        }
        return out;
    }
}
