package dev.squeeze.engine.compress.lowrank;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;

/**
 * Settings of the low-rank method ({@code lowrank}): one method with a {@link LowRankVariant} rather than five
 * methods, because the variants share everything a plan, a search or the GUI deals with — the rank, what a rank
 * saves, the factor storage and its quantization, the tensor type — and differ only in how {@code A} and
 * {@code B} are chosen. Switching variant in a plan then keeps every other field meaningful.
 *
 * @param variant  how the factors are chosen
 * @param rank     {@code r}: {@code 1 ≤ r ≤ min(rows, cols)} and {@code r (rows + cols) < rows × cols}, so that the
 *                 factors are smaller than the matrix at equal precision
 * @param percdamp dampening of H for {@link LowRankVariant#ACTIVATION} and {@link LowRankVariant#WHITENED}:
 *                 {@code percdamp × mean(diag H)} is added to the diagonal (GPTQ's convention; it is also the floor
 *                 that keeps the importance of dead inputs above zero); ignored by the other variants
 * @param quantA   RTN of factor {@code A} (out × r, per row or in groups along r), or null to store it in fp16
 * @param quantB   RTN of factor {@code B} (r × in, per row or in groups along in), or null to store it in fp16
 */
public record LowRankSettings(LowRankVariant variant, int rank, double percdamp, RtnSettings quantA,
                              RtnSettings quantB) implements MethodSettings {
    private static final long serialVersionUID = 1L;
    /** GPTQ's default dampening. */
    public static final double DEFAULT_PERCDAMP = 0.01;

    /** fp16 factors and the default dampening. */
    public static LowRankSettings of(LowRankVariant variant, int rank) {
        return new LowRankSettings(variant, rank, DEFAULT_PERCDAMP, null, null);
    }

    /** The same settings with factors quantized by RTN (null keeps a factor in fp16). */
    public LowRankSettings withQuantization(RtnSettings a, RtnSettings b) {
        return new LowRankSettings(variant, rank, percdamp, a, b);
    }

    @Override
    public String method() {
        return "lowrank";
    }

    /** The largest rank that still saves space on a {@code rows × cols} matrix, or 0 if none does. */
    public static int maxUsefulRank(int rows, int cols) {
        return (int) (((long) rows * cols - 1) / ((long) rows + cols));
    }

    @Override
    public void validate(String layer, int rows, int cols) {
        if (variant == null) {
            throw new SqueezeException("Layer " + layer + ": field 'variant' is missing",
                    "use one of svd, activation, whitened, lord, fisher");
        }
        if (rank <= 0) {
            throw new SqueezeException("Layer " + layer + ": field 'rank' is " + rank + "; it must be positive",
                    "choose a rank between 1 and " + Math.max(1, maxUsefulRank(rows, cols)));
        }
        int limit = maxUsefulRank(rows, cols);
        if (rank > Math.min(rows, cols)) {
            throw new SqueezeException("Layer " + layer + ": field 'rank' is " + rank + ", larger than the "
                    + rows + " × " + cols + " matrix (at most " + Math.min(rows, cols) + ")",
                    limit > 0 ? "choose a rank of at most " + limit + " (larger ranks save nothing)"
                            : "leave this layer uncompressed: no rank saves space on it");
        }
        if ((long) rank * ((long) rows + cols) >= (long) rows * cols) {
            throw new SqueezeException("Layer " + layer + ": field 'rank' is " + rank + "; factors of rank " + rank
                    + " hold " + (long) rank * ((long) rows + cols) + " values, not fewer than the "
                    + (long) rows * cols + " of the " + rows + " × " + cols + " matrix, so they save nothing",
                    limit > 0 ? "choose a rank of at most " + limit : "leave this layer uncompressed: no rank saves"
                            + " space on it");
        }
        if (variant.usesDampening() && !(percdamp > 0 && Double.isFinite(percdamp))) {
            throw new SqueezeException("Layer " + layer + ": field 'percdamp' is " + percdamp + "; "
                    + variant.label() + " needs a positive dampening (it is also the floor for dead inputs)",
                    "use e.g. " + DEFAULT_PERCDAMP);
        }
        if (quantA != null) {
            quantA.validate(layer + " (low-rank factor A, field 'quantA')");
        }
        if (quantB != null) {
            quantB.validate(layer + " (low-rank factor B, field 'quantB')");
        }
    }

    @Override
    public String describe() {
        String v = variant == null ? "?" : variant.label();
        String q = quantA == null && quantB == null ? "fp16 factors"
                : "A " + (quantA == null ? "fp16" : quantA.describe()) + ", B " + (quantB == null ? "fp16" : quantB.describe());
        return "low-rank " + v + " r" + rank + " " + q;
    }

    @Override
    public boolean needsCalibration() {
        return variant().needsCalibration();
    }
}
