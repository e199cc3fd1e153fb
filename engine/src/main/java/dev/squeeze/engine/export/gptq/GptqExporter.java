package dev.squeeze.engine.export.gptq;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.QuantizedMatrix;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.gptq.GptqTensor;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.export.ExportReport.TensorNote;
import dev.squeeze.engine.export.hf.LlamaHfLayout;
import dev.squeeze.engine.export.hf.SafetensorsStream;
import dev.squeeze.engine.export.hf.TokenizerFiles;
import dev.squeeze.engine.util.AtomicFiles;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a compressed Llama-family run as a GPTQ checkpoint: a Hugging Face folder that transformers (with its
 * GPTQ integration), GPTQModel, AutoGPTQ and vLLM load as a quantized model. Per quantized linear
 * {@code <layer>}, {@code model.safetensors} holds
 * <ul>
 *   <li>{@code <layer>.qweight}: int32 {@code [in·bits/32, out]}, the codes of each output column packed along the
 *   input dimension in original column order ({@link GptqPacking}: AutoGPTQ's {@code pack}, 3-bit codes straddling
 *   words exactly as it does);</li>
 *   <li>{@code <layer>.qzeros}: int32 {@code [groups, out·bits/32]}, the zero points packed along the output
 *   dimension;</li>
 *   <li>{@code <layer>.scales}: fp16 {@code [groups, out]};</li>
 *   <li>{@code <layer>.g_idx}: int32 {@code [in]}, the group of every input column ({@code c / group_size}, or the
 *   act-order index GPTQ made with {@code desc_act}).</li>
 * </ul>
 * Every other tensor (embeddings, norms, lm_head, a linear the run left dense) is fp16. config.json carries the
 * model's config plus {@code quantization_config} (also written as quantize_config.json for AutoGPTQ-era tools);
 * tokenizer files are copied from a Hugging Face source or converted from llama2.c's ({@link TokenizerFiles}).
 * A weight is {@code scale · (q − zero)}, as in {@link GptqTensor}.
 *
 * <p><b>Zero-point convention.</b> AutoGPTQ's {@code pack} stores {@code zero − 1} and every kernel that reads the
 * original format adds the 1 back ("v1", {@code checkpoint_format: "gptq"}); GPTQModel's "v2"
 * ({@code "gptq_v2"}) stores the zero point itself and converts v1 files when it loads them. This writer writes
 * <b>v1</b>, because it is what transformers, AutoGPTQ, GPTQModel and vLLM all load by default (vLLM's GPTQ
 * kernels assume v1 and read a v2 file as v1). v1 cannot hold a zero point of 0 ({@code 0 − 1} does not fit in
 * {@code bits} unsigned bits; AutoGPTQ's own packer corrupts the neighbouring zero points then). An asymmetric
 * layer has one when a group has no negative weight. Only then the file is written as v2, said in the report's
 * notes, since GPTQModel and transformers' GPTQModel backend read it exactly and a v1-only loader would not.
 *
 * <p><b>What qualifies.</b> {@link GptqTensor} and RTN {@link QuantizedMatrix} layers of 2, 3, 4 or 8 bits, symmetric
 * or asymmetric, whose scales are exactly fp16 (GPTQ's default fp16 scales; RTN's float32 scales only when each
 * happens to be an fp16 value), on decoder-block linears whose input and output widths are multiples of 32.
 * Everything else (sparse, SpQR, low-rank, 5/6/7-bit, float32 scales, other shapes, a compressed embedding or
 * lm_head) is refused before any file is written, each layer with its reason and the formats that can hold it.
 * Layers with settings other than the most common ones get a GPTQModel {@code dynamic} override
 * ({@code "+:^name$"}); block linears the run left dense are excluded with {@code "-:^name$"} (GPTQModel and
 * transformers' GPTQModel backend honour {@code dynamic}; AutoGPTQ does not).
 *
 * <p>llama2.c models have their q/k rows moved to Hugging Face's rotate-half order ({@link LlamaHfLayout}):
 * output columns of qweight, qzeros and scales move together, which is exact.
 */
public final class GptqExporter {
    public static final String FORMAT = "gptq";
    static final String WEIGHTS = "model.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String NEAREST = "export it as hf (dequantized fp16/bf16 weights) or sqz (the compressed"
            + " tensors exactly)";

    private GptqExporter() {
    }

    /** How one qualifying layer is written. */
    private record Plan(String layer, CompressedTensor tensor, int bits, int groupSize, boolean sym, boolean descAct,
                        boolean zeroAtZero, boolean zeroAtTop) {
        /** A fresh view of the stored form (RTN's scale arrays are copied per use, never held for all layers). */
        Source q() {
            return tensor instanceof GptqTensor g ? Source.of(g) : Source.of((QuantizedMatrix) tensor);
        }

        String key() {
            return bits + "/" + groupSize + "/" + sym + "/" + descAct;
        }
    }

    /** Writes the folder; returns what was written, with a note for every tensor not stored exactly as the run had it. */
    public static ExportReport write(CompressedModel m, Path outDir) {
        LlamaHfLayout layout = LlamaHfLayout.of(m, "float16", FORMAT);
        Map<String, Plan> plans = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        List<String> blockLinears = layout.blockLinears();
        for (Map.Entry<String, CompressedTensor> e : m.compressed().entrySet()) {
            String problem = blockLinears.contains(e.getKey()) ? null
                    : "it is not a linear layer of a decoder block (GPTQ checkpoints quantize only those)";
            Plan plan = null;
            if (problem == null) {
                Object r = plan(e.getKey(), e.getValue());
                if (r instanceof Plan p) {
                    plan = p;
                } else {
                    problem = (String) r;
                }
            }
            if (problem != null) {
                problems.add(e.getKey() + " (" + e.getValue().describe() + "): " + problem);
            } else {
                plans.put(e.getKey(), plan);
            }
        }
        if (!problems.isEmpty()) {
            throw new SqueezeException("A GPTQ checkpoint cannot hold " + problems.size() + " of the run's layers: "
                    + String.join("; ", problems.subList(0, Math.min(5, problems.size())))
                    + (problems.size() > 5 ? "; and " + (problems.size() - 5) + " more" : ""), NEAREST);
        }
        if (plans.isEmpty()) {
            throw new SqueezeException("Nothing in " + m.label() + " is quantized, and a GPTQ checkpoint is a quantized"
                    + " model", "export it as hf, or export a run that quantized its layers with GPTQ or RTN");
        }
        boolean v2 = plans.values().stream().anyMatch(Plan::zeroAtZero);
        if (v2) {
            List<String> top = plans.values().stream().filter(Plan::zeroAtTop).map(Plan::layer).toList();
            if (!top.isEmpty()) {
                throw new SqueezeException("A GPTQ checkpoint cannot hold both a zero point of 0 (layers such as "
                        + plans.values().stream().filter(Plan::zeroAtZero).findFirst().orElseThrow().layer()
                        + ", which needs the v2 convention) and one of 2^bits (" + top + ", which needs v1)", NEAREST);
            }
        }
        Plan common = mostCommon(plans);

        Path dir = outDir.toAbsolutePath();
        LlamaHfLayout.refuseStaleWeights(m.base(), dir, WEIGHTS);
        List<TensorNote> notes = new ArrayList<>();
        List<SafetensorsStream.Entry> entries = new ArrayList<>();
        for (Map.Entry<String, long[]> t : layout.tensors().entrySet()) {
            String name = t.getKey();
            String layer = name.endsWith(".weight") ? name.substring(0, name.length() - 7) : null;
            Plan p = layer == null ? null : plans.get(layer);
            if (p != null) {
                entries.addAll(quantizedEntries(p, layout.rowSource(layer), v2));
                notes.add(new TensorNote(layer + ".qweight", "GPTQ int" + p.bits() + " "
                        + (p.groupSize() < 0 ? "per-row" : "g" + p.groupSize()) + (p.sym() ? " sym" : " asym")
                        + (p.descAct() ? " desc_act" : "") + (v2 ? " (zeros v2)" : " (zeros v1)"), true,
                        v2 ? "written in GPTQModel's v2 zero-point convention (checkpoint_format gptq_v2) because"
                                + " a layer of the run has a zero point of 0, which v1 cannot hold; loaders that"
                                + " only know v1 (vLLM's GPTQ kernels) would read it wrongly" : ""));
            } else {
                boolean excluded = layer != null && blockLinears.contains(layer);
                entries.add(new SafetensorsStream.Entry(name, "F16", t.getValue(),
                        out -> writeF16(out, name, layout, notes, excluded)));
            }
        }
        long bytes = SafetensorsStream.write(dir.resolve(WEIGHTS), entries, Map.of("format", "pt"));
        bytes += TokenizerFiles.write(m.base(), dir, notes);

        ObjectNode quant = quantizationConfig(common, plans, blockLinears, v2, m);
        ObjectNode config = layout.configJson();
        config.set("quantization_config", quant);
        byte[] quantBytes = json(quant);
        byte[] configBytes = json(config);
        AtomicFiles.write(dir.resolve("quantize_config.json"), out -> out.write(quantBytes));
        // config.json last: a folder interrupted before it is not taken for a model.
        AtomicFiles.write(dir.resolve("config.json"), out -> out.write(configBytes));
        bytes += quantBytes.length + configBytes.length;
        return new ExportReport(dir, FORMAT, bytes, notes);
    }

    /** Why codes of this width and a layer of this shape cannot be packed, or null when they can. */
    private static String shapeProblem(int bits, int rows, int cols) {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            return bits + "-bit codes; GPTQ checkpoints hold 2, 3, 4 or 8 bits";
        }
        if (rows % 32 != 0 || cols % 32 != 0) {
            return "its shape " + rows + " × " + cols + " (out × in) has a width that is not a multiple of 32,"
                    + " which GPTQ's int32 packing needs";
        }
        return null;
    }

    /**
     * Refuses, before any compression work, settings whose result no GPTQ checkpoint can hold: methods other than
     * GPTQ and RTN, widths other than 2/3/4/8, GPTQ with float32 scales, layers outside the decoder blocks or with
     * a width that is not a multiple of 32. (Whether RTN's float32 scales happen to be fp16 values is known only
     * after quantizing; {@link #write} checks it.)
     *
     * @param settings per layer name, as a plan resolves for the model
     */
    public static void requireHolds(dev.squeeze.engine.model.Model base,
                                    Map<String, dev.squeeze.engine.compress.MethodSettings> settings) {
        List<String> blockLinears = new ArrayList<>();
        for (var layer : base.layers()) {
            String n = layer.name();
            if (n.startsWith("model.layers.") && n.endsWith("_proj")) {
                blockLinears.add(n);
            }
        }
        List<String> problems = new ArrayList<>();
        for (var e : settings.entrySet()) {
            String layer = e.getKey();
            var w = base.findTensor(layer + ".weight");
            String problem;
            if (!blockLinears.contains(layer) || w.isEmpty() || w.get().rank() != 2) {
                problem = "it is not a linear layer of a decoder block (GPTQ checkpoints quantize only those)";
            } else if (e.getValue() instanceof GptqSettings g) {
                problem = g.scalePrecision() != GptqSettings.ScalePrecision.FP16
                        ? "float32 scales; GPTQ checkpoints store fp16 scales" : shapeProblem(g.bits(),
                        (int) w.get().dim(0), (int) w.get().dim(1));
            } else if (e.getValue() instanceof dev.squeeze.engine.compress.RtnSettings r) {
                problem = shapeProblem(r.bits(), (int) w.get().dim(0), (int) w.get().dim(1));
            } else {
                problem = "method " + e.getValue().method() + "; GPTQ checkpoints hold GPTQ or RTN integer codes";
            }
            if (problem != null) {
                problems.add(layer + " (" + e.getValue().describe() + "): " + problem);
            }
        }
        if (!problems.isEmpty()) {
            throw new SqueezeException("A GPTQ checkpoint cannot hold " + problems.size() + " of the layers: "
                    + String.join("; ", problems.subList(0, Math.min(5, problems.size())))
                    + (problems.size() > 5 ? "; and " + (problems.size() - 5) + " more" : ""), NEAREST);
        }
    }

    /** A Plan for a layer the format can hold, else the reason it cannot (a String). */
    private static Object plan(String layer, CompressedTensor t) {
        Source q;
        if (t instanceof GptqTensor g) {
            q = Source.of(g);
        } else if (t instanceof QuantizedMatrix r) {
            q = Source.of(r);
        } else {
            return "GPTQ checkpoints hold integer codes with per-group scales and zero points, not "
                    + t.getClass().getSimpleName().replace("Tensor", "").toLowerCase(java.util.Locale.ROOT)
                    + " tensors";
        }
        int bits = q.bits();
        String shape = shapeProblem(bits, q.rows(), q.cols());
        if (shape != null) {
            return shape;
        }
        int maxq = (1 << bits) - 1;
        boolean zeroAtZero = false;
        boolean zeroAtTop = false;
        for (int g = 0; g < q.groups(); g++) {
            for (int r = 0; r < q.rows(); r++) {
                float s = q.scale(g, r);
                if (Float.floatToRawIntBits(Float.float16ToFloat(Float.floatToFloat16(s)))
                        != Float.floatToRawIntBits(s)) {
                    return "the scale of group " + g + " of row " + r + " is " + s + ", which fp16 cannot hold"
                            + " exactly (GPTQ checkpoints store fp16 scales; quantize with fp16 scales)";
                }
                float z = q.zero(g, r);
                if (z != Math.rint(z) || z < 0 || z > maxq + 1) {
                    return "the zero point of group " + g + " of row " + r + " is " + z + ", not an integer from 0"
                            + " to " + (maxq + 1);
                }
                zeroAtZero |= z == 0;
                zeroAtTop |= z == maxq + 1;
            }
        }
        if (zeroAtZero && zeroAtTop) {
            return "its zero points span 0 to " + (maxq + 1) + ", which neither zero-point convention holds";
        }
        return new Plan(layer, t, bits, q.configGroupSize(), q.sym(), q.descAct(), zeroAtZero, zeroAtTop);
    }

    private static Plan mostCommon(Map<String, Plan> plans) {
        Map<String, Integer> counts = new HashMap<>();
        Map<String, Plan> first = new LinkedHashMap<>();
        for (Plan p : plans.values()) {
            counts.merge(p.key(), 1, Integer::sum);
            first.putIfAbsent(p.key(), p);
        }
        return first.values().stream().max(Comparator.comparingInt(p -> counts.get(p.key()))).orElseThrow();
    }

    private static List<SafetensorsStream.Entry> quantizedEntries(Plan p, int[] rowSource, boolean v2) {
        int out = p.tensor().rows();
        int in = p.tensor().cols();
        int groups = p.q().groups();
        int bits = p.bits();
        String layer = p.layer();
        List<SafetensorsStream.Entry> e = new ArrayList<>();
        e.add(new SafetensorsStream.Entry(layer + ".qweight", "I32",
                new long[]{GptqPacking.words(in, bits), out}, o -> {
            Source q = p.q();
            int[] words = new int[GptqPacking.words(in, bits) * out];
            for (int col = 0; col < out; col++) {
                int r = rowSource == null ? col : rowSource[col];
                for (int c = 0; c < in; c++) {
                    GptqPacking.put(words, col, out, c, bits, q.code(r, c));
                }
            }
            writeInts(o, words);
        }));
        int zeroWords = GptqPacking.words(out, bits);
        e.add(new SafetensorsStream.Entry(layer + ".qzeros", "I32", new long[]{groups, zeroWords}, o -> {
            Source q = p.q();
            int[] words = new int[groups * zeroWords];
            for (int g = 0; g < groups; g++) {
                for (int col = 0; col < out; col++) {
                    int r = rowSource == null ? col : rowSource[col];
                    int zero = (int) q.zero(g, r);
                    GptqPacking.put(words, g * zeroWords, 1, col, bits, v2 ? zero : zero - 1);
                }
            }
            writeInts(o, words);
        }));
        e.add(new SafetensorsStream.Entry(layer + ".scales", "F16", new long[]{groups, out}, o -> {
            Source q = p.q();
            ByteBuffer b = ByteBuffer.allocate(groups * out * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (int g = 0; g < groups; g++) {
                for (int col = 0; col < out; col++) {
                    b.putShort(Float.floatToFloat16(q.scale(g, rowSource == null ? col : rowSource[col])));
                }
            }
            o.write(b.array());
        }));
        e.add(new SafetensorsStream.Entry(layer + ".g_idx", "I32", new long[]{in}, o -> {
            Source q = p.q();
            int[] g = new int[in];
            for (int c = 0; c < in; c++) {
                g[c] = q.group(c);
            }
            writeInts(o, g);
        }));
        return e;
    }

    private static ObjectNode quantizationConfig(Plan common, Map<String, Plan> plans, List<String> blockLinears,
                                                 boolean v2, CompressedModel m) {
        ObjectNode q = JSON.createObjectNode();
        q.put("quant_method", "gptq");
        q.put("bits", common.bits());
        q.put("group_size", common.groupSize());
        q.put("desc_act", common.descAct());
        q.put("sym", common.sym());
        q.put("static_groups", false);
        q.put("true_sequential", true);
        q.put("checkpoint_format", v2 ? "gptq_v2" : "gptq");
        q.put("pack_dtype", "int32");
        q.put("model_file_base_name", "model");
        ObjectNode dynamic = JSON.createObjectNode();
        for (String layer : blockLinears) {
            Plan p = plans.get(layer);
            if (p == null) {
                dynamic.putObject("-:" + anchored(layer));
            } else if (!p.key().equals(common.key())) {
                ObjectNode o = dynamic.putObject("+:" + anchored(layer));
                o.put("bits", p.bits());
                o.put("group_size", p.groupSize());
                o.put("desc_act", p.descAct());
                o.put("sym", p.sym());
            }
        }
        if (!dynamic.isEmpty()) {
            q.set("dynamic", dynamic);
        }
        ObjectNode meta = q.putObject("meta");
        meta.put("quantizer", "squeeze");
        meta.put("source", Objects.requireNonNullElse(m.label(), ""));
        if (m.runId() != null) {
            meta.put("run", m.runId());
        }
        return q;
    }

    /** A Python regular expression matching exactly this module name (names are letters, digits, _ and dots). */
    static String anchored(String layer) {
        return "^" + layer.replace(".", "\\.") + "$";
    }

    private static void writeF16(OutputStream out, String name, LlamaHfLayout layout, List<TensorNote> notes,
                                 boolean excludedLinear) throws IOException {
        boolean[] exactAll = {true};
        layout.dense(name, 1 << 16, (values, count, at) -> {
            ByteBuffer b = ByteBuffer.allocate(count * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < count; i++) {
                short h = Float.floatToFloat16(values[i]);
                float back = Float.float16ToFloat(h);
                if (Float.isInfinite(back) && Float.isFinite(values[i])) {
                    throw new SqueezeException("Tensor '" + name + "' holds " + values[i] + " at element " + (at + i)
                            + ", beyond the range of fp16 (±65504), which GPTQ checkpoints store their other tensors"
                            + " in", "export it as hf with bf16 or f32 instead");
                }
                exactAll[0] &= Float.floatToRawIntBits(back) == Float.floatToRawIntBits(values[i])
                        || Float.isNaN(back);
                b.putShort(h);
            }
            out.write(b.array());
        });
        boolean exact = exactAll[0];
        if (excludedLinear) {
            notes.add(new TensorNote(name, "F16", exact, "the run left this layer dense; it is excluded from"
                    + " quantization in the config (dynamic \"-:\" rule)"));
        } else if (!exact) {
            notes.add(new TensorNote(name, "F16", false, "rounded to fp16, which a GPTQ checkpoint stores every"
                    + " unquantized tensor in"));
        }
    }

    private static void writeInts(OutputStream out, int[] values) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        out.write(b.array());
    }

    private static byte[] json(ObjectNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException("JSON of a tree cannot fail to serialise", e);
        }
    }

    /** The stored form of a GPTQ or RTN layer, as one view. */
    private sealed interface Source permits GptqSource, RtnSource {
        int bits();

        int rows();

        int cols();

        int groups();

        int group(int c);

        float scale(int g, int r);

        float zero(int g, int r);

        int code(int r, int c);

        /** group_size as GPTQ configs write it: -1 for one group per row. */
        int configGroupSize();

        boolean sym();

        boolean descAct();

        static Source of(GptqTensor t) {
            return new GptqSource(t);
        }

        static Source of(QuantizedMatrix m) {
            return new RtnSource(m, m.scales(), m.zeros());
        }
    }

    private record GptqSource(GptqTensor t) implements Source {
        public int bits() {
            return t.bits();
        }

        public int rows() {
            return t.rows();
        }

        public int cols() {
            return t.cols();
        }

        public int groups() {
            return t.groups();
        }

        public int group(int c) {
            return t.group(c);
        }

        public float scale(int g, int r) {
            return t.scale(g, r);
        }

        public float zero(int g, int r) {
            return t.zero(g, r);
        }

        public int code(int r, int c) {
            return t.code(r, c);
        }

        public int configGroupSize() {
            return t.settings().groupSize() == 0 ? -1 : t.settings().groupSize();
        }

        public boolean sym() {
            return t.settings().symmetric();
        }

        /** desc_act: the act-order index is stored (act-order with static groups keeps groups consecutive). */
        public boolean descAct() {
            return t.storesGroupIndex();
        }
    }

    /** RTN keeps scales and zero points row-major, {@code rows × groupsPerRow}. */
    private record RtnSource(QuantizedMatrix m, float[] scales, float[] zeros) implements Source {
        public int bits() {
            return m.bits();
        }

        public int rows() {
            return m.rows();
        }

        public int cols() {
            return m.cols();
        }

        public int groups() {
            return m.groupsPerRow();
        }

        public int group(int c) {
            return c / m.groupSize();
        }

        public float scale(int g, int r) {
            return scales[r * m.groupsPerRow() + g];
        }

        public float zero(int g, int r) {
            return zeros[r * m.groupsPerRow() + g];
        }

        public int code(int r, int c) {
            return m.code(r, c);
        }

        public int configGroupSize() {
            return m.groupsPerRow() == 1 ? -1 : m.groupSize();
        }

        /**
         * Symmetric when every zero point is the midpoint {@code 2^(bits−1)}, what symmetric RTN stores; loaders
         * that take {@code sym} to mean that zero point (and skip qzeros) then compute the same weights.
         */
        public boolean sym() {
            float mid = 1 << (m.bits() - 1);
            for (float z : zeros) {
                if (z != mid) {
                    return false;
                }
            }
            return true;
        }

        public boolean descAct() {
            return false;
        }
    }
}
