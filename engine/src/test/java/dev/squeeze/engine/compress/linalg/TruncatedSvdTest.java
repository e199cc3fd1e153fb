package dev.squeeze.engine.compress.linalg;

import dev.squeeze.engine.testing.ReferenceLinalg;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TruncatedSvdTest {
    /**
     * The textbook example [[3, 2, 2], [2, 3, −2]]: W Wᵀ = [[17, 8], [8, 17]], so σ = 5 with u = (1, 1)/√2,
     * v = (1, 1, 0)/√2, and σ = 3 with u = (1, −1)/√2, v = Wᵀu/3 = (1, −1, 4)/(3√2).
     */
    @Test
    void textbookExampleWideAndTall() {
        double[] w = {3, 2, 2, 2, 3, -2};
        TruncatedSvd wide = TruncatedSvd.of(w, 2, 3, 2);
        assertArrayEquals(new double[]{5, 3}, wide.s(), 1e-13);
        double h = Math.sqrt(0.5);
        SymmetricEigenTest.assertParallel(new double[]{h, h, 0}, row(wide.vt(), 0, 3));
        SymmetricEigenTest.assertParallel(new double[]{h, h}, column(wide.u(), 0, 2, 2));
        SymmetricEigenTest.assertParallel(new double[]{h, -h}, column(wide.u(), 1, 2, 2));
        double t = 1 / (3 * Math.sqrt(2));
        SymmetricEigenTest.assertParallel(new double[]{t, -t, 4 * t}, row(wide.vt(), 1, 3));
        assertArrayEquals(w, reconstruct(wide), 1e-13);

        TruncatedSvd tall = TruncatedSvd.of(ReferenceLinalg.transpose(w, 2, 3), 3, 2, 2);
        assertArrayEquals(new double[]{5, 3}, tall.s(), 1e-13);
        SymmetricEigenTest.assertParallel(new double[]{h, h, 0}, column(tall.u(), 0, 3, 2));
        assertArrayEquals(ReferenceLinalg.transpose(w, 2, 3), reconstruct(tall), 1e-13);

        TruncatedSvd top = TruncatedSvd.of(w, 2, 3, 1);
        // Rank 1: 5 u₁ v₁ᵀ = 2.5 [[1, 1, 0], [1, 1, 0]].
        assertArrayEquals(new double[]{2.5, 2.5, 0, 2.5, 2.5, 0}, reconstruct(top), 1e-13);
    }

    /** W = P Σ Qᵀ from a known spectrum; every rank, both orientations of the Gram matrix. */
    @ParameterizedTest
    @CsvSource({"12, 30", "30, 12", "17, 17", "1, 9", "9, 1", "40, 64"})
    void recoversAKnownSpectrum(int rows, int cols) {
        Random rnd = new Random(rows * 131L + cols);
        int m = Math.min(rows, cols);
        double[] sigma = new double[m];
        for (int i = 0; i < m; i++) {
            sigma[i] = 10 * Math.pow(0.8, i) + (i == 3 ? 0 : 0.01);
        }
        double[] p = ReferenceLinalg.randomOrthonormalColumns(rnd, rows, m);
        double[] q = ReferenceLinalg.randomOrthonormalColumns(rnd, cols, m);
        double[] ps = new double[rows * m];
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < m; k++) {
                ps[i * m + k] = p[i * m + k] * sigma[k];
            }
        }
        double[] w = ReferenceLinalg.multiply(ps, ReferenceLinalg.transpose(q, cols, m), rows, m, cols);
        double norm2 = 0;
        for (double s : sigma) {
            norm2 += s * s;
        }
        for (int r = 1; r <= m; r++) {
            TruncatedSvd t = TruncatedSvd.of(w, rows, cols, r);
            double[] s = t.s();
            for (int k = 0; k < r; k++) {
                // σ₁ = 10, so the Gram route's absolute error on σ_k is about ε σ₁² / σ_k: 1e-12 is generous.
                assertEquals(sigma[k], s[k], 1e-12, "σ" + k + " at rank " + r);
            }
            assertOrthonormalColumns(t.u(), rows, r);
            assertOrthonormalColumns(ReferenceLinalg.transpose(t.vt(), r, cols), cols, r);
            double tail = 0;
            for (int k = r; k < m; k++) {
                tail += sigma[k] * sigma[k];
            }
            double err = ReferenceLinalg.squaredDistance(w, reconstruct(t));
            assertEquals(tail, err, 1e-12 * norm2, "Eckart–Young error at rank " + r);
        }
    }

    @Test
    void randomMatricesAgreeWithJacobi() {
        Random rnd = new Random(5);
        int rows = 23;
        int cols = 41;
        double[] w = new double[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = rnd.nextGaussian();
        }
        double[] jacobi = ReferenceLinalg.singularValues(w, rows, cols);
        for (double[] m : new double[][]{w, ReferenceLinalg.transpose(w, rows, cols)}) {
            boolean wide = m == w;
            TruncatedSvd t = TruncatedSvd.of(m, wide ? rows : cols, wide ? cols : rows, rows);
            assertArrayEquals(jacobi, t.s(), 1e-11);
            double[] s = t.s();
            for (int k = 1; k < s.length; k++) {
                assertTrue(s[k - 1] >= s[k], "descending");
            }
            assertArrayEquals(m, reconstruct(t), 1e-11, "full rank reconstructs");
        }
    }

    /** Rank 2 in a 5 × 7 matrix asked for rank 4: zeros, and still orthonormal factors. */
    @Test
    void rankDeficientMatricesKeepOrthonormalFactors() {
        double[] x = {1, 2, 0, -1, 3};
        double[] y = {0, 1, 1, 2, -1, 0.5, 4};
        double[] z = {2, -1, 1, 0, 0};
        double[] t2 = {1, 0, -3, 1, 1, 2, 0};
        double[] w = new double[35];
        for (int i = 0; i < 5; i++) {
            for (int j = 0; j < 7; j++) {
                w[i * 7 + j] = x[i] * y[j] + z[i] * t2[j];
            }
        }
        for (boolean wide : new boolean[]{true, false}) {
            double[] m = wide ? w : ReferenceLinalg.transpose(w, 5, 7);
            int rows = wide ? 5 : 7;
            int cols = wide ? 7 : 5;
            TruncatedSvd t = TruncatedSvd.of(m, rows, cols, 4);
            double[] s = t.s();
            assertTrue(s[1] > 1, "two real directions");
            assertEquals(0, s[2], 1e-6);
            assertEquals(0, s[3], 1e-6);
            assertOrthonormalColumns(t.u(), rows, 4);
            assertOrthonormalColumns(ReferenceLinalg.transpose(t.vt(), 4, cols), cols, 4);
            assertArrayEquals(m, reconstruct(t), 1e-12);
        }
        TruncatedSvd zero = TruncatedSvd.of(new double[12], 3, 4, 3);
        assertArrayEquals(new double[3], zero.s(), 0);
        assertOrthonormalColumns(zero.u(), 3, 3);
        assertOrthonormalColumns(ReferenceLinalg.transpose(zero.vt(), 3, 4), 4, 3);
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> TruncatedSvd.of(new double[6], 2, 3, 0));
        assertThrows(IllegalArgumentException.class, () -> TruncatedSvd.of(new double[6], 2, 3, 3));
        assertThrows(IllegalArgumentException.class, () -> TruncatedSvd.of(new double[5], 2, 3, 1));
    }

    private static double[] reconstruct(TruncatedSvd t) {
        int r = t.rank();
        double[] us = t.u();
        double[] s = t.s();
        for (int i = 0; i < t.rows(); i++) {
            for (int k = 0; k < r; k++) {
                us[i * r + k] *= s[k];
            }
        }
        return ReferenceLinalg.multiply(us, t.vt(), t.rows(), r, t.cols());
    }

    private static double[] row(double[] a, int i, int cols) {
        double[] out = new double[cols];
        System.arraycopy(a, i * cols, out, 0, cols);
        return out;
    }

    private static double[] column(double[] a, int j, int rows, int cols) {
        double[] out = new double[rows];
        for (int i = 0; i < rows; i++) {
            out[i] = a[i * cols + j];
        }
        return out;
    }

    /** {@code a} ({@code n × k} row-major) has orthonormal columns. */
    static void assertOrthonormalColumns(double[] a, int n, int k) {
        for (int p = 0; p < k; p++) {
            for (int q = 0; q < k; q++) {
                double dot = 0;
                for (int i = 0; i < n; i++) {
                    dot += a[i * k + p] * a[i * k + q];
                }
                assertEquals(p == q ? 1 : 0, dot, 1e-12, "columns " + p + ", " + q);
            }
        }
    }
}
