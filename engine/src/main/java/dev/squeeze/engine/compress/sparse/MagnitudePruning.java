package dev.squeeze.engine.compress.sparse;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.CompressionMethod;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;

import java.util.Arrays;

/**
 * Magnitude pruning, the data-free baseline of the SparseGPT paper: zero the weights of smallest |w|.
 * <ul>
 *   <li>unstructured: per matrix, exactly {@code floor(rows × cols × s)} weights. The usual recipe,
 *       {@code |w| <= quantile}, over-prunes when several weights tie at the threshold; here ties are broken
 *       by position (row-major, first ones pruned first), so the count is always exact;</li>
 *   <li>N:M: in every group of M consecutive columns of a row keep the N largest |w| (ties: earlier pruned);</li>
 *   <li>rows / channels: remove {@code floor(units × s)} whole output rows or input channels of smallest L2
 *       norm (ties: lower index pruned first).</li>
 * </ul>
 * Kept values keep their original value, rounded to the storage precision.
 */
public final class MagnitudePruning implements CompressionMethod {
    @Override
    public String name() {
        return "magnitude";
    }

    @Override
    public Class<? extends MethodSettings> settingsType() {
        return MagnitudeSettings.class;
    }

    @Override
    public CompressedTensor compress(LayerInput input, MethodSettings settings) {
        MagnitudeSettings s = (MagnitudeSettings) settings;
        int rows = input.rows();
        int cols = input.cols();
        s.validate(input.layer(), rows, cols);
        float[] w = input.weight();
        Sparsity sp = s.sparsity();
        boolean[] pruned = switch (sp.pattern()) {
            case UNSTRUCTURED -> unstructured(w, Sparsity.prunedCount((long) rows * cols, sp.fraction()));
            case N_OF_M -> nOfM(w, rows, cols, sp.n(), sp.m());
            case ROWS -> structured(w, rows, cols, true, Sparsity.prunedCount(rows, sp.fraction()));
            case CHANNELS -> structured(w, rows, cols, false, Sparsity.prunedCount(cols, sp.fraction()));
        };
        SparseTensor.Layout layout = switch (sp.pattern()) {
            case UNSTRUCTURED -> SparseTensor.Layout.UNSTRUCTURED;
            case N_OF_M -> SparseTensor.Layout.N_OF_M;
            case ROWS -> SparseTensor.Layout.ROWS;
            case CHANNELS -> SparseTensor.Layout.CHANNELS;
        };
        return SparseTensor.of(layout, rows, cols, sp.n(), sp.m(), pruned, w, null,
                SparseTensor.Encoding.floats(s.valueBits()), s.describe());
    }

    /**
     * The {@code count} smallest |w|, ties by position. A non-negative float's bit pattern orders like its
     * value, so {@code (bits(|w|) << 32) | index} sorts by magnitude, then position, as primitive longs.
     */
    static boolean[] unstructured(float[] w, long count) {
        long[] keys = new long[w.length];
        for (int i = 0; i < w.length; i++) {
            keys[i] = ((long) Float.floatToIntBits(Math.abs(w[i])) << 32) | i;
        }
        Arrays.sort(keys);
        boolean[] pruned = new boolean[w.length];
        for (int k = 0; k < count; k++) {
            pruned[(int) keys[k]] = true;
        }
        return pruned;
    }

    static boolean[] nOfM(float[] w, int rows, int cols, int n, int m) {
        boolean[] pruned = new boolean[w.length];
        double[] scores = new double[m];
        int[] order = new int[m];
        for (int r = 0; r < rows; r++) {
            for (int c0 = 0; c0 < cols; c0 += m) {
                int len = Math.min(m, cols - c0);
                for (int j = 0; j < len; j++) {
                    scores[j] = Math.abs(w[r * cols + c0 + j]);
                }
                SparseGpt.ascendingOrder(scores, len, order);
                // A short last group keeps min(n, len): it behaves as if padded with pruned zeros.
                int prune = Math.max(0, len - n);
                for (int j = 0; j < len; j++) {
                    pruned[r * cols + c0 + order[j]] = j < prune;
                }
            }
        }
        return pruned;
    }

    static boolean[] structured(float[] w, int rows, int cols, boolean byRow, long count) {
        int units = byRow ? rows : cols;
        double[] norm = new double[units];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                double v = w[r * cols + c];
                norm[byRow ? r : c] += v * v;
            }
        }
        Integer[] order = new Integer[units];
        for (int i = 0; i < units; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int cmp = Double.compare(norm[a], norm[b]);
            return cmp != 0 ? cmp : Integer.compare(a, b);
        });
        boolean[] prunedUnit = new boolean[units];
        for (int k = 0; k < count; k++) {
            prunedUnit[order[k]] = true;
        }
        boolean[] pruned = new boolean[w.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                pruned[r * cols + c] = prunedUnit[byRow ? r : c];
            }
        }
        return pruned;
    }
}
