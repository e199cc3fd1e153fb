package dev.squeeze.engine.compress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.gptq.GptqTensor;
import dev.squeeze.engine.kernels.JavaPackedMatMul;
import dev.squeeze.engine.kernels.PackedMatMul;
import dev.squeeze.engine.kernels.PackedMatrix;
import dev.squeeze.engine.nn.DenseLinear;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Assumptions;

/**
 * The compressed tensors' layers on the packed kernel: RTN at every width and GPTQ (with and without act-order's
 * {@code g_idx}) against the dense layer of their own {@code dequantize()}, reused (longer) buffers, the row split
 * over threads, and the fallbacks. Tolerance as in the kernels' cross-backend test: {@code 1e-6 · Σ|w||x|} per
 * output (float32 sums in another order; u = 6e-8).
 */
class PackedLinearTest {

    static boolean nativeBuilt() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")
                && List.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
    }

    @BeforeEach
    void onlyWithTheNativeKernel() {
        Assumptions.assumeTrue(nativeBuilt(), "no native library is built for this platform");
        assertTrue(PackedLinear.defaultKernel() != null, "the native packed kernel is not in use (see the log)");
    }

    private static float[] gaussian(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    /** Runs {@code op} on an exact and an oversized buffer and checks both against the dense layer of {@code w}. */
    private static void matchesDense(LinearOp op, float[] w, int rows, int cols, String what) {
        int batch = 3;
        float[] x = gaussian(batch * cols + 11, rows * 31L + cols); // longer than this batch: a reused buffer
        float[] want = new float[batch * rows];
        new DenseLinear(rows, cols, w, null).forward(x, batch, want);
        float[] exact = new float[batch * rows];
        op.forward(Arrays.copyOf(x, batch * cols), batch, exact);
        float[] oversized = new float[batch * rows + 5];
        oversized[batch * rows + 4] = 42f;
        op.forward(x, batch, oversized);
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double m = 0;
                for (int c = 0; c < cols; c++) {
                    m += Math.abs(w[r * cols + c] * x[b * cols + c]);
                }
                int i = b * rows + r;
                assertEquals(want[i], exact[i], 1e-6 * m + 1e-30, what + " y[" + b + "][" + r + "]");
                assertEquals(exact[i], oversized[i], 0f, what + ": same values on a longer buffer");
            }
        }
        assertEquals(42f, oversized[batch * rows + 4], "values past the batch are left alone");
    }

    @Test
    void rtnAtEveryWidthRunsPackedAndMatchesItsDequantizedWeights() {
        int rows = 24;
        int cols = 90;
        float[] w = gaussian(rows * cols, 3);
        for (int bits = 2; bits <= 8; bits++) {
            for (boolean symmetric : new boolean[]{true, false}) {
                for (int g : new int[]{0, 16, 32}) {
                    QuantizedMatrix q = RtnQuantizer.quantize("l", w, rows, cols, new RtnSettings(bits, g, symmetric));
                    LinearOp op = q.asLinearOp();
                    PackedLinear p = assertInstanceOf(PackedLinear.class, op, op.describe());
                    assertTrue(op.describe().startsWith(q.describe() + " (packed " + bits + "-bit g"
                            + q.groupSize() + (symmetric ? " sym" : " asym") + " f32 scales; kernel native-"),
                            op.describe());
                    assertEquals(symmetric, p.matrix().symmetric(), "symmetric RTN needs no stored zeros");
                    matchesDense(op, q.dequantize(), rows, cols, q.describe());
                }
            }
        }
    }

    /** A GPTQ tensor as act-order with dynamic groups stores it: codes in original order, g_idx from a permutation. */
    private static GptqTensor actOrder(int rows, int cols, int bits, int gs, int[] gIdxOverride, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] perm = new int[cols];
        for (int i = 0; i < cols; i++) {
            perm[i] = i;
        }
        for (int i = cols - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int groups = (cols + gs - 1) / gs;
        int[] gIdx = new int[cols];
        for (int p = 0; p < cols; p++) {
            gIdx[perm[p]] = p / gs;
        }
        if (gIdxOverride != null) {
            gIdx = gIdxOverride;
        }
        byte[] codes = new byte[rows * cols];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) r.nextInt(1 << bits);
        }
        float[] scales = new float[groups * rows];
        float[] zeros = new float[groups * rows];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = Float.float16ToFloat(Float.floatToFloat16((float) r.nextDouble(0.01, 0.1)));
            zeros[i] = r.nextInt(1 << bits);
        }
        GptqSettings settings = GptqSettings.of(bits, gs).withActOrder(true);
        return GptqTensor.fromParts(new GptqTensor.Parts(rows, cols, settings, codes, scales, zeros, gIdx, perm));
    }

    @Test
    void gptqActOrderRegroupsItsColumnsAndMatchesItsDequantizedWeights() {
        for (int bits : new int[]{2, 3, 4, 6, 8}) {
            int rows = 20;
            int cols = 70; // g16: groups of 16, the last of 6
            GptqTensor t = actOrder(rows, cols, bits, 16, null, bits);
            assertTrue(t.storesGroupIndex());
            LinearOp op = t.asLinearOp();
            PackedLinear p = assertInstanceOf(PackedLinear.class, op, op.describe());
            assertTrue(op.describe().contains("act-order columns regrouped"), op.describe());
            assertEquals(PackedMatrix.ScaleType.F16, p.matrix().scaleType(), "fp16 scales go to the kernel as fp16");
            matchesDense(op, t.dequantize(), rows, cols, t.describe());
        }
    }

    @Test
    void gptqWithoutActOrderAndWithFp32ScalesRunsPacked() {
        int rows = 12;
        int cols = 40;
        SplittableRandom r = new SplittableRandom(8);
        byte[] codes = new byte[rows * cols];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) r.nextInt(8);
        }
        float[] scales = new float[3 * rows];
        float[] zeros = new float[3 * rows];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = (float) r.nextDouble(0.01, 0.1); // not half values
            zeros[i] = 4; // 3-bit symmetric zero
        }
        int[] identity = new int[cols];
        for (int i = 0; i < cols; i++) {
            identity[i] = i;
        }
        GptqSettings settings = GptqSettings.of(3, 16).withSymmetric(true)
                .withScalePrecision(GptqSettings.ScalePrecision.FP32);
        GptqTensor t = GptqTensor.fromParts(new GptqTensor.Parts(rows, cols, settings, codes, scales, zeros, null,
                identity));
        PackedLinear p = assertInstanceOf(PackedLinear.class, t.asLinearOp());
        assertEquals(PackedMatrix.ScaleType.F32, p.matrix().scaleType());
        assertTrue(p.matrix().symmetric(), "zeros equal to 2^(bits-1) are implied");
        assertTrue(!p.describe().contains("regrouped"), p.describe());
        matchesDense(p, t.dequantize(), rows, cols, t.describe());
    }

    /** An index whose groups are not groupSize columns each cannot use a static-group kernel: it runs dense. */
    @Test
    void irregularGroupIndexFallsBackToDense() {
        int cols = 40;
        int[] gIdx = new int[cols];
        for (int c = 0; c < cols; c++) {
            gIdx[c] = c < 10 ? 0 : c < 30 ? 1 : 2; // sizes 10, 20, 10 for g16 (16, 16, 8 expected)
        }
        GptqTensor t = actOrder(8, cols, 4, 16, gIdx, 1);
        LinearOp op = t.asLinearOp();
        assertInstanceOf(FastDenseLinear.class, op);
        assertTrue(op.describe().contains("g_idx groups are not 16 columns each"), op.describe());
    }

    /** Products large enough to split over threads give exactly the single-call values (rows are independent). */
    @Test
    void theRowSplitGivesTheSingleCallValues() {
        int rows = 1000;
        int cols = 1100;
        int batch = 4; // 4.4M multiply-adds: above PackedLinear.PARALLEL_MIN
        assertTrue((long) rows * cols * batch >= PackedLinear.PARALLEL_MIN);
        QuantizedMatrix q = RtnQuantizer.quantize("big", gaussian(rows * cols, 5), rows, cols,
                new RtnSettings(4, 64, false));
        PackedLinear p = assertInstanceOf(PackedLinear.class, q.asLinearOp());
        float[] x = gaussian(batch * cols, 6);
        float[] split = new float[batch * rows];
        p.forward(x, batch, split);
        float[] single = new float[batch * rows];
        p.kernel().multiply(p.matrix(), x, single, batch, 0, rows);
        assertArrayEquals(single, split);
    }

    @Test
    void badCallsAreRejected() {
        QuantizedMatrix q = RtnQuantizer.quantize("l", gaussian(6 * 10, 1), 6, 10, new RtnSettings(3, 4, false));
        LinearOp op = q.asLinearOp();
        assertThrows(IllegalArgumentException.class, () -> op.forward(new float[9], 1, new float[6]));
        assertThrows(IllegalArgumentException.class, () -> op.forward(new float[10], 1, new float[5]));
        assertThrows(IllegalArgumentException.class, () -> op.forward(new float[10], 0, new float[6]));
        PackedMatrix m = q.packed();
        PackedMatMul java = new JavaPackedMatMul();
        assertThrows(IllegalArgumentException.class, () -> new PackedLinear(m, java, new int[]{0, 1}, "w"));
        assertThrows(IllegalArgumentException.class, () -> new PackedLinear(m, java,
                new int[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 8}, "w"));
    }
}
