package dev.squeeze.engine.compress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.compress.lowrank.LowRank;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankTensor;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.SparseGpt;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.SparseTensor;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.Spqr;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.compress.spqr.SpqrTensor;
import dev.squeeze.engine.kernels.SparseKernels;
import dev.squeeze.engine.nn.LinearOp;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Sparse (SparseGPT N:M and unstructured), SpQR and low-rank layers multiply through the sparse kernels
 * ({@code asLinearOp}) and give what their dequantized dense matrix gives, on the Java reference and on the
 * native backend where it is built; batches 1 to 17. The oracle is the dense product of {@code dequantize()}
 * in double, written here.
 */
class CompressedKernelOpsTest {
    /** |op − oracle| ≤ TOL · Σ|w||x|: float32 rounding (about 1e-7 of it here); a wrong weight errs far more. */
    static final double TOL = 1e-5;

    static LayerInput layer(String name, int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * 0.1);
        }
        // A few large weights, so that SpQR finds outliers.
        for (int i = 0; i < w.length; i += 97) {
            w[i] *= 25;
        }
        int tokens = 4 * cols;
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextGaussian() * (1 + (i % cols) % 5));
        }
        HessianAccumulator acc = new HessianAccumulator(cols);
        acc.addBatch(x, tokens, 1);
        return new LayerInput(name, w, rows, cols, acc.hessian());
    }

    static List<SparseKernels.Backend> backends() {
        List<SparseKernels.Backend> b = new ArrayList<>(List.of(SparseKernels.Backend.JAVA));
        if (SparseKernels.preferred() == SparseKernels.Backend.NATIVE) {
            b.add(SparseKernels.Backend.NATIVE);
        }
        return b;
    }

    static void assertMatchesDequantized(CompressedTensor t, Function<SparseKernels.Backend, LinearOp> op, String what) {
        int rows = t.rows(), cols = t.cols();
        float[] w = t.dequantize();
        Random rnd = new Random(rows * 31L + cols);
        for (SparseKernels.Backend backend : backends()) {
            LinearOp linear = op.apply(backend);
            assertEquals(cols, linear.inFeatures());
            assertEquals(rows, linear.outFeatures());
            for (int batch : new int[] {1, 2, 7, 16, 17}) {
                float[] x = new float[batch * cols];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                float[] y = new float[batch * rows];
                linear.forward(x, batch, y);
                for (int b = 0; b < batch; b++) {
                    for (int r = 0; r < rows; r++) {
                        double s = 0, mag = 0;
                        for (int c = 0; c < cols; c++) {
                            s += (double) w[r * cols + c] * x[b * cols + c];
                            mag += Math.abs((double) w[r * cols + c] * x[b * cols + c]);
                        }
                        double err = Math.abs(y[b * rows + r] - s) / Math.max(mag, 1e-30);
                        int bb = b, rr = r;
                        double want = s;
                        assertTrue(err <= TOL, () -> what + " (" + linear.describe() + ") batch " + batch + " y[" + bb
                                + "][" + rr + "] = " + y[bb * rows + rr] + " vs " + want);
                    }
                }
            }
        }
    }

    @Test
    void sparseGptLayersMultiplyThroughTheKernels() {
        Object[][] cases = {
                {SparseGptSettings.of(Sparsity.nOfM(2, 4)), 24, 64},
                {SparseGptSettings.of(Sparsity.nOfM(2, 4)), 16, 70}, // partial last group
                {SparseGptSettings.of(Sparsity.nOfM(4, 8)), 20, 96},
                {SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 4), 16, 64}, // codes: fp32 values
                {SparseGptSettings.of(Sparsity.unstructured(0.9)), 24, 80}, // CSR
                {SparseGptSettings.of(Sparsity.unstructured(0.5)), 24, 80}, // dense fp16
        };
        for (Object[] c : cases) {
            SparseGptSettings s = (SparseGptSettings) c[0];
            LayerInput in = layer("fc", (int) c[1], (int) c[2], 7);
            SparseTensor t = (SparseTensor) new SparseGpt().compress(in, s);
            assertMatchesDequantized(t, t::asLinearOp, s.toString());
            String d = t.asLinearOp(SparseKernels.Backend.JAVA).describe();
            if (s.sparsity().pattern() == Sparsity.Pattern.N_OF_M) {
                assertTrue(d.contains(s.sparsity().n() + ":" + s.sparsity().m() + " kernel"), d);
            } else if (t.density() <= SparseTensor.CSR_MAX_DENSITY) {
                assertTrue(d.contains("CSR kernel"), d);
            } else {
                assertTrue(d.contains("dense") && d.contains("fp16"), d);
            }
        }
    }

    @Test
    void spqrLayersMultiplyThroughTheKernels() {
        for (boolean actOrder : new boolean[] {true, false}) {
            SpqrSettings s = new SpqrSettings(3, 16, 3, 3, 16, 0.2, 1.0, actOrder, 128, false);
            SpqrTensor t = (SpqrTensor) new Spqr().compress(layer("fc", 32, 80, 11), s);
            assertTrue(t.outlierCount() > 0, "the layer has outliers, so the CSR part is exercised");
            assertMatchesDequantized(t, t::asLinearOp, "SpQR act-order " + actOrder);
        }
    }

    @Test
    void lowRankLayersMultiplyThroughTheKernels() {
        LayerInput in = layer("fc", 40, 72, 13);
        for (LowRankSettings s : new LowRankSettings[] {LowRankSettings.of(LowRankVariant.SVD, 8),
                new LowRankSettings(LowRankVariant.SVD, 8, LowRankSettings.DEFAULT_PERCDAMP, RtnSettings.perRow(4),
                        new RtnSettings(4, 16, false))}) {
            LowRankTensor t = (LowRankTensor) new LowRank().compress(in, s);
            assertMatchesDequantized(t, t::asLinearOp, s.toString());
        }
    }
}
