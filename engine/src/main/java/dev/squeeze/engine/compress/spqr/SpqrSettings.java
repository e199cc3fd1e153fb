package dev.squeeze.engine.compress.spqr;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;

/**
 * SpQR settings (Vahe1994/SpQR {@code SPQRUtil.quantize} and {@code Quantizer.configure}); the names in brackets
 * are the reference's. The first-level zero point is never rounded ({@code round_zero} off), as in the paper's
 * recommended configuration and every reference case.
 *
 * @param bits               width of the weight codes, 2 to 8 ({@code wbits})
 * @param groupSize          consecutive (processed-order) columns sharing first-level statistics ({@code groupsize}, 16);
 *                           a group wider than the row is one group per row (and a block wider than the row one block)
 * @param qqScaleBits        width of the second-level codes of the per-row scales, 2 to 8 ({@code qq_scale_bits}, 3)
 * @param qqZeroBits         width of the second-level codes of the per-row zero points, 2 to 8 ({@code qq_zero_bits}, 3)
 * @param qqGroupSize        consecutive rows whose first-level statistics share one second-level quantizer;
 *                           must divide the row count ({@code qq_groupsize}, 16)
 * @param outlierThreshold   outlier threshold relative to the layer's outlier scale ({@code outlier_relative_threshold},
 *                           0.2); {@code +∞} turns outlier detection off
 * @param percdamp           dampening, a fraction of {@code mean|diag H|} ({@code percdamp}, 1.0)
 * @param actOrder           process columns by descending {@code diag H} ({@code permutation_order="act_order"}) or in
 *                           their own order ({@code "identity"})
 * @param blockSize          columns per block of the lazy error update ({@code blocksize}, 128); a multiple of
 *                           {@code groupSize}, so that every group is fitted on fully updated weights
 * @param referencePrecision keep outlier values and second-level statistics in float32, exactly as the reference's
 *                           dequantized result does (they are then counted at 32 bits). Off (the default): both are
 *                           rounded to fp16, the precision of the reference's own saved format and of the size
 *                           formula, and the algorithm works with the rounded values so that the rounding error of
 *                           an outlier is compensated like any quantization error
 */
public record SpqrSettings(int bits, int groupSize, int qqScaleBits, int qqZeroBits, int qqGroupSize,
                           double outlierThreshold, double percdamp, boolean actOrder, int blockSize,
                           boolean referencePrecision) implements MethodSettings {
    private static final long serialVersionUID = 1L;

    /** The SpQR paper's recommended configuration at {@code bits}: g16, 3/3-bit statistics in groups of 16, τ 0.2, act-order. */
    public static SpqrSettings recommended(int bits) {
        return new SpqrSettings(bits, 16, 3, 3, 16, 0.2, 1.0, true, 128, false);
    }

    /** A copy with {@link #referencePrecision()} set. */
    public SpqrSettings withReferencePrecision(boolean on) {
        return new SpqrSettings(bits, groupSize, qqScaleBits, qqZeroBits, qqGroupSize, outlierThreshold, percdamp,
                actOrder, blockSize, on);
    }

    /** Whether outliers are detected at all ({@code outlierThreshold < ∞}). */
    public boolean detectsOutliers() {
        return outlierThreshold != Double.POSITIVE_INFINITY;
    }

    @Override
    public String method() {
        return "spqr";
    }

    @Override
    public void validate(String layer, int rows, int cols) {
        width(layer, "bits", bits);
        width(layer, "qqScaleBits", qqScaleBits);
        width(layer, "qqZeroBits", qqZeroBits);
        if (groupSize <= 0) {
            throw error(layer, "groupSize", groupSize + "; it must be positive", "use 16, SpQR's recommended group size");
        }
        if (qqGroupSize <= 0) {
            throw error(layer, "qqGroupSize", qqGroupSize + "; it must be positive", "use 16, SpQR's recommended size");
        }
        if (rows % qqGroupSize != 0) {
            throw error(layer, "qqGroupSize", qqGroupSize + ", which does not divide the layer's " + rows
                    + " output rows (the second-level statistics take the rows in groups of this size)",
                    "choose a divisor of " + rows + ", e.g. " + largestDivisorAtMost(rows, 16));
        }
        // A group at least as wide as the row is one group, fitted at column 0 before any update: no block can
        // split it, so any block size will do.
        if (blockSize <= 0 || (groupSize < cols && blockSize % groupSize != 0)) {
            throw error(layer, "blockSize", blockSize + "; it must be a positive multiple of groupSize ("
                    + groupSize + ") so that every group is fitted on fully updated weights",
                    "use " + groupSize * Math.max(1, 128 / groupSize));
        }
        if (Double.isNaN(outlierThreshold) || outlierThreshold <= 0) {
            throw error(layer, "outlierThreshold", outlierThreshold + "; it must be positive (or infinite for no"
                    + " outliers)", "use 0.2, SpQR's recommended relative threshold");
        }
        if (!(percdamp >= 0) || Double.isInfinite(percdamp)) {
            throw error(layer, "percdamp", percdamp + "; it must be a finite number ≥ 0",
                    "use 1.0 (SpQR's recommended fraction of the mean Hessian diagonal)");
        }
        if (cols > 65536) {
            // Outlier column indices and the permutation are stored in 16 bits.
            throw error(layer, "cols", cols + " input columns; SpQR stores column indices in 16 bits (at most"
                    + " 65536 columns)", "split the layer or choose another method for it");
        }
    }

    private static void width(String layer, String field, int value) {
        if (value < 2 || value > 8) {
            throw error(layer, field, value + "; SpQR supports 2 to 8 bits", "choose a width between 2 and 8");
        }
    }

    private static SqueezeException error(String layer, String field, String what, String fix) {
        return new SqueezeException("Layer " + layer + ": SpQR field '" + field + "' is " + what, fix);
    }

    /**
     * These settings for a layer of {@code rows} rows: the second-level row group becomes the largest divisor of
     * the row count not above it (4 on stories260K's 172-row layers, where 16 does not divide), the rest is kept.
     * The same settings when the group already divides the rows.
     */
    public SpqrSettings fittedToRows(long rows) {
        if (qqGroupSize <= 0 || rows <= 0 || rows % qqGroupSize == 0) {
            return this;
        }
        int g = largestDivisorAtMost((int) Math.min(rows, Integer.MAX_VALUE), qqGroupSize);
        return new SpqrSettings(bits, groupSize, qqScaleBits, qqZeroBits, g, outlierThreshold, percdamp, actOrder,
                blockSize, referencePrecision);
    }

    private static int largestDivisorAtMost(int n, int limit) {
        for (int d = Math.min(n, limit); d > 1; d--) {
            if (n % d == 0) {
                return d;
            }
        }
        return 1;
    }

    @Override
    public String describe() {
        return "SpQR " + bits + "-bit g" + groupSize + " (" + qqScaleBits + "/" + qqZeroBits + "-bit stats per "
                + qqGroupSize + " rows, τ " + outlierThreshold + ")" + (actOrder ? " act-order" : "")
                + (referencePrecision ? " float32 sidecars" : "");
    }

    @Override
    public boolean needsCalibration() {
        return true;
    }
}
