package dev.squeeze.engine.plan;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Named plans that a plan file can start from ({@code "preset": "gptq-4bit-g128"}). A preset gives default
 * settings and, where the recipe singles out layers, per-layer settings computed from the model's compressible
 * layers in model order. The plan's own {@code defaults} replace the preset's, and the plan's own overrides beat
 * the preset's per-layer settings.
 */
public final class Presets {
    /**
     * @param name        the name plans use
     * @param description one line for people
     * @param defaults    settings for every compressible layer
     * @param perLayer    exact-name settings from the compressible layers (in model order)
     */
    public record Preset(String name, String description, MethodSettings defaults,
                         Function<List<LayerInfo>, Map<String, MethodSettings>> perLayer) {
    }

    private static final List<Preset> ALL = List.of(
            new Preset("gptq-4bit-g128", "GPTQ 4-bit, groups of 128 columns, asymmetric, fp16 scales",
                    GptqSettings.of(4, 128), layers -> Map.of()),
            // Abdolrashidi et al. 2021, "Pareto-Optimal Quantized ResNet Is Mostly 4-bit": 4-bit weights
            // everywhere except the first and last layer at 8 bits, per output channel. The paper trains with
            // quantization; here it is post-training round-to-nearest, per row (= per output channel), symmetric.
            new Preset("mostly-4bit-first-last-8bit", "RTN 4-bit per channel; first and last compressible layer"
                    + " 8-bit (the Pareto-optimal ResNet recipe)", new RtnSettings(4, 0, true), Presets::firstLast8),
            new Preset("spqr-near-lossless", "SpQR 4-bit with the paper's recommended settings (g16, 3-bit"
                    + " statistics in groups of 16, outlier threshold 0.2, act-order)", SpqrSettings.recommended(4),
                    layers -> Map.of()),
            new Preset("2of4-plus-4bit", "SparseGPT 2:4 sparsity with joint 4-bit per-row quantization",
                    SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 4), layers -> Map.of()));

    private Presets() {
    }

    public static List<Preset> all() {
        return ALL;
    }

    /** The preset called {@code name}, or null. */
    public static Preset byName(String name) {
        for (Preset p : ALL) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        return null;
    }

    private static Map<String, MethodSettings> firstLast8(List<LayerInfo> compressible) {
        Map<String, MethodSettings> out = new LinkedHashMap<>();
        if (!compressible.isEmpty()) {
            RtnSettings eight = new RtnSettings(8, 0, true);
            out.put(compressible.getFirst().name(), eight);
            out.put(compressible.getLast().name(), eight);
        }
        return out;
    }

    /**
     * A preset as offered for one model.
     *
     * @param preset the preset
     * @param plan   the preset as a plan that is valid for the model: the preset itself, plus one exact-name
     *               override for each layer whose settings had to be adapted to its shape
     * @param note   what was adapted, for people (e.g. SpQR's row groups on a 172-row layer); null when nothing was
     */
    public record Offer(Preset preset, CompressionPlan plan, String note) {
    }

    /**
     * The presets that can run on {@code model}, each as a plan valid for it. A preset is offered when every layer
     * it compresses takes its settings, after adapting what the method allows per layer (see {@link #adapt}), and
     * when the model can feed its methods: a method that needs calibration data only for a model that jobs
     * calibrate ({@link #calibrates}). The check is a job's: {@link PlanResolver#resolve} (which validates every
     * layer's settings against its shape with {@link MethodSettings#validate}), at least one layer compressed, and
     * the calibration rule. A preset that cannot be made valid is left out.
     */
    public static List<Offer> offeredFor(Model model) {
        boolean calibrates = calibrates(model);
        List<Offer> out = new ArrayList<>();
        for (Preset p : ALL) {
            offer(p, model.layers(), calibrates).ifPresent(out::add);
        }
        return out;
    }

    /**
     * Whether jobs calibrate {@code model}: language models (llama) are calibrated on TinyStories' calibration
     * split; classifiers are data-free, so only data-free methods run on them (JobExecution.validate's rule).
     */
    public static boolean calibrates(Model model) {
        return LlamaConfig.ARCHITECTURE.equals(model.architecture());
    }

    static Optional<Offer> offer(Preset preset, List<LayerInfo> layers, boolean calibrates) {
        List<LayerInfo> compressible = layers.stream().filter(PlanResolver::compressible).toList();
        Map<String, MethodSettings> fromPreset = preset.perLayer().apply(compressible);
        CompressionPlan plan = CompressionPlan.preset(preset.name());
        // What was adapted, grouped by the change (its words, see adapt), with the layers it was made on.
        Map<String, List<String>> changes = new LinkedHashMap<>();
        for (LayerInfo l : compressible) {
            MethodSettings s = fromPreset.getOrDefault(l.name(), preset.defaults());
            if (s == null || l.shape().length < 2) {
                continue;
            }
            if (PlanResolver.problem(l, s) == null) {
                continue;
            }
            Optional<Adapted> a = adapt(s, PlanEstimate.rows(l));
            if (a.isEmpty() || PlanResolver.problem(l, a.get().settings()) != null) {
                return Optional.empty();
            }
            plan = plan.withLayer(l.name(), a.get().settings());
            changes.computeIfAbsent(a.get().change(), k -> new ArrayList<>()).add(l.name());
        }
        try {
            Map<String, MethodSettings> resolved = PlanResolver.resolve(plan, layers);
            if (resolved.isEmpty()) {
                return Optional.empty();
            }
            if (!calibrates && resolved.values().stream().anyMatch(MethodSettings::needsCalibration)) {
                return Optional.empty();
            }
        } catch (SqueezeException e) {
            return Optional.empty();
        }
        return Optional.of(new Offer(preset, plan, note(changes)));
    }

    /** A layer's settings changed to fit its shape, and the change in words. */
    record Adapted(MethodSettings settings, String change) {
    }

    /**
     * Settings changed to fit a layer of {@code rows} rows, where the method allows it without changing what the
     * preset is: SpQR's second-level statistics take the rows in groups that must divide the row count, so the
     * group becomes the largest divisor of the row count not above the preset's (4 on stories260K's 172-row
     * layers, as docs/stories260k-compression.md does). The other presets' methods accept any shape their settings
     * allow (a quantization group wider than a row is one group per row), so nothing else is adapted; a preset
     * whose layer still does not validate is not offered.
     */
    static Optional<Adapted> adapt(MethodSettings s, long rows) {
        if (s instanceof SpqrSettings q && q.fittedToRows(rows) != q) {
            SpqrSettings fitted = q.fittedToRows(rows);
            return Optional.of(new Adapted(fitted, String.format(Locale.ROOT, "second-level statistics in groups of"
                    + " %d rows instead of %d (%d does not divide the %d rows)", fitted.qqGroupSize(),
                    q.qqGroupSize(), q.qqGroupSize(), rows)));
        }
        return Optional.empty();
    }

    private static String note(Map<String, List<String>> changes) {
        if (changes.isEmpty()) {
            return null;
        }
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, List<String>> c : changes.entrySet()) {
            List<String> names = c.getValue();
            String which = names.size() <= 3 ? String.join(", ", names)
                    : String.join(", ", names.subList(0, 3)) + " and " + (names.size() - 3) + " more";
            parts.add(c.getKey() + " on " + names.size() + (names.size() == 1 ? " layer" : " layers") + " (" + which
                    + ")");
        }
        return "Adapted: " + String.join("; ", parts);
    }
}
