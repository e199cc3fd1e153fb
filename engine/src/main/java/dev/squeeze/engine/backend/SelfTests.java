package dev.squeeze.engine.backend;

import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.compress.linalg.Cholesky;
import dev.squeeze.engine.compress.linalg.SymmetricEigen;
import java.util.SplittableRandom;

/**
 * The start-up self-tests of the dense ops: one small random case each, against the Java reference. They guard
 * against a broken or mis-loaded library (those err by 1e-3 or more, or return garbage), not against rounding.
 *
 * <p>Tolerances (the backends are not bit-identical to the Java reference; see {@link Ops}):
 * <ul>
 *   <li>gemm: each element of C within {@value #SGEMM_TOLERANCE} (float) / {@value #DGEMM_TOLERANCE} (double) of
 *       {@code Σ|alpha·a·b| + |beta·c|}, the magnitude of the sum it computes (a different summation order moves a
 *       float result by a few units of {@code 2⁻²⁴} of that);</li>
 *   <li>cholesky, trinv: every element within {@value #FACTOR_TOLERANCE} of the largest element of the reference
 *       result (the case is well conditioned, so a correct LAPACK differs by about 1e-15);</li>
 *   <li>eigen: eigenvalues within {@value #FACTOR_TOLERANCE} of the largest |eigenvalue|, and each eigenvector
 *       parallel to the reference's, {@code |v·v_ref| ≥ 1 − }{@value #FACTOR_TOLERANCE} (signs are arbitrary).</li>
 * </ul>
 */
final class SelfTests {
    static final double SGEMM_TOLERANCE = 1e-5;
    static final double DGEMM_TOLERANCE = 1e-12;
    static final double FACTOR_TOLERANCE = 1e-9;

    private SelfTests() {
    }

    /** sgemm and dgemm with offsets, padded leading dimensions, all four transpose cases, alpha and beta. */
    static String gemm(Blas blas) {
        SplittableRandom random = new SplittableRandom(20261206L);
        int m = 37, n = 29, k = 53, pad = 3, off = 5;
        for (int t = 0; t < 4; t++) {
            boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
            int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
            int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
            double[] a = randoms(random, off + aRows * lda), b = randoms(random, off + bRows * ldb);
            double[] c = randoms(random, off + m * ldc);
            double alpha = -1.25, beta = t == 3 ? 0 : 0.5;
            float[] af = floats(a), bf = floats(b), cf = floats(c), cfRef = cf.clone();
            double[] cd = c.clone(), cdRef = c.clone();
            blas.sgemm(ta, tb, m, n, k, (float) alpha, af, off, lda, bf, off, ldb, (float) beta, cf, off, ldc);
            Blas.java().sgemm(ta, tb, m, n, k, (float) alpha, af, off, lda, bf, off, ldb, (float) beta, cfRef, off, ldc);
            blas.dgemm(ta, tb, m, n, k, alpha, a, off, lda, b, off, ldb, beta, cd, off, ldc);
            Blas.java().dgemm(ta, tb, m, n, k, alpha, a, off, lda, b, off, ldb, beta, cdRef, off, ldc);
            for (int idx = 0; idx < c.length; idx++) {
                int i = (idx - off) / ldc, j = (idx - off) % ldc;
                boolean inside = idx >= off && j < n;
                double magnitude = 0;
                if (inside) {
                    magnitude = Math.abs(beta * c[idx]);
                    for (int p = 0; p < k; p++) {
                        double ai = ta ? a[off + p * lda + i] : a[off + i * lda + p];
                        double bj = tb ? b[off + j * ldb + p] : b[off + p * ldb + j];
                        magnitude += Math.abs(alpha * ai * bj);
                    }
                }
                if (!(Math.abs(cf[idx] - cfRef[idx]) <= SGEMM_TOLERANCE * magnitude)
                        || !(Math.abs(cd[idx] - cdRef[idx]) <= DGEMM_TOLERANCE * magnitude)) {
                    return blas.name() + " self-test failed: gemm (transA " + ta + ", transB " + tb + ") element " + idx
                            + (inside ? "" : " outside C") + " is " + cf[idx] + " / " + cd[idx] + " but the Java reference gives "
                            + cfRef[idx] + " / " + cdRef[idx];
                }
            }
        }
        return null;
    }

    static String cholesky(CholeskyOp op) {
        int n = 150;
        double[] a = spd(n);
        double[] want = a.clone();
        double[] got = a.clone();
        Cholesky.lowerInPlaceJava(want, n);
        op.lowerInPlace(got, n);
        return compare(op.name(), "cholesky", got, want);
    }

    static String triangularInverse(TriangularInverseOp op) {
        int n = 150;
        double[] l = spd(n);
        Cholesky.lowerInPlaceJava(l, n);
        double[] want = l.clone();
        double[] got = l.clone();
        Cholesky.invertLowerInPlaceJava(want, n);
        op.invertLowerInPlace(got, n);
        return compare(op.name(), "trinv", got, want);
    }

    static String eigen(SymmetricEigenOp op) {
        int n = 40;
        SplittableRandom random = new SplittableRandom(7L);
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double v = random.nextDouble(-1, 1) + (i == j ? 2.0 * i : 0); // spread-out eigenvalues
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        double[] wantValues = new double[n], wantVectors = new double[n * n];
        double[] gotValues = new double[n], gotVectors = new double[n * n];
        SymmetricEigen.decomposeJava(a.clone(), n, wantValues, wantVectors);
        op.decompose(a.clone(), n, gotValues, gotVectors);
        double scale = Math.max(Math.abs(wantValues[0]), Math.abs(wantValues[n - 1]));
        for (int k = 0; k < n; k++) {
            if (!(Math.abs(gotValues[k] - wantValues[k]) <= FACTOR_TOLERANCE * scale)) {
                return op.name() + " self-test failed: eigenvalue " + k + " is " + gotValues[k] + " but the Java reference gives "
                        + wantValues[k];
            }
            double dot = 0;
            for (int i = 0; i < n; i++) {
                dot += gotVectors[k * n + i] * wantVectors[k * n + i];
            }
            if (!(Math.abs(dot) >= 1 - FACTOR_TOLERANCE)) {
                return op.name() + " self-test failed: eigenvector " + k + " has |v·v_ref| = " + Math.abs(dot);
            }
        }
        return null;
    }

    private static String compare(String name, String what, double[] got, double[] want) {
        double scale = 0;
        for (double w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        for (int i = 0; i < want.length; i++) {
            if (!(Math.abs(got[i] - want[i]) <= FACTOR_TOLERANCE * scale)) {
                return name + " self-test failed: " + what + " element " + i + " is " + got[i]
                        + " but the Java reference gives " + want[i];
            }
        }
        return null;
    }

    /** B Bᵀ + n·I for a random B: symmetric positive definite and well conditioned. */
    static double[] spd(int n) {
        SplittableRandom random = new SplittableRandom(11L);
        double[] b = randoms(random, n * n);
        double[] a = new double[n * n];
        Blas.java().dgemm(false, true, n, n, n, 1, b, 0, n, b, 0, n, 0, a, 0, n);
        for (int i = 0; i < n; i++) {
            a[i * n + i] += n;
        }
        return a;
    }

    private static double[] randoms(SplittableRandom random, int length) {
        double[] v = new double[length];
        for (int i = 0; i < length; i++) {
            v[i] = (float) random.nextDouble(-1, 1); // float-representable, so sgemm and dgemm see the same inputs
        }
        return v;
    }

    private static float[] floats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }
}
