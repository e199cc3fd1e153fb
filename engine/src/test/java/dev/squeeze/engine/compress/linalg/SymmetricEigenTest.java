package dev.squeeze.engine.compress.linalg;

import dev.squeeze.engine.testing.ReferenceLinalg;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SymmetricEigenTest {
    @Test
    void twoByTwoByHand() {
        // [[2, 1], [1, 2]]: (1, 1)/√2 with 3 and (1, −1)/√2 with 1.
        SymmetricEigen e = SymmetricEigen.of(new double[]{2, 1, 1, 2}, 2);
        assertArrayEquals(new double[]{3, 1}, e.values(), 1e-14);
        double h = Math.sqrt(0.5);
        assertParallel(new double[]{h, h}, e.vector(0));
        assertParallel(new double[]{h, -h}, e.vector(1));
    }

    @Test
    void secondDifferenceMatrixByHand() {
        // tridiag(−1, 2, −1), n = 3: eigenvalues 2 + √2, 2, 2 − √2 with vectors (1, ∓√2, 1)/2 and (1, 0, −1)/√2.
        double r2 = Math.sqrt(2);
        SymmetricEigen e = SymmetricEigen.of(new double[]{2, -1, 0, -1, 2, -1, 0, -1, 2}, 3);
        assertArrayEquals(new double[]{2 + r2, 2, 2 - r2}, e.values(), 1e-14);
        assertParallel(new double[]{0.5, -r2 / 2, 0.5}, e.vector(0));
        assertParallel(new double[]{1 / r2, 0, -1 / r2}, e.vector(1));
        assertParallel(new double[]{0.5, r2 / 2, 0.5}, e.vector(2));
    }

    @Test
    void diagonalIsSortedWithAxesAsVectors() {
        double[] a = new double[16];
        double[] diag = {-1, 5, 0, 2.5};
        for (int i = 0; i < 4; i++) {
            a[i * 4 + i] = diag[i];
        }
        SymmetricEigen e = SymmetricEigen.of(a, 4);
        assertArrayEquals(new double[]{5, 2.5, 0, -1}, e.values(), 0);
        int[] axis = {1, 3, 2, 0};
        for (int k = 0; k < 4; k++) {
            double[] expected = new double[4];
            expected[axis[k]] = 1;
            assertParallel(expected, e.vector(k));
        }
    }

    @Test
    void degenerateSmallCases() {
        assertArrayEquals(new double[]{-7}, SymmetricEigen.of(new double[]{-7}, 1).values(), 0);
        assertArrayEquals(new double[]{1}, SymmetricEigen.of(new double[]{-7}, 1).vectors(), 0);
        SymmetricEigen zero = SymmetricEigen.of(new double[25], 5);
        assertArrayEquals(new double[5], zero.values(), 0);
        assertOrthonormalRows(zero.vectors(), 5, 1e-15);
        double[] identity = new double[36];
        for (int i = 0; i < 6; i++) {
            identity[i * 6 + i] = 3;
        }
        SymmetricEigen id = SymmetricEigen.of(identity, 6);
        assertArrayEquals(new double[]{3, 3, 3, 3, 3, 3}, id.values(), 1e-15);
        assertOrthonormalRows(id.vectors(), 6, 1e-15);
    }

    /** A = Q Λ Qᵀ built from a known spectrum (repeated, zero and negative values included). */
    @ParameterizedTest
    @ValueSource(ints = {2, 3, 7, 20, 64})
    void recoversAKnownSpectrum(int n) {
        Random rnd = new Random(40 + n);
        double[] lambda = new double[n];
        for (int i = 0; i < n; i++) {
            lambda[i] = i % 5 == 0 ? 1.5 : i % 7 == 0 ? 0 : 10 * rnd.nextGaussian();
        }
        double[] q = ReferenceLinalg.randomOrthonormalColumns(rnd, n, n);
        double[] ql = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                ql[i * n + j] = q[i * n + j] * lambda[j];
            }
        }
        double[] a = ReferenceLinalg.multiply(ql, ReferenceLinalg.transpose(q, n, n), n, n, n);
        SymmetricEigen e = SymmetricEigen.of(a, n);
        double[] expected = lambda.clone();
        Arrays.sort(expected);
        reverse(expected);
        double scale = Arrays.stream(lambda).map(Math::abs).max().orElse(1);
        assertArrayEquals(expected, e.values(), 1e-12 * n * scale);
        assertOrthonormalRows(e.vectors(), n, 1e-13 * n);
        assertResidualSmall(a, e, n, 1e-12 * n * scale);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5, 16, 33, 100})
    void randomSymmetricMatricesDecompose(int n) {
        Random rnd = new Random(7 * n);
        double[] a = new double[n * n];
        double trace = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double v = rnd.nextGaussian();
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
            trace += a[i * n + i];
        }
        SymmetricEigen e = SymmetricEigen.of(a, n);
        double[] v = e.values();
        for (int k = 1; k < n; k++) {
            assertTrue(v[k - 1] >= v[k], "descending at " + k);
        }
        assertEquals(trace, Arrays.stream(v).sum(), 1e-12 * n * n);
        assertOrthonormalRows(e.vectors(), n, 1e-13 * n);
        assertResidualSmall(a, e, n, 1e-12 * n);
    }

    @Test
    void readsOnlyTheLowerTriangle() {
        double[] a = {2, 99, 1, 2};
        assertArrayEquals(new double[]{3, 1}, SymmetricEigen.of(a, 2).values(), 1e-14);
        assertEquals(99, a[1], "input untouched");
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> SymmetricEigen.of(new double[3], 2));
        assertThrows(IllegalArgumentException.class, () -> SymmetricEigen.of(new double[]{1, 0, Double.NaN, 1}, 2));
        assertThrows(IllegalArgumentException.class,
                () -> SymmetricEigen.of(new double[]{Double.POSITIVE_INFINITY}, 1));
    }

    static void assertParallel(double[] expected, double[] actual) {
        double dot = 0;
        for (int i = 0; i < expected.length; i++) {
            dot += expected[i] * actual[i];
        }
        double sign = Math.signum(dot);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], sign * actual[i], 1e-14, "component " + i);
        }
    }

    static void assertOrthonormalRows(double[] v, int n, double tol) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double dot = 0;
                for (int k = 0; k < n; k++) {
                    dot += v[i * n + k] * v[j * n + k];
                }
                assertEquals(i == j ? 1 : 0, dot, tol, "row " + i + " · row " + j);
            }
        }
    }

    private static void assertResidualSmall(double[] a, SymmetricEigen e, int n, double tol) {
        for (int k = 0; k < n; k++) {
            double[] v = e.vector(k);
            double sum = 0;
            for (int i = 0; i < n; i++) {
                double av = 0;
                for (int j = 0; j < n; j++) {
                    av += a[i * n + j] * v[j];
                }
                double r = av - e.value(k) * v[i];
                sum += r * r;
            }
            assertTrue(Math.sqrt(sum) < tol, "‖A v − λ v‖ = " + Math.sqrt(sum) + " for k = " + k);
        }
    }

    private static void reverse(double[] a) {
        for (int i = 0; i < a.length / 2; i++) {
            double t = a[i];
            a[i] = a[a.length - 1 - i];
            a[a.length - 1 - i] = t;
        }
    }
}
