package dev.squeeze.engine.compress.lowrank;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.plan.SettingsJson;
import dev.squeeze.engine.testing.ReferenceLinalg;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * FWSVD ({@link LowRankVariant#FISHER}) against its definition (Hsu et al. 2022): importance
 * {@code I_j = sqrt(Σ_i F_ij / max + 1e-5)} per input, optimal rank-r fit in {@code ‖(W − Ŵ) diag(I)‖_F}; the
 * optimum is checked against the Eckart–Young bound from independently computed (Jacobi) singular values.
 */
class FisherWeightedSvdTest {
    private static final int ROWS = 12;
    private static final int COLS = 9;
    private static final int RANK = 3;

    private static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return v;
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** {@code ‖(W − Ŵ) diag(imp)‖²}. */
    private static double weightedError(float[] w, double[] approx, double[] imp) {
        double e = 0;
        for (int i = 0; i < ROWS; i++) {
            for (int j = 0; j < COLS; j++) {
                double d = (w[i * COLS + j] - approx[i * COLS + j]) * imp[j];
                e += d * d;
            }
        }
        return e;
    }

    @Test
    void uniformFisherIsPlainSvd() {
        float[] w = gaussian(new Random(1), ROWS * COLS);
        float[] fisher = new float[ROWS * COLS];
        java.util.Arrays.fill(fisher, 0.25f);
        double[] fw = LowRankFactors.compute("l", w, ROWS, COLS, null, fisher, LowRankVariant.FISHER, RANK, 0.01)
                .product();
        double[] svd = LowRankFactors.compute("l", w, ROWS, COLS, null, LowRankVariant.SVD, RANK, 0.01).product();
        for (int i = 0; i < fw.length; i++) {
            assertEquals(svd[i], fw[i], 1e-9, "entry " + i);
        }
        // And it is the Eckart–Young optimum of the plain weights.
        double[] ones = new double[COLS];
        java.util.Arrays.fill(ones, 1);
        assertEquals(ReferenceLinalg.tailEnergy(toDouble(w), ROWS, COLS, RANK), weightedError(w, fw, ones), 1e-9);
    }

    @Test
    void fisherOnOneInputFitsThatInputBetterAndIsOptimalInTheWeightedNorm() {
        float[] w = gaussian(new Random(2), ROWS * COLS);
        int hot = 4;
        float[] fisher = new float[ROWS * COLS];
        for (int i = 0; i < ROWS; i++) {
            fisher[i * COLS + hot] = 2f + i; // every row's gradient on input 4 only
        }
        // The importance from the paper's definition: column sums, normalised by their max, plus 1e-5.
        double[] imp = new double[COLS];
        for (int j = 0; j < COLS; j++) {
            imp[j] = Math.sqrt((j == hot ? 1.0 : 0.0) + 1e-5);
        }
        double[] fw = LowRankFactors.compute("l", w, ROWS, COLS, null, fisher, LowRankVariant.FISHER, RANK, 0.01)
                .product();
        double[] svd = LowRankFactors.compute("l", w, ROWS, COLS, null, LowRankVariant.SVD, RANK, 0.01).product();
        // Optimal in the weighted norm: equal to the tail energy of W diag(I) (independent Jacobi SVD) ...
        double[] wd = new double[ROWS * COLS];
        for (int i = 0; i < ROWS; i++) {
            for (int j = 0; j < COLS; j++) {
                wd[i * COLS + j] = w[i * COLS + j] * imp[j];
            }
        }
        double bound = ReferenceLinalg.tailEnergy(wd, ROWS, COLS, RANK);
        double fwError = weightedError(w, fw, imp);
        double svdError = weightedError(w, svd, imp);
        assertEquals(bound, fwError, 1e-9 * Math.max(1, bound));
        // ... and better than plain SVD there.
        assertTrue(fwError < 0.5 * svdError, "FWSVD " + fwError + " vs SVD " + svdError);
        // The hot input's column is fitted (almost) exactly; SVD leaves a visible error on it.
        double hotFw = 0;
        double hotSvd = 0;
        for (int i = 0; i < ROWS; i++) {
            hotFw += Math.pow(w[i * COLS + hot] - fw[i * COLS + hot], 2);
            hotSvd += Math.pow(w[i * COLS + hot] - svd[i * COLS + hot], 2);
        }
        assertTrue(hotFw < 1e-3 * hotSvd, "hot column error FWSVD " + hotFw + ", SVD " + hotSvd);
    }

    @Test
    void theMethodNeedsTheFisherDiagonal() {
        float[] w = gaussian(new Random(3), ROWS * COLS);
        MethodSettings s = LowRankSettings.of(LowRankVariant.FISHER, RANK);
        assertTrue(s.needsCalibration());
        assertFalse(LowRankVariant.FISHER.needsHessian());
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> Methods.compress(new LayerInput("blk.q", w, ROWS, COLS, null), s));
        assertTrue(e.getMessage().contains("blk.q") && e.getMessage().contains("Fisher"), e.getMessage());
        float[] fisher = new float[ROWS * COLS];
        java.util.Arrays.fill(fisher, 1f);
        fisher[5] = Float.NaN;
        e = assertThrows(SqueezeException.class,
                () -> Methods.compress(new LayerInput("blk.q", w, ROWS, COLS, null, fisher), s));
        assertTrue(e.getMessage().contains("row 0, column 5"), e.getMessage());
        fisher[5] = 1f;
        assertEquals(ROWS * COLS, Methods.compress(new LayerInput("blk.q", w, ROWS, COLS, null, fisher), s)
                .dequantize().length);
    }

    @Test
    void plansNameTheVariantFisher() {
        LowRankSettings s = LowRankSettings.of(LowRankVariant.FISHER, 2);
        com.fasterxml.jackson.databind.JsonNode json = SettingsJson.write(s);
        assertEquals("fisher", json.get("variant").asText(), json.toString());
        assertEquals(s, SettingsJson.parse(json, "test"));
        assertEquals("Fisher-weighted SVD (FWSVD)", LowRankVariant.FISHER.label());
    }
}
