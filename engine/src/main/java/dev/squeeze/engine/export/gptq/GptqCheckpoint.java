package dev.squeeze.engine.export.gptq;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.hf.HfConfig;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads a GPTQ checkpoint folder (what {@link GptqExporter} writes, and GPTQ checkpoints of Llama-family models
 * from AutoGPTQ or GPTQModel with one {@code model.safetensors}) and dequantizes it in pure Java:
 * {@code w[o][c] = scale[g][o] · (q[c][o] − zero[g][o])} with {@code g = g_idx[c]}, the codes unpacked from
 * {@code qweight} and {@code qzeros} as {@link GptqPacking} describes, the zero point stored minus one in the v1
 * convention ({@code checkpoint_format} {@code gptq}, the default) and as itself in v2 ({@code gptq_v2}). Computed
 * in float32 with the fp16 scales widened, which is how {@code GptqTensor.dequantize()} computes, so a checkpoint
 * written from a run gives back exactly the run's weights.
 *
 * <p>Everything is checked when the folder is opened: the config, {@code quantization_config} (bits 2/3/4/8,
 * group size, {@code dynamic} rules naming single modules), the safetensors header (types, shapes, byte ranges
 * inside the file) and every tensor against the shapes the config implies; a layer's tensors are read when it is
 * dequantized, where a {@code g_idx} naming a group that does not exist is refused. Any problem is a
 * {@link SqueezeException} naming the file.
 */
public final class GptqCheckpoint {
    /** Real headers are kilobytes to a few megabytes. */
    private static final long MAX_HEADER = 100L << 20;
    private static final long MAX_CONFIG = 16L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A dynamic rule Squeeze reads: one module, its dots escaped, anchored at both ends. */
    private static final Pattern PLAIN_RULE = Pattern.compile("\\^((?:[A-Za-z0-9_]|\\\\\\.)+)\\$");

    /**
     * One quantized linear layer.
     *
     * @param rows      output features
     * @param cols      input features
     * @param groupSize as the config says it: -1 for one group per row
     */
    public record Layer(String name, int bits, int groupSize, boolean sym, boolean descAct, int rows, int cols,
                        int groups) {
    }

    private record Slice(String dtype, long[] shape, long begin, long end) {
    }

    private record Rule(int bits, int groupSize, boolean sym, boolean descAct, boolean excluded) {
    }

    private final Path file;
    private final String where;
    private final long dataStart;
    private final HfConfig config;
    private final boolean v2;
    private final Map<String, Layer> layers;
    private final Map<String, long[]> dense;
    private final Map<String, Slice> slices;

    private GptqCheckpoint(Path file, long dataStart, HfConfig config, boolean v2, Map<String, Layer> layers,
                           Map<String, long[]> dense, Map<String, Slice> slices) {
        this.file = file;
        this.where = file.toString();
        this.dataStart = dataStart;
        this.config = config;
        this.v2 = v2;
        this.layers = Collections.unmodifiableMap(layers);
        this.dense = Collections.unmodifiableMap(dense);
        this.slices = slices;
    }

    /** Opens {@code dir} (config.json and model.safetensors) and checks all of it but the tensors' values. */
    public static GptqCheckpoint read(Path dir) {
        Path abs = dir.toAbsolutePath();
        Path configFile = abs.resolve("config.json");
        byte[] configBytes = readSmall(configFile);
        HfConfig config = HfConfig.parse(configBytes, configFile.toString());
        JsonNode root;
        try {
            root = JSON.readTree(new String(configBytes, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw corrupt(configFile.toString(), "it is not valid JSON");
        }
        String cw = configFile.toString();
        JsonNode q = root.get("quantization_config");
        if (q == null || !q.isObject()) {
            throw new SqueezeException(cw + " has no quantization_config: the folder is not a GPTQ checkpoint",
                    "open it as a Hugging Face model instead");
        }
        if (!"gptq".equals(q.path("quant_method").asText(""))) {
            throw new SqueezeException(cw + ": quantization_config.quant_method is " + q.get("quant_method")
                    + ", not \"gptq\"", "Squeeze reads GPTQ checkpoints only");
        }
        String format = text(q, "checkpoint_format", "gptq", cw);
        if (!format.equals("gptq") && !format.equals("gptq_v2")) {
            throw new SqueezeException(cw + ": checkpoint_format is '" + format + "'; Squeeze reads gptq (v1 zero"
                    + " points) and gptq_v2", "convert the checkpoint with GPTQModel");
        }
        Rule global = new Rule(bits(q, "bits", -1, cw), groupSize(q, -2, cw), bool(q, "sym", true, cw),
                bool(q, "desc_act", false, cw), false);
        Map<String, Rule> rules = dynamic(q.get("dynamic"), global, cw);

        Path weights = abs.resolve(GptqExporter.WEIGHTS);
        long size;
        try {
            size = Files.size(weights);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + weights + ": " + e.getMessage(),
                    "a GPTQ checkpoint needs its model.safetensors; check that it exists", e);
        }
        String w = weights.toString();
        Map<String, Slice> slices = new LinkedHashMap<>();
        long dataStart = header(weights, size, slices);

        Map<String, Layer> layers = new LinkedHashMap<>();
        Map<String, long[]> dense = new LinkedHashMap<>();
        Set<String> seen = new HashSet<>();
        for (Map.Entry<String, long[]> e : config.expectedShapes().entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            String layer = name.endsWith(".weight") ? name.substring(0, name.length() - 7) : null;
            boolean blockLinear = layer != null && layer.startsWith("model.layers.") && layer.endsWith("_proj");
            Rule rule = blockLinear ? rules.getOrDefault(layer, global) : null;
            if (rule == null || rule.excluded()) {
                expectDense(slices, name, shape, w);
                dense.put(name, shape);
                seen.add(name);
                continue;
            }
            int out = (int) shape[0];
            int in = (int) shape[1];
            if (in % 32 != 0 || out % 32 != 0) {
                throw corrupt(w, "layer " + layer + " is " + out + " × " + in + ", but GPTQ's packing needs both"
                        + " widths to be multiples of 32");
            }
            if ((long) out * in > Integer.MAX_VALUE - 8) {
                throw new SqueezeException("Layer " + layer + " of " + w + " has " + (long) out * in + " weights, more"
                        + " than Squeeze dequantizes as one array", "split the layer");
            }
            int groups = rule.groupSize() == -1 ? 1 : Math.ceilDiv(in, rule.groupSize());
            expect(slices, layer + ".qweight", "I32", new long[]{GptqPacking.words(in, rule.bits()), out}, w);
            expect(slices, layer + ".qzeros", "I32", new long[]{groups, GptqPacking.words(out, rule.bits())}, w);
            expect(slices, layer + ".scales", "F16", new long[]{groups, out}, w);
            expect(slices, layer + ".g_idx", "I32", new long[]{in}, w);
            seen.addAll(List.of(layer + ".qweight", layer + ".qzeros", layer + ".scales", layer + ".g_idx"));
            layers.put(layer, new Layer(layer, rule.bits(), rule.groupSize(), rule.sym(), rule.descAct(), out, in,
                    groups));
        }
        Set<String> extra = new HashSet<>(slices.keySet());
        extra.removeAll(seen);
        if (!extra.isEmpty()) {
            throw corrupt(w, "it holds tensors a " + config.hfArchitecture() + " GPTQ checkpoint does not: "
                    + extra.stream().sorted().limit(5).toList());
        }
        for (String k : rules.keySet()) {
            if (!config.expectedShapes().containsKey(k + ".weight")) {
                throw new SqueezeException(cw + ": the dynamic rule for '" + k + "' names no linear layer of the"
                        + " model", "fix quantization_config.dynamic");
            }
        }
        return new GptqCheckpoint(weights, dataStart, config, format.equals("gptq_v2"), layers, dense, slices);
    }

    public HfConfig config() {
        return config;
    }

    /** {@code gptq} (v1 zero points, stored minus one) or {@code gptq_v2}. */
    public String checkpointFormat() {
        return v2 ? "gptq_v2" : "gptq";
    }

    /** The quantized layers, in file order. */
    public Map<String, Layer> layers() {
        return layers;
    }

    /** The dense tensors with their shapes, in canonical order. */
    public Map<String, long[]> denseTensors() {
        return dense;
    }

    /** The weights of a quantized layer, {@code out × in} row-major float32, rows in the checkpoint's order. */
    public float[] dequantize(String layerName) {
        Layer l = layers.get(layerName);
        if (l == null) {
            throw new IllegalArgumentException("no quantized layer '" + layerName + "' in " + where);
        }
        int out = l.rows();
        int in = l.cols();
        int[] qweight = ints(layerName + ".qweight");
        int[] qzeros = ints(layerName + ".qzeros");
        int[] gIdx = ints(layerName + ".g_idx");
        ByteBuffer scales = bytes(layerName + ".scales");
        int zeroWords = GptqPacking.words(out, l.bits());
        for (int c = 0; c < in; c++) {
            int g = gIdx[c];
            if (g < 0 || g >= l.groups()) {
                throw corrupt(where, layerName + ".g_idx[" + c + "] is " + g + ", but the layer has " + l.groups()
                        + " groups");
            }
            if (!l.descAct() && l.groupSize() > 0 && g != c / l.groupSize()) {
                throw corrupt(where, layerName + ".g_idx[" + c + "] is " + g + ", but without desc_act column " + c
                        + " belongs to group " + c / l.groupSize());
            }
        }
        int offset = v2 ? 0 : 1;
        float[] w = new float[out * in];
        float[] zero = new float[l.groups() * out];
        float[] scale = new float[l.groups() * out];
        for (int g = 0; g < l.groups(); g++) {
            for (int o = 0; o < out; o++) {
                zero[g * out + o] = GptqPacking.get(qzeros, g * zeroWords, 1, o, l.bits()) + offset;
                scale[g * out + o] = Float.float16ToFloat(scales.getShort(2 * (g * out + o)));
            }
        }
        for (int o = 0; o < out; o++) {
            for (int c = 0; c < in; c++) {
                int k = gIdx[c] * out + o;
                w[o * in + c] = scale[k] * (GptqPacking.get(qweight, o, out, c, l.bits()) - zero[k]);
            }
        }
        return w;
    }

    /** A dense tensor's values as float32. */
    public float[] dense(String tensorName) {
        Slice s = slices.get(tensorName);
        if (s == null || !dense.containsKey(tensorName)) {
            throw new IllegalArgumentException("no dense tensor '" + tensorName + "' in " + where);
        }
        ByteBuffer b = bytes(tensorName);
        int n = b.capacity() / (s.dtype().equals("F32") ? 4 : 2);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = switch (s.dtype()) {
                case "F32" -> b.getFloat(4 * i);
                case "F16" -> Float.float16ToFloat(b.getShort(2 * i));
                default -> Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
            };
        }
        return v;
    }

    private int[] ints(String name) {
        ByteBuffer b = bytes(name);
        int[] v = new int[b.capacity() / 4];
        b.asIntBuffer().get(v);
        return v;
    }

    private ByteBuffer bytes(String name) {
        Slice s = slices.get(name);
        long len = s.end() - s.begin();
        if (len > Integer.MAX_VALUE - 8) {
            throw new SqueezeException("Tensor '" + name + "' of " + where + " takes " + len + " bytes, more than"
                    + " Squeeze reads as one tensor (2 GiB)", "split the layer");
        }
        ByteBuffer b = ByteBuffer.allocate((int) len).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long pos = dataStart + s.begin();
            while (b.hasRemaining()) {
                if (ch.read(b, pos + b.position()) < 0) {
                    throw corrupt(where, "the file ended inside tensor '" + name + "' (it changed since it was opened)");
                }
            }
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + where + ": " + e.getMessage(), "check that it is readable", e);
        }
        return b.flip().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void expectDense(Map<String, Slice> slices, String name, long[] shape, String w) {
        Slice s = slices.get(name);
        if (s == null) {
            throw corrupt(w, "it has no tensor '" + name + "', which the config needs");
        }
        if (!s.dtype().equals("F16") && !s.dtype().equals("BF16") && !s.dtype().equals("F32")) {
            throw corrupt(w, "tensor '" + name + "' is " + s.dtype() + ", expected F16, BF16 or F32");
        }
        if (!java.util.Arrays.equals(s.shape(), shape)) {
            throw corrupt(w, "tensor '" + name + "' has shape " + java.util.Arrays.toString(s.shape())
                    + ", the config implies " + java.util.Arrays.toString(shape));
        }
    }

    private static void expect(Map<String, Slice> slices, String name, String dtype, long[] shape, String w) {
        Slice s = slices.get(name);
        if (s == null) {
            throw corrupt(w, "it has no tensor '" + name + "', which the quantization config needs");
        }
        if (!s.dtype().equals(dtype) || !java.util.Arrays.equals(s.shape(), shape)) {
            throw corrupt(w, "tensor '" + name + "' is " + s.dtype() + " " + java.util.Arrays.toString(s.shape())
                    + ", the quantization config implies " + dtype + " " + java.util.Arrays.toString(shape));
        }
    }

    /** Parses the safetensors header into {@code slices}; returns where the data starts. */
    private static long header(Path weights, long size, Map<String, Slice> slices) {
        String w = weights.toString();
        if (size < 8) {
            throw corrupt(w, "it has " + size + " bytes, fewer than the 8-byte header length");
        }
        byte[] json;
        long n;
        try (FileChannel ch = FileChannel.open(weights, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (len.hasRemaining() && ch.read(len, len.position()) >= 0) {
                // reads the 8 bytes
            }
            n = len.getLong(0);
            if (n < 2 || n > MAX_HEADER || n > size - 8) {
                throw corrupt(w, "its header length is " + n + ", the file has " + size + " bytes");
            }
            ByteBuffer h = ByteBuffer.allocate((int) n);
            while (h.hasRemaining() && ch.read(h, 8 + h.position()) >= 0) {
                // reads the header
            }
            json = h.array();
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + w + ": " + e.getMessage(), "check that it is readable", e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(new String(json, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw corrupt(w, "its header is not valid JSON");
        }
        if (root == null || !root.isObject()) {
            throw corrupt(w, "its header is not a JSON object");
        }
        long dataLen = size - 8 - n;
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = e.getValue();
            String dtype = t.path("dtype").asText("");
            int esize = switch (dtype) {
                case "F32", "I32" -> 4;
                case "F16", "BF16" -> 2;
                default -> throw corrupt(w, "tensor '" + e.getKey() + "' has dtype '" + dtype + "'; a GPTQ"
                        + " checkpoint holds I32, F16, BF16 and F32");
            };
            JsonNode shapeNode = t.get("shape");
            JsonNode offsets = t.get("data_offsets");
            if (shapeNode == null || !shapeNode.isArray() || offsets == null || !offsets.isArray()
                    || offsets.size() != 2 || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
                throw corrupt(w, "tensor '" + e.getKey() + "' lacks a shape or a pair of data_offsets");
            }
            long[] shape = new long[shapeNode.size()];
            long numel = 1;
            try {
                for (int i = 0; i < shape.length; i++) {
                    JsonNode d = shapeNode.get(i);
                    if (!d.canConvertToLong() || d.asLong() < 0) {
                        throw corrupt(w, "tensor '" + e.getKey() + "' has dimension " + d);
                    }
                    shape[i] = d.asLong();
                    numel = Math.multiplyExact(numel, shape[i]);
                }
                numel = Math.multiplyExact(numel, esize);
            } catch (ArithmeticException ex) {
                throw corrupt(w, "tensor '" + e.getKey() + "' has more elements than any file holds");
            }
            long begin = offsets.get(0).asLong();
            long end = offsets.get(1).asLong();
            if (begin < 0 || end < begin || end > dataLen || end - begin != numel) {
                throw corrupt(w, "tensor '" + e.getKey() + "' has data_offsets [" + begin + ", " + end + "], but its"
                        + " shape needs " + numel + " bytes within the " + dataLen + " bytes of data");
            }
            slices.put(e.getKey(), new Slice(dtype, shape, begin, end));
        }
        return 8 + n;
    }

    private static Map<String, Rule> dynamic(JsonNode node, Rule global, String cw) {
        Map<String, Rule> rules = new LinkedHashMap<>();
        if (node == null || node.isNull()) {
            return rules;
        }
        if (!node.isObject()) {
            throw new SqueezeException(cw + ": quantization_config.dynamic is not an object",
                    "fix quantization_config.dynamic");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            boolean negative = key.startsWith("-:");
            String pattern = key.startsWith("-:") || key.startsWith("+:") ? key.substring(2) : key;
            var m = PLAIN_RULE.matcher(pattern);
            if (!m.matches()) {
                throw new SqueezeException(cw + ": the dynamic rule '" + key + "' is not one module name written as"
                        + " ^name$ with escaped dots; Squeeze reads only such rules",
                        "rewrite the rule per module, e.g. +:^model\\.layers\\.0\\.mlp\\.down_proj$");
            }
            String layer = m.group(1).replace("\\.", ".");
            JsonNode o = e.getValue();
            if (!o.isObject()) {
                throw new SqueezeException(cw + ": the dynamic rule '" + key + "' is not an object",
                        "fix quantization_config.dynamic");
            }
            rules.put(layer, new Rule(bits(o, "bits", global.bits(), cw), groupSize(o, global.groupSize(), cw),
                    bool(o, "sym", global.sym(), cw), bool(o, "desc_act", global.descAct(), cw), negative));
        }
        return rules;
    }

    private static int bits(JsonNode q, String field, int dflt, String cw) {
        JsonNode b = q.get(field);
        if ((b == null || b.isNull()) && dflt > 0) {
            return dflt;
        }
        if (b == null || !b.canConvertToInt() || !b.isIntegralNumber()) {
            throw new SqueezeException(cw + ": quantization_config " + field + " is " + b + ", not a number of bits",
                    "use 2, 3, 4 or 8");
        }
        int v = b.asInt();
        if (v != 2 && v != 3 && v != 4 && v != 8) {
            throw new SqueezeException(cw + ": quantization_config bits is " + v + "; GPTQ checkpoints hold 2, 3, 4"
                    + " or 8 bits", "use 2, 3, 4 or 8");
        }
        return v;
    }

    /** group_size: -1 (one group per row) or positive; {@code dflt} -2 means required. */
    private static int groupSize(JsonNode q, int dflt, String cw) {
        JsonNode g = q.get("group_size");
        if ((g == null || g.isNull()) && dflt != -2) {
            return dflt;
        }
        if (g == null || !g.isIntegralNumber() || !g.canConvertToInt() || (g.asInt() < 1 && g.asInt() != -1)) {
            throw new SqueezeException(cw + ": quantization_config group_size is " + g + ", expected -1 or a positive"
                    + " number of columns", "fix quantization_config.group_size");
        }
        return g.asInt();
    }

    private static boolean bool(JsonNode q, String field, boolean dflt, String cw) {
        JsonNode b = q.get(field);
        if (b == null || b.isNull()) {
            return dflt;
        }
        if (!b.isBoolean()) {
            throw new SqueezeException(cw + ": quantization_config " + field + " is " + b + ", not true or false",
                    "fix quantization_config." + field);
        }
        return b.asBoolean();
    }

    private static String text(JsonNode q, String field, String dflt, String cw) {
        JsonNode t = q.get(field);
        if (t == null || t.isNull()) {
            return dflt;
        }
        if (!t.isTextual()) {
            throw new SqueezeException(cw + ": quantization_config " + field + " is " + t + ", not text",
                    "fix quantization_config." + field);
        }
        return t.asText();
    }

    private static byte[] readSmall(Path f) {
        try {
            long size = Files.size(f);
            if (size > MAX_CONFIG) {
                throw corrupt(f.toString(), "it has " + size + " bytes, far more than a config");
            }
            return Files.readAllBytes(f);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + f + ": " + e.getMessage(),
                    "a GPTQ checkpoint folder needs its config.json; check that it exists and is readable", e);
        }
    }

    private static SqueezeException corrupt(String where, String what) {
        return new SqueezeException("Corrupt GPTQ checkpoint " + where + ": " + what,
                "export it again, or get a fresh copy");
    }
}
