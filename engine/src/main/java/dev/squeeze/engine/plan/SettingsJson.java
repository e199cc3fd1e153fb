package dev.squeeze.engine.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;

import java.util.List;
import java.util.Locale;

/**
 * The JSON form of every registered method's settings record. The field names are the record components'
 * ({@code bits}, {@code groupSize}, …); a field left out takes the value of the method's usual factory
 * ({@link GptqSettings#of}, {@link SpqrSettings#recommended}, …), so a plan states only what it changes. Only
 * {@code method} and the fields without a sensible default (bits, sparsity, variant, rank) are required.
 *
 * <p>Sparsity is a number (unstructured fraction, {@code 0.5}), an {@code "N:M"} string ({@code "2:4"} keeps 2 of
 * 4) or an object {@code {"rows": 0.25}} / {@code {"channels": 0.25}}. SpQR's {@code outlierThreshold} is a number
 * or {@code "off"} (no outliers). Enums are written in lower case.
 *
 * <p>Range checks are not done here but by each record's {@code validate(layer, rows, cols)}, which knows the
 * layer's shape; this class only checks names and types.
 */
public final class SettingsJson {
    /** The method name that keeps a layer dense. */
    public static final String NONE = "none";

    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private SettingsJson() {
    }

    /**
     * Reads one method object; returns null for {@code "method": "none"} (the layer stays dense). Problems are
     * added to {@code f}'s error list; the result is then unusable but the caller goes on to collect more.
     */
    static MethodSettings read(JsonFields f) {
        String method = f.text("method", null, true);
        if (method == null) {
            f.rejectUnknown();
            return null;
        }
        MethodSettings s = switch (method) {
            case NONE -> null;
            case "rtn" -> new RtnSettings(f.integer("bits", 4, true), f.integer("groupSize", 0, false),
                    f.bool("symmetric", false));
            case "gptq" -> gptq(f);
            case "spqr" -> spqr(f);
            case "sparsegpt" -> sparseGpt(f);
            case "magnitude" -> new MagnitudeSettings(sparsity(f, true), f.integer("valueBits", 16, false));
            case "lowrank" -> lowRank(f);
            default -> {
                try {
                    Methods.byName(f.where(), method);
                    f.error("method", "is '" + method + "', a method that plans cannot configure yet");
                } catch (SqueezeException e) {
                    f.error("method", "is '" + method + "', which is not a known method (" + e.fix() + ", or none)");
                }
                // The other fields of an unknown method cannot be judged; do not pile up errors about them.
                f.node().fieldNames().forEachRemaining(f::raw);
                yield null;
            }
        };
        f.rejectUnknown();
        return s;
    }

    /** Parses a standalone settings object (e.g. a GUI or CLI argument); throws one error listing all problems. */
    public static MethodSettings parse(JsonNode node, String where) {
        Problems errors = new Problems();
        JsonFields f = JsonFields.of(node, where, "settings", errors);
        MethodSettings s = f == null ? null : read(f);
        if (!errors.isEmpty()) {
            throw errors.exception("Settings are invalid", "correct the fields named above");
        }
        return s;
    }

    private static GptqSettings gptq(JsonFields f) {
        GptqSettings d = GptqSettings.of(f.integer("bits", 4, true), f.integer("groupSize", 0, false));
        return d.withSymmetric(f.bool("symmetric", d.symmetric()))
                .withActOrder(f.bool("actOrder", d.actOrder()))
                .withStaticGroups(f.bool("staticGroups", d.staticGroups()))
                .withPercdamp(f.number("percdamp", d.percdamp()))
                .withBlockSize(f.integer("blockSize", d.blockSize(), false))
                .withGroupParams(f.choice("groupParams", GptqSettings.GroupParams.class, d.groupParams()))
                .withScalePrecision(f.choice("scalePrecision", GptqSettings.ScalePrecision.class, d.scalePrecision()));
    }

    private static SpqrSettings spqr(JsonFields f) {
        SpqrSettings d = SpqrSettings.recommended(f.integer("bits", 4, true));
        double threshold = d.outlierThreshold();
        JsonNode t = f.raw("outlierThreshold");
        if (t != null) {
            if (t.isNumber()) {
                threshold = t.doubleValue();
            } else if (t.isTextual() && t.textValue().equals("off")) {
                threshold = Double.POSITIVE_INFINITY;
            } else {
                f.error("outlierThreshold", "must be a number or \"off\", not " + JsonFields.kind(t));
            }
        }
        return new SpqrSettings(d.bits(), f.integer("groupSize", d.groupSize(), false),
                f.integer("qqScaleBits", d.qqScaleBits(), false), f.integer("qqZeroBits", d.qqZeroBits(), false),
                f.integer("qqGroupSize", d.qqGroupSize(), false), threshold, f.number("percdamp", d.percdamp()),
                f.bool("actOrder", d.actOrder()), f.integer("blockSize", d.blockSize(), false),
                f.bool("referencePrecision", d.referencePrecision()));
    }

    private static SparseGptSettings sparseGpt(JsonFields f) {
        Sparsity sp = sparsity(f, true);
        return new SparseGptSettings(sp, f.integer("bits", 16, false), f.integer("groupSize", 0, false),
                f.number("percdamp", SparseGptSettings.DEFAULT_PERCDAMP),
                f.integer("blockSize", SparseGptSettings.DEFAULT_BLOCK_SIZE, false),
                f.choice("mode", SparseGptSettings.Mode.class, SparseGptSettings.Mode.DEFAULT));
    }

    private static LowRankSettings lowRank(JsonFields f) {
        String v = f.text("variant", null, true);
        LowRankVariant variant = null;
        if (v != null) {
            for (LowRankVariant x : LowRankVariant.values()) {
                if (x.key().equals(v)) {
                    variant = x;
                }
            }
            if (variant == null) {
                f.error("variant", "is '" + v + "'; use one of svd, activation, whitened, lord, fisher");
            }
        }
        int rank = f.integer("rank", 0, true);
        double percdamp = f.number("percdamp", LowRankSettings.DEFAULT_PERCDAMP);
        RtnSettings a = factorQuant(f, "quantA");
        RtnSettings b = factorQuant(f, "quantB");
        return new LowRankSettings(variant, rank, percdamp, a, b);
    }

    private static RtnSettings factorQuant(JsonFields f, String field) {
        JsonNode v = f.raw(field);
        if (v == null) {
            return null;
        }
        Problems errors = new Problems();
        JsonFields q = JsonFields.of(v, f.where() + " " + field, field, errors);
        RtnSettings r = null;
        if (q != null) {
            r = new RtnSettings(q.integer("bits", 4, true), q.integer("groupSize", 0, false), q.bool("symmetric", false));
            q.rejectUnknown();
        }
        errors.shown().forEach(e -> f.error(field, "— " + e)); // an RTN object has too few fields to hide any
        return r;
    }

    private static Sparsity sparsity(JsonFields f, boolean required) {
        JsonNode v = f.raw("sparsity");
        if (v == null) {
            if (required) {
                f.error("sparsity", "is missing");
            }
            return null;
        }
        if (v.isNumber()) {
            return Sparsity.unstructured(v.doubleValue());
        }
        if (v.isTextual()) {
            String[] nm = v.textValue().split(":", -1);
            if (nm.length == 2) {
                try {
                    return Sparsity.nOfM(Integer.parseInt(nm[0].trim()), Integer.parseInt(nm[1].trim()));
                } catch (NumberFormatException e) {
                    // reported below
                }
            }
        }
        if (v instanceof ObjectNode o && o.size() == 1) {
            String key = o.fieldNames().next();
            JsonNode x = o.get(key);
            if (x.isNumber() && key.equals("rows")) {
                return Sparsity.rows(x.doubleValue());
            }
            if (x.isNumber() && key.equals("channels")) {
                return Sparsity.channels(x.doubleValue());
            }
        }
        f.error("sparsity", "is " + JsonFields.kind(v) + "; use a fraction (0.5), \"N:M\" (\"2:4\"),"
                + " {\"rows\": 0.25} or {\"channels\": 0.25}");
        return null;
    }

    /** The JSON form of a settings record (every field written; null settings mean {@code "method": "none"}). */
    public static ObjectNode write(MethodSettings s) {
        ObjectNode o = F.objectNode();
        if (s == null) {
            return o.put("method", NONE);
        }
        o.put("method", s.method());
        switch (s) {
            case RtnSettings r -> rtn(o, r);
            case GptqSettings g -> o.put("bits", g.bits()).put("groupSize", g.groupSize()).put("symmetric", g.symmetric())
                    .put("actOrder", g.actOrder()).put("staticGroups", g.staticGroups()).put("percdamp", g.percdamp())
                    .put("blockSize", g.blockSize()).put("groupParams", lower(g.groupParams()))
                    .put("scalePrecision", lower(g.scalePrecision()));
            case SpqrSettings p -> {
                o.put("bits", p.bits()).put("groupSize", p.groupSize()).put("qqScaleBits", p.qqScaleBits())
                        .put("qqZeroBits", p.qqZeroBits()).put("qqGroupSize", p.qqGroupSize());
                if (p.detectsOutliers()) {
                    o.put("outlierThreshold", p.outlierThreshold());
                } else {
                    o.put("outlierThreshold", "off");
                }
                o.put("percdamp", p.percdamp()).put("actOrder", p.actOrder()).put("blockSize", p.blockSize())
                        .put("referencePrecision", p.referencePrecision());
            }
            case SparseGptSettings p -> o.set("sparsity", sparsity(p.sparsity()));
            case MagnitudeSettings m -> o.<ObjectNode>set("sparsity", sparsity(m.sparsity())).put("valueBits", m.valueBits());
            case LowRankSettings l -> {
                o.put("variant", l.variant().key()).put("rank", l.rank()).put("percdamp", l.percdamp());
                if (l.quantA() != null) {
                    rtn(o.putObject("quantA"), l.quantA());
                }
                if (l.quantB() != null) {
                    rtn(o.putObject("quantB"), l.quantB());
                }
            }
            default -> throw new IllegalArgumentException("no JSON form for " + s.getClass().getName());
        }
        if (s instanceof SparseGptSettings p) {
            o.put("bits", p.bits()).put("groupSize", p.groupSize()).put("percdamp", p.percdamp())
                    .put("blockSize", p.blockSize()).put("mode", lower(p.mode()));
        }
        return o;
    }

    private static void rtn(ObjectNode o, RtnSettings r) {
        o.put("bits", r.bits()).put("groupSize", r.groupSize()).put("symmetric", r.symmetric());
    }

    private static JsonNode sparsity(Sparsity s) {
        return switch (s.pattern()) {
            case UNSTRUCTURED -> F.numberNode(s.fraction());
            case N_OF_M -> F.textNode(s.n() + ":" + s.m());
            case ROWS -> F.objectNode().put("rows", s.fraction());
            case CHANNELS -> F.objectNode().put("channels", s.fraction());
        };
    }

    private static String lower(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }
}
