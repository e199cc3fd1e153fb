package dev.squeeze.engine.compress.gptq;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.CompressionMethod;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.hessian.PreparedHessian;
import dev.squeeze.engine.compress.linalg.Blas;

/**
 * GPTQ (Frantar et al. 2022) as IST-DASLab/gptq's {@code fasterquant} computes it (ALGORITHMS.md "GPTQ" and the
 * reference notes in ../shared/reference/INDEX.json):
 * <ol>
 *   <li>per-row quantizer parameters fitted on the original W, before dead columns are zeroed (used without
 *       groups);</li>
 *   <li>dead inputs ({@code H[i,i] = 0}) zeroed in W; static groups fitted up front on that W in original column
 *       order; act-order permutation; dampening and {@code U = upper_cholesky(H⁻¹)}
 *       ({@link PreparedHessian#gptq});</li>
 *   <li>blocks of {@code blockSize} columns: per column quantize, {@code err = (w − q) / U[c,c]}, propagate
 *       {@code err · U[c, c+1:i2]} to the rest of the block; after the block the lazy batch update
 *       {@code W[:, i2:] −= Err · U[i1:i2, i2:]} (one product through {@link Blas});</li>
 *   <li>dynamic groups refitted where {@code c % groupSize == 0}, on the reference's stale global W or on the
 *       current weights ({@link GptqSettings.GroupParams});</li>
 *   <li>codes un-permuted at the end, with {@code g_idx} for act-order with dynamic groups.</li>
 * </ol>
 * Arithmetic is float32 like the reference (U is computed in double and rounded). Rows never interact (every
 * quantizer parameter is per row and U is shared), so the in-block work runs on tiles of {@value #TILE} rows held
 * transposed, where each column's update is a contiguous SIMD rank-1 update.
 *
 * <p>Deviations from the reference, on purpose: dynamic groups default to {@code UPDATED} parameters, scales to
 * fp16 (both selectable; {@link GptqSettings#reference} reproduces the reference); the error propagation uses fused
 * multiply-adds (the reference rounds the product first), a difference at float rounding level.
 */
public final class Gptq implements CompressionMethod {
    /** Rows per in-block tile: 64 rows × 128 columns of float32 is 32 KiB, an L1 cache. */
    static final int TILE = 64;
    /** Columns per in-block sub-block (see {@code block}). */
    static final int SUB = 16;
    private static final float FP16_MIN_SUBNORMAL = 0x1p-24f;
    private static final float ROUNDER = 0x1.8p23f;

    @Override
    public String name() {
        return "gptq";
    }

    @Override
    public Class<? extends MethodSettings> settingsType() {
        return GptqSettings.class;
    }

    @Override
    public CompressedTensor compress(LayerInput input, MethodSettings settings) {
        GptqSettings s = (GptqSettings) settings;
        s.validate(input.layer(), input.rows(), input.cols());
        float[] h = input.requireHessian("GPTQ");
        checkFinite(input.layer(), "weight", input.weight(), input.cols());
        checkFinite(input.layer(), "Hessian", h, input.cols());
        PreparedHessian prep = PreparedHessian.gptq(input.layer(), h, input.cols(), s.percdamp(), s.actOrder());
        return new Run(input, s, prep).quantize();
    }

    private static void checkFinite(String layer, String what, float[] a, int cols) {
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) {
                throw new SqueezeException("Layer " + layer + ": the " + what + " has a non-finite value (" + a[i]
                        + ") at (" + i / cols + ", " + i % cols + ")",
                        "check the model weights and the calibration inputs of this layer for overflow");
            }
        }
    }

    /** One layer's quantization: the mutable state of the algorithm. */
    private static final class Run {
        private final String layer;
        private final GptqSettings s;
        private final int rows;
        private final int cols;
        private final int maxq;
        private final float fmaxq;
        private final int g;
        private final boolean perRow;
        private final boolean dynamic;
        private final boolean updated;
        private final int[] perm;
        /** W in processing order; columns of the current block keep their block-start values (the reference's W). */
        private final float[] w;
        /** U in float32, processing order. */
        private final float[] u;
        private final byte[] codes;
        /** Parameters per (group, row), group-major; dynamic groups are numbered in processing order. */
        private final float[] scales;
        private final float[] zeros;
        private final Blas blas = Blas.get();

        Run(LayerInput in, GptqSettings s, PreparedHessian prep) {
            this.layer = in.layer();
            this.s = s;
            this.rows = in.rows();
            this.cols = in.cols();
            this.maxq = (1 << s.bits()) - 1;
            this.fmaxq = maxq;
            this.perRow = s.groupSize() == 0;
            // A group wider than the row is one group: clamped, the group arithmetic below cannot overflow.
            this.g = perRow ? cols : Math.min(s.groupSize(), cols);
            this.dynamic = !perRow && !s.staticGroups();
            this.updated = s.groupParams() == GptqSettings.GroupParams.UPDATED;
            this.perm = prep.perm();
            int groups = Math.ceilDiv(cols, g);
            this.scales = new float[groups * rows];
            this.zeros = new float[groups * rows];
            float[] original = in.weight();
            if (perRow) {
                // The reference fits the per-row quantizer before it zeroes dead columns.
                for (int r = 0; r < rows; r++) {
                    fitRange(original, r * cols, 1, cols, 0, r);
                }
            }
            float[] dz = original.clone();
            boolean[] dead = prep.dead();
            for (int c = 0; c < cols; c++) {
                if (dead[c]) {
                    for (int r = 0; r < rows; r++) {
                        dz[r * cols + c] = 0f;
                    }
                }
            }
            if (s.staticGroups()) {
                for (int gi = 0; gi < groups; gi++) {
                    int c0 = gi * g;
                    for (int r = 0; r < rows; r++) {
                        fitRange(dz, r * cols + c0, 1, Math.min(cols, c0 + g) - c0, gi, r);
                    }
                }
            }
            if (s.actOrder()) {
                this.w = new float[rows * cols];
                for (int r = 0; r < rows; r++) {
                    int o = r * cols;
                    for (int p = 0; p < cols; p++) {
                        w[o + p] = dz[o + perm[p]];
                    }
                }
            } else {
                this.w = dz;
            }
            double[] ud = prep.u();
            this.u = new float[cols * cols];
            for (int i = 0; i < u.length; i++) {
                u[i] = (float) ud[i];
            }
            this.codes = new byte[rows * cols];
        }

        GptqTensor quantize() {
            int bs = Math.min(s.blockSize(), cols); // a block wider than the row is one block
            float[] err = new float[rows * Math.min(bs, cols)];
            float[] wt = new float[Math.min(bs, cols) * TILE];
            float[] et = new float[wt.length];
            float[] qt = new float[wt.length];
            float[] scale = new float[TILE];
            float[] zero = new float[TILE];
            for (int i1 = 0; i1 < cols; i1 += bs) {
                int i2 = Math.min(cols, i1 + bs);
                int count = i2 - i1;
                for (int r0 = 0; r0 < rows; r0 += TILE) {
                    int tr = Math.min(TILE, rows - r0);
                    block(i1, i2, r0, tr, wt, et, qt, scale, zero);
                    for (int r = 0; r < tr; r++) {
                        int o = (r0 + r) * count;
                        for (int i = 0; i < count; i++) {
                            err[o + i] = et[i * tr + r];
                        }
                    }
                }
                if (i2 < cols) {
                    blas.sgemm(false, false, rows, cols - i2, count, -1f, err, 0, count, u, i1 * cols + i2, cols,
                            1f, w, i2, cols);
                }
            }
            return result();
        }

        /** Columns [i1, i2) of rows [r0, r0+tr): quantize and propagate the error inside the block. */
        private void block(int i1, int i2, int r0, int tr, float[] wt, float[] et, float[] qt, float[] scale,
                           float[] zero) {
            int count = i2 - i1;
            for (int r = 0; r < tr; r++) {
                int o = (r0 + r) * cols + i1;
                for (int i = 0; i < count; i++) {
                    wt[i * tr + r] = w[o + i];
                }
            }
            if (perRow || dynamic) {
                // Parameters in force at i1: per row, or those of the dynamic group containing i1.
                int gi = perRow ? 0 : i1 / g;
                System.arraycopy(scales, gi * rows + r0, scale, 0, tr);
                System.arraycopy(zeros, gi * rows + r0, zero, 0, tr);
            }
            // Sub-blocks of SUB columns: rank-1 updates only inside the sub-block, then one product for the rest of
            // the block (the reference's lazy batch update, one level down). Every weight still sees the same fma
            // chain in the same column order, so the result is bit for bit that of plain rank-1 updates. A dynamic
            // group always starts a sub-block, so that its parameters are fitted on fully updated columns.
            for (int i0 = 0; i0 < count; ) {
                int end = Math.min(count, i0 + SUB);
                if (dynamic) {
                    end = Math.min(end, ((i1 + i0) / g + 1) * g - i1);
                }
                for (int i = i0; i < end; i++) {
                    int c = i1 + i;
                    if (dynamic && c % g == 0) {
                        fitDynamicGroup(c, i1, i2, r0, tr, wt, et, scale, zero);
                        int gi = c / g;
                        for (int r = 0; r < tr; r++) {
                            setParams(scale[r], zero[r], gi, r0 + r);
                        }
                        System.arraycopy(scales, gi * rows + r0, scale, 0, tr);
                        System.arraycopy(zeros, gi * rows + r0, zero, 0, tr);
                    } else if (s.staticGroups()) {
                        int gi = perm[c] / g;
                        System.arraycopy(scales, gi * rows + r0, scale, 0, tr);
                        System.arraycopy(zeros, gi * rows + r0, zero, 0, tr);
                    }
                    float d = u[c * cols + c];
                    int at = i * tr;
                    // quant.py: q = clamp(round(x / scale) + zero, 0, maxq), round half to even. (v + 1.5·2²³) − 1.5·2²³
                    // is exactly Math.rint(v) for |v| < 2²², and beyond that the clamp gives the same code; written in
                    // float arithmetic only, so that the JIT can vectorise the loop.
                    for (int r = 0; r < tr; r++) {
                        float x = wt[at + r];
                        float v = x / scale[r];
                        float q = Math.min(Math.max(((v + ROUNDER) - ROUNDER) + zero[r], 0f), fmaxq);
                        qt[at + r] = q;
                        et[at + r] = (x - scale[r] * (q - zero[r])) / d;
                    }
                    blas.sger(end - i - 1, tr, -1f, u, c * cols + c + 1, et, at, wt, at + tr, tr);
                }
                if (end < count) {
                    // wt[end:count] −= U[i1+i0 : i1+end, i1+end : i2]ᵀ · et[i0:end]
                    blas.sgemm(true, false, count - end, tr, end - i0, -1f, u, (i1 + i0) * cols + i1 + end, cols,
                            et, i0 * tr, tr, 1f, wt, end * tr, tr);
                }
                i0 = end;
            }
            for (int r = 0; r < tr; r++) {
                int o = (r0 + r) * cols + i1;
                for (int i = 0; i < count; i++) {
                    codes[o + i] = (byte) (int) qt[i * tr + r];
                }
            }
        }

        /** Fits the group starting at processing column c for the tile's rows (and records its parameters). */
        private void fitDynamicGroup(int c, int i1, int i2, int r0, int tr, float[] wt, float[] et, float[] lo,
                                     float[] hi) {
            int end = Math.min(cols, c + g);
            java.util.Arrays.fill(lo, 0, tr, 0f);
            java.util.Arrays.fill(hi, 0, tr, 0f);
            if (!updated) {
                // The reference: the global W, current only up to the start of this block.
                for (int r = 0; r < tr; r++) {
                    int o = (r0 + r) * cols;
                    for (int j = c; j < end; j++) {
                        lo[r] = Math.min(lo[r], w[o + j]);
                        hi[r] = Math.max(hi[r], w[o + j]);
                    }
                }
                return;
            }
            for (int j = c; j < Math.min(end, i2); j++) {
                int o = (j - i1) * tr;
                for (int r = 0; r < tr; r++) {
                    lo[r] = Math.min(lo[r], wt[o + r]);
                    hi[r] = Math.max(hi[r], wt[o + r]);
                }
            }
            for (int j = i2; j < end; j++) {
                // Past the block: apply the block's pending update for the columns done so far (the same fma chain
                // the lazy update will apply).
                for (int r = 0; r < tr; r++) {
                    float v = w[(r0 + r) * cols + j];
                    for (int t = 0; t < c - i1; t++) {
                        v = Math.fma(-et[t * tr + r], u[(i1 + t) * cols + j], v);
                    }
                    lo[r] = Math.min(lo[r], v);
                    hi[r] = Math.max(hi[r], v);
                }
            }
        }

        /** Fits a group on {@code n} values of {@code a} from {@code off} with stride {@code step}. */
        private void fitRange(float[] a, int off, int step, int n, int gi, int row) {
            float lo = 0f;
            float hi = 0f;
            for (int k = 0; k < n; k++) {
                float v = a[off + k * step];
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            setParams(lo, hi, gi, row);
        }

        /**
         * The reference quantizer's parameters for a range already widened to include 0 (quant.py
         * {@code find_params}), with the scale rounded to its stored precision before the zero point is derived.
         */
        private void setParams(float lo, float hi, int gi, int row) {
            if (s.symmetric()) {
                hi = Math.max(-lo, hi);
                if (lo < 0) {
                    lo = -hi;
                }
            }
            if (lo == 0f && hi == 0f) {
                lo = -1f;
                hi = 1f;
            }
            float scale = (hi - lo) / maxq;
            if (s.scalePrecision() == GptqSettings.ScalePrecision.FP16) {
                scale = Float.float16ToFloat(Float.floatToFloat16(scale));
                if (scale == 0f) {
                    // A range below half precision's resolution: the smallest step it has (the weights are ~0).
                    scale = FP16_MIN_SUBNORMAL;
                } else if (Float.isInfinite(scale)) {
                    throw new SqueezeException("Layer " + layer + ": weights of row " + row + " span " + (hi - lo)
                            + ", too wide for a half-precision GPTQ scale",
                            "use scalePrecision FP32 for this layer");
                }
            }
            float zero = s.symmetric() ? (maxq + 1) / 2f
                    : Math.clamp((float) Math.rint(-lo / scale), 0f, maxq);
            scales[gi * rows + row] = scale;
            zeros[gi * rows + row] = zero;
        }

        private GptqTensor result() {
            byte[] out;
            if (s.actOrder()) {
                out = new byte[rows * cols];
                for (int r = 0; r < rows; r++) {
                    int o = r * cols;
                    for (int p = 0; p < cols; p++) {
                        out[o + perm[p]] = codes[o + p];
                    }
                }
            } else {
                out = codes;
            }
            int[] gIdx = null;
            if (dynamic && s.actOrder()) {
                gIdx = new int[cols];
                for (int p = 0; p < cols; p++) {
                    gIdx[perm[p]] = p / g;
                }
            }
            return new GptqTensor(rows, cols, s, out, scales, zeros, gIdx, perm.clone());
        }
    }
}
