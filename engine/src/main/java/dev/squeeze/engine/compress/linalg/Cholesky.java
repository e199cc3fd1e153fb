package dev.squeeze.engine.compress.linalg;

/**
 * Cholesky factorisation and the inverse-Hessian factor of GPTQ, SparseGPT and SpQR, in double precision on
 * row-major {@code n × n} arrays. The reference code does these steps in float32 on the GPU; double keeps our
 * factor at least as accurate, so results agree with the references to float rounding.
 */
public final class Cholesky {
    private Cholesky() {
    }

    /** The matrix is not (numerically) positive definite: pivot {@code index} was {@code pivot}. */
    public static final class NotPositiveDefiniteException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int index;

        NotPositiveDefiniteException(int index, double pivot) {
            super("matrix is not positive definite: pivot " + index + " is " + pivot);
            this.index = index;
        }

        public int index() {
            return index;
        }
    }

    /**
     * Overwrites the lower triangle of {@code a} with {@code L}, {@code a = L Lᵀ}, and zeroes the strict upper
     * triangle. Row-oriented (Cholesky–Banachiewicz), so the inner loop runs over contiguous memory.
     */
    public static void lowerInPlace(double[] a, int n) {
        for (int i = 0; i < n; i++) {
            int ri = i * n;
            for (int j = 0; j <= i; j++) {
                int rj = j * n;
                double sum = a[ri + j];
                for (int k = 0; k < j; k++) {
                    sum -= a[ri + k] * a[rj + k];
                }
                if (i == j) {
                    if (!(sum > 0) || Double.isNaN(sum)) {
                        throw new NotPositiveDefiniteException(i, sum);
                    }
                    a[ri + i] = Math.sqrt(sum);
                } else {
                    a[ri + j] = sum / a[rj + j];
                }
            }
            for (int j = i + 1; j < n; j++) {
                a[ri + j] = 0;
            }
        }
    }

    /** {@code A⁻¹} from the lower Cholesky factor {@code L} of A ({@code torch.cholesky_inverse}). */
    public static double[] inverseFromLower(double[] l, int n) {
        // Linv = L⁻¹ (lower), by forward substitution column by column; then A⁻¹ = Linvᵀ Linv.
        double[] linv = new double[n * n];
        for (int i = 0; i < n; i++) {
            linv[i * n + i] = 1.0 / l[i * n + i];
            for (int j = 0; j < i; j++) {
                double sum = 0;
                for (int k = j; k < i; k++) {
                    sum -= l[i * n + k] * linv[k * n + j];
                }
                linv[i * n + j] = sum / l[i * n + i];
            }
        }
        double[] inv = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double sum = 0;
                // (Linvᵀ Linv)[i][j] = Σ_k Linv[k][i] Linv[k][j], k ≥ max(i, j) = i.
                for (int k = i; k < n; k++) {
                    sum += linv[k * n + i] * linv[k * n + j];
                }
                inv[i * n + j] = sum;
                inv[j * n + i] = sum;
            }
        }
        return inv;
    }

    /**
     * The factor GPTQ uses: {@code U = cholesky(H⁻¹, upper=True)} of an already dampened H, computed as the
     * reference does (Cholesky of H, inverse from the factor, upper Cholesky factor of that inverse).
     */
    public static double[] upperFactorOfInverse(double[] h, int n) {
        double[] l = h.clone();
        lowerInPlace(l, n);
        double[] inv = inverseFromLower(l, n);
        lowerInPlace(inv, n);
        // Upper factor U = Lᵀ of the inverse's lower factor.
        double[] u = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                u[j * n + i] = inv[i * n + j];
            }
        }
        return u;
    }
}
