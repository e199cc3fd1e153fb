package dev.squeeze.engine.compress.gptq;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.PackedLinear;
import dev.squeeze.engine.compress.Restored;
import dev.squeeze.engine.kernels.PackedMatrix;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;

/**
 * A GPTQ-quantized weight matrix as it is stored: integer codes in original column order, one scale and zero point
 * per (group, row), and, when act-order runs with dynamic groups, the column→group index {@code g_idx}. Weight
 * {@code (r, c)} is {@code scale[g][r] · (code[r][c] − zero[g][r])} with {@code g = g_idx[c]}, in float32.
 *
 * <p><b>Stored bits</b> (ALGORITHMS.md "GPTQ", cost): {@code rows·cols·bits} for the codes, plus per (group, row)
 * the scale at its stored precision (16 bits for {@link GptqSettings.ScalePrecision#FP16}: the scales
 * are rounded to half precision during quantization and those rounded values are used everywhere, so 16 bits is
 * exact; 32 bits for FP32) and, when asymmetric, a {@code bits}-wide integer zero point (a symmetric zero point
 * is {@code (maxq+1)/2}, implied by the width), plus 32 bits per column for {@code g_idx} when it must be stored
 * (act-order without static groups; otherwise the group of column c is {@code c / groupSize}, implied). Groups
 * per row: {@code ceil(cols / groupSize)}, one for per-row. The act-order permutation is kept for inspection only:
 * codes are stored in original column order, so computing with the tensor never needs it, and it is not counted.
 */
public final class GptqTensor implements CompressedTensor {
    private static final long serialVersionUID = 1L;
    private final int rows;
    private final int cols;
    private final GptqSettings settings;
    private final int groupWidth;
    private final int groups;
    private final byte[] codes;
    private final float[] scales;
    private final float[] zeros;
    private final int[] gIdx;
    private final int[] perm;

    GptqTensor(int rows, int cols, GptqSettings settings, byte[] codes, float[] scales, float[] zeros, int[] gIdx,
               int[] perm) {
        this.rows = rows;
        this.cols = cols;
        this.settings = settings;
        Restored.require(settings != null, "settings are missing");
        settings.validate("(GPTQ tensor)", rows, cols);
        int weights = Restored.matrix(rows, cols);
        // A group wider than the row is one group per row (GptqSettings accepts any positive size).
        this.groupWidth = settings.groupSize() == 0 ? cols : Math.min(settings.groupSize(), cols);
        this.groups = Math.ceilDiv(cols, groupWidth);
        Restored.length(codes, weights, "codes");
        Restored.codes(codes, settings.bits(), "code");
        Restored.length(scales, (long) groups * rows, "scales");
        Restored.length(zeros, (long) groups * rows, "zeros");
        if (gIdx != null) {
            Restored.length(gIdx, cols, "g_idx");
            for (int g : gIdx) {
                Restored.require(g >= 0 && g < groups, "g_idx names group " + g + " of " + groups);
            }
        }
        Restored.length(perm, cols, "perm");
        Restored.permutation(perm, cols, "perm");
        this.codes = codes;
        this.scales = scales;
        this.zeros = zeros;
        this.gIdx = gIdx;
        this.perm = perm;
    }

    /** A tensor from a checkpoint passes the constructor's checks like a new one (see {@link Restored}). */
    private Object readResolve() throws java.io.InvalidObjectException {
        return Restored.checked("GPTQ tensor", () -> new GptqTensor(rows, cols, settings, codes, scales, zeros, gIdx,
                perm));
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    public GptqSettings settings() {
        return settings;
    }

    /**
     * The stored arrays (copies): codes {@code rows × cols} in original column order, scales and zeros
     * {@code groups × rows}, {@code g_idx} or null when implied, the act-order permutation.
     */
    public record Parts(int rows, int cols, GptqSettings settings, byte[] codes, float[] scales, float[] zeros,
                        int[] gIdx, int[] perm) {
    }

    public Parts parts() {
        return new Parts(rows, cols, settings, codes.clone(), scales.clone(), zeros.clone(),
                gIdx == null ? null : gIdx.clone(), perm.clone());
    }

    /**
     * A tensor from its stored arrays (a file reader's), through the same checks as a new one.
     *
     * @throws IllegalArgumentException (or a SqueezeException from the settings' check) saying what is inconsistent
     */
    public static GptqTensor fromParts(Parts p) {
        return new GptqTensor(p.rows(), p.cols(), p.settings(), p.codes(), p.scales(), p.zeros(), p.gIdx(), p.perm());
    }

    public int bits() {
        return settings.bits();
    }

    /** Groups per row. */
    public int groups() {
        return groups;
    }

    /** The group of column {@code c}: {@code g_idx[c]}, or {@code c / groupSize} when no index is stored. */
    public int group(int c) {
        return gIdx != null ? gIdx[c] : c / groupWidth;
    }

    /** Whether {@code g_idx} is part of the stored form (act-order with dynamic groups). */
    public boolean storesGroupIndex() {
        return gIdx != null;
    }

    /** The code of weight (r, c), original column order, 0 to {@code 2^bits − 1}. */
    public int code(int r, int c) {
        return codes[r * cols + c] & 0xff;
    }

    public float scale(int group, int row) {
        return scales[group * rows + row];
    }

    public float zero(int group, int row) {
        return zeros[group * rows + row];
    }

    /** {@code g_idx} for every column (a fresh array, also when it is implied). */
    public int[] groupIndex() {
        int[] g = new int[cols];
        for (int c = 0; c < cols; c++) {
            g[c] = group(c);
        }
        return g;
    }

    /** The processing order: processed column p was original column {@code perm[p]} (identity without act-order). */
    public int[] permutation() {
        return perm.clone();
    }

    @Override
    public long storedBits() {
        long codeBits = (long) rows * cols * settings.bits();
        long perGroup = (settings.scalePrecision() == GptqSettings.ScalePrecision.FP16 ? 16 : 32)
                + (settings.symmetric() ? 0 : settings.bits());
        long indexBits = gIdx != null ? 32L * cols : 0;
        return codeBits + (long) groups * rows * perGroup + indexBits;
    }

    @Override
    public float[] dequantize() {
        float[] w = new float[rows * cols];
        int[] g = groupIndex();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int k = g[c] * rows + r;
                w[r * cols + c] = scales[k] * ((codes[r * cols + c] & 0xff) - zeros[k]);
            }
        }
        return w;
    }

    /**
     * Every width computes on its packed codes through {@link PackedLinear}; without the native library the layer
     * is the dequantized float32 one. Scales and zeros go to the kernel in half precision when every one of them is
     * exactly a half value (FP16 scales are: they were rounded while quantizing; integer zeros up to 255 are), else
     * in float32, so the kernel always uses the very values {@link #dequantize()} uses.
     *
     * <p>With a stored {@code g_idx} (act-order, dynamic groups) a group's columns are not consecutive. The codes are
     * then reordered once, here, by group (stable: column order within a group), which makes every group a run of
     * {@code groupSize} consecutive columns again, and each forward gathers x's columns in that order
     * ({@link PackedLinear}'s {@code columnOrder}). GPTQ's groups always have that shape ({@code g_idx[perm[p]] =
     * p / groupSize}); an index from elsewhere whose groups are not {@code groupSize} columns each (but the last)
     * cannot use a static-group kernel, and that layer runs dequantized.
     */
    @Override
    public LinearOp asLinearOp() {
        int[] order = gIdx == null ? null : regroupedOrder();
        if (gIdx != null && order == null) {
            return new FastDenseLinear(rows, cols, dequantize(), null,
                    describe() + " (dequantized f32: g_idx groups are not " + groupWidth + " columns each)");
        }
        boolean identity = true;
        byte[] c = codes;
        if (order != null) {
            for (int j = 0; j < cols && identity; j++) {
                identity = order[j] == j;
            }
            if (!identity) {
                c = new byte[codes.length];
                for (int r = 0; r < rows; r++) {
                    int o = r * cols;
                    for (int j = 0; j < cols; j++) {
                        c[o + j] = codes[o + order[j]];
                    }
                }
            }
        }
        float[] s = new float[rows * groups];
        float[] z = new float[rows * groups];
        for (int g = 0; g < groups; g++) {
            for (int r = 0; r < rows; r++) {
                s[r * groups + g] = scales[g * rows + r];
                z[r * groups + g] = zeros[g * rows + r];
            }
        }
        boolean symmetric = PackedLinear.impliedSymmetricZeros(z, settings.bits());
        PackedMatrix.ScaleType type = PackedLinear.exactInHalf(s) && (symmetric || PackedLinear.exactInHalf(z))
                ? PackedMatrix.ScaleType.F16 : PackedMatrix.ScaleType.F32;
        PackedMatrix m = PackedMatrix.ofCodes(rows, cols, settings.bits(), groupWidth, symmetric, type, c, s,
                symmetric ? null : z);
        return PackedLinear.of(m, identity ? null : order, describe(), this::dequantize);
    }

    /**
     * The columns sorted by group (stable), or null if the groups, so sorted, are not {@code groupWidth} consecutive
     * columns each (the last may be partial).
     */
    private int[] regroupedOrder() {
        int[] count = new int[groups];
        for (int g : gIdx) {
            count[g]++;
        }
        for (int g = 0; g < groups; g++) {
            int expected = g < groups - 1 ? groupWidth : cols - (groups - 1) * groupWidth;
            if (count[g] != expected) {
                return null;
            }
        }
        int[] next = new int[groups];
        for (int g = 0; g < groups; g++) {
            next[g] = g * groupWidth;
        }
        int[] order = new int[cols];
        for (int c = 0; c < cols; c++) {
            order[next[gIdx[c]]++] = c;
        }
        return order;
    }

    @Override
    public String describe() {
        return settings.describe();
    }
}
