package dev.squeeze.engine.compress.sparse;

import dev.squeeze.engine.SqueezeException;

/**
 * Which weights a pruning method may remove.
 *
 * <ul>
 *   <li>{@link Pattern#UNSTRUCTURED}: a {@code fraction} of the weights, anywhere;</li>
 *   <li>{@link Pattern#N_OF_M}: in every run of {@code m} consecutive input columns of a row, exactly {@code n} are
 *       kept ({@code 2:4} keeps 2 of 4). A last run shorter than {@code m} (when {@code cols % m != 0}) behaves
 *       as if padded with pruned zeros: it keeps {@code min(n, length)} of its weights;</li>
 *   <li>{@link Pattern#ROWS}: a {@code fraction} of whole output rows;</li>
 *   <li>{@link Pattern#CHANNELS}: a {@code fraction} of whole input channels (columns).</li>
 * </ul>
 *
 * @param fraction the pruned fraction for the unstructured and structured patterns (unused for N:M)
 * @param n        kept weights per group (N:M only)
 * @param m        group length (N:M only)
 */
public record Sparsity(Pattern pattern, double fraction, int n, int m) implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    /** The largest group length: ranks of N-of-M choices must fit a long, and C(64, 32) < 2^63. */
    public static final int MAX_M = 64;

    public enum Pattern { UNSTRUCTURED, N_OF_M, ROWS, CHANNELS }

    public static Sparsity unstructured(double fraction) {
        return new Sparsity(Pattern.UNSTRUCTURED, fraction, 0, 0);
    }

    /** Keep {@code n} of every {@code m} consecutive weights of a row. */
    public static Sparsity nOfM(int n, int m) {
        return new Sparsity(Pattern.N_OF_M, (double) (m - n) / m, n, m);
    }

    public static Sparsity rows(double fraction) {
        return new Sparsity(Pattern.ROWS, fraction, 0, 0);
    }

    public static Sparsity channels(double fraction) {
        return new Sparsity(Pattern.CHANNELS, fraction, 0, 0);
    }

    public boolean isNOfM() {
        return pattern == Pattern.N_OF_M;
    }

    /** Checks the fields for a layer of {@code rows × cols}; the error names the layer and the field. */
    void validate(String method, String layer, int rows, int cols) {
        if (pattern == null) {
            throw new SqueezeException("Layer " + layer + ": field 'sparsity' of " + method + " has no pattern",
                    "choose unstructured, N:M, rows or channels");
        }
        if (pattern == Pattern.N_OF_M) {
            if (m < 2 || m > MAX_M) {
                throw new SqueezeException("Layer " + layer + ": field 'm' of " + method + " is " + m
                        + "; an N:M group holds 2 to " + MAX_M + " weights", "use e.g. 2:4 or 4:8");
            }
            if (n < 1 || n >= m) {
                throw new SqueezeException("Layer " + layer + ": field 'n' of " + method + " is " + n + " with m = " + m
                        + "; N:M keeps N of every M weights, so 1 ≤ N < M", "use e.g. 2:4 (keep 2 of 4) or 4:8");
            }
            if (cols <= n) {
                throw new SqueezeException("Layer " + layer + ": field 'n' of " + method + " is " + n + ", which prunes"
                        + " nothing of a row of " + cols + " weights", "use a smaller N, or leave the layer dense");
            }
            return;
        }
        if (!(fraction > 0 && fraction < 1)) {
            throw new SqueezeException("Layer " + layer + ": field 'sparsity' of " + method + " is " + fraction
                    + "; the pruned fraction must lie strictly between 0 and 1", "use e.g. 0.5 for 50%");
        }
        long units = switch (pattern) {
            case UNSTRUCTURED -> (long) rows * cols;
            case ROWS -> rows;
            case CHANNELS -> cols;
            case N_OF_M -> throw new AssertionError();
        };
        if (prunedCount(units, fraction) == 0) {
            throw new SqueezeException("Layer " + layer + ": field 'sparsity' of " + method + " is " + fraction
                    + ", which prunes nothing of " + units + " " + unitName(), "raise the sparsity or leave the layer dense");
        }
    }

    private String unitName() {
        return switch (pattern) {
            case UNSTRUCTURED, N_OF_M -> "weights";
            case ROWS -> "rows";
            case CHANNELS -> "input channels";
        };
    }

    /**
     * How many of {@code units} a fraction prunes: {@code floor(units × fraction)}, computed so that a fraction
     * such as 0.3 of 10 gives 3 and not 2 (0.3 × 10 is 2.9999999999999996 in binary floating point).
     */
    static long prunedCount(long units, double fraction) {
        return (long) Math.floor(units * fraction + 1e-9);
    }

    public String describe() {
        if (pattern == null) {
            return "no pattern";
        }
        return switch (pattern) {
            case UNSTRUCTURED -> percent() + " unstructured";
            case N_OF_M -> n + ":" + m;
            case ROWS -> percent() + " of rows";
            case CHANNELS -> percent() + " of input channels";
        };
    }

    private String percent() {
        double p = fraction * 100;
        return (p == Math.rint(p) ? String.valueOf((long) p) : String.valueOf(p)) + "%";
    }
}
