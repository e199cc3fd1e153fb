package dev.squeeze.engine.plan;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressionMethod;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import dev.squeeze.engine.model.Model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Applies a {@link CompressionPlan} to a model's layers and validates the result before any work starts. Every
 * problem — settings out of range for a layer's shape, a method unknown to the registry, an exact name that is
 * not a layer, a regex that matches no compressible layer — is collected and reported in one
 * {@link SqueezeException}, each line naming the layer (or plan entry) and the field.
 */
public final class PlanResolver {
    private PlanResolver() {
    }

    /** Whether a layer is compressed by defaults and regexes: every role but embeddings, norms and the head. */
    public static boolean compressible(LayerInfo layer) {
        LayerRole r = layer.role();
        return r != LayerRole.EMBEDDING && r != LayerRole.NORM && r != LayerRole.HEAD;
    }

    public static Map<String, MethodSettings> resolve(CompressionPlan plan, Model model) {
        return resolve(plan, model.layers());
    }

    /**
     * The settings of every layer the plan compresses, in model order; layers left dense (not compressible and not
     * named, or {@code "method": "none"}) are absent.
     */
    public static Map<String, MethodSettings> resolve(CompressionPlan plan, List<LayerInfo> layers) {
        List<String> errors = new ArrayList<>();
        List<LayerInfo> compressible = layers.stream().filter(PlanResolver::compressible).toList();
        Map<String, MethodSettings> fromPreset = plan.preset() == null ? Map.of()
                : plan.preset().perLayer().apply(compressible);
        MethodSettings defaults = plan.effectiveDefaults();

        // Typo protection: every entry must pick something.
        for (CompressionPlan.LayerOverride o : plan.overrides()) {
            boolean hit = o.layer() != null ? layers.stream().anyMatch(l -> l.name().equals(o.layer()))
                    : compressible.stream().anyMatch(l -> o.matches(l.name()));
            if (!hit) {
                errors.add(o.where() + ": field '" + (o.layer() != null ? "layer" : "match") + "' "
                        + (o.layer() != null ? "names no layer of the model" : "matches no compressible layer"));
            }
        }

        Map<String, MethodSettings> out = new LinkedHashMap<>();
        for (LayerInfo l : layers) {
            boolean canCompress = compressible(l);
            boolean chosen = canCompress;
            MethodSettings s = canCompress ? defaults : null;
            if (canCompress && fromPreset.containsKey(l.name())) {
                s = fromPreset.get(l.name());
            }
            for (CompressionPlan.LayerOverride o : plan.overrides()) {
                if (o.regex() != null && canCompress && o.matches(l.name())) {
                    s = o.settings();
                }
            }
            for (CompressionPlan.LayerOverride o : plan.overrides()) {
                if (o.layer() != null && o.matches(l.name())) {
                    s = o.settings();
                    chosen = true;
                }
            }
            if (chosen && s != null) {
                out.put(l.name(), s);
            }
        }

        for (LayerInfo l : layers) {
            MethodSettings s = out.get(l.name());
            if (s != null) {
                check(l, s, errors);
            }
        }
        if (!errors.isEmpty()) {
            throw new SqueezeException("The plan does not fit the model (" + errors.size()
                    + (errors.size() == 1 ? " problem" : " problems") + "):\n  - " + String.join("\n  - ", errors),
                    "correct the plan entries or settings named above");
        }
        return Collections.unmodifiableMap(out);
    }

    private static void check(LayerInfo l, MethodSettings s, List<String> errors) {
        long[] shape = l.shape();
        if (shape.length < 2) {
            errors.add("Layer " + l.name() + ": shape " + l.shapeText() + " is not a matrix, so it cannot be compressed");
            return;
        }
        long rows = shape[0];
        long cols = 1;
        for (int i = 1; i < shape.length; i++) {
            cols *= shape[i];
        }
        if (rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE) {
            errors.add("Layer " + l.name() + ": shape " + l.shapeText() + " is too large for one matrix");
            return;
        }
        try {
            CompressionMethod m = Methods.byName(l.name(), s.method());
            if (!m.settingsType().isInstance(s)) {
                errors.add("Layer " + l.name() + ": field 'method' is '" + s.method() + "' but the settings are "
                        + s.getClass().getSimpleName());
                return;
            }
            s.validate(l.name(), (int) rows, (int) cols);
        } catch (SqueezeException e) {
            errors.add(e.fix() == null ? e.getMessage() : e.getMessage().replace("\n  Fix: ", " (fix: ") + ")");
        }
    }
}
