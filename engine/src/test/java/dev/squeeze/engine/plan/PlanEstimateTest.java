package dev.squeeze.engine.plan;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.compress.spqr.SpqrTensor;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlanEstimateTest {
    /**
     * SpQR's outlier count depends on the weights; the estimate assumes 1% of them. Gaussian weights have almost
     * none, so the estimate is high by up to 1% × (16 + 16 or 32) bits per weight: 0.32 or 0.48 bits on 4.5 to
     * 5.2, under 10% of the size.
     */
    private static final double SPQR_TOLERANCE = 0.10;

    private static LayerInput layer(int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        HessianAccumulator acc = new HessianAccumulator(cols);
        int tokens = 4 * cols;
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        acc.addBatch(x, tokens, 1);
        return new LayerInput("t", w, rows, cols, acc.hessian());
    }

    private static void exactly(MethodSettings s, int rows, int cols) {
        CompressedTensor real = Methods.compress(layer(rows, cols, rows * 31L + cols), s);
        assertTrue(PlanEstimate.exact(s), s.describe());
        assertEquals(real.storedBits(), PlanEstimate.bits(rows, cols, s), s.describe() + " on " + rows + " × " + cols);
    }

    @Test
    void rtnGptqLowRankAndMagnitudeAreExactOnRealCompressions() {
        List<MethodSettings> settings = List.of(
                RtnSettings.perRow(4), new RtnSettings(3, 16, true), new RtnSettings(8, 128, false),
                GptqSettings.of(4, 16), GptqSettings.of(3, 0).withSymmetric(true),
                GptqSettings.of(4, 16).withActOrder(true), GptqSettings.of(4, 16).withActOrder(true).withStaticGroups(true),
                GptqSettings.reference(2, 32, false, true, false),
                LowRankSettings.of(LowRankVariant.SVD, 3),
                LowRankSettings.of(LowRankVariant.WHITENED, 2).withQuantization(new RtnSettings(4, 0, false), new RtnSettings(8, 16, true)),
                MagnitudeSettings.of(Sparsity.unstructured(0.5)), MagnitudeSettings.of(Sparsity.unstructured(0.9)),
                MagnitudeSettings.of(Sparsity.nOfM(2, 4)), new MagnitudeSettings(Sparsity.nOfM(3, 8), 32),
                MagnitudeSettings.of(Sparsity.rows(0.25)), MagnitudeSettings.of(Sparsity.channels(0.3)),
                SparseGptSettings.of(Sparsity.unstructured(0.5)), SparseGptSettings.of(Sparsity.nOfM(2, 4)),
                SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 4),
                new SparseGptSettings(Sparsity.unstructured(0.6), 3, 16, 0.01, 128, SparseGptSettings.Mode.DEFAULT),
                SparseGptSettings.of(Sparsity.nOfM(1, 4)).withMode(SparseGptSettings.Mode.REFERENCE),
                new SpqrSettings(3, 16, 3, 3, 16, Double.POSITIVE_INFINITY, 1.0, true, 128, false));
        for (MethodSettings s : settings) {
            exactly(s, 32, 48);
            exactly(s, 48, 37); // ragged groups and N:M padding
        }
    }

    @Test
    void spqrOutliersAreEstimatedWithinTolerance() {
        for (SpqrSettings s : List.of(SpqrSettings.recommended(4), SpqrSettings.recommended(3).withReferencePrecision(true))) {
            SpqrTensor real = (SpqrTensor) Methods.compress(layer(64, 96, 5), s);
            long estimate = PlanEstimate.bits(64, 96, s);
            assertFalse(PlanEstimate.exact(s));
            // Apart from the outliers, the count is the tensor's: 1% of 6144 weights is 61 assumed outliers, each a
            // value (16 or 32 bits) and a 16-bit column index.
            long perOutlier = (s.referencePrecision() ? 32 : 16) + 16;
            assertEquals(real.storedBits(), estimate - (61L - real.outlierCount()) * perOutlier, s.describe());
            double off = Math.abs(estimate - real.storedBits()) / (double) real.storedBits();
            assertTrue(off < SPQR_TOLERANCE, s.describe() + ": estimate " + estimate + " vs " + real.storedBits());
        }
    }

    @Test
    void hardCountedFigures() {
        // RTN 4-bit asymmetric g128 on 256 × 784: 7 groups per row, each a 32-bit scale and a 4-bit zero.
        assertEquals(256L * 784 * 4 + 256L * 7 * 36, PlanEstimate.bits(256, 784, new RtnSettings(4, 128, false)));
        // GPTQ 4-bit g128 act-order with dynamic groups: fp16 scale + 4-bit zero per group, 32-bit g_idx per column.
        assertEquals(256L * 784 * 4 + 256L * 7 * 20 + 32L * 784,
                PlanEstimate.bits(256, 784, GptqSettings.of(4, 128).withActOrder(true)));
        // 2:4 in fp16: per group of 4, two 16-bit values and a 3-bit rank (C(4,2) = 6 choices).
        assertEquals(10L * 32 * (32 + 3), PlanEstimate.bits(10, 128, MagnitudeSettings.of(Sparsity.nOfM(2, 4))));
        // Low rank 8 in fp16 on 128 × 256: A is 128 × 8, B is 8 × 256.
        assertEquals(16L * 8 * (128 + 256), PlanEstimate.bits(128, 256, LowRankSettings.of(LowRankVariant.SVD, 8)));
        assertEquals(3, PlanEstimate.rankBits(2, 4));
        assertEquals(7, PlanEstimate.rankBits(4, 8)); // C(8,4) = 70 → 7 bits
    }

    @Test
    void summaryCountsCompressedLinearsAndKeepsTheRestAsStored() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("fc1.weight", Tensor.of("fc1.weight", new float[64 * 32], 64, 32));
        tensors.put("fc1.bias", Tensor.of("fc1.bias", new float[64], 64));
        tensors.put("fc2.weight", Tensor.of("fc2.weight", new float[10 * 64], 10, 64));
        Model model = new Model("m", "mem", "test", "mlp", "h", tensors, Map.of());
        // All float32 as stored: (64·32 + 64 + 10·64) · 4 bytes.
        long file = (64L * 32 + 64 + 640) * 4;
        PlanEstimate.Summary none = PlanEstimate.summary(model, Map.of());
        assertNull(none.bitsPerWeight());
        assertEquals(file, none.modelBytes());
        assertEquals(file, none.fileBytes());
        assertEquals((64L * 32 + 64 + 640) * 2, none.fp16Bytes());

        PlanEstimate.Summary s = PlanEstimate.summary(model, Map.of("fc1", new RtnSettings(8, 0, true)));
        long fc1Bits = 64L * 32 * 8 + 64L * 32; // codes + one float32 scale per row, symmetric: no zero
        assertEquals(fc1Bits / (64.0 * 32), s.bitsPerWeight(), 1e-12);
        assertEquals(file - 64L * 32 * 4 + fc1Bits / 8, s.modelBytes());
        assertEquals(64L * 32, s.compressedWeights());
    }
}
