package dev.squeeze.engine.compress.lowrank;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.QuantizedMatrix;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.nn.DenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LowRankTensorTest {
    private static final int ROWS = 24;
    private static final int COLS = 40;

    @ParameterizedTest
    @EnumSource(LowRankVariant.class)
    void fp16FactorsCountSixteenBitsPerValueAndComputeWithTheRoundedValues(LowRankVariant v) {
        LayerInput in = randomLayer(1);
        LowRankTensor t = (LowRankTensor) new LowRank().compress(in, LowRankSettings.of(v, 6));
        assertEquals(ROWS, t.rows());
        assertEquals(COLS, t.cols());
        assertEquals(6, t.rank());
        // 6 · (24 + 40) values of 16 bits; nothing else is stored.
        assertEquals(16L * 6 * (24 + 40), t.storedBits());
        assertEquals(16.0 * 6 * 64 / (24 * 40), t.bitsPerWeight(), 1e-12);
        float[] a = t.a();
        float[] b = t.b();
        for (float x : a) {
            assertEquals(x, Float.float16ToFloat(Float.floatToFloat16(x)), 0, "A holds fp16 values");
        }
        for (float x : b) {
            assertEquals(x, Float.float16ToFloat(Float.floatToFloat16(x)), 0, "B holds fp16 values");
        }
        assertArrayEquals(product(a, b, ROWS, 6, COLS), t.dequantize(), 1e-6f);
        // The stored values are the exact factors rounded once to fp16 (relative error ≤ 2⁻¹¹).
        LowRankFactors exact = LowRankFactors.compute("t", in.weight(), ROWS, COLS, in.hessian(), in.fisher(), v, 6,
                0.01);
        for (int i = 0; i < a.length; i++) {
            assertEquals(exact.a()[i], a[i], Math.abs(exact.a()[i]) * 0x1p-11 + 1e-7);
        }
        assertTrue(t.quantizedA().isEmpty() && t.quantizedB().isEmpty());
    }

    @Test
    void quantizedFactorsCountCodesScalesAndZeros() {
        LayerInput in = randomLayer(2);
        LowRankSettings s = LowRankSettings.of(LowRankVariant.LORD, 5)
                .withQuantization(RtnSettings.perRow(4), new RtnSettings(3, 16, true));
        LowRankTensor t = (LowRankTensor) new LowRank().compress(in, s);
        // A: 24 × 5 codes of 4 bits + one (fp32 scale, 4-bit zero) per row.
        long aBits = 24L * 5 * 4 + 24L * (32 + 4);
        // B: 5 × 40 codes of 3 bits + per row ⌈40/16⌉ = 3 groups (the last holds 8) of an fp32 scale; symmetric
        // zeros are implied.
        long bBits = 5L * 40 * 3 + 5L * 3 * 32;
        assertEquals(aBits + bBits, t.storedBits());
        QuantizedMatrix qa = t.quantizedA().orElseThrow();
        QuantizedMatrix qb = t.quantizedB().orElseThrow();
        assertEquals(24, qa.rows());
        assertEquals(5, qa.cols());
        assertEquals(5, qb.rows());
        assertEquals(40, qb.cols());
        assertArrayEquals(qa.dequantize(), t.a(), 0);
        assertArrayEquals(qb.dequantize(), t.b(), 0);
        assertArrayEquals(product(t.a(), t.b(), ROWS, 5, COLS), t.dequantize(), 1e-6f);

        // Mixed: A in fp16, B quantized.
        LowRankTensor mixed = (LowRankTensor) new LowRank().compress(in,
                LowRankSettings.of(LowRankVariant.SVD, 5).withQuantization(null, RtnSettings.perRow(8)));
        assertEquals(16L * 24 * 5 + (5L * 40 * 8 + 5L * (32 + 8)), mixed.storedBits());
    }

    /** Eight-bit factors stay close to the fp16 ones; two-bit factors are worse: the codes are really used. */
    @Test
    void quantizationErrorGrowsAsBitsShrink() {
        LayerInput in = randomLayer(3);
        float[] w16 = new LowRank().compress(in, LowRankSettings.of(LowRankVariant.SVD, 8)).dequantize();
        double e8 = distance(w16, new LowRank().compress(in, LowRankSettings.of(LowRankVariant.SVD, 8)
                .withQuantization(RtnSettings.perRow(8), RtnSettings.perRow(8))).dequantize());
        double e2 = distance(w16, new LowRank().compress(in, LowRankSettings.of(LowRankVariant.SVD, 8)
                .withQuantization(RtnSettings.perRow(2), RtnSettings.perRow(2))).dequantize());
        assertTrue(e8 > 0 && e8 < e2 / 100, "8-bit " + e8 + " vs 2-bit " + e2);
    }

    @Test
    void theLinearOpComputesABxLikeTheDenseProduct() {
        LowRankTensor t = (LowRankTensor) new LowRank().compress(randomLayer(4), LowRankSettings.of(LowRankVariant.SVD, 7));
        LinearOp op = t.asLinearOp();
        assertEquals(COLS, op.inFeatures());
        assertEquals(ROWS, op.outFeatures());
        assertTrue(op.describe().contains("r7"), op.describe());
        int batch = 3;
        Random rnd = new Random(9);
        float[] x = new float[batch * COLS];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] y = new float[batch * ROWS];
        op.forward(x, batch, y);
        float[] expected = new float[batch * ROWS];
        new DenseLinear(ROWS, COLS, t.dequantize(), null).forward(x, batch, expected);
        assertArrayEquals(expected, y, 1e-4f);
        assertThrows(IllegalArgumentException.class, () -> op.forward(new float[COLS], 2, new float[2 * ROWS]));
    }

    @Test
    void factorsBeyondTheFp16RangeAreRefusedNamingTheLayer() {
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) {
            w[i] = 1e6f * ((i * 7) % 11 - 5);
        }
        LayerInput in = new LayerInput("huge", w, ROWS, COLS, null);
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> new LowRank().compress(in, LowRankSettings.of(LowRankVariant.SVD, 2)));
        assertTrue(e.getMessage().contains("huge") && e.getMessage().contains("fp16"), e.getMessage());
        // Quantized factors have float32 scales and are fine.
        CompressedTensor q = new LowRank().compress(in, LowRankSettings.of(LowRankVariant.SVD, 2)
                .withQuantization(RtnSettings.perRow(8), RtnSettings.perRow(8)));
        assertTrue(Float.isFinite(q.dequantize()[0]));
    }

    static LayerInput randomLayer(long seed) {
        Random rnd = new Random(seed);
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * 0.1);
        }
        int n = 100;
        double[] x = new double[n * COLS];
        for (int t = 0; t < n; t++) {
            for (int j = 0; j < COLS; j++) {
                x[t * COLS + j] = rnd.nextGaussian() * (1 + j % 5);
            }
        }
        float[] h = new float[COLS * COLS];
        for (int i = 0; i < COLS; i++) {
            for (int j = 0; j < COLS; j++) {
                double s = 0;
                for (int t = 0; t < n; t++) {
                    s += x[t * COLS + i] * x[t * COLS + j];
                }
                h[i * COLS + j] = (float) (2 * s / n);
            }
        }
        // A Fisher diagonal for the Fisher-weighted variant: positive, unequal per input.
        float[] fisher = new float[ROWS * COLS];
        for (int i = 0; i < fisher.length; i++) {
            fisher[i] = (float) (rnd.nextDouble() * (1 + i % COLS % 7));
        }
        return new LayerInput("t", w, ROWS, COLS, h, fisher);
    }

    static float[] product(float[] a, float[] b, int rows, int r, int cols) {
        float[] w = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double s = 0;
                for (int k = 0; k < r; k++) {
                    s += (double) a[i * r + k] * b[k * cols + j];
                }
                w[i * cols + j] = (float) s;
            }
        }
        return w;
    }

    private static double distance(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            s += d * d;
        }
        return s;
    }
}
