package dev.squeeze.engine.compress.linalg;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SIMD kernels against the plain reference: every implementation computes the same fma chain per element, so
 * results must be identical bit for bit, for any shape, transposition, offset, alpha, beta and thread count.
 */
class BlasTest {
    private static final Blas PORTABLE = Blas.portable();
    private static final Blas VECTOR = new PackedBlas("vector", new VectorKernels.F32(), new VectorKernels.F64(), 1);
    private static final Blas VECTOR2 = new PackedBlas("vector", new VectorKernels.F32(), new VectorKernels.F64(), 2);
    private static final int[][] SHAPES = {{1, 1, 1}, {3, 5, 7}, {4, 48, 256}, {37, 101, 30}, {9, 67, 513},
            {133, 1030, 9}, {5, 3, 0}};

    @Test
    void theBestImplementationIsTheSimdOneInTests() {
        // Surefire starts the test JVM with --add-modules jdk.incubator.vector: make sure the fast path is live.
        assertTrue(Blas.get().name().startsWith("java-vector"), Blas.get().name());
    }

    @Test
    void sgemmIsBitIdenticalToTheNaiveFmaLoop() {
        Random rnd = new Random(1);
        for (int[] s : SHAPES) {
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0;
                boolean tb = (t & 2) != 0;
                for (float[] ab : new float[][] {{1f, 1f}, {-1f, 0f}, {0.3f, 0.5f}}) {
                    int m = s[0];
                    int n = s[1];
                    int k = s[2];
                    int lda = (ta ? m : k) + 3;
                    int ldb = (tb ? k : n) + 1;
                    int ldc = n + 2;
                    float[] a = random(rnd, 2 + (ta ? k : m) * lda);
                    float[] b = random(rnd, 5 + (tb ? n : k) * ldb);
                    float[] c = random(rnd, 1 + m * ldc);
                    float[] want = c.clone();
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            int x = 1 + i * ldc + j;
                            float acc = ab[1] == 0f ? 0f : ab[1] == 1f ? want[x] : ab[1] * want[x];
                            for (int p = 0; p < k; p++) {
                                float av = ta ? a[2 + p * lda + i] : a[2 + i * lda + p];
                                float bv = tb ? b[5 + j * ldb + p] : b[5 + p * ldb + j];
                                acc = Math.fma(ab[0] == 1f ? av : ab[0] * av, bv, acc);
                            }
                            want[x] = acc;
                        }
                    }
                    for (Blas blas : new Blas[] {PORTABLE, VECTOR, VECTOR2}) {
                        float[] got = c.clone();
                        blas.sgemm(ta, tb, m, n, k, ab[0], a, 2, lda, b, 5, ldb, ab[1], got, 1, ldc);
                        assertArrayEquals(want, got, blas.name() + " " + m + "×" + n + "×" + k + " ta " + ta + " tb " + tb);
                    }
                }
            }
        }
    }

    @Test
    void dgemmIsBitIdenticalToTheNaiveFmaLoop() {
        Random rnd = new Random(2);
        for (int[] s : SHAPES) {
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0;
                boolean tb = (t & 2) != 0;
                int m = s[0];
                int n = s[1];
                int k = s[2];
                double alpha = -0.7;
                double beta = 1;
                double[] a = randomD(rnd, (ta ? k * m : m * k));
                double[] b = randomD(rnd, (tb ? n * k : k * n));
                double[] c = randomD(rnd, m * n);
                double[] want = c.clone();
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double acc = want[i * n + j];
                        for (int p = 0; p < k; p++) {
                            double av = ta ? a[p * m + i] : a[i * k + p];
                            double bv = tb ? b[j * k + p] : b[p * n + j];
                            acc = Math.fma(alpha * av, bv, acc);
                        }
                        want[i * n + j] = acc;
                    }
                }
                for (Blas blas : new Blas[] {PORTABLE, VECTOR, VECTOR2}) {
                    double[] got = c.clone();
                    blas.dgemm(ta, tb, m, n, k, alpha, a, 0, ta ? m : k, b, 0, tb ? k : n, beta, got, 0, n);
                    assertArrayEquals(want, got, blas.name() + " " + m + "×" + n + "×" + k);
                }
            }
        }
    }

    @Test
    void sgerIsBitIdentical() {
        Random rnd = new Random(3);
        int m = 9;
        int n = 77;
        float[] x = random(rnd, m + 1);
        float[] y = random(rnd, n + 2);
        float[] a = random(rnd, m * 80);
        float[] want = a.clone();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                want[i * 80 + j] = Math.fma(-x[1 + i], y[2 + j], want[i * 80 + j]);
            }
        }
        for (Blas blas : new Blas[] {PORTABLE, VECTOR}) {
            float[] got = a.clone();
            blas.sger(m, n, -1f, x, 1, y, 2, got, 0, 80);
            assertArrayEquals(want, got, blas.name());
        }
    }

    @Test
    void shapesOutsideTheArraysAreRejected() {
        float[] a = new float[10];
        assertThrows(IllegalArgumentException.class,
                () -> VECTOR.sgemm(false, false, 3, 3, 4, 1f, a, 0, 4, a, 0, 3, 0f, new float[9], 0, 3));
        assertThrows(IllegalArgumentException.class,
                () -> VECTOR.sgemm(false, false, 2, 2, 2, 1f, a, 0, 1, a, 0, 2, 0f, new float[4], 0, 2));
        assertThrows(IllegalArgumentException.class,
                () -> VECTOR.sger(2, 6, 1f, a, 0, a, 5, new float[12], 0, 6));
    }

    private static float[] random(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian();
        }
        return a;
    }

    private static double[] randomD(Random rnd, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = rnd.nextGaussian();
        }
        return a;
    }
}
