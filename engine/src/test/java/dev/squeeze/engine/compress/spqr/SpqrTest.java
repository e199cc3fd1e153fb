package dev.squeeze.engine.compress.spqr;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.testing.Npz;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SpQR against the original Vahe1994/SpQR code on the shared reference cases, and its bad-input errors. */
class SpqrTest {
    private static final Logger LOG = LoggerFactory.getLogger(SpqrTest.class);

    /** One reference case with our run on its W and H. */
    private record Case(String name, Map<String, Npz.Array> npz, JsonNode summary, int rows, int cols, float[] w,
                        float[] x, SpqrSettings settings) {
        static Case load(String name) throws Exception {
            Map<String, Npz.Array> c = Npz.read(SharedData.require("reference/cases/" + name + ".npz"));
            JsonNode index = new ObjectMapper().readTree(SharedData.require("reference/INDEX.json").toFile());
            JsonNode summary = null;
            for (JsonNode k : index.get("cases")) {
                if (k.get("name").asText().equals(name)) {
                    summary = k.get("summary");
                }
            }
            JsonNode root = new ObjectMapper().readTree(c.get("settings_json_utf8").utf8());
            JsonNode p = root.has("params") ? root.get("params") : root;
            assertTrue(p.get("round_zero").isNull() && !p.get("sym").asBoolean() && !p.get("simplified_outliers").asBoolean(),
                    name + ": a configuration this test does not map");
            SpqrSettings s = new SpqrSettings(p.get("wbits").asInt(), p.get("groupsize").asInt(),
                    p.get("qq_scale_bits").asInt(), p.get("qq_zero_bits").asInt(), p.get("qq_groupsize").asInt(),
                    p.get("outlier_relative_threshold").asDouble(), p.get("percdamp").asDouble(),
                    "act_order".equals(p.get("permutation_order").asText()), p.get("blocksize").asInt(), true);
            int[] shape = c.get("W").shape();
            return new Case(name, c, summary, shape[0], shape[1], c.get("W").floats(), c.get("X").floats(), s);
        }

        Spqr.Result run(SpqrSettings s) {
            return Spqr.run(new LayerInput(name, w, rows, cols, npz.get("H").floats()), s);
        }

        /** {@code ||X Wᵀ − X Qᵀ||²_F} over the case's calibration tokens, in double. */
        double outErr(float[] q) {
            int ntok = x.length / cols;
            double[] diff = new double[w.length];
            for (int i = 0; i < w.length; i++) {
                diff[i] = (double) w[i] - q[i];
            }
            double sum = 0;
            for (int t = 0; t < ntok; t++) {
                for (int r = 0; r < rows; r++) {
                    double y = 0;
                    for (int c = 0; c < cols; c++) {
                        y += x[t * cols + c] * diff[r * cols + c];
                    }
                    sum += y * y;
                }
            }
            return sum;
        }
    }

    private static double relFrobenius(float[] ours, float[] ref) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            double dd = (double) ours[i] - ref[i];
            num += dd * dd;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    /**
     * In reference precision, our SpQR on the reference's W and H reproduces its dequantized weights, codes,
     * outliers, statistics, threshold, average bits (its own formula) and layer error.
     */
    @ParameterizedTest
    @ValueSource(strings = {"spqr_w3_act", "spqr_w3_id", "spqr_w4_act", "spqr_w4_id", "spqr_w3_act_in200"})
    void matchesTheReferenceImplementation(String name) throws Exception {
        Case c = Case.load(name);
        Spqr.Result result = c.run(c.settings);
        SpqrTensor t = result.tensor();
        float[] q = t.dequantize();
        assertArrayEquals(result.weights(), q, name + ": the tensor must dequantize to exactly what the run computed");

        // Permutation and threshold.
        assertArrayEquals(c.npz.get("perm").ints(), t.perm(), name + ": processing order");
        double refThreshold = c.summary.get("unstructured_outlier_threshold").asDouble();
        assertEquals(refThreshold, t.outlierThreshold(), 1e-5 * refThreshold, name + ": outlier threshold");

        // Dequantized weights: the fidelity bar (1e-4 relative Frobenius).
        double rel = relFrobenius(q, c.npz.get("Q").floats());
        assertTrue(rel < 1e-4, name + ": relative Frobenius error " + rel);

        // Codes (processed order) and second-level codes.
        int[] refCodes = c.npz.get("codes_perm").ints();
        int same = 0;
        for (int r = 0; r < c.rows; r++) {
            for (int p = 0; p < c.cols; p++) {
                same += t.code(r, p) == refCodes[r * c.cols + p] ? 1 : 0;
            }
        }
        double codesSame = same / (double) refCodes.length;
        int[] refScaleCodes = c.npz.get("scale_codes").ints();
        int[] refZeroCodes = c.npz.get("zero_codes").ints();
        float[] refScales = c.npz.get("scales_deq").floats();
        float[] refZeros = c.npz.get("zeros_deq").floats();
        assertEquals(t.groups() * c.rows, refScaleCodes.length, name + ": number of groups");
        int statSame = 0;
        float[] scales = new float[refScales.length];
        float[] zeros = new float[refZeros.length];
        for (int g = 0; g < t.groups(); g++) {
            for (int r = 0; r < c.rows; r++) {
                int i = g * c.rows + r;
                statSame += (t.scaleCode(g, r) == refScaleCodes[i] ? 1 : 0) + (t.zeroCode(g, r) == refZeroCodes[i] ? 1 : 0);
                scales[i] = t.scale(g, r);
                zeros[i] = t.zero(g, r);
            }
        }
        double statsSame = statSame / (2.0 * refScaleCodes.length);

        // Outliers: the same count, the same positions.
        int[] refMask = c.npz.get("outlier_mask_perm").ints();
        int refOutliers = 0;
        int maskSame = 0;
        for (int r = 0; r < c.rows; r++) {
            for (int p = 0; p < c.cols; p++) {
                refOutliers += refMask[r * c.cols + p];
                maskSame += (refMask[r * c.cols + p] == 1) == t.isOutlier(r, p) ? 1 : 0;
            }
        }
        assertEquals(c.summary.get("outliers").asInt(), refOutliers, name + ": the npz and INDEX.json disagree");

        // Average bits by the reference's formula, unrounded from its own outlier count; INDEX.json rounds to 0.01.
        double g = c.settings.groupSize();
        double refAvg = c.settings.bits() + (c.settings.qqScaleBits() + c.settings.qqZeroBits()) / g
                + 2.0 * (16 + 16) / (g * c.settings.qqGroupSize()) + 32.0 * refOutliers / ((double) c.rows * c.cols);
        double indexAvg = c.summary.get("avg_bits").asDouble();

        double outErr = c.outErr(q);
        double refOutErr = c.npz.get("out_err").doubles()[0];
        LOG.info(String.format(Locale.ROOT, "%s: rel.Frob %.2e, codes identical %.4f%%, stat codes identical %.4f%%,"
                        + " outliers %d/%d (mask identical %.4f%%), avg bits ref formula %.6f/%.6f (INDEX %.2f),"
                        + " our count %.6f (%d bits), out_err %.6f/%.6f (rel diff %.2e), scales_deq rel %.1e,"
                        + " zeros_deq rel %.1e",
                name, rel, 100 * codesSame, 100 * statsSame, t.outlierCount(), refOutliers,
                100.0 * maskSame / refMask.length, t.referenceAverageBits(), refAvg, indexAvg, t.bitsPerWeight(),
                t.storedBits(), outErr, refOutErr, Math.abs(outErr - refOutErr) / refOutErr,
                relFrobenius(scales, refScales), relFrobenius(zeros, refZeros)));

        assertEquals(refOutliers, t.outlierCount(), name + ": outlier count");
        assertEquals(refMask.length, maskSame, name + ": outlier positions");
        assertEquals(refAvg, t.referenceAverageBits(), 1e-12, name + ": average bits, reference formula");
        assertEquals(indexAvg, Math.round(t.referenceAverageBits() * 100) / 100.0, 1e-9, name + ": INDEX avg_bits");
        assertTrue(codesSame > 0.999, name + ": identical codes " + codesSame);
        assertTrue(statsSame > 0.999, name + ": identical second-level codes " + statsSame);
        assertEquals(refOutErr, outErr, 1e-3 * refOutErr, name + ": layer error out_err");
        assertTrue(relFrobenius(scales, refScales) < 1e-5 && relFrobenius(zeros, refZeros) < 1e-5,
                name + ": dequantized statistics");
    }

    /**
     * The default stores outliers and second-level statistics in fp16 and lets the algorithm continue with the
     * rounded values. Close to the reference, not identical; the figures are logged.
     */
    @ParameterizedTest
    @ValueSource(strings = {"spqr_w3_act", "spqr_w4_id", "spqr_w3_act_in200"})
    void fp16StorageStaysCloseToTheReference(String name) throws Exception {
        Case c = Case.load(name);
        SpqrSettings fp16 = c.settings.withReferencePrecision(false);
        Spqr.Result result = c.run(fp16);
        SpqrTensor t = result.tensor();
        float[] q = t.dequantize();
        assertArrayEquals(result.weights(), q, name + ": the tensor must dequantize to exactly what the run computed");
        for (int r = 0; r < c.rows; r++) {
            for (int p = 0; p < c.cols; p++) {
                if (t.isOutlier(r, p)) {
                    float v = q[r * c.cols + t.perm()[p]];
                    assertEquals(v, Float.float16ToFloat(Float.floatToFloat16(v)), name + ": outliers are fp16 values");
                }
            }
        }
        double rel = relFrobenius(q, c.npz.get("Q").floats());
        double outErr = c.outErr(q);
        double refOutErr = c.npz.get("out_err").doubles()[0];
        int refOutliers = c.summary.get("outliers").asInt();
        Spqr.Result f32 = c.run(c.settings);
        LOG.info(String.format(Locale.ROOT, "%s fp16: rel.Frob vs reference %.2e, outliers %d/%d, out_err %.4f vs %.4f"
                        + " (%+.3f%%), stored bits %d (%.4f/weight) vs float32 sidecars %d (%.4f/weight)",
                name, rel, t.outlierCount(), refOutliers, outErr, refOutErr, 100 * (outErr - refOutErr) / refOutErr,
                t.storedBits(), t.bitsPerWeight(), f32.tensor().storedBits(), f32.tensor().bitsPerWeight()));
        // fp16 rounding moves statistics by ≲ 2⁻¹¹ relative, so the run stays near the reference's.
        assertTrue(rel < 0.05, name + ": relative difference " + rel);
        assertTrue(Math.abs(outErr - refOutErr) < 0.05 * refOutErr, name + ": out_err " + outErr + " vs " + refOutErr);
        assertTrue(Math.abs(t.outlierCount() - refOutliers) <= Math.max(3, refOutliers / 20),
                name + ": outliers " + t.outlierCount() + " vs " + refOutliers);
        assertTrue(t.storedBits() < f32.tensor().storedBits(), name + ": fp16 sidecars must take fewer bits");
    }

    /** Every stored bit, counted from the layout by hand for a small layer with act-order. */
    @Test
    void storedBitsCountEveryPart() {
        int rows = 32;
        int cols = 40; // groups of 16: 16, 16 and a partial 8
        Random rnd = new Random(7);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * (i % 13 == 0 ? 8 : 1);
        }
        float[] h = randomHessian(cols, 200, rnd);
        for (boolean refPrecision : new boolean[]{false, true}) {
            SpqrSettings s = SpqrSettings.recommended(3).withReferencePrecision(refPrecision);
            SpqrTensor t = Spqr.run(new LayerInput("fc", w, rows, cols, h), s).tensor();
            int n = t.outlierCount();
            assertTrue(n > 0, "the heavy weights should give outliers");
            long v = refPrecision ? 32 : 16;
            long expected = rows * cols * 3L             // codes
                    + rows * 3L * (3 + 3)                // 3 groups of first-level statistics as 3-bit codes
                    + 3L * (rows / 16) * 4 * v           // per group and 16 rows: scale and zero of scale and zero
                    + n * (v + 16)                       // outlier value + 16-bit column index
                    + (rows + 1) * 32L                   // CSR row pointers
                    + cols * 16L;                        // the act-order permutation
            assertEquals(expected, t.storedBits());
            assertEquals(3 + 6 / 16.0 + 64 / 256.0 + 32.0 * n / (rows * cols), t.referenceAverageBits(), 1e-12);
        }
        // Identity order stores no permutation.
        SpqrSettings id = new SpqrSettings(3, 16, 3, 3, 16, 0.2, 1.0, false, 128, false);
        SpqrTensor t = Spqr.run(new LayerInput("fc", w, rows, cols, h), id).tensor();
        assertEquals(rows * cols * 3L + rows * 3L * 6 + 3L * 2 * 4 * 16 + t.outlierCount() * 32L + (rows + 1) * 32L,
                t.storedBits());
    }

    /** Without outliers, 8-bit SpQR of a smooth matrix is close to it, and the linear op computes with it. */
    @Test
    void noOutlierModeAndLinearOp() {
        int rows = 16;
        int cols = 48;
        Random rnd = new Random(3);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        SpqrSettings s = new SpqrSettings(8, 16, 8, 8, 16, Double.POSITIVE_INFINITY, 1.0, true, 128, false);
        SpqrTensor t = Spqr.run(new LayerInput("fc", w, rows, cols, randomHessian(cols, 100, rnd)), s).tensor();
        assertEquals(0, t.outlierCount());
        float[] q = t.dequantize();
        assertTrue(relFrobenius(q, w) < 0.02, "8-bit error " + relFrobenius(q, w));
        float[] x = new float[cols];
        x[5] = 1f;
        float[] y = new float[rows];
        t.asLinearOp().forward(x, 1, y);
        for (int r = 0; r < rows; r++) {
            assertEquals(q[r * cols + 5], y[r], 1e-6f);
        }
    }

    /** Inputs that never fire (diag H = 0) are zeroed before quantization: their weights cannot matter. */
    @Test
    void deadInputsDoNotInfluenceTheResult() {
        int rows = 16;
        int cols = 32;
        Random rnd = new Random(11);
        float[] h = randomHessian(cols, 100, rnd);
        for (int i = 0; i < cols; i++) {
            h[3 * cols + i] = 0; // input 3 is dead
            h[i * cols + 3] = 0;
        }
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        float[] w2 = w.clone();
        for (int r = 0; r < rows; r++) {
            w2[r * cols + 3] = 100f * (r + 1);
        }
        SpqrSettings s = SpqrSettings.recommended(4);
        float[] a = Spqr.run(new LayerInput("fc", w, rows, cols, h), s).tensor().dequantize();
        float[] b = Spqr.run(new LayerInput("fc", w2, rows, cols, h), s).tensor().dequantize();
        assertArrayEquals(a, b);
    }

    /**
     * Sixteen rows with nearly equal scales give a second-level step far below fp16's range and a zero point
     * beyond it; fp16 storage must widen the step rather than store 0 or infinity.
     */
    @Test
    void degenerateSecondLevelStatisticsStayWithinFp16() {
        int rows = 16;
        int cols = 16;
        Random rnd = new Random(5);
        float[] base = new float[cols];
        for (int c = 0; c < cols; c++) {
            base[c] = 0.3f + (float) rnd.nextDouble();
        }
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                w[r * cols + c] = base[c] * (1 + 1e-7f * r);
            }
        }
        float[] h = randomHessian(cols, 50, rnd);
        SpqrSettings s = new SpqrSettings(4, 16, 3, 3, 16, Double.POSITIVE_INFINITY, 1.0, false, 128, false);
        SpqrTensor t = Spqr.run(new LayerInput("fc", w, rows, cols, h), s).tensor();
        float[] q = t.dequantize();
        for (float v : q) {
            assertTrue(Float.isFinite(v), "non-finite weight " + v);
        }
        for (int r = 0; r < rows; r++) {
            assertTrue(t.scale(0, r) > 0 && Float.isFinite(t.zero(0, r)), "row " + r);
        }
        // 4-bit over a range of ~1: errors of about a step, not more.
        assertTrue(relFrobenius(q, w) < 0.1, "relative error " + relFrobenius(q, w));
    }

    @Test
    void badSettingsNameTheLayerAndFieldBeforeAnyWork() {
        float[] w = new float[32 * 64];
        float[] h = null; // never reached: validation comes first
        SpqrSettings ok = SpqrSettings.recommended(3);
        assertField("bits", () -> run(w, 32, 64, h, with(ok, "bits", 1)));
        assertField("bits", () -> run(w, 32, 64, h, with(ok, "bits", 9)));
        assertField("qqScaleBits", () -> run(w, 32, 64, h, with(ok, "qqScaleBits", 1)));
        assertField("qqZeroBits", () -> run(w, 32, 64, h, with(ok, "qqZeroBits", 9)));
        assertField("groupSize", () -> run(w, 32, 64, h, with(ok, "groupSize", 0)));
        assertField("groupSize", () -> run(w, 32, 64, h, with(ok, "groupSize", -16)));
        assertField("qqGroupSize", () -> run(w, 32, 64, h, with(ok, "qqGroupSize", 0)));
        assertField("qqGroupSize", () -> run(new float[30 * 64], 30, 64, h, ok)); // 30 rows, groups of 16
        assertField("blockSize", () -> run(w, 32, 64, h, with(ok, "blockSize", 100)));
        assertField("outlierThreshold", () -> run(w, 32, 64, h, new SpqrSettings(3, 16, 3, 3, 16, -0.2, 1, true, 128, false)));
        assertField("outlierThreshold", () -> run(w, 32, 64, h, new SpqrSettings(3, 16, 3, 3, 16, Double.NaN, 1, true, 128, false)));
        assertField("percdamp", () -> run(w, 32, 64, h, new SpqrSettings(3, 16, 3, 3, 16, 0.2, -1, true, 128, false)));
        // Valid settings without a Hessian: a clear error, not a NullPointerException.
        SqueezeException e = assertThrows(SqueezeException.class, () -> run(w, 32, 64, null, ok));
        assertTrue(e.getMessage().contains("proj_q") && e.getMessage().contains("SpQR"), e.getMessage());
    }

    private static void assertField(String field, org.junit.jupiter.api.function.Executable call) {
        SqueezeException e = assertThrows(SqueezeException.class, call);
        assertTrue(e.getMessage().contains("proj_q") && e.getMessage().contains("'" + field + "'"), e.getMessage());
    }

    private static void run(float[] w, int rows, int cols, float[] h, SpqrSettings s) {
        new Spqr().compress(new LayerInput("proj_q", w, rows, cols, h), s);
        // Methods.compress validates before calling compress; Spqr.run validates again for direct callers.
    }

    private static SpqrSettings with(SpqrSettings s, String field, int v) {
        return new SpqrSettings(field.equals("bits") ? v : s.bits(), field.equals("groupSize") ? v : s.groupSize(),
                field.equals("qqScaleBits") ? v : s.qqScaleBits(), field.equals("qqZeroBits") ? v : s.qqZeroBits(),
                field.equals("qqGroupSize") ? v : s.qqGroupSize(), s.outlierThreshold(), s.percdamp(), s.actOrder(),
                field.equals("blockSize") ? v : s.blockSize(), s.referencePrecision());
    }

    /** A Hessian accumulated the reference way from random inputs with unequal column scales. */
    private static float[] randomHessian(int cols, int tokens, Random rnd) {
        HessianAccumulator acc = new HessianAccumulator(cols);
        float[] x = new float[tokens * cols];
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < cols; c++) {
                x[t * cols + c] = (float) (rnd.nextGaussian() * (1 + c % 5));
            }
        }
        acc.addBatch(x, tokens, 1);
        return acc.hessian();
    }
}
