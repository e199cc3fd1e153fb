package dev.squeeze.engine.compress.lowrank;

import dev.squeeze.engine.testing.ReferenceLinalg;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each variant against the optimum it claims, on small random data, with the optimum computed independently:
 * Eckart–Young tails from {@link ReferenceLinalg#singularValues} (one-sided Jacobi on the matrix itself, no Gram
 * matrix, no eigensolver) of W, of the layer outputs {@code Y = X Wᵀ}, or of {@code W diag(sqrt h)}.
 * The factors are the exact (double) ones, before storage rounding.
 */
class LowRankOptimalityTest {
    /**
     * LoRD: {@code X Qᵀ} has rank ≤ r, so {@code ‖X Wᵀ − X Qᵀ‖²} is at least the tail of Y's singular values
     * after r; LoRD must attain it. The whitened SVD with almost no dampening must too; plain SVD must not.
     */
    @ParameterizedTest
    @CsvSource({"7, 12, 1", "7, 12, 2", "7, 12, 4", "12, 5, 1", "12, 5, 3", "9, 9, 4"})
    void lordAttainsTheOptimalOutputError(int rows, int cols, int rank) {
        Random rnd = new Random(1000L * rows + 10L * cols + rank);
        int n = 40;
        double[] x = correlatedInputs(rnd, n, cols);
        float[] w = gaussian(rnd, rows * cols);
        float[] h = hessian(x, n, cols);
        double[] wd = toDouble(w);
        double[] y = ReferenceLinalg.multiply(x, ReferenceLinalg.transpose(wd, rows, cols), n, cols, rows);
        double total = 0;
        for (double v : y) {
            total += v * v;
        }
        double optimum = ReferenceLinalg.tailEnergy(y, n, rows, rank);
        assertTrue(optimum > 1e-3 * total, "the test has something to approximate");

        double lord = outputError(x, n, wd, factors(w, rows, cols, h, LowRankVariant.LORD, rank, 0));
        assertEquals(optimum, lord, 1e-9 * total, "LoRD against the Eckart–Young tail of Y");

        double whitened = outputError(x, n, wd, factors(w, rows, cols, h, LowRankVariant.WHITENED, rank, 1e-10));
        assertEquals(optimum, whitened, 1e-7 * total, "whitened SVD, dampening 1e-10");

        double svd = outputError(x, n, wd, factors(w, rows, cols, h, LowRankVariant.SVD, rank, 0));
        assertTrue(svd > optimum * (1 + 1e-3), "plain SVD " + svd + " must lose to the optimum " + optimum);
    }

    /** Plain SVD is the Eckart–Young optimum of the weight error. */
    @ParameterizedTest
    @CsvSource({"7, 12, 1", "7, 12, 4", "12, 5, 3", "30, 20, 7"})
    void svdAttainsTheOptimalWeightError(int rows, int cols, int rank) {
        Random rnd = new Random(77L * rows + cols + rank);
        float[] w = gaussian(rnd, rows * cols);
        double[] wd = toDouble(w);
        double optimum = ReferenceLinalg.tailEnergy(wd, rows, cols, rank);
        double err = ReferenceLinalg.squaredDistance(wd,
                factors(w, rows, cols, null, LowRankVariant.SVD, rank, 0).product());
        assertEquals(optimum, err, 1e-10 * ReferenceLinalg.squaredDistance(wd, new double[wd.length]));
    }

    /**
     * With a diagonal H, weighting by {@code sqrt(diag H)} is exact whitening, so activation-aware SVD (almost
     * undampened) attains the optimum of {@code Σ ΔW_ij² h_j} = the tail of {@code W diag(sqrt h)}.
     */
    @ParameterizedTest
    @CsvSource({"7, 12, 2", "12, 5, 3"})
    void activationAwareSvdIsOptimalForADiagonalHessian(int rows, int cols, int rank) {
        Random rnd = new Random(rows + 31L * cols);
        float[] w = gaussian(rnd, rows * cols);
        float[] h = new float[cols * cols];
        double[] wScaled = new double[rows * cols];
        for (int j = 0; j < cols; j++) {
            h[j * cols + j] = (float) Math.exp(3 * rnd.nextGaussian());
        }
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                wScaled[i * cols + j] = w[i * cols + j] * Math.sqrt(h[j * cols + j]);
            }
        }
        double optimum = ReferenceLinalg.tailEnergy(wScaled, rows, cols, rank);
        double[] q = factors(w, rows, cols, h, LowRankVariant.ACTIVATION, rank, 1e-10).product();
        double err = 0;
        double total = 0;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double d = w[i * cols + j] - q[i * cols + j];
                err += d * d * h[j * cols + j];
                total += (double) w[i * cols + j] * w[i * cols + j] * h[j * cols + j];
            }
        }
        assertEquals(optimum, err, 1e-7 * total);
    }

    private static LowRankFactors factors(float[] w, int rows, int cols, float[] h, LowRankVariant v, int rank,
                                          double percdamp) {
        return LowRankFactors.compute("t", w, rows, cols, h, v, rank, percdamp);
    }

    /** {@code ‖X Wᵀ − X Qᵀ‖²_F} with {@code X} of {@code n × cols}. */
    static double outputError(double[] x, int n, double[] w, LowRankFactors f) {
        double[] q = f.product();
        double[] diff = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            diff[i] = w[i] - q[i];
        }
        double[] e = ReferenceLinalg.multiply(x, ReferenceLinalg.transpose(diff, f.rows(), f.cols()), n, f.cols(),
                f.rows());
        double s = 0;
        for (double v : e) {
            s += v * v;
        }
        return s;
    }

    /** Inputs with unequal scales and correlated columns: the case where the data-aware variants matter. */
    private static double[] correlatedInputs(Random rnd, int n, int cols) {
        double[] mix = new double[cols * cols];
        for (int i = 0; i < mix.length; i++) {
            mix[i] = rnd.nextGaussian() * (i % (cols + 1) == 0 ? 3 : 0.5);
        }
        double[] z = new double[n * cols];
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < cols; j++) {
                z[t * cols + j] = rnd.nextGaussian() * Math.exp(j % 4);
            }
        }
        return ReferenceLinalg.multiply(z, mix, n, cols, cols);
    }

    /** {@code H = 2/n Xᵀ X} in float32, as the accumulator would hand it over. */
    private static float[] hessian(double[] x, int n, int cols) {
        double[] g = ReferenceLinalg.multiply(ReferenceLinalg.transpose(x, n, cols), x, cols, n, cols);
        float[] h = new float[g.length];
        for (int i = 0; i < g.length; i++) {
            h[i] = (float) (2 * g[i] / n);
        }
        return h;
    }

    private static float[] gaussian(Random rnd, int size) {
        float[] w = new float[size];
        for (int i = 0; i < size; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        return w;
    }

    private static double[] toDouble(float[] w) {
        double[] d = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            d[i] = w[i];
        }
        return d;
    }
}
