package dev.squeeze.engine.compress.sparse;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.CompressionMethod;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.QuantizedMatrix;
import dev.squeeze.engine.compress.RtnQuantizer;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.hessian.PreparedHessian;

/**
 * SparseGPT (Frantar and Alistarh 2023; IST-DASLab/sparsegpt {@code fasterprune}), as ALGORITHMS.md
 * "SparseGPT" describes it: {@code U = upper_cholesky(H⁻¹)} ({@link PreparedHessian#gptq}, no act-order),
 * columns in blocks with lazy batch updates; in each block the mask is chosen on the already error-updated
 * weights by the score {@code w² / U[j,j]²} (unstructured: at the block start over the whole block; N:M: at
 * each group start, per row); each column is then stored ({@code q = 0} if pruned, else the value rounded to
 * its storage format: fp16, fp32 or the quantizer's grid) and its error {@code (w − q) / U[j,j]} is spread
 * over the columns to its right.
 *
 * <p>Arithmetic is in double (the reference works in float32); the factor U comes from
 * {@link PreparedHessian}. Differences from the reference are the ones {@link SparseGptSettings.Mode} lists,
 * and are off in {@link SparseGptSettings.Mode#REFERENCE}. The rounding to fp16 of kept values happens inside
 * the loop, so its (small) error is compensated like any quantization error.
 */
public final class SparseGpt implements CompressionMethod {
    @Override
    public String name() {
        return "sparsegpt";
    }

    @Override
    public Class<? extends MethodSettings> settingsType() {
        return SparseGptSettings.class;
    }

    @Override
    public CompressedTensor compress(LayerInput input, MethodSettings settings) {
        SparseGptSettings s = (SparseGptSettings) settings;
        String layer = input.layer();
        int rows = input.rows();
        int cols = input.cols();
        s.validate(layer, rows, cols);
        float[] hessian = input.requireHessian("SparseGPT");
        boolean reference = s.mode() == SparseGptSettings.Mode.REFERENCE;

        PreparedHessian prepared = PreparedHessian.gptq(layer, hessian, cols, s.percdamp(), false);
        double[] u = prepared.u();
        boolean[] dead = prepared.dead();

        float[] w0 = input.weight();
        float[] deadZeroed = w0.clone();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                if (dead[c]) {
                    deadZeroed[r * cols + c] = 0f;
                }
            }
        }
        Grid grid = s.quantized() ? Grid.fit(layer, reference ? w0 : deadZeroed, rows, cols, s) : null;

        double[] w = new double[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = deadZeroed[i];
        }
        boolean[] pruned = new boolean[rows * cols];
        float[] q = new float[rows * cols];
        int[] codes = grid == null ? null : new int[rows * cols];
        Sparsity sp = s.sparsity();
        // In reference mode N:M prunes N of M (topk(prunen)), so it keeps M − N.
        int keep = sp.isNOfM() ? (reference ? sp.m() - sp.n() : sp.n()) : 0;
        int block = Math.min(s.blockSize(), cols); // a block wider than the row is one block (rows · block fits)
        double[] err = new double[rows * block];
        double[] scores = new double[rows * Math.max(block, sp.isNOfM() ? sp.m() : 1)];

        for (int i1 = 0; i1 < cols; i1 += block) {
            int i2 = Math.min(i1 + block, cols);
            int count = i2 - i1;
            if (!sp.isNOfM()) {
                long target = reference
                        ? (long) ((long) rows * count * sp.fraction()) // Python's int(n * s) on a double
                        : Sparsity.prunedCount((long) rows * i2, sp.fraction())
                        - Sparsity.prunedCount((long) rows * i1, sp.fraction());
                pruneBlock(w, u, rows, cols, i1, i2, target, reference, pruned, scores);
            }
            for (int i = i1; i < i2; i++) {
                if (sp.isNOfM() && (i - i1) % sp.m() == 0) {
                    pruneGroups(w, u, rows, cols, i, Math.min(i + sp.m(), cols), keep, pruned, scores);
                }
                if (grid != null) {
                    grid.refitIfGroupStarts(w, cols, i);
                }
                double d = u[i * cols + i];
                int k = i - i1;
                for (int r = 0; r < rows; r++) {
                    int at = r * cols + i;
                    double wv = w[at];
                    float stored;
                    if (pruned[at]) {
                        stored = 0f;
                        if (codes != null) {
                            codes[at] = grid.zeroCode(r, i);
                        }
                    } else if (grid != null) {
                        codes[at] = grid.code(r, i, (float) wv);
                        stored = grid.value(r, i, codes[at]);
                    } else {
                        stored = s.bits() == 16 ? Float.float16ToFloat(Float.floatToFloat16((float) wv)) : (float) wv;
                    }
                    q[at] = stored;
                    double e = (wv - stored) / d;
                    err[r * count + k] = e;
                    if (e != 0) {
                        int urow = i * cols;
                        int wrow = r * cols;
                        for (int j = i + 1; j < i2; j++) {
                            w[wrow + j] -= e * u[urow + j];
                        }
                    }
                }
            }
            lazyUpdate(w, u, err, rows, cols, i1, i2);
        }

        SparseTensor.Encoding enc = grid == null ? SparseTensor.Encoding.floats(s.bits()) : grid.encoding();
        SparseTensor.Layout layout = sp.isNOfM() ? SparseTensor.Layout.N_OF_M : SparseTensor.Layout.UNSTRUCTURED;
        return SparseTensor.of(layout, rows, cols, keep, sp.isNOfM() ? sp.m() : 0, pruned, q, codes, enc,
                s.describe());
    }

    /**
     * Unstructured mask of block {@code [i1, i2)} from the scores {@code w² / d²} over the whole block. Default:
     * prune exactly {@code target}, smallest first, ties by position. Reference: {@code thresh} = the score at
     * sorted position {@code target}, prune every score {@code <= thresh}.
     */
    private static void pruneBlock(double[] w, double[] u, int rows, int cols, int i1, int i2, long target,
                                   boolean reference, boolean[] pruned, double[] scores) {
        int count = i2 - i1;
        int n = rows * count;
        for (int r = 0; r < rows; r++) {
            for (int c = i1; c < i2; c++) {
                double d = u[c * cols + c];
                double v = w[r * cols + c];
                scores[r * count + (c - i1)] = v * v / (d * d);
            }
        }
        double[] sorted = java.util.Arrays.copyOf(scores, n);
        java.util.Arrays.sort(sorted);
        if (reference) {
            double thresh = sorted[(int) target];
            for (int r = 0; r < rows; r++) {
                for (int c = i1; c < i2; c++) {
                    pruned[r * cols + c] = scores[r * count + (c - i1)] <= thresh;
                }
            }
            return;
        }
        if (target == 0) {
            return;
        }
        double thresh = sorted[(int) target - 1];
        long below = 0;
        for (int k = 0; k < n; k++) {
            if (scores[k] < thresh) {
                below++;
            }
        }
        long tiesToPrune = target - below;
        // Position order: row by row, then column, within the block.
        for (int r = 0; r < rows; r++) {
            for (int c = i1; c < i2; c++) {
                double sc = scores[r * count + (c - i1)];
                boolean p = sc < thresh || (sc == thresh && tiesToPrune-- > 0);
                pruned[r * cols + c] = p;
            }
        }
    }

    /**
     * N:M masks of columns {@code [c0, c1)} for every row, on the current weights: keep the {@code keep}
     * highest-scoring (at most the group's length), prune the rest; ties pruned in position order.
     */
    private static void pruneGroups(double[] w, double[] u, int rows, int cols, int c0, int c1, int keep,
                                    boolean[] pruned, double[] scores) {
        int len = c1 - c0;
        int prune = Math.max(0, len - keep);
        int[] order = new int[len];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < len; j++) {
                double d = u[(c0 + j) * cols + c0 + j];
                double v = w[r * cols + c0 + j];
                scores[j] = v * v / (d * d);
            }
            ascendingOrder(scores, len, order);
            for (int j = 0; j < len; j++) {
                pruned[r * cols + c0 + order[j]] = j < prune;
            }
        }
    }

    /**
     * Positions {@code 0..len)} sorted by ascending score, ties by position: an insertion sort, since groups are
     * short (M ≤ 64) and this runs once per row and group.
     */
    static void ascendingOrder(double[] scores, int len, int[] order) {
        for (int j = 0; j < len; j++) {
            int k = j;
            while (k > 0 && scores[order[k - 1]] > scores[j]) {
                order[k] = order[k - 1];
                k--;
            }
            order[k] = j;
        }
    }

    /** {@code W[:, i2:] -= Err1 · U[i1:i2, i2:]}: the one GEMM per block. */
    private static void lazyUpdate(double[] w, double[] u, double[] err, int rows, int cols, int i1, int i2) {
        if (i2 >= cols) {
            return;
        }
        int count = i2 - i1;
        for (int r = 0; r < rows; r++) {
            int wrow = r * cols;
            for (int k = 0; k < count; k++) {
                double e = err[r * count + k];
                if (e == 0) {
                    continue;
                }
                int urow = (i1 + k) * cols;
                for (int j = i2; j < cols; j++) {
                    w[wrow + j] -= e * u[urow + j];
                }
            }
        }
    }

    /**
     * The joint-quantization grid: GPTQ's asymmetric quantizer ({@link RtnQuantizer}: range widened to include
     * 0, zero point rounded, half-to-even), in float32 like the reference's {@code quantize}. Per row, the
     * parameters are fitted once up front on the unpruned W (as the reference does). With groups (our
     * extension; the reference has none), each group's parameters are fitted when the loop reaches its first
     * column, on the current, error-updated weights of the group (GPTQ's dynamic groups, without GPTQ's
     * mid-block quirk: groups never straddle a block, so every value read is up to date). Fitting groups on the
     * original W instead does badly here: pruning moves the kept weights far from their original range.
     */
    private static final class Grid {
        private final String layer;
        private final int bits;
        private final int groupSize;
        private final int groupsPerRow;
        /** Groups refitted as the loop reaches them (a group size was given), or one per-row fit up front. */
        private final boolean dynamic;
        private final int rows;
        private final float[] scales;
        private final float[] zeros;

        private Grid(String layer, int bits, int groupSize, int groupsPerRow, boolean dynamic, int rows, float[] scales,
                     float[] zeros) {
            this.layer = layer;
            this.dynamic = dynamic;
            this.bits = bits;
            this.groupSize = groupSize;
            this.groupsPerRow = groupsPerRow;
            this.rows = rows;
            this.scales = scales;
            this.zeros = zeros;
        }

        static Grid fit(String layer, float[] w, int rows, int cols, SparseGptSettings s) {
            if (s.groupSize() > 0) {
                // A group wider than the row is one dynamic group, fitted at column 0 like any other.
                int g = Math.min(s.groupSize(), cols);
                int gpr = Math.ceilDiv(cols, g);
                return new Grid(layer, s.bits(), g, gpr, true, rows, new float[rows * gpr], new float[rows * gpr]);
            }
            QuantizedMatrix fitted = RtnQuantizer.quantize(layer, w, rows, cols, RtnSettings.perRow(s.bits()));
            return new Grid(layer, s.bits(), cols, 1, false, rows, fitted.scales(), fitted.zeros());
        }

        /** Fits the group that starts at column {@code c0}, if one does, on the current weights. */
        void refitIfGroupStarts(double[] w, int cols, int c0) {
            // Not "groupsPerRow == 1": a group as wide as the row must still be fitted (it was not: NaN weights).
            if (!dynamic || c0 % groupSize != 0) {
                return;
            }
            int c1 = Math.min(cols, c0 + groupSize);
            int width = c1 - c0;
            float[] slice = new float[rows * width];
            for (int r = 0; r < rows; r++) {
                for (int c = c0; c < c1; c++) {
                    slice[r * width + c - c0] = (float) w[r * cols + c];
                }
            }
            QuantizedMatrix fitted = RtnQuantizer.quantize(layer, slice, rows, width, RtnSettings.perRow(bits));
            float[] sc = fitted.scales();
            float[] ze = fitted.zeros();
            int g = c0 / groupSize;
            for (int r = 0; r < rows; r++) {
                scales[r * groupsPerRow + g] = sc[r];
                zeros[r * groupsPerRow + g] = ze[r];
            }
        }

        private int group(int r, int c) {
            return r * groupsPerRow + c / groupSize;
        }

        int code(int r, int c, float x) {
            int g = group(r, c);
            int maxq = (1 << bits) - 1;
            float v = (float) Math.rint(x / scales[g]) + zeros[g];
            return (int) Math.max(0, Math.min(maxq, v));
        }

        /** The code of an exact 0: the zero point, an integer inside [0, maxq] because the range includes 0. */
        int zeroCode(int r, int c) {
            return (int) zeros[group(r, c)];
        }

        float value(int r, int c, int code) {
            int g = group(r, c);
            return scales[g] * (code - zeros[g]);
        }

        SparseTensor.Encoding encoding() {
            return new SparseTensor.Encoding(bits, groupSize, groupsPerRow, scales, zeros);
        }
    }
}
