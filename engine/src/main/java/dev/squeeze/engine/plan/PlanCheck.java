package dev.squeeze.engine.plan;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.runs.ClassifierRuns;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every problem a job would refuse a plan for, as a list instead of one exception: the checks are the job's own
 * ({@link PlanResolver}'s assignment of settings to layers and its per-layer check, i.e. the method's
 * {@link MethodSettings#validate} against the layer's rows and columns, and the calibration rule of
 * {@code jobs.JobExecution.validate}: a model other than a llama language model is compressed without calibration
 * data, so methods that need the layer Hessian are refused for it). An editor shows the problems per cell.
 */
public final class PlanCheck {
    private static final Pattern FIELD = Pattern.compile("field '([A-Za-z0-9_]+)'");

    private PlanCheck() {
    }

    /**
     * One problem.
     *
     * @param layer   the layer it concerns, or null for a problem of the plan as a whole (an override entry that
     *                names no layer, a plan that compresses nothing)
     * @param field   the settings field it names ({@code groupSize}, {@code method}, …), or null
     * @param message the engine's message, on one line, with what to do about it
     */
    public record Problem(String layer, String field, String message) {
    }

    /**
     * Whether a job gives this model's layers calibration data: language models (llama) are calibrated on their
     * text; every other model (the classifiers) is compressed data-free.
     */
    public static boolean hasCalibration(Model model) {
        return Presets.calibrates(model);
    }

    /** Every problem of {@code plan} on {@code model}, in the order a job's error would list them. */
    public static List<Problem> check(CompressionPlan plan, Model model) {
        Assigned a = assign(plan, model);
        List<Problem> out = new ArrayList<>(a.problems());
        out.addAll(check(a.settings(), model));
        return out;
    }

    /**
     * The settings a plan gives each layer, whether or not they fit the layer.
     *
     * @param settings per layer, in model order; dense layers absent
     * @param problems the problems of the plan's own entries (a name that is no layer, a regex that matches no
     *                 layer); the settings themselves are not checked here
     */
    public record Assigned(Map<String, MethodSettings> settings, List<Problem> problems) {
    }

    /** What {@code plan} gives each layer of {@code model}, as a job assigns it, without checking the settings. */
    public static Assigned assign(CompressionPlan plan, Model model) {
        List<Problem> out = new ArrayList<>();
        Map<String, MethodSettings> settings = PlanResolver.assign(plan, model.layers(),
                message -> out.add(new Problem(null, field(message), message)));
        return new Assigned(java.util.Collections.unmodifiableMap(settings), List.copyOf(out));
    }

    /**
     * Every problem of explicit per-layer settings (a layer absent from the map stays dense) on {@code model}; a
     * name that is no layer of the model is a problem too.
     */
    public static List<Problem> check(Map<String, MethodSettings> settings, Model model) {
        List<Problem> out = new ArrayList<>();
        boolean calibration = hasCalibration(model);
        int known = 0;
        for (LayerInfo l : model.layers()) {
            MethodSettings s = settings.get(l.name());
            if (s == null) {
                continue;
            }
            known++;
            Problem p = check(l, s, calibration);
            if (p != null) {
                out.add(p);
            }
        }
        if (known < settings.size()) {
            java.util.Set<String> names = new java.util.HashSet<>();
            model.layers().forEach(l -> names.add(l.name()));
            for (String name : settings.keySet()) {
                if (!names.contains(name)) {
                    out.add(new Problem(null, "layer", "Layer " + name + " is not a layer of " + model.name()));
                }
            }
        }
        if (settings.isEmpty()) {
            out.add(new Problem(null, null, "The plan compresses no layer of " + model.name()
                    + " (fix: choose a method for at least one layer)"));
        }
        return out;
    }

    /** The first problem of giving one layer these settings, or null when a job would accept them. */
    public static Problem check(LayerInfo layer, MethodSettings settings, boolean calibration) {
        String message = PlanResolver.problem(layer, settings);
        if (message == null && !calibration) {
            try {
                ClassifierRuns.requireDataFree(layer.name(), settings);
            } catch (SqueezeException e) {
                return new Problem(layer.name(), "method", PlanResolver.oneLine(e));
            }
        }
        return message == null ? null : new Problem(layer.name(), field(message), message);
    }

    /** The field a message names ({@code field 'groupSize'}), or null. */
    static String field(String message) {
        Matcher m = FIELD.matcher(message);
        return m.find() ? m.group(1) : null;
    }
}
