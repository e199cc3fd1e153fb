package dev.squeeze.engine.compress.linalg;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The blocked factorisations against the plain loops and against their defining identities. */
class CholeskyTest {
    /** Sizes below and above the leaf and block sizes (300 = one full block of 256 and a partial one). */
    private static final int[] SIZES = {1, 7, Cholesky.LEAF + 1, 300};

    private static double[] spd(int n, long seed) {
        Random rnd = new Random(seed);
        double[] x = new double[(n + 5) * n];
        for (int i = 0; i < x.length; i++) {
            x[i] = rnd.nextGaussian() * (1 + (i % n) % 5);
        }
        double[] h = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < n + 5; t++) {
                    s += x[t * n + i] * x[t * n + j];
                }
                h[i * n + j] = s;
            }
        }
        return h;
    }

    @Test
    void blockedFactorMatchesThePlainOne() {
        for (int n : SIZES) {
            double[] h = spd(n, n);
            double[] blocked = h.clone();
            Cholesky.lowerInPlace(blocked, n);
            double[] plain = h.clone();
            Cholesky.lowerUnblocked(plain, n);
            assertTrue(relDiff(plain, blocked) < 1e-12, "n " + n + ": " + relDiff(plain, blocked));
            // And L Lᵀ = H.
            double[] llt = new double[n * n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k <= Math.min(i, j); k++) {
                        s += blocked[i * n + k] * blocked[j * n + k];
                    }
                    llt[i * n + j] = s;
                }
            }
            assertTrue(relDiff(h, llt) < 1e-12, "n " + n);
        }
    }

    @Test
    void inverseOfTheFactorTimesTheFactorIsTheIdentity() {
        for (int n : SIZES) {
            double[] l = spd(n, 10 + n);
            Cholesky.lowerInPlace(l, n);
            double[] x = l.clone();
            Cholesky.invertLowerInPlace(x, n);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k < n; k++) {
                        s += l[i * n + k] * x[k * n + j];
                    }
                    assertEquals(i == j ? 1 : 0, s, 1e-9, "n " + n + " (" + i + ", " + j + ")");
                    if (j > i) {
                        assertEquals(0, x[i * n + j], "upper triangle of the inverse");
                    }
                }
            }
        }
    }

    /** U upper triangular with Uᵀ U = H⁻¹, i.e. U H Uᵀ = I (and so the same U as the reference's three steps). */
    @Test
    void upperFactorOfTheInverse() {
        for (int n : SIZES) {
            double[] h = spd(n, 20 + n);
            double[] u = Cholesky.upperFactorOfInverse(h, n);
            double[] uh = new double[n * n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int k = 0; k < n; k++) {
                        s += u[i * n + k] * h[k * n + j];
                    }
                    uh[i * n + j] = s;
                }
            }
            for (int i = 0; i < n; i++) {
                assertTrue(u[i * n + i] > 0);
                for (int j = 0; j < n; j++) {
                    if (j < i) {
                        assertEquals(0, u[i * n + j]);
                    }
                    double s = 0;
                    for (int k = 0; k < n; k++) {
                        s += uh[i * n + k] * u[j * n + k];
                    }
                    assertEquals(i == j ? 1 : 0, s, 1e-9, "n " + n + " (" + i + ", " + j + ")");
                }
            }
            // The reference's route (Cholesky, inverse from the factor, Cholesky of the inverse) gives the same U.
            double[] l = h.clone();
            Cholesky.lowerUnblocked(l, n);
            double[] inv = Cholesky.inverseFromLower(l, n);
            Cholesky.lowerUnblocked(inv, n);
            double[] viaReference = new double[n * n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j <= i; j++) {
                    viaReference[j * n + i] = inv[i * n + j];
                }
            }
            assertTrue(relDiff(viaReference, u) < 1e-9, "n " + n + ": " + relDiff(viaReference, u));
        }
    }

    @Test
    void notPositiveDefiniteNamesThePivotInTheCallersOrder() {
        int n = 200;
        double[] h = new double[n * n];
        for (int i = 0; i < n; i++) {
            h[i * n + i] = 1;
        }
        h[150 * n + 150] = -1;
        Cholesky.NotPositiveDefiniteException e = assertThrows(Cholesky.NotPositiveDefiniteException.class,
                () -> Cholesky.lowerInPlace(h.clone(), n));
        assertEquals(150, e.index());
        e = assertThrows(Cholesky.NotPositiveDefiniteException.class, () -> Cholesky.upperFactorOfInverse(h, n));
        assertEquals(150, e.index());
    }

    private static double relDiff(double[] a, double[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (a[i] - b[i]) * (a[i] - b[i]);
            den += a[i] * a[i];
        }
        return Math.sqrt(num / den);
    }
}
