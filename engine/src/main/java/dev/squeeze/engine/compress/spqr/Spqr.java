package dev.squeeze.engine.compress.spqr;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.CompressionMethod;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.hessian.PreparedHessian;

import java.util.BitSet;

/**
 * SpQR (Dettmers et al. 2023), as Vahe1994/SpQR {@code spqr_engine.py} and {@code quant_groups.py} compute it
 * (ALGORITHMS.md "SpQR"; reference INDEX.json "reference_notes"):
 * <ol>
 *   <li>{@link PreparedHessian#spqr}: act-order permutation on the raw H, {@code percdamp · mean|diag H|},
 *       dead columns, {@code U = upper_cholesky(H⁻¹)}, {@code d_p = U[p,p]}; dead columns of W are zeroed.</li>
 *   <li>Once, before the loop: {@code threshold = τ · mean_p(var_rows(W[:,p]) / d_p²)} on the permuted W
 *       (unbiased variance).</li>
 *   <li>Columns in blocks; at each group start, on the current (error-updated) columns of the group, per row:
 *       leave-one-out detection (for each weight, the reduction of {@code Σ((ŵ − w)/d)²} when a min–max
 *       quantizer is fitted without it); weights whose reduction exceeds the threshold are replaced by the mean
 *       of the others; a min–max quantizer (0 not forced into the range, zero not rounded) is fitted on the
 *       result; then the per-row scales and zeros are quantized again, in groups of {@code qqGroupSize} rows,
 *       by min–max asymmetric quantizers, and the dequantized values are what the weights use.</li>
 *   <li>Per column: {@code q = clamp(round(w / max(scale, 1e-9) + zero), 0, maxq)}; {@code err = (w − ŵ)/d};
 *       where {@code err² > threshold} the weight is an outlier and keeps its current value (error 0); the
 *       error is propagated as in GPTQ: within the block at once, to later blocks by one product at the end.</li>
 * </ol>
 * Arithmetic on weights and statistics is float32 with half-to-even rounding, as the reference; the Hessian
 * factor is double ({@link PreparedHessian}).
 *
 * <p>Deviations, all on purpose:
 * <ul>
 *   <li>By default outlier values and the second-level statistics are rounded to fp16, the precision they are
 *       stored at (and counted at), and the algorithm continues with the rounded values: the rounding error of an
 *       outlier is propagated like a quantization error. The reference keeps both in float32 in its result while
 *       its size formula counts 16 bits; {@link SpqrSettings#referencePrecision()} reproduces that (and we then
 *       count 32 bits).</li>
 *   <li>{@code blockSize} must be a multiple of {@code groupSize}; the reference allows groups that straddle a
 *       block, whose statistics then read columns that still lack the pending block update.</li>
 *   <li>A group of one column (a last group with {@code cols % groupSize == 1}) has an empty leave-one-out set,
 *       on which the reference fails; we take its leave-one-out error as 0.</li>
 *   <li>With fewer than 2 rows the column variance is undefined (NaN in the reference, which then finds no
 *       outliers); we detect none either.</li>
 * </ul>
 */
public final class Spqr implements CompressionMethod {
    private static final float FP16_MAX = 65504f;

    @Override
    public String name() {
        return "spqr";
    }

    @Override
    public Class<? extends MethodSettings> settingsType() {
        return SpqrSettings.class;
    }

    @Override
    public CompressedTensor compress(LayerInput input, MethodSettings settings) {
        return run(input, (SpqrSettings) settings).tensor();
    }

    /**
     * What one run produced: the tensor, and the weights as the algorithm itself left them (original column
     * order), which {@link SpqrTensor#dequantize()} must reproduce exactly.
     */
    record Result(SpqrTensor tensor, float[] weights) {
    }

    static Result run(LayerInput in, SpqrSettings s) {
        s.validate(in.layer(), in.rows(), in.cols());
        float[] hessian = in.requireHessian("SpQR");
        PreparedHessian prep = PreparedHessian.spqr(in.layer(), hessian, in.cols(), s.percdamp(), s.actOrder());
        return new Run(in, s, prep).execute();
    }

    /** The state of one layer's run. Weights are kept column-major in processed order: column p is contiguous. */
    private static final class Run {
        private final String layer;
        private final SpqrSettings s;
        private final int rows;
        private final int cols;
        private final int maxq;
        private final int[] perm;
        private final double[] u;
        private final float[] d;
        private final float[] wt;
        private final float threshold;
        private final double thresholdExact;
        private final boolean detect;
        private final byte[] codes;
        private final byte[] scaleCodes;
        private final byte[] zeroCodes;
        private final float[] secondLevel;
        private final BitSet outliers;
        private final float[] scale;
        private final float[] zero;

        Run(LayerInput in, SpqrSettings s, PreparedHessian prep) {
            this.layer = in.layer();
            this.s = s;
            this.rows = in.rows();
            this.cols = in.cols();
            this.maxq = (1 << s.bits()) - 1;
            this.perm = prep.perm();
            this.u = prep.u();
            this.d = new float[cols];
            this.wt = new float[rows * cols];
            float[] w = in.weight();
            for (int p = 0; p < cols; p++) {
                d[p] = (float) prep.d(p);
                int c = perm[p];
                if (prep.dead()[c]) {
                    continue; // the reference zeroes the weights of dead inputs
                }
                for (int r = 0; r < rows; r++) {
                    wt[p * rows + r] = w[r * cols + c];
                }
            }
            double t = s.detectsOutliers() ? s.outlierThreshold() * outlierScale() : Double.POSITIVE_INFINITY;
            this.thresholdExact = Double.isNaN(t) ? Double.POSITIVE_INFINITY : t;
            // The reference compares float32 tensors with the threshold, i.e. with its float32 value.
            this.threshold = (float) thresholdExact;
            this.detect = threshold != Float.POSITIVE_INFINITY;
            int groups = Math.ceilDiv(cols, s.groupSize());
            this.codes = new byte[rows * cols];
            this.scaleCodes = new byte[groups * rows];
            this.zeroCodes = new byte[groups * rows];
            this.secondLevel = new float[groups * (rows / s.qqGroupSize()) * 4];
            this.outliers = new BitSet(rows * cols);
            this.scale = new float[rows];
            this.zero = new float[rows];
        }

        /** {@code mean_p(var_unbiased(W[:,p]) / d_p²)}: the unit in which the outlier threshold is given. */
        private double outlierScale() {
            if (rows < 2) {
                return Double.NaN;
            }
            double sum = 0;
            for (int p = 0; p < cols; p++) {
                double mean = 0;
                for (int r = 0; r < rows; r++) {
                    mean += wt[p * rows + r];
                }
                mean /= rows;
                double ss = 0;
                for (int r = 0; r < rows; r++) {
                    double dev = wt[p * rows + r] - mean;
                    ss += dev * dev;
                }
                double dp = u[p * cols + p];
                sum += ss / (rows - 1) / (dp * dp);
            }
            return sum / cols;
        }

        Result execute() {
            // A group (block) wider than the row is one group (block): clamped, p0 + gs and bs · rows cannot
            // overflow. One block holds whole groups whatever the block size, so the clamp keeps the rule that no
            // group straddles two blocks.
            int gs = Math.min(s.groupSize(), cols);
            int bs = Math.min(s.blockSize(), cols);
            float[] err = new float[bs * rows];
            for (int b0 = 0; b0 < cols; b0 += bs) {
                int b1 = Math.min(b0 + bs, cols);
                for (int p = b0; p < b1; p++) {
                    if (p % gs == 0) {
                        fitGroup(p / gs, p, Math.min(gs, cols - p));
                    }
                    quantizeColumn(p, err, (p - b0) * rows);
                    // In-block update of the remaining columns: W[:, j] -= err · U[p, j].
                    for (int j = p + 1; j < b1; j++) {
                        double upj = u[p * cols + j];
                        int base = j * rows;
                        int e = (p - b0) * rows;
                        for (int r = 0; r < rows; r++) {
                            wt[base + r] = (float) (wt[base + r] - err[e + r] * upj);
                        }
                    }
                }
                lazyUpdate(b0, b1, err);
            }
            return new Result(tensor(), weightsInOriginalOrder());
        }

        /** {@code W[:, b1:] -= Err[:, b0:b1] · U[b0:b1, b1:]}, accumulated in double. */
        private void lazyUpdate(int b0, int b1, float[] err) {
            double[] acc = new double[rows];
            for (int j = b1; j < cols; j++) {
                java.util.Arrays.fill(acc, 0);
                for (int k = b0; k < b1; k++) {
                    double ukj = u[k * cols + j];
                    if (ukj == 0) {
                        continue;
                    }
                    int e = (k - b0) * rows;
                    for (int r = 0; r < rows; r++) {
                        acc[r] += err[e + r] * ukj;
                    }
                }
                int base = j * rows;
                for (int r = 0; r < rows; r++) {
                    wt[base + r] = (float) (wt[base + r] - acc[r]);
                }
            }
        }

        private void quantizeColumn(int p, float[] err, int e) {
            float dp = d[p];
            int base = p * rows;
            for (int r = 0; r < rows; r++) {
                float x = wt[base + r];
                int q = SpqrTensor.quantize(x, scale[r], zero[r], maxq);
                float xq = SpqrTensor.dequantize(q, scale[r], zero[r]);
                float er = (x - xq) / dp;
                if (detect && er * er > threshold) {
                    outliers.set(r * cols + p);
                    // The reference re-quantizes the column with outliers zeroed: the (unused) code of an outlier
                    // is that of 0. The weight keeps its current value, at the precision it is stored in.
                    q = SpqrTensor.quantize(0f, scale[r], zero[r], maxq);
                    xq = s.referencePrecision() ? x : fp16("outlier weight", x);
                    er = (x - xq) / dp;
                }
                codes[r * cols + p] = (byte) q;
                wt[base + r] = xq;
                err[e + r] = er;
            }
        }

        /** Fits the statistics of group g (processed columns p0 … p0+m−1) on the current weights. */
        private void fitGroup(int g, int p0, int m) {
            float[] x = new float[m];
            float[] dg = new float[m];
            boolean[] candidate = new boolean[m];
            System.arraycopy(d, p0, dg, 0, m);
            for (int r = 0; r < rows; r++) {
                for (int k = 0; k < m; k++) {
                    x[k] = wt[(p0 + k) * rows + r];
                }
                if (detect) {
                    excludeLikelyOutliers(x, dg, candidate);
                }
                float xmin = x[0];
                float xmax = x[0];
                for (int k = 1; k < m; k++) {
                    xmin = Math.min(xmin, x[k]);
                    xmax = Math.max(xmax, x[k]);
                }
                scale[r] = fitScale(xmin, xmax);
                zero[r] = fitZero(xmin, xmax, scale[r]);
            }
            // Second level: the zero points were computed from the unquantized scales, as in the reference.
            secondLevel(g, scale, s.qqScaleBits(), scaleCodes, 0);
            secondLevel(g, zero, s.qqZeroBits(), zeroCodes, 2);
        }

        /**
         * Leave-one-out detection on one row of a group: marks the weights whose exclusion would reduce the
         * group's weighted squared error by more than the threshold, and replaces them by the mean of the others
         * (so that they do not stretch the fitted range).
         */
        private void excludeLikelyOutliers(float[] x, float[] dg, boolean[] candidate) {
            int m = x.length;
            MinMax all = MinMax.of(x);
            float baseScale = fitScale(all.min, all.max);
            float baseZero = fitZero(all.min, all.max, baseScale);
            double baseSum = 0;
            for (int k = 0; k < m; k++) {
                baseSum += squaredError(x[k], baseScale, baseZero, dg[k]);
            }
            float base = (float) baseSum;
            int excluded = 0;
            for (int k = 0; k < m; k++) {
                float loo = 0f;
                if (m > 1) {
                    float lmin = k == all.argMin ? all.min2 : all.min;
                    float lmax = k == all.argMax ? all.max2 : all.max;
                    float ls = fitScale(lmin, lmax);
                    float lz = fitZero(lmin, lmax, ls);
                    double sum = 0;
                    for (int j = 0; j < m; j++) {
                        if (j != k) {
                            sum += squaredError(x[j], ls, lz, dg[j]);
                        }
                    }
                    loo = (float) sum;
                }
                candidate[k] = base - loo > threshold;
                if (candidate[k]) {
                    excluded++;
                }
            }
            if (excluded == 0) {
                return;
            }
            double sum = 0;
            for (int k = 0; k < m; k++) {
                if (!candidate[k]) {
                    sum += x[k];
                }
            }
            float mean = (float) sum / Math.max(1, m - excluded);
            for (int k = 0; k < m; k++) {
                if (candidate[k]) {
                    x[k] = mean;
                }
            }
        }

        /** {@code ((ŵ − w) / d)²} with a min–max quantizer (scale, zero), in float32. */
        private float squaredError(float w, float sc, float z, float dk) {
            float e = (SpqrTensor.dequantize(SpqrTensor.quantize(w, sc, z, maxq), sc, z) - w) / dk;
            return e * e;
        }

        /** Scale of a first-level min–max fit (0 not forced into the range; an empty range becomes [−1, 1]). */
        private float fitScale(float xmin, float xmax) {
            return xmin == xmax ? 2f / maxq : (xmax - xmin) / maxq;
        }

        /** Its zero point, {@code −min / scale}, not rounded. */
        private static float fitZero(float xmin, float xmax, float scale) {
            return -(xmin == xmax ? -1f : xmin) / scale;
        }

        /**
         * Quantizes a per-row statistic (scales or zeros) in chunks of qqGroupSize rows with min–max asymmetric
         * quantizers (unrounded zero), stores codes and the chunk's (scale, zero), and replaces the statistic by
         * its dequantized value.
         */
        private void secondLevel(int g, float[] stat, int bits, byte[] codesOut, int slot) {
            int qq = s.qqGroupSize();
            int chunks = rows / qq;
            int qmax = (1 << bits) - 1;
            for (int c = 0; c < chunks; c++) {
                float xmin = stat[c * qq];
                float xmax = xmin;
                for (int r = c * qq + 1; r < (c + 1) * qq; r++) {
                    xmin = Math.min(xmin, stat[r]);
                    xmax = Math.max(xmax, stat[r]);
                }
                if (xmin == xmax) {
                    xmin = -1f;
                    xmax = 1f;
                }
                float sc = (xmax - xmin) / qmax;
                float z = -xmin / sc;
                if (!s.referencePrecision()) {
                    float sh = fp16("second-level scale", sc);
                    if (sh == 0f) {
                        sh = Float.float16ToFloat((short) 1); // below fp16's range: its smallest step
                    }
                    if (Math.abs(-xmin / sh) > FP16_MAX) {
                        // A range tiny against its offset: a coarser step keeps the zero point within fp16.
                        sh = fp16("second-level scale", Math.abs(xmin) / 60000f);
                    }
                    sc = sh;
                    z = fp16("second-level zero", -xmin / sh);
                }
                int k = (g * chunks + c) * 4 + slot;
                secondLevel[k] = sc;
                secondLevel[k + 1] = z;
                for (int r = c * qq; r < (c + 1) * qq; r++) {
                    int q = SpqrTensor.quantize(stat[r], sc, z, qmax);
                    codesOut[g * rows + r] = (byte) q;
                    stat[r] = SpqrTensor.dequantize(q, sc, z);
                }
            }
        }

        private float fp16(String what, float v) {
            float h = Float.float16ToFloat(Float.floatToFloat16(v));
            if (Float.isInfinite(h) && !Float.isInfinite(v)) {
                throw new SqueezeException("Layer " + layer + ": an SpQR " + what + " (" + v + ") exceeds the fp16"
                        + " range it is stored in", "check the layer's weights, or set referencePrecision to keep"
                        + " float32 values");
            }
            return h;
        }

        private SpqrTensor tensor() {
            int n = outliers.cardinality();
            int[] rowPointers = new int[rows + 1];
            char[] columns = new char[n];
            float[] values = new float[n];
            int k = 0;
            for (int r = 0; r < rows; r++) {
                rowPointers[r] = k;
                for (int i = outliers.nextSetBit(r * cols); i >= 0 && i < (r + 1) * cols;
                     i = outliers.nextSetBit(i + 1)) {
                    int p = i - r * cols;
                    columns[k] = (char) p;
                    values[k] = wt[p * rows + r];
                    k++;
                }
            }
            rowPointers[rows] = k;
            boolean identity = true;
            for (int p = 0; p < cols; p++) {
                identity &= perm[p] == p;
            }
            return new SpqrTensor(rows, cols, s, identity ? null : perm.clone(),
                    codes, scaleCodes, zeroCodes, secondLevel, rowPointers, columns, values, thresholdExact);
        }

        private float[] weightsInOriginalOrder() {
            float[] out = new float[rows * cols];
            for (int p = 0; p < cols; p++) {
                int c = perm[p];
                for (int r = 0; r < rows; r++) {
                    out[r * cols + c] = wt[p * rows + r];
                }
            }
            return out;
        }
    }

    /**
     * Minimum and maximum of a row of a group with the runner-up of each: the range without value k is
     * (k == argMin ? min2 : min, k == argMax ? max2 : max).
     */
    private record MinMax(float min, int argMin, float min2, float max, int argMax, float max2) {
        static MinMax of(float[] x) {
            float min = Float.POSITIVE_INFINITY;
            float min2 = Float.POSITIVE_INFINITY;
            float max = Float.NEGATIVE_INFINITY;
            float max2 = Float.NEGATIVE_INFINITY;
            int argMin = -1;
            int argMax = -1;
            for (int k = 0; k < x.length; k++) {
                float v = x[k];
                if (v < min) {
                    min2 = min;
                    min = v;
                    argMin = k;
                } else if (v < min2) {
                    min2 = v;
                }
                if (v > max) {
                    max2 = max;
                    max = v;
                    argMax = k;
                } else if (v > max2) {
                    max2 = v;
                }
            }
            return new MinMax(min, argMin, min2, max, argMax, max2);
        }
    }
}
