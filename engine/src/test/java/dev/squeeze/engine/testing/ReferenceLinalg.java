package dev.squeeze.engine.testing;

import java.util.Arrays;
import java.util.Random;

/**
 * Independent linear algebra for tests: algorithms that share no code and no method with the engine's
 * (one-sided Jacobi instead of Householder + QL on a Gram matrix), so that a test comparing the two can fail.
 */
public final class ReferenceLinalg {
    private ReferenceLinalg() {
    }

    /**
     * Singular values, largest first, by one-sided (Hestenes) Jacobi on the columns of {@code a}
     * ({@code rows × cols} row-major): rotate column pairs until all are orthogonal; the singular values are
     * then the column norms. Accurate to about {@code ε σ_max}, independently of how small a value is.
     */
    public static double[] singularValues(double[] a, int rows, int cols) {
        // Work on the side with fewer columns: m × n with n ≤ m, stored column-major for contiguous columns.
        boolean transpose = cols > rows;
        int m = transpose ? cols : rows;
        int n = transpose ? rows : cols;
        double[][] col = new double[n][m];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                if (transpose) {
                    col[i][j] = a[i * cols + j];
                } else {
                    col[j][i] = a[i * cols + j];
                }
            }
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            boolean rotated = false;
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    double alpha = 0;
                    double beta = 0;
                    double gamma = 0;
                    for (int k = 0; k < m; k++) {
                        alpha += col[p][k] * col[p][k];
                        beta += col[q][k] * col[q][k];
                        gamma += col[p][k] * col[q][k];
                    }
                    // Orthogonal to the rounding of the dot product itself (about m ε): done with this pair.
                    if (Math.abs(gamma) <= 2e-16 * m * Math.sqrt(alpha * beta) || gamma == 0) {
                        continue;
                    }
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    if (zeta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(1 + t * t);
                    double s = c * t;
                    for (int k = 0; k < m; k++) {
                        double x = col[p][k];
                        double y = col[q][k];
                        col[p][k] = c * x - s * y;
                        col[q][k] = s * x + c * y;
                    }
                }
            }
            if (!rotated) {
                break;
            }
        }
        double[] s = new double[n];
        for (int j = 0; j < n; j++) {
            double sum = 0;
            for (double v : col[j]) {
                sum += v * v;
            }
            s[j] = Math.sqrt(sum);
        }
        Arrays.sort(s);
        for (int i = 0; i < n / 2; i++) {
            double t = s[i];
            s[i] = s[n - 1 - i];
            s[n - 1 - i] = t;
        }
        return s;
    }

    /** Sum of the squares of the singular values after the first {@code r}: the Eckart–Young error. */
    public static double tailEnergy(double[] a, int rows, int cols, int r) {
        double[] s = singularValues(a, rows, cols);
        double sum = 0;
        for (int i = r; i < s.length; i++) {
            sum += s[i] * s[i];
        }
        return sum;
    }

    /** {@code n × k} row-major with orthonormal columns: Gram–Schmidt (twice) of Gaussian columns. */
    public static double[] randomOrthonormalColumns(Random rnd, int n, int k) {
        double[][] q = new double[k][n];
        for (int j = 0; j < k; j++) {
            for (int i = 0; i < n; i++) {
                q[j][i] = rnd.nextGaussian();
            }
            for (int pass = 0; pass < 2; pass++) {
                for (int p = 0; p < j; p++) {
                    double dot = 0;
                    for (int i = 0; i < n; i++) {
                        dot += q[p][i] * q[j][i];
                    }
                    for (int i = 0; i < n; i++) {
                        q[j][i] -= dot * q[p][i];
                    }
                }
            }
            double norm = 0;
            for (int i = 0; i < n; i++) {
                norm += q[j][i] * q[j][i];
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < n; i++) {
                q[j][i] /= norm;
            }
        }
        double[] out = new double[n * k];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < k; j++) {
                out[i * k + j] = q[j][i];
            }
        }
        return out;
    }

    /** {@code A B} for {@code A} of {@code n × k} and {@code B} of {@code k × m}, row-major. */
    public static double[] multiply(double[] a, double[] b, int n, int k, int m) {
        double[] c = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    sum += a[i * k + p] * b[p * m + j];
                }
                c[i * m + j] = sum;
            }
        }
        return c;
    }

    /** Transpose of an {@code n × m} row-major matrix. */
    public static double[] transpose(double[] a, int n, int m) {
        double[] t = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                t[j * n + i] = a[i * m + j];
            }
        }
        return t;
    }

    /** Squared Frobenius norm of {@code a − b}. */
    public static double squaredDistance(double[] a, double[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            sum += d * d;
        }
        return sum;
    }
}
