package dev.squeeze.engine.search;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The candidate settings of one layer in a search, per method family (design13.md, "Level candidates"):
 * <ul>
 *   <li>{@code rtn} / {@code gptq}: bits 2..8 × group size {0 (per row), 128, 64, 32}, group sizes only where they are
 *       smaller than the row and divide it; asymmetric, fp32 scales (the stories260K table's settings).</li>
 *   <li>{@code spqr}: the paper's recommended settings at 2, 3 and 4 bits.</li>
 *   <li>{@code sparsegpt}: 50/60/70 % unstructured, 2:4, 4:8, 2:4 + 4-bit and 2:4 + 8-bit (per-row quantizer).</li>
 *   <li>{@code magnitude}: 50/60/70 % unstructured, 2:4, 4:8 (fp16 values).</li>
 *   <li>{@code lowrank}: SVD, and with calibration data whitened SVD and LoRD, at 1/8, 1/4, 3/8 and 1/2 of the
 *       largest rank that saves space, each with fp16 factors, RTN 8-bit per-row factors and RTN 4-bit g32
 *       factors.</li>
 * </ul>
 * A setting the layer's shape rejects ({@link MethodSettings#validate}: e.g. SpQR's second-level groups of 16 rows on
 * a 172-row layer) is skipped, as is one that needs calibration data when there is none (classifiers take data-free
 * methods only). Duplicates (a rank that rounds to the same value twice) are dropped. The dense level is not a
 * setting: {@link LevelDatabase} always adds it.
 */
public final class Candidates {
    /** The method families a search may combine, in the order levels are listed. */
    public static final List<String> FAMILIES = List.of("rtn", "gptq", "spqr", "sparsegpt", "magnitude", "lowrank");

    /** The families that need no calibration data (classifiers take only these). */
    public static final List<String> DATA_FREE_FAMILIES = List.of("rtn", "magnitude", "lowrank");

    private static final int[] GROUP_SIZES = {0, 128, 64, 32};
    private static final double[] RANK_FRACTIONS = {1.0 / 8, 1.0 / 4, 3.0 / 8, 1.0 / 2};

    private Candidates() {
    }

    /**
     * Parses a {@code --methods} list ({@code rtn,gptq,lowrank}; case-insensitive, blanks ignored) into families in
     * the order of {@link #FAMILIES}; null or blank means all of them.
     *
     * @throws SqueezeException naming the unknown family and the known ones
     */
    public static List<String> parseFamilies(String csv) {
        if (csv == null || csv.isBlank()) {
            return FAMILIES;
        }
        Set<String> asked = new LinkedHashSet<>();
        for (String part : csv.split(",")) {
            String f = part.strip().toLowerCase(Locale.ROOT);
            if (f.isEmpty()) {
                continue;
            }
            if (!FAMILIES.contains(f)) {
                throw new SqueezeException("Unknown method family '" + part.strip() + "' in --methods " + csv,
                        "use a comma-separated list of " + String.join(", ", FAMILIES));
            }
            asked.add(f);
        }
        if (asked.isEmpty()) {
            throw new SqueezeException("--methods '" + csv + "' names no method family",
                    "use a comma-separated list of " + String.join(", ", FAMILIES));
        }
        return FAMILIES.stream().filter(asked::contains).toList();
    }

    /**
     * The candidate settings of one layer, family by family in the order given, each valid for the layer's shape
     * (low-rank ranks that would not save space are rejected by validation). A candidate may still take more bits
     * than the dense layer stored at a small type; Pareto pruning and the allocator never pick such a level.
     *
     * @param layer           the layer's name (for validation messages only)
     * @param rows            out features
     * @param cols            in features
     * @param families        method families from {@link #FAMILIES}
     * @param calibrationData whether the layer's Hessian is available (false: data-hungry settings are skipped)
     */
    public static List<MethodSettings> forLayer(String layer, int rows, int cols, List<String> families,
                                                boolean calibrationData) {
        Map<String, MethodSettings> out = new LinkedHashMap<>();
        for (String family : families) {
            for (MethodSettings s : family(family, rows, cols)) {
                if (s.needsCalibration() && !calibrationData) {
                    continue;
                }
                if (!valid(s, layer, rows, cols)) {
                    continue;
                }
                out.putIfAbsent(Level.keyOf(s), s);
            }
        }
        return List.copyOf(out.values());
    }

    /** Every setting of one family for a {@code rows × cols} layer, before validation. */
    static List<MethodSettings> family(String family, int rows, int cols) {
        List<MethodSettings> out = new ArrayList<>();
        switch (family) {
            case "rtn" -> {
                for (int bits = 2; bits <= 8; bits++) {
                    for (int g : groupSizes(cols)) {
                        out.add(new RtnSettings(bits, g, false));
                    }
                }
            }
            case "gptq" -> {
                for (int bits = 2; bits <= 8; bits++) {
                    for (int g : groupSizes(cols)) {
                        out.add(GptqSettings.of(bits, g).withScalePrecision(GptqSettings.ScalePrecision.FP32));
                    }
                }
            }
            case "spqr" -> {
                for (int bits = 2; bits <= 4; bits++) {
                    out.add(SpqrSettings.recommended(bits));
                }
            }
            case "sparsegpt" -> {
                for (Sparsity s : sparsities()) {
                    out.add(SparseGptSettings.of(s));
                }
                out.add(SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 4));
                out.add(SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 8));
            }
            case "magnitude" -> {
                for (Sparsity s : sparsities()) {
                    out.add(MagnitudeSettings.of(s));
                }
            }
            case "lowrank" -> {
                int max = LowRankSettings.maxUsefulRank(rows, cols);
                Set<Integer> ranks = new LinkedHashSet<>();
                for (double f : RANK_FRACTIONS) {
                    int r = (int) Math.round(f * max);
                    if (r >= 1) {
                        ranks.add(r);
                    }
                }
                RtnSettings q8 = new RtnSettings(8, 0, false);
                RtnSettings q4 = new RtnSettings(4, 32, false);
                for (LowRankVariant v : List.of(LowRankVariant.SVD, LowRankVariant.WHITENED, LowRankVariant.LORD)) {
                    for (int r : ranks) {
                        LowRankSettings base = LowRankSettings.of(v, r);
                        out.add(base);
                        out.add(base.withQuantization(q8, q8));
                        out.add(base.withQuantization(q4, q4));
                    }
                }
            }
            default -> throw new SqueezeException("Unknown method family '" + family + "'",
                    "use one of " + String.join(", ", FAMILIES));
        }
        return out;
    }

    /** 0 (per row), then 128, 64, 32 where smaller than the row and dividing it. */
    static int[] groupSizes(int cols) {
        return Arrays.stream(GROUP_SIZES).filter(g -> g == 0 || (g < cols && cols % g == 0)).toArray();
    }

    private static List<Sparsity> sparsities() {
        return List.of(Sparsity.unstructured(0.5), Sparsity.unstructured(0.6), Sparsity.unstructured(0.7),
                Sparsity.nOfM(2, 4), Sparsity.nOfM(4, 8));
    }

    private static boolean valid(MethodSettings s, String layer, int rows, int cols) {
        try {
            s.validate(layer, rows, cols);
            return true;
        } catch (SqueezeException e) {
            return false;
        }
    }
}
