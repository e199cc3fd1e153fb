package dev.squeeze.engine.plan;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressionMethod;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import dev.squeeze.engine.model.Model;

import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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
        Problems errors = new Problems();
        Map<String, MethodSettings> out = assign(plan, layers, errors::add);
        for (LayerInfo l : layers) {
            MethodSettings s = out.get(l.name());
            if (s != null) {
                String problem = problem(l, s);
                if (problem != null) {
                    errors.add(problem);
                }
            }
        }
        if (!errors.isEmpty()) {
            throw errors.exception("The plan does not fit the model", "correct the plan entries or settings named above");
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * The settings the plan gives each layer, in model order (dense layers absent), without checking the settings
     * against the layers; every problem of the plan's entries themselves (a name that is no layer, a regex that
     * matches nothing or takes too long) goes to {@code errors}. {@link PlanCheck} and {@link #resolve} share it.
     */
    static Map<String, MethodSettings> assign(CompressionPlan plan, List<LayerInfo> layers,
                                              java.util.function.Consumer<String> errors) {
        List<LayerInfo> compressible = layers.stream().filter(PlanResolver::compressible).toList();
        Map<String, MethodSettings> fromPreset = plan.preset() == null ? Map.of()
                : plan.preset().perLayer().apply(compressible);
        MethodSettings defaults = plan.effectiveDefaults();

        // Every entry is looked at once (a plan may have a million): exact names through a set and a map, each
        // regex once per compressible layer under a step budget. The later entry of a kind wins, so a map entry
        // (or a layer's regex index) is simply overwritten.
        Set<String> names = new HashSet<>();
        layers.forEach(l -> names.add(l.name()));
        Map<String, CompressionPlan.LayerOverride> exact = new HashMap<>();
        CompressionPlan.LayerOverride[] regexFor = new CompressionPlan.LayerOverride[compressible.size()];
        RegexBudget budget = new RegexBudget();
        boolean budgetSpent = false;
        for (CompressionPlan.LayerOverride o : plan.overrides()) {
            if (o.layer() != null) {
                if (names.contains(o.layer())) {
                    exact.put(o.layer(), o);
                } else {
                    // Typo protection: every entry must pick something.
                    errors.accept(o.where() + ": field 'layer' names no layer of the model");
                }
                continue;
            }
            if (budgetSpent) {
                continue;
            }
            boolean hit = false;
            int i = 0;
            try {
                for (; i < regexFor.length; i++) {
                    if (budget.matches(o.regex(), compressible.get(i).name())) {
                        regexFor[i] = o;
                        hit = true;
                    }
                }
            } catch (RegexBudget.Exceeded e) {
                String name = JsonFields.shorten(compressible.get(i).name());
                errors.accept(switch (e.limit) {
                    case PLAN -> {
                        budgetSpent = true;
                        yield String.format(Locale.ROOT, "%s: field 'match': the plan's regex entries, up to this one,"
                                        + " take too long to match the %,d compressible layer names together (more than"
                                        + " %,d steps); use fewer regex entries, simpler patterns, or exact \"layer\""
                                        + " names", o.where(), compressible.size(), RegexBudget.STEPS_PER_PLAN);
                    }
                    case NAME -> String.format(Locale.ROOT, "%s: field 'match': the pattern takes too long to match"
                                    + " layer names (more than %,d steps on '%s'); simplify it — a repeated group that"
                                    + " can match the same text in many ways, such as (.*){20} or (a+)+, backtracks"
                                    + " without end", o.where(), RegexBudget.STEPS_PER_NAME, name);
                    case STACK -> String.format(Locale.ROOT, "%s: field 'match': the pattern recurses too deeply on"
                                    + " the %,d-character layer name '%s'; simplify it — a repeated group with"
                                    + " alternatives, such as (?:a|b)*, recurses once per character; a character"
                                    + " class such as [ab]* does not", o.where(), compressible.get(i).name().length(),
                            name);
                });
                continue; // the plan is rejected with this error, so where the entry already matched does not matter
            }
            if (!hit) {
                errors.accept(o.where() + ": field 'match' matches no compressible layer");
            }
        }

        Map<String, MethodSettings> out = new LinkedHashMap<>();
        int ci = 0;
        for (LayerInfo l : layers) {
            boolean canCompress = compressible(l);
            boolean chosen = canCompress;
            MethodSettings s = null;
            if (canCompress) {
                s = fromPreset.containsKey(l.name()) ? fromPreset.get(l.name()) : defaults;
                CompressionPlan.LayerOverride r = regexFor[ci++];
                if (r != null) {
                    s = r.settings();
                }
            }
            CompressionPlan.LayerOverride named = exact.get(l.name());
            if (named != null) {
                s = named.settings();
                chosen = true;
            }
            if (chosen && s != null) {
                out.put(l.name(), s);
            }
        }

        return out;
    }

    /**
     * What is wrong with giving {@code l} the settings {@code s} (its shape, the method's name and type, the
     * settings' own validation against the layer's rows and columns), or null when nothing is.
     */
    static String problem(LayerInfo l, MethodSettings s) {
        long[] shape = l.shape();
        if (shape.length < 2) {
            return "Layer " + l.name() + ": shape " + l.shapeText() + " is not a matrix, so it cannot be compressed";
        }
        long rows = shape[0];
        long cols = 1;
        for (int i = 1; i < shape.length; i++) {
            cols *= shape[i];
        }
        if (rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE) {
            return "Layer " + l.name() + ": shape " + l.shapeText() + " is too large for one matrix";
        }
        try {
            CompressionMethod m = Methods.byName(l.name(), s.method());
            if (!m.settingsType().isInstance(s)) {
                return "Layer " + l.name() + ": field 'method' is '" + s.method() + "' but the settings are "
                        + s.getClass().getSimpleName();
            }
            s.validate(l.name(), (int) rows, (int) cols);
            return null;
        } catch (SqueezeException e) {
            return oneLine(e);
        }
    }

    /** A person's error on one line: {@code what (fix: how)}. */
    static String oneLine(SqueezeException e) {
        return e.fix() == null ? e.getMessage() : e.getMessage().replace("\n  Fix: ", " (fix: ") + ")";
    }
}
