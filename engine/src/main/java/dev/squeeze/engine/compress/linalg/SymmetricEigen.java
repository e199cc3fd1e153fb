package dev.squeeze.engine.compress.linalg;

import dev.squeeze.engine.backend.Backends;
import dev.squeeze.engine.backend.Ops;

/**
 * Eigendecomposition {@code A = Σ_k λ_k v_k v_kᵀ} of a real symmetric {@code n × n} matrix, in double precision:
 * Householder reduction to tridiagonal form, then the implicit QL algorithm with Wilkinson-type shifts (the
 * EISPACK procedures {@code tred2} and {@code tql2} of Bowdler, Martin, Reinsch and Wilkinson, as in JAMA).
 * {@code O(n³)}; fine for the Gram and covariance matrices of the low-rank methods (a few thousand at most).
 *
 * <p>The classic formulation walks the columns of its work matrix in its inner loops. We keep the work matrix
 * transposed (element {@code (a, b)} of the textbook {@code V} lives at {@code m[b·n + a]}), which turns every
 * inner loop into a walk along one contiguous row and leaves eigenvector {@code k} in row {@code k} at the end.
 *
 * <p>{@link #of} goes through the backend provider (op {@code eigen}, {@link dev.squeeze.engine.backend.Ops});
 * this Java implementation is its {@code java} backend ({@link #decomposeJava}).
 *
 * <p>Results: eigenvalues in descending order, eigenvectors orthonormal to rounding ({@code ~n·ε}), absolute
 * error of each eigenvalue about {@code ε·‖A‖}.
 */
public final class SymmetricEigen {
    private final int n;
    private final double[] values;
    private final double[] vectors;

    private SymmetricEigen(int n, double[] values, double[] vectors) {
        this.n = n;
        this.values = values;
        this.vectors = vectors;
    }

    /**
     * Decomposes {@code a} ({@code n × n} row-major; only its lower triangle is read, the matrix is taken to be
     * symmetric). {@code a} is not modified.
     *
     * @throws IllegalArgumentException if the sizes disagree or an entry is NaN or infinite
     * @throws ArithmeticException      if QL does not converge (does not happen for finite symmetric input;
     *                                  the bound only guarantees termination)
     */
    public static SymmetricEigen of(double[] a, int n) {
        if (n < 1 || a.length != (long) n * n) {
            throw new IllegalArgumentException("matrix has " + a.length + " values for " + n + " × " + n);
        }
        double[] m = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double v = a[i * n + j];
                if (!Double.isFinite(v)) {
                    throw new IllegalArgumentException("matrix entry (" + i + ", " + j + ") is " + v);
                }
                m[i * n + j] = v;
                m[j * n + i] = v;
            }
        }
        double[] values = new double[n];
        double[] vectors = new double[n * n];
        Backends.get(Ops.SYMMETRIC_EIGEN).decompose(m, n, values, vectors);
        return new SymmetricEigen(n, values, vectors);
    }

    /**
     * The Java implementation, whatever the routing: the {@code java} backend of the {@code eigen} op and the
     * reference its other backends are tested against ({@link dev.squeeze.engine.backend.SymmetricEigenOp}'s
     * contract; {@code m} is overwritten).
     */
    public static void decomposeJava(double[] m, int n, double[] values, double[] vectors) {
        double[] e = new double[n];
        tridiagonalize(m, values, e, n);
        ql(m, values, e, n);
        sortDescending(m, values, n);
        System.arraycopy(m, 0, vectors, 0, n * n);
    }

    public int n() {
        return n;
    }

    /** Eigenvalues, largest first (a copy). */
    public double[] values() {
        return values.clone();
    }

    public double value(int k) {
        return values[k];
    }

    /** Eigenvectors as the rows of an {@code n × n} row-major matrix, row {@code k} for {@code value(k)} (a copy). */
    public double[] vectors() {
        return vectors.clone();
    }

    /** Eigenvector {@code k} (a copy), unit length. */
    public double[] vector(int k) {
        double[] v = new double[n];
        System.arraycopy(vectors, k * n, v, 0, n);
        return v;
    }

    /** Component {@code i} of eigenvector {@code k}. */
    public double vector(int k, int i) {
        return vectors[k * n + i];
    }

    /** Householder tridiagonalisation ({@code tred2}); {@code m} = Vᵀ, see the class comment. */
    private static void tridiagonalize(double[] m, double[] d, double[] e, int n) {
        for (int j = 0; j < n; j++) {
            d[j] = m[j * n + (n - 1)];
        }
        for (int i = n - 1; i > 0; i--) {
            double scale = 0.0;
            double h = 0.0;
            for (int k = 0; k < i; k++) {
                scale += Math.abs(d[k]);
            }
            if (scale == 0.0) {
                // Row already reduced: nothing to annihilate.
                e[i] = d[i - 1];
                for (int j = 0; j < i; j++) {
                    d[j] = m[j * n + (i - 1)];
                    m[j * n + i] = 0.0;
                    m[i * n + j] = 0.0;
                }
            } else {
                // Householder vector, scaled against under- and overflow.
                for (int k = 0; k < i; k++) {
                    d[k] /= scale;
                    h += d[k] * d[k];
                }
                double f = d[i - 1];
                double g = Math.sqrt(h);
                if (f > 0) {
                    g = -g;
                }
                e[i] = scale * g;
                h -= f * g;
                d[i - 1] = f - g;
                for (int j = 0; j < i; j++) {
                    e[j] = 0.0;
                }
                // Similarity transformation of the remaining leading block.
                for (int j = 0; j < i; j++) {
                    f = d[j];
                    m[i * n + j] = f;
                    g = e[j] + m[j * n + j] * f;
                    int rj = j * n;
                    for (int k = j + 1; k <= i - 1; k++) {
                        g += m[rj + k] * d[k];
                        e[k] += m[rj + k] * f;
                    }
                    e[j] = g;
                }
                f = 0.0;
                for (int j = 0; j < i; j++) {
                    e[j] /= h;
                    f += e[j] * d[j];
                }
                double hh = f / (h + h);
                for (int j = 0; j < i; j++) {
                    e[j] -= hh * d[j];
                }
                for (int j = 0; j < i; j++) {
                    f = d[j];
                    g = e[j];
                    int rj = j * n;
                    for (int k = j; k <= i - 1; k++) {
                        m[rj + k] -= f * e[k] + g * d[k];
                    }
                    d[j] = m[rj + (i - 1)];
                    m[rj + i] = 0.0;
                }
            }
            d[i] = h;
        }
        // Accumulate the transformations into V (held transposed).
        for (int i = 0; i < n - 1; i++) {
            m[i * n + (n - 1)] = m[i * n + i];
            m[i * n + i] = 1.0;
            double h = d[i + 1];
            int ri1 = (i + 1) * n;
            if (h != 0.0) {
                for (int k = 0; k <= i; k++) {
                    d[k] = m[ri1 + k] / h;
                }
                for (int j = 0; j <= i; j++) {
                    int rj = j * n;
                    double g = 0.0;
                    for (int k = 0; k <= i; k++) {
                        g += m[ri1 + k] * m[rj + k];
                    }
                    for (int k = 0; k <= i; k++) {
                        m[rj + k] -= g * d[k];
                    }
                }
            }
            for (int k = 0; k <= i; k++) {
                m[ri1 + k] = 0.0;
            }
        }
        for (int j = 0; j < n; j++) {
            d[j] = m[j * n + (n - 1)];
            m[j * n + (n - 1)] = 0.0;
        }
        m[(n - 1) * n + (n - 1)] = 1.0;
        e[0] = 0.0;
    }

    /** Implicit QL on the tridiagonal (d, e) ({@code tql2}), rotating the rows of {@code m}. */
    private static void ql(double[] m, double[] d, double[] e, int n) {
        for (int i = 1; i < n; i++) {
            e[i - 1] = e[i];
        }
        e[n - 1] = 0.0;
        double f = 0.0;
        double tst1 = 0.0;
        double eps = Math.ulp(1.0);
        // Typically under two QL sweeps per eigenvalue; the bound is there so that nothing can spin forever.
        int maxIterations = 60;
        for (int l = 0; l < n; l++) {
            tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
            int mIdx = l;
            while (mIdx < n) {
                if (Math.abs(e[mIdx]) <= eps * tst1) {
                    break;
                }
                mIdx++;
            }
            if (mIdx > l) {
                int iter = 0;
                do {
                    if (++iter > maxIterations) {
                        throw new ArithmeticException("symmetric eigensolver did not converge at eigenvalue " + l);
                    }
                    // Implicit shift from the leading 2 × 2 block.
                    double g = d[l];
                    double p = (d[l + 1] - g) / (2.0 * e[l]);
                    double r = Math.hypot(p, 1.0);
                    if (p < 0) {
                        r = -r;
                    }
                    d[l] = e[l] / (p + r);
                    d[l + 1] = e[l] * (p + r);
                    double dl1 = d[l + 1];
                    double h = g - d[l];
                    for (int i = l + 2; i < n; i++) {
                        d[i] -= h;
                    }
                    f += h;
                    // QL sweep with Givens rotations, applied to eigenvector rows i and i + 1.
                    p = d[mIdx];
                    double c = 1.0;
                    double c2 = c;
                    double c3 = c;
                    double el1 = e[l + 1];
                    double s = 0.0;
                    double s2 = 0.0;
                    for (int i = mIdx - 1; i >= l; i--) {
                        c3 = c2;
                        c2 = c;
                        s2 = s;
                        g = c * e[i];
                        h = c * p;
                        r = Math.hypot(p, e[i]);
                        e[i + 1] = s * r;
                        s = e[i] / r;
                        c = p / r;
                        p = c * d[i] - s * g;
                        d[i + 1] = h + s * (c * g + s * d[i]);
                        int ri = i * n;
                        int ri1 = ri + n;
                        for (int k = 0; k < n; k++) {
                            double t = m[ri1 + k];
                            m[ri1 + k] = s * m[ri + k] + c * t;
                            m[ri + k] = c * m[ri + k] - s * t;
                        }
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1;
                    e[l] = s * p;
                    d[l] = c * p;
                } while (Math.abs(e[l]) > eps * tst1);
            }
            d[l] += f;
            e[l] = 0.0;
        }
    }

    /** Selection sort, largest first, moving eigenvector rows with their values. */
    private static void sortDescending(double[] m, double[] d, int n) {
        double[] tmp = new double[n];
        for (int i = 0; i < n - 1; i++) {
            int k = i;
            for (int j = i + 1; j < n; j++) {
                if (d[j] > d[k]) {
                    k = j;
                }
            }
            if (k != i) {
                double t = d[k];
                d[k] = d[i];
                d[i] = t;
                System.arraycopy(m, i * n, tmp, 0, n);
                System.arraycopy(m, k * n, m, i * n, n);
                System.arraycopy(tmp, 0, m, k * n, n);
            }
        }
    }
}
