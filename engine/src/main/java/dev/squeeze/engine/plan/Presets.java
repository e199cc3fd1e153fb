package dev.squeeze.engine.plan;

import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.model.LayerInfo;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
}
