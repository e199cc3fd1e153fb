package dev.squeeze.engine.backend.nd4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.squeeze.engine.backend.Backends;
import dev.squeeze.engine.backend.Ops;
import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.compress.linalg.Cholesky;
import dev.squeeze.engine.compress.linalg.SymmetricEigen;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ND4J backend against plain double-precision loops written from the definitions (not against itself, not
 * only against the Java backend). Skipped where ND4J cannot start (no native library for this platform).
 *
 * <p>Tolerances: sgemm within 1e-5 of Σ|alpha·a·b| + |beta·c| per element (float rounding of a 300-term sum in
 * another order), dgemm 1e-13 of the same; factorisations of well-conditioned matrices (condition ≈ 5) within
 * 1e-12 of the largest element, against the Java backend within 1e-10.
 */
class Nd4jLinearAlgebraTest {
    private static Nd4jLinearAlgebra nd4j;

    @BeforeAll
    static void start() {
        try {
            nd4j = Nd4jLinearAlgebra.instance();
        } catch (Throwable e) { // no native ND4J for this platform: ExceptionInInitializerError, UnsatisfiedLinkError...
            Assumptions.abort("ND4J does not start on this machine: " + e);
        }
    }

    @Test
    void gemmMatchesTheDefinitionForEveryTransposeOffsetLeadingDimensionAndVectorShape() {
        SplittableRandom random = new SplittableRandom(3);
        for (int[] shape : new int[][]{{67, 45, 301}, {1, 5, 7}, {6, 1, 3}, {1, 1, 1}}) {
            for (int t = 0; t < 4; t++) {
                checkGemm(random, shape[0], shape[1], shape[2], (t & 1) != 0, (t & 2) != 0);
            }
        }
    }

    private static void checkGemm(SplittableRandom random, int m, int n, int k, boolean ta, boolean tb) {
        int off = 7, pad = 5;
        int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        double[] a = random(random, off + (ta ? k : m) * lda), b = random(random, off + (tb ? n : k) * ldb);
        double[] c = random(random, off + m * ldc);
        for (double beta : new double[]{0, 1, -0.75}) {
            double alpha = 1.5;
            float[] cf = toFloat(c);
            double[] cd = c.clone();
            nd4j.sgemm(ta, tb, m, n, k, (float) alpha, toFloat(a), off, lda, toFloat(b), off, ldb, (float) beta, cf, off, ldc);
            nd4j.dgemm(ta, tb, m, n, k, alpha, a, off, lda, b, off, ldb, beta, cd, off, ldc);
            String where = m + "×" + n + "×" + k + " transA " + ta + " transB " + tb + " beta " + beta;
            for (int idx = 0; idx < c.length; idx++) {
                int i = (idx - off) / ldc, j = (idx - off) % ldc;
                if (idx < off || j >= n) {
                    assertEquals(c[idx], cd[idx], 0.0, "element outside C changed, " + where);
                    assertEquals((float) c[idx], cf[idx], 0.0f, "element outside C changed, " + where);
                    continue;
                }
                double sum = beta * c[idx], magnitude = Math.abs(beta * c[idx]);
                for (int p = 0; p < k; p++) {
                    double term = alpha * (ta ? a[off + p * lda + i] : a[off + i * lda + p])
                            * (tb ? b[off + j * ldb + p] : b[off + p * ldb + j]);
                    sum += term;
                    magnitude += Math.abs(term);
                }
                assertEquals(sum, cd[idx], 1e-13 * magnitude, "dgemm " + where + " at " + idx);
                assertEquals(sum, cf[idx], 1e-5 * magnitude, "sgemm " + where + " at " + idx);
            }
        }
    }

    @Test
    void gemmRejectsWrongShapesBeforeAnyNativeCall() {
        float[] small = new float[10];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> nd4j.sgemm(false, false, 4, 4, 4, 1, small, 0, 4, new float[16], 0, 4, 0, new float[16], 0, 4));
        assertTrue(e.getMessage().contains("A needs indices 0..15 of an array of 10"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> nd4j.dgemm(false, false, 4, 4, 4, 1, new double[16], 0, 3, new double[16], 0, 4, 0, new double[16], 0, 4));
        assertThrows(IllegalArgumentException.class, () -> nd4j.lowerInPlace(new double[8], 3));
    }

    @Test
    void choleskyReconstructsTheMatrixAndAgreesWithJava() {
        int n = 300;
        double[] a = spd(n);
        double[] l = a.clone();
        nd4j.lowerInPlace(l, n);
        double max = maxAbs(a);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (j > i) {
                    assertEquals(0.0, l[i * n + j], 0.0, "upper triangle zeroed");
                    continue;
                }
                double s = 0;
                for (int p = 0; p <= j; p++) {
                    s += l[i * n + p] * l[j * n + p];
                }
                assertEquals(a[i * n + j], s, 1e-12 * max, "(L Lᵀ)[" + i + "][" + j + "]");
            }
        }
        double[] java = a.clone();
        Cholesky.lowerInPlaceJava(java, n);
        assertArrayClose(java, l, 1e-10);
    }

    @Test
    void choleskyReportsTheFailingPivotInOurTerms() {
        // Leading minors of order 1 and 2 are positive, of order 3 not: LAPACK info 3, our index 2.
        double[] a = {4, 0, 0, 0,
                      2, 5, 0, 0,
                      1, 1, -1, 0,
                      0, 0, 0, 1};
        Cholesky.NotPositiveDefiniteException e = assertThrows(Cholesky.NotPositiveDefiniteException.class,
                () -> nd4j.lowerInPlace(a.clone(), 4));
        assertEquals(2, e.index());
        Cholesky.NotPositiveDefiniteException java = assertThrows(Cholesky.NotPositiveDefiniteException.class,
                () -> Cholesky.lowerInPlaceJava(a.clone(), 4));
        assertEquals(java.index(), e.index());
        assertTrue(e.pivot() <= 0, "pivot " + e.pivot());
    }

    @Test
    void triangularInverseTimesTheMatrixIsTheIdentity() {
        int n = 300;
        double[] l = spd(n);
        Cholesky.lowerInPlaceJava(l, n);
        double[] x = l.clone();
        nd4j.invertLowerInPlace(x, n);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < n; p++) {
                    s += l[i * n + p] * x[p * n + j];
                }
                assertEquals(i == j ? 1.0 : 0.0, s, 1e-12, "(L X)[" + i + "][" + j + "]");
            }
        }
        double[] java = l.clone();
        Cholesky.invertLowerInPlaceJava(java, n);
        assertArrayClose(java, x, 1e-10);
    }

    @Test
    void eigenSatisfiesTheDefinitionLargestFirst() {
        int n = 120;
        double[] a = spd(n);
        double[] values = new double[n], vectors = new double[n * n];
        nd4j.decompose(a.clone(), n, values, vectors);
        double max = Math.abs(values[0]);
        for (int k = 0; k < n; k++) {
            if (k > 0) {
                assertTrue(values[k] <= values[k - 1], "descending at " + k);
            }
            for (int i = 0; i < n; i++) {
                double av = 0;
                for (int p = 0; p < n; p++) {
                    av += a[i * n + p] * vectors[k * n + p];
                }
                assertEquals(values[k] * vectors[k * n + i], av, 1e-12 * max, "(A v)[" + i + "] for k " + k);
            }
            for (int q = 0; q <= k; q++) {
                double dot = 0;
                for (int i = 0; i < n; i++) {
                    dot += vectors[k * n + i] * vectors[q * n + i];
                }
                assertEquals(q == k ? 1.0 : 0.0, dot, 1e-12, "vᵀv for " + k + ", " + q);
            }
        }
        double[] javaValues = new double[n], javaVectors = new double[n * n];
        SymmetricEigen.decomposeJava(a.clone(), n, javaValues, javaVectors);
        assertArrayClose(javaValues, values, 1e-12);
    }

    /** Ops.java's claim for the eigen routing: ND4J is not bit-identical to Java, but repeatable in one process. */
    @Test
    void eigenIsRepeatableBitForBit() {
        int n = 300;
        double[] a = spd(n);
        double[] v1 = new double[n], e1 = new double[n * n], v2 = new double[n], e2 = new double[n * n];
        nd4j.decompose(a.clone(), n, v1, e1);
        nd4j.decompose(a.clone(), n, v2, e2);
        org.junit.jupiter.api.Assertions.assertArrayEquals(v1, v2);
        org.junit.jupiter.api.Assertions.assertArrayEquals(e1, e2);
    }

    @Test
    void theProviderRoutesToNd4jWhenForcedAndByDefaultForEigen() {
        var gemm = Backends.choose(Ops.GEMM, key -> key.equals("squeeze.backend.gemm") ? "nd4j" : null);
        assertEquals("nd4j", gemm.backend());
        assertInstanceOf(Nd4jLinearAlgebra.class, gemm.instance());
        assertEquals("nd4j-openblas", gemm.implementation());
        assertEquals("nd4j", Backends.choose(Ops.CHOLESKY, key -> key.equals("squeeze.backend") ? "nd4j" : null).backend());
        assertEquals("nd4j", Backends.choose(Ops.TRIANGULAR_INVERSE, key -> key.equals("squeeze.backend") ? "nd4j" : null).backend());
        assertEquals("nd4j", Backends.choose(Ops.SYMMETRIC_EIGEN, key -> null).backend(), "Ops' routing");
        assertEquals("java", Backends.choose(Ops.SYMMETRIC_EIGEN, key -> key.equals("squeeze.backend") ? "java" : null).backend());
        Blas blas = gemm.instance();
        float[] c = new float[4];
        blas.sgemm(false, false, 2, 2, 2, 1, new float[]{1, 2, 3, 4}, 0, 2, new float[]{5, 6, 7, 8}, 0, 2, 0, c, 0, 2);
        assertEquals(java.util.List.of(19f, 22f, 43f, 50f), java.util.List.of(c[0], c[1], c[2], c[3]));
    }

    private static double[] spd(int n) {
        SplittableRandom random = new SplittableRandom(n);
        double[] b = random(random, n * n);
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < n; p++) {
                    s += b[i * n + p] * b[j * n + p];
                }
                a[i * n + j] = s / n + (i == j ? 1 : 0);
            }
        }
        return a;
    }

    private static double[] random(SplittableRandom random, int length) {
        double[] v = new double[length];
        for (int i = 0; i < length; i++) {
            v[i] = (float) random.nextDouble(-1, 1);
        }
        return v;
    }

    private static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    private static double maxAbs(double[] v) {
        double m = 0;
        for (double x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    private static void assertArrayClose(double[] want, double[] got, double relative) {
        double tolerance = relative * maxAbs(want);
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], tolerance, "element " + i);
        }
    }
}
