package dev.squeeze.engine.export.sqz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.QuantizedMatrix;
import dev.squeeze.engine.compress.Restored;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.gptq.GptqTensor;
import dev.squeeze.engine.compress.lowrank.LowRankTensor;
import dev.squeeze.engine.compress.sparse.SparseTensor;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.compress.spqr.SpqrTensor;
import dev.squeeze.engine.plan.SettingsJson;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Locale;

/**
 * Each compressed tensor kind as a {@code .sqz} layer section: its scalars (shape, settings, layout) go into the
 * section's manifest entry as {@code attrs}, its arrays into the payload in a fixed order ({@link SqzArrays}). The
 * tensor's own settings ({@code attrs.settings}) are left out when they equal the layer's ({@code settings} of the
 * entry), which the reader then uses.
 * Reading rebuilds the tensor through its own checking factory ({@code fromParts}), so a bundle can only give
 * tensors their method could have made.
 *
 * <table>
 *   <caption>kinds and payload arrays, in order</caption>
 *   <tr><th>kind</th><th>class</th><th>arrays</th></tr>
 *   <tr><td>rtn</td><td>QuantizedMatrix</td><td>codes, scales, zeros (absent when symmetric: implied)</td></tr>
 *   <tr><td>gptq</td><td>GptqTensor</td><td>codes, scales, zeros (absent when symmetric), g_idx (absent when
 *       implied), perm (absent when the identity)</td></tr>
 *   <tr><td>spqr</td><td>SpqrTensor</td><td>perm (absent = identity), codes, scale codes, zero codes,
 *       second-level statistics, CSR row pointers, outlier columns, outlier values</td></tr>
 *   <tr><td>sparse</td><td>SparseTensor</td><td>index fields, fp16 values, fp32 values, codes, scales, zeros
 *       (the ones the value kind does not use are absent)</td></tr>
 *   <tr><td>lowrank</td><td>LowRankTensor</td><td>per factor A then B: fp16 values, or codes, scales, zeros</td></tr>
 * </table>
 */
final class SqzTensors {
    static final List<String> KINDS = List.of("rtn", "gptq", "spqr", "sparse", "lowrank");
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private SqzTensors() {
    }

    /** One encoded layer. */
    record Encoded(String kind, ObjectNode attrs, byte[] payload) {
    }

    /** The kind name of a tensor this format can hold, or null. */
    static String kindOf(CompressedTensor t) {
        return switch (t) {
            case QuantizedMatrix q -> "rtn";
            case GptqTensor g -> "gptq";
            case SpqrTensor s -> "spqr";
            case SparseTensor s -> "sparse";
            case LowRankTensor l -> "lowrank";
            default -> null;
        };
    }

    static Encoded encode(CompressedTensor t) {
        SqzArrays.Out out = new SqzArrays.Out();
        ObjectNode a = F.objectNode().put("rows", t.rows()).put("cols", t.cols());
        String kind = kindOf(t);
        switch (t) {
            case QuantizedMatrix q -> rtn(q.parts(), a, out);
            case GptqTensor g -> {
                GptqTensor.Parts p = g.parts();
                a.set("settings", SettingsJson.write(p.settings()));
                out.codes(p.codes(), p.settings().bits());
                out.floats(p.scales());
                out.floats(impliedZero(p.settings().symmetric(), p.settings().bits(), p.zeros()) ? null : p.zeros());
                out.ints(p.gIdx());
                out.ints(identity(p.perm()) ? null : p.perm());
            }
            case SpqrTensor s -> {
                SpqrTensor.Parts p = s.parts();
                a.set("settings", SettingsJson.write(p.settings()));
                a.put("outlierThreshold", p.outlierThreshold());
                out.ints(p.perm());
                out.codes(p.codes(), p.settings().bits());
                out.codes(p.scaleCodes(), p.settings().qqScaleBits());
                out.codes(p.zeroCodes(), p.settings().qqZeroBits());
                out.floats(p.secondLevel());
                out.ints(p.rowPointers());
                out.chars(p.outlierColumns());
                out.floats(p.outlierValues());
            }
            case SparseTensor s -> {
                SparseTensor.Parts p = s.parts();
                a.put("layout", p.layout().name()).put("n", p.n()).put("m", p.m()).put("valueKind", p.valueKind())
                        .put("valueCount", p.valueCount()).put("valueBits", p.valueBits())
                        .put("groupSize", p.groupSize()).put("groupsPerRow", p.groupsPerRow())
                        .put("quantizedRows", p.quantizedRows()).put("description", p.description());
                out.words(p.indexWidth(), p.indexCount(), p.indexWords());
                out.halves(p.half());
                out.floats(p.single() == null ? null : p.single());
                out.codes(p.codes(), Math.max(1, Math.min(8, p.valueBits())));
                out.floats(p.scales());
                out.floats(p.zeros());
            }
            case LowRankTensor l -> {
                LowRankTensor.Parts p = l.parts();
                a.put("rank", p.rank()).put("description", p.description());
                factor("A", p.a(), p.quantA(), a, out);
                factor("B", p.b(), p.quantB(), a, out);
            }
            default -> throw new IllegalArgumentException("no .sqz form for " + t.getClass().getName());
        }
        return new Encoded(kind, a, out.toByteArray());
    }

    private static void rtn(QuantizedMatrix.Parts p, ObjectNode a, SqzArrays.Out out) {
        a.set("settings", SettingsJson.write(p.settings()));
        out.codes(p.codes(), p.settings().bits());
        out.floats(p.scales());
        out.floats(impliedZero(p.settings().symmetric(), p.settings().bits(), p.zeros()) ? null : p.zeros());
    }

    private static void factor(String name, float[] values, QuantizedMatrix q, ObjectNode a, SqzArrays.Out out) {
        if (q == null) {
            a.putNull("quant" + name);
            out.floats(values);
        } else {
            ObjectNode qa = a.putObject("quant" + name).put("rows", q.rows()).put("cols", q.cols());
            rtn(q.parts(), qa, out);
        }
    }

    /** Symmetric zero points are {@code (maxq + 1) / 2}, implied by the width (RTN and GPTQ alike). */
    private static float symmetricZero(int bits) {
        return ((1 << bits) - 1 + 1) / 2f;
    }

    private static boolean impliedZero(boolean symmetric, int bits, float[] zeros) {
        if (!symmetric) {
            return false;
        }
        float z = symmetricZero(bits);
        for (float v : zeros) {
            if (Float.floatToRawIntBits(v) != Float.floatToRawIntBits(z)) {
                return false;
            }
        }
        return true;
    }

    private static float[] zerosOrImplied(float[] zeros, boolean symmetric, int bits, long count) {
        if (zeros != null || !symmetric) {
            return zeros; // a missing asymmetric zero array fails the tensor's own length check
        }
        Restored.require(count <= Restored.MAX_ELEMENTS, count + " zero points");
        float[] z = new float[(int) count];
        java.util.Arrays.fill(z, symmetricZero(bits));
        return z;
    }

    private static boolean identity(int[] perm) {
        for (int i = 0; i < perm.length; i++) {
            if (perm[i] != i) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------------------------------------ reading

    /**
     * Rebuilds a tensor; every inconsistency is an IllegalArgumentException (or a SqueezeException from the
     * settings' own check) that the caller reports with the file and the section.
     */
    static CompressedTensor decode(String kind, JsonNode a, MemorySegment payload, String where) {
        SqzArrays.In in = new SqzArrays.In(payload);
        int rows = intField(a, "rows");
        int cols = intField(a, "cols");
        Restored.matrix(rows, cols);
        CompressedTensor t = switch (kind) {
            case "rtn" -> rtn(a, rows, cols, in, where);
            case "gptq" -> {
                GptqSettings s = settings(a, GptqSettings.class, where);
                byte[] codes = in.codes("codes");
                float[] scales = in.floats("scales");
                int groups = s.groupSize() == 0 ? 1 : Math.ceilDiv(cols, Math.min(s.groupSize(), cols));
                float[] zeros = zerosOrImplied(in.floats("zeros"), s.symmetric(), s.bits(), (long) groups * rows);
                int[] gIdx = in.ints("g_idx");
                int[] perm = in.ints("perm");
                if (perm == null) {
                    perm = new int[cols];
                    for (int i = 0; i < cols; i++) {
                        perm[i] = i;
                    }
                }
                yield GptqTensor.fromParts(new GptqTensor.Parts(rows, cols, s, codes, scales, zeros, gIdx, perm));
            }
            case "spqr" -> {
                SpqrSettings s = settings(a, SpqrSettings.class, where);
                double threshold = a.path("outlierThreshold").asDouble(Double.NaN);
                yield SpqrTensor.fromParts(new SpqrTensor.Parts(rows, cols, s, in.ints("perm"), in.codes("codes"),
                        in.codes("scale codes"), in.codes("zero codes"), in.floats("second-level statistics"),
                        in.ints("row pointers"), in.chars("outlier columns"), in.floats("outlier values"),
                        threshold));
            }
            case "sparse" -> {
                String layoutName = text(a, "layout");
                SparseTensor.Layout layout;
                try {
                    layout = SparseTensor.Layout.valueOf(layoutName);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("layout '" + layoutName + "' is not one of "
                            + java.util.Arrays.toString(SparseTensor.Layout.values()));
                }
                SqzArrays.In.Words index = in.words("index");
                yield SparseTensor.fromParts(new SparseTensor.Parts(rows, cols, layout, intField(a, "n"),
                        intField(a, "m"), index.width(), index.count(), index.words(), text(a, "valueKind"),
                        intField(a, "valueCount"), intField(a, "valueBits"), in.halves("fp16 values"),
                        in.floats("fp32 values"), in.codes("codes"), in.floats("scales"), in.floats("zeros"),
                        intField(a, "groupSize"), intField(a, "groupsPerRow"), intField(a, "quantizedRows"),
                        text(a, "description")));
            }
            case "lowrank" -> {
                int rank = intField(a, "rank");
                Restored.matrix(rows, rank);
                Restored.matrix(rank, cols);
                float[] fa = null;
                float[] fb = null;
                QuantizedMatrix qa = null;
                QuantizedMatrix qb = null;
                if (a.path("quantA").isObject()) {
                    qa = rtn(a.get("quantA"), intField(a.get("quantA"), "rows"), intField(a.get("quantA"), "cols"),
                            in, where);
                } else {
                    fa = in.floats("factor A");
                }
                if (a.path("quantB").isObject()) {
                    qb = rtn(a.get("quantB"), intField(a.get("quantB"), "rows"), intField(a.get("quantB"), "cols"),
                            in, where);
                } else {
                    fb = in.floats("factor B");
                }
                yield LowRankTensor.fromParts(new LowRankTensor.Parts(rows, cols, rank, fa, qa, fb, qb,
                        text(a, "description")));
            }
            default -> throw new IllegalArgumentException("layer kind '" + kind + "' is not one of " + KINDS);
        };
        in.end("the layer");
        return t;
    }

    private static QuantizedMatrix rtn(JsonNode a, int rows, int cols, SqzArrays.In in, String where) {
        Restored.matrix(rows, cols);
        RtnSettings s = settings(a, RtnSettings.class, where);
        byte[] codes = in.codes("codes");
        float[] scales = in.floats("scales");
        int g = s.groupSize() == 0 ? cols : Math.min(s.groupSize(), cols);
        float[] zeros = zerosOrImplied(in.floats("zeros"), s.symmetric(), s.bits(), (long) rows * Math.ceilDiv(cols, g));
        return QuantizedMatrix.fromParts(new QuantizedMatrix.Parts(rows, cols, s, codes, scales, zeros));
    }

    private static <T extends MethodSettings> T settings(JsonNode a, Class<T> type, String where) {
        JsonNode node = a.get("settings");
        Restored.require(node != null && node.isObject(), "field 'settings' is missing");
        MethodSettings s = SettingsJson.parse(node, where + " settings");
        Restored.require(type.isInstance(s), "settings of method '" + (s == null ? "none" : s.method())
                + "' for a tensor of kind " + type.getSimpleName().replace("Settings", "").toLowerCase(Locale.ROOT));
        return type.cast(s);
    }

    static int intField(JsonNode a, String name) {
        JsonNode v = a == null ? null : a.get(name);
        Restored.require(v != null && v.isIntegralNumber() && v.canConvertToInt(), "field '" + name
                + "' is missing or not a 32-bit integer");
        return v.intValue();
    }

    static String text(JsonNode a, String name) {
        JsonNode v = a.get(name);
        Restored.require(v != null && v.isTextual(), "field '" + name + "' is missing or not text");
        return v.textValue();
    }
}
