package dev.squeeze.engine.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.plan.PlanResolver;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.StoredRun;
import dev.squeeze.engine.model.LayerRole;
import dev.squeeze.engine.model.gguf.GgufModelFormat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A plan's per-layer settings in the words of two other tools, for users who want them to do the quantizing:
 * <ul>
 *   <li>llama.cpp's {@code llama-quantize --tensor-type REGEX=TYPE} (each pattern is searched in the GGUF tensor
 *       names, as llama-quant.cpp does with {@code std::regex_search});</li>
 *   <li>GPTQModel's {@code QuantizeConfig.dynamic}: module-name regexes prefixed {@code +:} (override bits,
 *       group_size, sym, desc_act) or {@code -:} (skip: the module stays dense).</li>
 * </ul>
 * Neither tool can say everything a Squeeze plan says. Every layer the translation does not carry over exactly is
 * listed with the reason ({@link Translation#unexpressed}); nothing is dropped silently. Both tools quantize
 * themselves, so a translation carries settings, never a run's weights: to run exactly the weights of a run,
 * export them ({@code squeeze export --run ID --format gguf|gptq}).
 */
public final class PlanTranslation {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Pattern BLOCK = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
    private static final java.util.Set<String> LINEARS = java.util.Set.of("self_attn.q_proj", "self_attn.k_proj",
            "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj");

    private PlanTranslation() {
    }

    /**
     * The result: the text to hand to the tool, and the layers it does not express exactly.
     *
     * @param text        the arguments (llama.cpp) or the configuration JSON (GPTQModel)
     * @param unexpressed one line per layer whose setting the tool cannot carry exactly: {@code layer: why}
     */
    public record Translation(String text, List<String> unexpressed) {
        public Translation {
            unexpressed = List.copyOf(unexpressed);
        }
    }

    /** A stored run's model, opened, and its plan resolved against it: what both translations start from. */
    public record RunPlan(Model model, Map<String, MethodSettings> settings) {
        public Translation llamaCpp() {
            boolean f16 = model.tensors().values().stream().anyMatch(t -> t.dtype() == DType.F16);
            return PlanTranslation.llamaCpp(model.layers(), settings, f16 ? "f16" : "f32");
        }

        public Translation gptqModel() {
            return PlanTranslation.gptqModel(model.layers(), settings);
        }
    }

    /** The plan of stored run {@code runId} against its model (opened from where the run found it). */
    public static RunPlan ofRun(ResultsStore store, long runId) {
        StoredRun run = store.run(runId).orElseThrow(() -> new SqueezeException("There is no run " + runId
                + " in " + store.location(), "list the runs with: squeeze runs"));
        ResultsStore.StoredModel stored = store.model(run.summary().modelHash()).orElseThrow(() ->
                new SqueezeException("Run " + runId + " names no model the database knows", "re-run its plan"));
        if (!LlamaConfig.ARCHITECTURE.equals(stored.architecture())) {
            throw new SqueezeException("Run " + runId + " is of " + stored.name() + ", a " + stored.architecture()
                    + " model; plans translate to llama.cpp and GPTQModel only for Llama-family models",
                    "export the run itself (squeeze export --run " + runId + " --format onnx)");
        }
        Model model = ModelRefs.open(stored.source());
        return new RunPlan(model, PlanResolver.resolve(CompressionPlan.parse(run.planJson()), model));
    }

    /**
     * The {@code llama-quantize} command line for a Llama-family plan.
     *
     * @param layers   the model's layers, in order
     * @param settings each compressed layer's settings; a layer absent stays dense
     * @param denseType the llama.cpp type of a dense layer (the model's own: {@code f32} or {@code f16})
     */
    public static Translation llamaCpp(List<LayerInfo> layers, Map<String, MethodSettings> settings,
                                       String denseType) {
        List<String> unexpressed = new ArrayList<>();
        Map<String, String> typeOf = new LinkedHashMap<>();
        for (LayerInfo l : layers) {
            String tensor = ggufTensor(l.name());
            if (tensor == null) {
                if (settings.containsKey(l.name())) {
                    unexpressed.add(l.name() + ": not a Llama tensor llama.cpp names");
                }
                continue;
            }
            MethodSettings s = settings.get(l.name());
            if (s == null) {
                typeOf.put(tensor, denseType);
                continue;
            }
            Grid g = Grid.of(s);
            if (g == null) {
                typeOf.put(tensor, denseType);
                unexpressed.add(l.name() + ": " + s.describe() + " has no llama.cpp type (kept " + denseType + ")");
                continue;
            }
            String type = ggmlType(g);
            if (type == null) {
                String nearest = nearestGgmlType(g);
                typeOf.put(tensor, nearest);
                unexpressed.add(l.name() + ": " + s.describe() + " has no exact llama.cpp type; nearest " + nearest
                        + " (" + nearestWhy(g, nearest) + ")");
            } else {
                typeOf.put(tensor, type);
            }
            if (!s.method().equals("rtn")) {
                unexpressed.add(l.name() + ": method " + s.method() + " is not llama-quantize's; it rounds to nearest"
                        + " on its own grid (export the run with --format gguf to keep the run's weights)");
            }
        }
        // The most common type is the positional one; the others go by role when a role is uniform, else per block.
        Map<String, Integer> counts = new LinkedHashMap<>();
        typeOf.values().forEach(t -> counts.merge(t, 1, Integer::sum));
        String base = counts.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey)
                .orElseThrow(() -> new SqueezeException("The plan names no Llama linear",
                        "translate the plan of a Llama-family model"));
        Map<String, Map<String, String>> byRole = new LinkedHashMap<>();
        typeOf.forEach((tensor, type) -> byRole.computeIfAbsent(role(tensor), r -> new LinkedHashMap<>())
                .put(tensor, type));
        StringBuilder sb = new StringBuilder("llama-quantize --pure");
        byRole.forEach((role, tensors) -> {
            var types = tensors.values().stream().distinct().toList();
            if (types.size() == 1) {
                if (!types.getFirst().equals(base)) {
                    sb.append(" --tensor-type '").append(regex(role)).append("=").append(types.getFirst()).append("'");
                }
            } else {
                tensors.forEach((tensor, type) -> {
                    if (!type.equals(base)) {
                        sb.append(" --tensor-type '").append(regex(tensor)).append("=").append(type).append("'");
                    }
                });
            }
        });
        sb.append(" MODEL-F32.gguf OUT.gguf ").append(base.toUpperCase(java.util.Locale.ROOT));
        return new Translation(sb.toString(), unexpressed);
    }

    /**
     * The GPTQModel {@code QuantizeConfig} (base fields and {@code dynamic}) for a plan: the most common GPTQ
     * setting is the base; other layers are {@code +:} overrides; dense layers are {@code -:} skips.
     */
    public static Translation gptqModel(List<LayerInfo> layers, Map<String, MethodSettings> settings) {
        List<String> unexpressed = new ArrayList<>();
        Map<String, Map<String, Object>> chosen = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        for (LayerInfo l : layers) {
            if (l.role() == LayerRole.EMBEDDING || l.role() == LayerRole.HEAD || l.role() == LayerRole.NORM) {
                if (settings.containsKey(l.name())) {
                    unexpressed.add(l.name() + ": GPTQModel quantizes only the decoder's linears (kept dense)");
                }
                continue;
            }
            MethodSettings s = settings.get(l.name());
            if (s == null) {
                skipped.add(l.name());
                continue;
            }
            Grid g = Grid.of(s);
            if (g == null || !(g.bits == 2 || g.bits == 3 || g.bits == 4 || g.bits == 8)) {
                skipped.add(l.name());
                unexpressed.add(l.name() + ": " + s.describe() + " is not a GPTQ setting GPTQModel has (bits 2, 3, 4"
                        + " or 8, groups, sym, desc_act); it is skipped (-:), so it stays dense");
                continue;
            }
            if (s.method().equals("rtn")) {
                unexpressed.add(l.name() + ": RTN becomes GPTQ at the same grid (GPTQModel has no round-to-nearest)");
            }
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put("bits", g.bits);
            fields.put("group_size", g.groupSize == 0 ? -1 : g.groupSize);
            fields.put("sym", g.symmetric);
            fields.put("desc_act", g.actOrder);
            chosen.put(l.name(), fields);
        }
        if (chosen.isEmpty()) {
            throw new SqueezeException("No layer of the plan is a GPTQ setting GPTQModel can express",
                    "translate a plan with GPTQ or RTN layers of 2, 3, 4 or 8 bits");
        }
        Map<Map<String, Object>, Integer> counts = new LinkedHashMap<>();
        chosen.values().forEach(f -> counts.merge(f, 1, Integer::sum));
        Map<String, Object> base = counts.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        ObjectNode root = JSON.createObjectNode();
        base.forEach((k, v) -> root.putPOJO(k, v));
        ObjectNode dynamic = root.putObject("dynamic");
        chosen.forEach((layer, fields) -> {
            if (!fields.equals(base)) {
                ObjectNode o = dynamic.putObject("+:" + layer.replace(".", "\\.") + "$");
                fields.forEach((k, v) -> {
                    if (!v.equals(base.get(k))) {
                        o.putPOJO(k, v);
                    }
                });
            }
        });
        skipped.forEach(layer -> dynamic.putObject("-:" + layer.replace(".", "\\.") + "$"));
        try {
            return new Translation(JSON.writeValueAsString(root), unexpressed);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** llama.cpp's name of a Llama block linear ({@code blk.3.attn_q.weight}), or null for any other name. */
    static String ggufTensor(String layer) {
        Matcher m = BLOCK.matcher(layer);
        if (m.matches() && LINEARS.contains(m.group(2))) {
            return GgufModelFormat.ggufName(layer + ".weight");
        }
        return null;
    }

    private static String role(String tensor) {
        return tensor.replaceFirst("^blk\\.\\d+\\.", "");
    }

    private static String regex(String nameOrRole) {
        String r = nameOrRole.replace(".", "\\.");
        return nameOrRole.startsWith("blk.") ? "^" + r + "$" : "\\." + r + "$";
    }

    /** The integer grid of a quantizing setting: width, group, symmetry, act-order; null for other methods. */
    private record Grid(int bits, int groupSize, boolean symmetric, boolean actOrder) {
        static Grid of(MethodSettings s) {
            if (s instanceof RtnSettings r) {
                return new Grid(r.bits(), r.groupSize(), r.symmetric(), false);
            }
            if (s instanceof GptqSettings g) {
                return new Grid(g.bits(), g.groupSize(), g.symmetric(), g.actOrder());
            }
            return null;
        }
    }

    /** The llama.cpp type whose blocks are exactly this grid: 32 consecutive weights, one scale (and a minimum). */
    private static String ggmlType(Grid g) {
        if (g.groupSize != 32 || g.actOrder) {
            return null;
        }
        return switch (g.bits) {
            case 4 -> g.symmetric ? "q4_0" : "q4_1";
            case 5 -> g.symmetric ? "q5_0" : "q5_1";
            case 8 -> g.symmetric ? "q8_0" : null;
            default -> null;
        };
    }

    private static String nearestGgmlType(Grid g) {
        return switch (g.bits) {
            case 2 -> "q2_k";
            case 3 -> "q3_k";
            case 4 -> g.symmetric ? "q4_0" : "q4_k";
            case 5 -> g.symmetric ? "q5_0" : "q5_k";
            case 6, 7 -> "q6_k";
            default -> "q8_0";
        };
    }

    private static String nearestWhy(Grid g, String type) {
        if (type.endsWith("_k")) {
            return "k-quants keep 16- or 32-weight sub-blocks in 256-weight super-blocks with quantized scales";
        }
        if (g.bits == 8 && !g.symmetric) {
            return "llama.cpp's 8-bit blocks are symmetric";
        }
        return g.actOrder ? "act-order groups are not consecutive" : "llama.cpp's blocks are 32 weights, not "
                + (g.groupSize == 0 ? "a whole row" : g.groupSize);
    }
}
