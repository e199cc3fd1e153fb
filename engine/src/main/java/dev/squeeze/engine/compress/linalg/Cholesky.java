package dev.squeeze.engine.compress.linalg;

import dev.squeeze.engine.backend.Backends;
import dev.squeeze.engine.backend.Ops;

/**
 * Cholesky factorisation, triangular inverse and the inverse-Hessian factor of GPTQ, SparseGPT and SpQR, in
 * double precision on row-major {@code n × n} arrays. The reference code does these steps in float32 on the GPU;
 * double keeps our factor at least as accurate, so results agree with the references to float rounding.
 *
 * <p>The O(n³) work is blocked ({@value #NB} columns at a time, recursively) so that almost all of it is matrix products through
 * {@link Blas}; the small diagonal blocks are factored by the plain loops, which are also the readable reference
 * ({@link #lowerUnblocked}, {@link #invertLowerUnblocked}).
 *
 * <p>{@link #lowerInPlace} and {@link #invertLowerInPlace} go through the backend provider (ops {@code cholesky} and
 * {@code trinv}, {@link dev.squeeze.engine.backend.Ops}); the Java implementations here are their {@code java}
 * backends ({@link #lowerInPlaceJava}, {@link #invertLowerInPlaceJava}) and the default routing.
 */
public final class Cholesky {
    /** Columns per block of the outer level; diagonal blocks are factored recursively with a quarter of that. */
    static final int NB = 256;
    /** Blocks this small are done by the plain loops. */
    static final int LEAF = 64;

    private Cholesky() {
    }

    /** The matrix is not (numerically) positive definite: pivot {@code index} was {@code pivot}. */
    public static final class NotPositiveDefiniteException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int index;
        private final double pivot;

        public NotPositiveDefiniteException(int index, double pivot) {
            super("matrix is not positive definite: pivot " + index + " is " + pivot);
            this.index = index;
            this.pivot = pivot;
        }

        public int index() {
            return index;
        }

        /** The value under the square root that was not positive. */
        public double pivot() {
            return pivot;
        }
    }

    /**
     * Overwrites the lower triangle of {@code a} with {@code L}, {@code a = L Lᵀ}, and zeroes the strict upper
     * triangle; only the lower triangle of {@code a} is read. Right-looking blocked: factor a diagonal block
     * (recursively, with smaller blocks), solve the panel below it, subtract the panel's outer product from the
     * trailing matrix (a product through {@link Blas}).
     */
    public static void lowerInPlace(double[] a, int n) {
        checkSquare(a, n);
        Backends.get(Ops.CHOLESKY).lowerInPlace(a, n);
    }

    /**
     * {@link #lowerInPlace} in Java, whatever the routing: the {@code java} backend of the {@code cholesky} op and the
     * reference its other backends are tested against. Its products go through {@link Blas#java()}, so its result
     * is an exact function of the input.
     */
    public static void lowerInPlaceJava(double[] a, int n) {
        checkSquare(a, n);
        lowerBlocked(a, 0, n, n, 0, NB);
        for (int i = 0; i < n; i++) {
            java.util.Arrays.fill(a, i * n + i + 1, i * n + n, 0);
        }
    }

    /** Lower factor of the {@code n × n} block at {@code off} (leading dimension {@code ld}) in blocks of {@code nb}. */
    private static void lowerBlocked(double[] a, int off, int ld, int n, int indexBase, int nbWanted) {
        if (n <= LEAF) {
            lowerBlock(a, off, ld, n, indexBase);
            return;
        }
        int nb0 = Math.max(LEAF, nbWanted);
        Blas blas = Blas.java();
        double[] linv = new double[nb0 * nb0];
        double[] panel = new double[nb0 * Math.max(0, n - nb0)];
        double[] solved = new double[panel.length];
        for (int k0 = 0; k0 < n; k0 += nb0) {
            int nb = Math.min(nb0, n - k0);
            int k1 = k0 + nb;
            int m = n - k1;
            int diag = off + k0 * ld + k0;
            lowerBlocked(a, diag, ld, nb, indexBase + k0, nb0 / 4);
            if (m == 0) {
                break;
            }
            // Panel X = A21 L11⁻ᵀ, held transposed (P = Xᵀ = L11⁻¹ A21ᵀ, nb × m) so that both the solve and the
            // trailing update are plain products.
            for (int i = 0; i < m; i++) {
                int row = off + (k1 + i) * ld + k0;
                for (int j = 0; j < nb; j++) {
                    panel[j * m + i] = a[row + j];
                }
            }
            java.util.Arrays.fill(linv, 0);
            for (int i = 0; i < nb; i++) {
                System.arraycopy(a, diag + i * ld, linv, i * nb, i + 1);
            }
            invertLowerBlocked(linv, 0, nb, nb, nb0 / 4);
            lowerTimes(blas, nb, m, 1, linv, 0, nb, panel, 0, m, solved, 0, m);
            for (int i = 0; i < m; i++) {
                int row = off + (k1 + i) * ld + k0;
                for (int j = 0; j < nb; j++) {
                    a[row + j] = solved[j * m + i];
                }
            }
            // A22 −= X Xᵀ on the lower triangle, a block row at a time (each block row also touches the part of its
            // diagonal square above the diagonal, which is never read and is zeroed at the end).
            for (int r0 = 0; r0 < m; r0 += nb0) {
                int rb = Math.min(nb0, m - r0);
                blas.dgemm(true, false, rb, r0 + rb, nb, -1, solved, r0, m, solved, 0, m, 1,
                        a, off + (k1 + r0) * ld + k1, ld);
            }
        }
    }

    /** Unblocked Cholesky–Banachiewicz of the {@code nb × nb} block at {@code off} (leading dimension {@code ld}). */
    private static void lowerBlock(double[] a, int off, int ld, int nb, int indexBase) {
        for (int i = 0; i < nb; i++) {
            int ri = off + i * ld;
            for (int j = 0; j <= i; j++) {
                int rj = off + j * ld;
                double sum = a[ri + j];
                for (int k = 0; k < j; k++) {
                    sum -= a[ri + k] * a[rj + k];
                }
                if (i == j) {
                    if (!(sum > 0)) {
                        throw new NotPositiveDefiniteException(indexBase + i, sum);
                    }
                    a[ri + i] = Math.sqrt(sum);
                } else {
                    a[ri + j] = sum / a[rj + j];
                }
            }
        }
    }

    /** The plain unblocked factorisation ({@link #lowerInPlace}'s reference). */
    static void lowerUnblocked(double[] a, int n) {
        checkSquare(a, n);
        lowerBlock(a, 0, n, n, 0);
        for (int i = 0; i < n; i++) {
            java.util.Arrays.fill(a, i * n + i + 1, i * n + n, 0);
        }
    }

    /**
     * Replaces the lower-triangular {@code l} (strict upper triangle zero) by its inverse, also lower triangular.
     * Left-looking by block rows: row block I of {@code L⁻¹} is {@code −L_II⁻¹ (L[I, :I] · L⁻¹[:I, :I])}, with the
     * products through {@link Blas}, stored over L's row block I, which is no longer needed.
     */
    public static void invertLowerInPlace(double[] l, int n) {
        checkSquare(l, n);
        Backends.get(Ops.TRIANGULAR_INVERSE).invertLowerInPlace(l, n);
    }

    /** {@link #invertLowerInPlace} in Java, whatever the routing (the {@code trinv} op's reference). */
    public static void invertLowerInPlaceJava(double[] l, int n) {
        checkSquare(l, n);
        invertLowerBlocked(l, 0, n, n, NB);
    }

    private static void invertLowerBlocked(double[] l, int off, int ld, int n, int nbWanted) {
        if (n <= LEAF) {
            invertLowerUnblocked(l, off, ld, n);
            return;
        }
        int nb0 = Math.max(LEAF, nbWanted);
        Blas blas = Blas.java();
        double[] t = new double[nb0 * n];
        for (int i0 = 0; i0 < n; i0 += nb0) {
            int nb = Math.min(nb0, n - i0);
            int rowI = off + i0 * ld;
            if (i0 > 0) {
                // T = L[I, :i0] · X[:i0, :i0]; X is lower triangular, so column block J only needs rows ≥ J.
                for (int j0 = 0; j0 < i0; j0 += nb0) {
                    int jb = Math.min(nb0, i0 - j0);
                    blas.dgemm(false, false, nb, jb, i0 - j0, 1, l, rowI + j0, ld, l, off + j0 * ld + j0, ld, 0,
                            t, j0, i0);
                }
            }
            invertLowerBlocked(l, rowI + i0, ld, nb, nb0 / 4);
            if (i0 > 0) {
                lowerTimes(blas, nb, i0, -1, l, rowI + i0, ld, t, 0, i0, l, rowI, ld);
            }
        }
    }

    /**
     * {@code C = alpha · T · B} for a lower-triangular {@code nb × nb} T (strict upper triangle zero) and
     * an {@code nb × n} B: by strips of {@value #LEAF} rows, each only over the columns of T that are not zero,
     * which saves nearly half the work of a full product.
     */
    private static void lowerTimes(Blas blas, int nb, int n, double alpha, double[] t, int tOff, int ldt,
                                   double[] b, int bOff, int ldb, double[] c, int cOff, int ldc) {
        for (int s = 0; s < nb; s += LEAF) {
            int h = Math.min(LEAF, nb - s);
            blas.dgemm(false, false, h, n, s + h, alpha, t, tOff + s * ldt, ldt, b, bOff, ldb, 0, c, cOff + s * ldc, ldc);
        }
    }

    /** In-place inverse of the lower-triangular {@code nb × nb} block at {@code off}, row by row. */
    static void invertLowerUnblocked(double[] l, int off, int ld, int nb) {
        // Row i of L⁻¹ needs rows < i of L⁻¹ and row i of L: go down the rows, overwriting L's row as we finish it.
        double[] row = new double[nb];
        for (int i = 0; i < nb; i++) {
            int ri = off + i * ld;
            double d = l[ri + i];
            for (int j = 0; j < i; j++) {
                double sum = 0;
                for (int k = j; k < i; k++) {
                    sum -= l[ri + k] * l[off + k * ld + j];
                }
                row[j] = sum / d;
            }
            for (int j = 0; j < i; j++) {
                l[ri + j] = row[j];
            }
            l[ri + i] = 1.0 / d;
        }
    }

    /** {@code A⁻¹} from the lower Cholesky factor {@code L} of A ({@code torch.cholesky_inverse}): {@code L⁻ᵀ L⁻¹}. */
    public static double[] inverseFromLower(double[] l, int n) {
        double[] x = l.clone();
        for (int i = 0; i < n; i++) {
            java.util.Arrays.fill(x, i * n + i + 1, i * n + n, 0);
        }
        invertLowerInPlace(x, n);
        double[] inv = new double[n * n];
        Blas.get().dgemm(true, false, n, n, n, 1, x, 0, n, x, 0, n, 0, inv, 0, n);
        return inv;
    }

    /**
     * The factor GPTQ uses: {@code U = cholesky(H⁻¹, upper=True)} of an already dampened H.
     *
     * <p>The reference computes it in three O(n³) steps (Cholesky of H, the inverse from the factor, Cholesky of
     * the inverse). We use an identity that needs two: with {@code J} the order-reversing permutation,
     * {@code H = V Vᵀ} for {@code V = U⁻¹} (upper), so {@code J H J = (J V J)(J V J)ᵀ} and {@code J V J} is the lower
     * Cholesky factor {@code L'} of {@code J H J}; hence {@code U = J L'⁻¹ J}. Reversing both axes of a row-major
     * matrix is reversing its array. Same factor, half the work, one rounding chain fewer.
     */
    public static double[] upperFactorOfInverse(double[] h, int n) {
        checkSquare(h, n);
        double[] u = h.clone();
        upperFactorOfInverseInPlace(u, n);
        return u;
    }

    /** {@link #upperFactorOfInverse} overwriting {@code h} with U (no copies of an n × n matrix are made). */
    public static void upperFactorOfInverseInPlace(double[] h, int n) {
        checkSquare(h, n);
        reverse(h);
        try {
            lowerInPlace(h, n);
        } catch (NotPositiveDefiniteException e) {
            // Report the pivot in the caller's order, not the reversed one.
            throw new NotPositiveDefiniteException(n - 1 - e.index(), e.pivot());
        }
        invertLowerInPlace(h, n);
        reverse(h);
    }

    private static void reverse(double[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    private static void checkSquare(double[] a, int n) {
        if (n < 0 || a.length != (long) n * n) {
            throw new IllegalArgumentException("expected a " + n + " × " + n + " matrix, got " + a.length + " values");
        }
    }
}
