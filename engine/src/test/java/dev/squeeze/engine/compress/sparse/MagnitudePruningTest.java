package dev.squeeze.engine.compress.sparse;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.nn.LinearOp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MagnitudePruningTest {
    private final MagnitudePruning magnitude = new MagnitudePruning();

    private SparseTensor run(float[] w, int rows, int cols, Sparsity sp) {
        return (SparseTensor) magnitude.compress(new LayerInput("m", w, rows, cols, null), MagnitudeSettings.of(sp));
    }

    /** Eight weights tie at |w| = 1: the quantile rule |w| <= q would prune all eight; we prune exactly five. */
    @Test
    void tiesAreBrokenSoTheCountIsExact() {
        float[] w = {1, -1, 1, 1, -1, 1, 1, -1, 2, -3};
        SparseTensor t = run(w, 2, 5, Sparsity.unstructured(0.5));
        boolean[] expected = {true, true, true, true, true, false, false, false, false, false};
        assertArrayEquals(expected, t.prunedMask());
        float[] q = t.dequantize();
        assertArrayEquals(new float[]{0, 0, 0, 0, 0, 1, 1, -1, 2, -3}, q);
    }

    @Test
    void countIsFloorOfTheFractionEvenWhereBinaryFloatingPointFallsShort() {
        float[] w = {5, 4, 3, 2, 1, 6, 7, 8, 9, 10};
        // 0.3 × 10 is 2.9999999999999996 in doubles; 3 weights must go.
        boolean[] pruned = run(w, 1, 10, Sparsity.unstructured(0.3)).prunedMask();
        assertArrayEquals(new boolean[]{false, false, true, true, true, false, false, false, false, false}, pruned);
        assertEquals(7, Synthetic.count(run(w, 2, 5, Sparsity.unstructured(0.75)).prunedMask()));
    }

    /** In every group exactly N survive, and none of the pruned is larger in magnitude than a kept one. */
    @ParameterizedTest
    @CsvSource({"2,4", "1,4", "3,8", "4,8"})
    void nOfMKeepsTheNLargestOfEveryGroup(int n, int m) {
        int rows = 6;
        int cols = 40;
        float[] w = Synthetic.gaussian(new Random(n * 31L + m), rows * cols);
        boolean[] pruned = run(w, rows, cols, Sparsity.nOfM(n, m)).prunedMask();
        for (int r = 0; r < rows; r++) {
            for (int c0 = 0; c0 < cols; c0 += m) {
                int kept = 0;
                float smallestKept = Float.MAX_VALUE;
                float largestPruned = -1;
                for (int c = c0; c < c0 + m; c++) {
                    float a = Math.abs(w[r * cols + c]);
                    if (pruned[r * cols + c]) {
                        largestPruned = Math.max(largestPruned, a);
                    } else {
                        kept++;
                        smallestKept = Math.min(smallestKept, a);
                    }
                }
                assertEquals(n, kept);
                assertTrue(largestPruned <= smallestKept);
            }
        }
    }

    @Test
    void nOfMTiesPruneTheEarlierPositions() {
        float[] w = {1, 1, 1, 1, 2, -2, 2, 0.5f};
        assertArrayEquals(new boolean[]{true, true, false, false, true, false, false, true},
                run(w, 1, 8, Sparsity.nOfM(2, 4)).prunedMask());
    }

    /** Rows of L2 norm 1, 5, 2, 4 (3 × 4 values): 50% removes rows 0 and 2; the rest is a 2 × 4 dense matrix. */
    @Test
    void rowsOfSmallestNormAreRemovedAndStoredAsASmallerMatrix() {
        float[] w = {
                1, 0, 0, 0,
                3, 4, 0, 0,
                0, 2, 0, 0,
                0, 0, 4, 0};
        SparseTensor t = run(w, 4, 4, Sparsity.rows(0.5));
        assertArrayEquals(new float[]{0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0}, t.dequantize());
        assertEquals(2 * 4 * 16 + 4, t.storedBits(), "2 kept rows of 4 fp16 values + a 4-bit row bitmap");
        float[] y = new float[4];
        t.asLinearOp().forward(new float[]{1, 1, 1, 1}, 1, y);
        assertArrayEquals(new float[]{0, 7, 0, 4}, y);
    }

    /** Input channels of L2 norm 3, 2, 0, 5 (over 2 rows): 25% removes channel 2, 50% channels 2 and 1. */
    @Test
    void channelsOfSmallestNormAreRemoved() {
        float[] w = {
                3, 2, 0, 3,
                0, 0, 0, 4};
        SparseTensor quarter = run(w, 2, 4, Sparsity.channels(0.25));
        assertArrayEquals(w, quarter.dequantize());
        assertEquals(2 * 3 * 16 + 4, quarter.storedBits());
        SparseTensor half = run(w, 2, 4, Sparsity.channels(0.5));
        assertArrayEquals(new float[]{3, 0, 0, 3, 0, 0, 0, 4}, half.dequantize());
        float[] y = new float[2];
        half.asLinearOp().forward(new float[]{1, 10, 100, 1000}, 1, y);
        assertArrayEquals(new float[]{3003, 4000}, y);
    }

    @Test
    void keptValuesAreRoundedToFp16UnlessFp32IsAsked() {
        float[] w = {0.1f, 1e-3f, 0.30000001f, 7.123456f};
        float[] fp16 = run(w, 1, 4, Sparsity.unstructured(0.25)).dequantize();
        float[] fp32 = ((SparseTensor) magnitude.compress(new LayerInput("m", w, 1, 4, null),
                new MagnitudeSettings(Sparsity.unstructured(0.25), 32))).dequantize();
        float[] expected16 = new float[4];
        float[] expected32 = new float[4];
        for (int i : new int[]{0, 2, 3}) {
            expected16[i] = Float.float16ToFloat(Float.floatToFloat16(w[i]));
            expected32[i] = w[i];
        }
        assertArrayEquals(expected16, fp16);
        assertArrayEquals(expected32, fp32);
        assertTrue(expected16[0] != w[0], "0.1 is not an fp16 value, so the two differ");
    }

    @Test
    void badSettingsNameTheLayerAndField() {
        LayerInput in = new LayerInput("head", new float[32], 4, 8, null);
        for (MagnitudeSettings s : new MagnitudeSettings[]{
                MagnitudeSettings.of(Sparsity.nOfM(4, 4)), MagnitudeSettings.of(Sparsity.unstructured(1.5)),
                MagnitudeSettings.of(Sparsity.rows(0.1)), new MagnitudeSettings(Sparsity.nOfM(2, 4), 8),
                MagnitudeSettings.of(null)}) {
            SqueezeException e = assertThrows(SqueezeException.class, () -> magnitude.compress(in, s));
            assertTrue(e.getMessage().contains("head") && e.getMessage().matches("(?s).*'(n|sparsity|valueBits)'.*"),
                    e.getMessage());
        }
    }
}
