package dev.squeeze.engine.compress.spqr;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.Restored;
import dev.squeeze.engine.compress.PackedLinear;
import dev.squeeze.engine.kernels.CsrMatrix;
import dev.squeeze.engine.kernels.JavaPackedMatMul;
import dev.squeeze.engine.kernels.PackedMatMul;
import dev.squeeze.engine.kernels.PackedMatrix;
import dev.squeeze.engine.kernels.SparseKernels;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;


/**
 * An SpQR-compressed weight matrix: per-weight codes, bilevel group statistics and sparse outliers.
 *
 * <p>Layout, all in processed (permuted) column order {@code p}; original column {@code perm[p]}:
 * <ul>
 *   <li>{@code codes[r][p]}: {@code bits} each;</li>
 *   <li>first-level statistics of group {@code g} (columns {@code g·groupSize …}) and row {@code r}:
 *       {@code scale = s₂ (scaleCode − z₂)} and {@code zero = s₂' (zeroCode − z₂')}, where the codes take
 *       {@code qqScaleBits} / {@code qqZeroBits} bits and the second-level pairs {@code (s₂, z₂)}, {@code (s₂', z₂')}
 *       are shared by {@code qqGroupSize} consecutive rows;</li>
 *   <li>the weight {@code w = scale (code − zero)}, unless (r, p) is an outlier: then its value is stored in CSR
 *       (row pointers, a 16-bit processed-column index and the value); its code is kept but unused.</li>
 * </ul>
 *
 * <p>Stored bits ({@link #storedBits()}), exact counts:
 * <pre>
 *   rows·cols·bits                                  codes
 * + rows·groups·(qqScaleBits + qqZeroBits)          first-level statistics as second-level codes
 * + groups·(rows/qqGroupSize)·4·v                   second-level scale and zero of both statistics
 * + outliers·(v + 16)                               outlier value + 16-bit column index
 * + (rows + 1)·32                                   CSR row pointers
 * + cols·16 with act-order                          the permutation (16-bit column indices)
 * </pre>
 * with {@code groups = ⌈cols / groupSize⌉} (a partial last group still has its statistics) and {@code v = 16}
 * (fp16), or 32 with {@link SpqrSettings#referencePrecision()} (float32, which is what the reference's own
 * dequantized weights use). The reference's own figure ({@link #referenceAverageBits()}, SpQR
 * {@code get_average_number_of_bits}) counts full groups, 16-bit second-level values, 32 bits per outlier and
 * neither the row pointers nor the permutation.
 */
public final class SpqrTensor implements CompressedTensor {
    private static final long serialVersionUID = 1L;
    /** The reference clamps scales at this before dividing ({@code quant_groups.quantize}, {@code eps=1e-9}). */
    private static final float EPS = 1e-9f;

    private final int rows;
    private final int cols;
    private final SpqrSettings settings;
    private final int[] perm;
    private final byte[] codes;
    private final byte[] scaleCodes;
    private final byte[] zeroCodes;
    private final float[] secondLevel;
    private final int[] rowPointers;
    private final char[] outlierColumns;
    private final float[] outlierValues;
    private final double outlierThreshold;

    /**
     * @param perm           processing order, or null for the identity
     * @param codes          {@code rows × cols}, row-major, processed column order
     * @param scaleCodes     {@code groups × rows}
     * @param zeroCodes      {@code groups × rows}
     * @param secondLevel    {@code groups × (rows/qqGroupSize) × 4}: scale's (s₂, z₂), then zero's (s₂', z₂')
     * @param rowPointers    CSR, {@code rows + 1}
     * @param outlierColumns CSR processed-column indices, ascending within a row
     * @param outlierValues  CSR values (fp16-representable unless {@code referencePrecision})
     * @param outlierThreshold the absolute threshold used (provenance, not stored)
     */
    SpqrTensor(int rows, int cols, SpqrSettings settings, int[] perm, byte[] codes, byte[] scaleCodes,
               byte[] zeroCodes, float[] secondLevel, int[] rowPointers, char[] outlierColumns, float[] outlierValues,
               double outlierThreshold) {
        this.rows = rows;
        this.cols = cols;
        Restored.require(settings != null, "settings are missing");
        this.settings = settings;
        this.perm = perm;
        this.codes = codes;
        this.scaleCodes = scaleCodes;
        this.zeroCodes = zeroCodes;
        this.secondLevel = secondLevel;
        this.rowPointers = rowPointers;
        this.outlierColumns = outlierColumns;
        this.outlierValues = outlierValues;
        this.outlierThreshold = outlierThreshold;
        // Sizes first (the settings give the group counts), then every index the tensor follows.
        settings.validate("(SpQR tensor)", rows, cols);
        int weights = Restored.matrix(rows, cols);
        long groups = groups();
        long chunks = rows / settings.qqGroupSize();
        Restored.length(codes, weights, "codes");
        Restored.codes(codes, settings.bits(), "code");
        Restored.length(scaleCodes, groups * rows, "scale codes");
        Restored.codes(scaleCodes, settings.qqScaleBits(), "scale code");
        Restored.length(zeroCodes, groups * rows, "zero codes");
        Restored.codes(zeroCodes, settings.qqZeroBits(), "zero code");
        Restored.length(secondLevel, groups * chunks * 4, "second-level statistics");
        Restored.length(rowPointers, rows + 1L, "row pointers");
        Restored.require(outlierValues != null, "outlier values are missing");
        Restored.length(outlierColumns, outlierValues.length, "outlier columns");
        Restored.require(rowPointers[0] == 0 && rowPointers[rows] == outlierValues.length,
                "row pointers run from " + rowPointers[0] + " to " + rowPointers[rows] + " over "
                        + outlierValues.length + " outliers");
        for (int r = 0; r < rows; r++) {
            Restored.require(rowPointers[r] <= rowPointers[r + 1], "row pointers decrease at row " + r);
        }
        for (char c : outlierColumns) {
            Restored.require(c < cols, "an outlier sits in column " + (int) c + " of " + cols);
        }
        if (perm != null) {
            Restored.permutation(perm, cols, "perm");
        }
        if (!settings.referencePrecision()) {
            for (float v : outlierValues) {
                if (Float.float16ToFloat(Float.floatToFloat16(v)) != v && !Float.isNaN(v)) {
                    throw new IllegalArgumentException("outlier " + v + " is not an fp16 value");
                }
            }
            for (float v : secondLevel) {
                if (Float.float16ToFloat(Float.floatToFloat16(v)) != v && !Float.isNaN(v)) {
                    throw new IllegalArgumentException("second-level statistic " + v + " is not an fp16 value");
                }
            }
        }
    }

    /** A tensor from a checkpoint passes the constructor's checks like a new one (see {@link Restored}). */
    private Object readResolve() throws java.io.InvalidObjectException {
        return Restored.checked("SpQR tensor", () -> new SpqrTensor(rows, cols, settings, perm, codes, scaleCodes,
                zeroCodes, secondLevel, rowPointers, outlierColumns, outlierValues, outlierThreshold));
    }

    /** {@code clamp(round(x / max(scale, 1e-9) + zero), 0, maxq)}, half to even, in float32 like the reference. */
    static int quantize(float x, float scale, float zero, int maxq) {
        float q = (float) Math.rint(x / Math.max(scale, EPS) + zero);
        return q < 0 ? 0 : q > maxq ? maxq : (int) q;
    }

    /** {@code scale · (q − zero)} in float32, the reference's dequantization at both levels. */
    static float dequantize(int q, float scale, float zero) {
        return scale * (q - zero);
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    public SpqrSettings settings() {
        return settings;
    }

    /** The stored arrays (copies), laid out as the constructor documents; {@code perm} is null for the identity. */
    public record Parts(int rows, int cols, SpqrSettings settings, int[] perm, byte[] codes, byte[] scaleCodes,
                        byte[] zeroCodes, float[] secondLevel, int[] rowPointers, char[] outlierColumns,
                        float[] outlierValues, double outlierThreshold) {
    }

    public Parts parts() {
        return new Parts(rows, cols, settings, perm == null ? null : perm.clone(), codes.clone(), scaleCodes.clone(),
                zeroCodes.clone(), secondLevel.clone(), rowPointers.clone(), outlierColumns.clone(),
                outlierValues.clone(), outlierThreshold);
    }

    /**
     * A tensor from its stored arrays (a file reader's), through the same checks as a new one.
     *
     * @throws IllegalArgumentException (or a SqueezeException from the settings' check) saying what is inconsistent
     */
    public static SpqrTensor fromParts(Parts p) {
        return new SpqrTensor(p.rows(), p.cols(), p.settings(), p.perm(), p.codes(), p.scaleCodes(), p.zeroCodes(),
                p.secondLevel(), p.rowPointers(), p.outlierColumns(), p.outlierValues(), p.outlierThreshold());
    }

    /** Number of column groups, {@code ⌈cols / groupSize⌉}. */
    public int groups() {
        return Math.ceilDiv(cols, settings.groupSize());
    }

    /** The processing order (processed column p is original column {@code perm[p]}); a copy. */
    public int[] perm() {
        if (perm == null) {
            int[] id = new int[cols];
            for (int i = 0; i < cols; i++) {
                id[i] = i;
            }
            return id;
        }
        return perm.clone();
    }

    /** Code of row r at processed column p. */
    public int code(int r, int p) {
        return codes[r * cols + p] & 0xff;
    }

    /** Second-level code of the scale of row r in group g. */
    public int scaleCode(int g, int r) {
        return scaleCodes[g * rows + r] & 0xff;
    }

    /** Second-level code of the zero point of row r in group g. */
    public int zeroCode(int g, int r) {
        return zeroCodes[g * rows + r] & 0xff;
    }

    /** Dequantized first-level scale of row r in group g. */
    public float scale(int g, int r) {
        int k = (g * (rows / settings.qqGroupSize()) + r / settings.qqGroupSize()) * 4;
        return dequantize(scaleCode(g, r), secondLevel[k], secondLevel[k + 1]);
    }

    /** Dequantized first-level zero point of row r in group g. */
    public float zero(int g, int r) {
        int k = (g * (rows / settings.qqGroupSize()) + r / settings.qqGroupSize()) * 4;
        return dequantize(zeroCode(g, r), secondLevel[k + 2], secondLevel[k + 3]);
    }

    public int outlierCount() {
        return outlierValues.length;
    }

    /** Whether (r, processed column p) is an outlier. */
    public boolean isOutlier(int r, int p) {
        for (int k = rowPointers[r]; k < rowPointers[r + 1]; k++) {
            if (outlierColumns[k] == p) {
                return true;
            }
        }
        return false;
    }

    /** The absolute outlier threshold the run used ({@code τ · outlier scale}); provenance, not stored. */
    public double outlierThreshold() {
        return outlierThreshold;
    }

    /**
     * SpQR's own average bits per weight ({@code main.get_average_number_of_bits}, round_zero off), unrounded:
     * {@code bits + (qqScaleBits + qqZeroBits)/groupSize + 2·(16+16)/(groupSize·qqGroupSize) + 32·outliers/(rows·cols)}.
     */
    public double referenceAverageBits() {
        double g = settings.groupSize();
        double avg = settings.bits() + (settings.qqScaleBits() + settings.qqZeroBits()) / g
                + 2.0 * (16 + 16) / (g * settings.qqGroupSize());
        return avg + 32.0 * outlierCount() / ((double) rows * cols);
    }

    @Override
    public long storedBits() {
        long groups = groups();
        long chunks = rows / settings.qqGroupSize();
        long v = settings.referencePrecision() ? 32 : 16;
        long bits = (long) rows * cols * settings.bits();
        bits += (long) rows * groups * (settings.qqScaleBits() + settings.qqZeroBits());
        bits += groups * chunks * 4 * v;
        bits += (long) outlierCount() * (v + 16);
        bits += (rows + 1L) * 32;
        if (perm != null) {
            bits += (long) cols * 16;
        }
        return bits;
    }

    @Override
    public float[] dequantize() {
        float[] w = new float[rows * cols];
        int gs = Math.min(settings.groupSize(), cols); // one group when wider than the row: (g + 1) · gs cannot overflow
        float[] scale = new float[rows];
        float[] zero = new float[rows];
        for (int g = 0; g < groups(); g++) {
            for (int r = 0; r < rows; r++) {
                scale[r] = scale(g, r);
                zero[r] = zero(g, r);
            }
            int p1 = Math.min(cols, (g + 1) * gs);
            for (int r = 0; r < rows; r++) {
                for (int p = g * gs; p < p1; p++) {
                    w[r * cols + original(p)] = dequantize(code(r, p), scale[r], zero[r]);
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            for (int k = rowPointers[r]; k < rowPointers[r + 1]; k++) {
                w[r * cols + original(outlierColumns[k])] = outlierValues[k];
            }
        }
        return w;
    }

    private int original(int p) {
        return perm == null ? p : perm[p];
    }

    /**
     * The layer on the engine's kernels: the packed form ({@link #asLinearOp(SparseKernels.Backend)}) when the
     * native packed kernel is usable here, else (no native library, or {@code -Dsqueeze.kernels=java}) the float32
     * dense layer of {@link #dequantize()}, the fast pure-Java path.
     */
    @Override
    public LinearOp asLinearOp() {
        if (PackedLinear.defaultKernel() == null || SparseKernels.preferred() != SparseKernels.Backend.NATIVE) {
            return new FastDenseLinear(rows, cols, dequantize(), null, describe() + " (dequantized f32)");
        }
        return asLinearOp(SparseKernels.Backend.NATIVE);
    }

    /**
     * {@code y = W x} in SpQR's own layout, never expanding W to float32: the {@code bits}-bit codes (processed
     * column order) go to the packed low-bit kernel ({@link PackedLinear}) with the first-level statistics
     * materialised per (row, group) as the exact float32 values {@link #dequantize()} uses
     * ({@code s₂ (code − z₂)} at both levels; fp16 when every one of them is an fp16 value), and SpQR's
     * permutation as the packed layer's column order; the outliers are added from a CSR in original column order
     * through the CSR kernel. The packed base still holds a code at each outlier's position, so the CSR stores
     * {@code outlier − base value} there: the sum is the outlier to float32 rounding.
     *
     * @param backend {@code NATIVE}: the native packed and CSR kernels; {@code JAVA}: the pure-Java references of
     *                both ({@link JavaPackedMatMul}, {@link SparseKernels}) — readable and slow, for tests
     */
    public LinearOp asLinearOp(SparseKernels.Backend backend) {
        int g = groups();
        float[] scales = new float[rows * g];
        float[] zeros = new float[rows * g];
        for (int gi = 0; gi < g; gi++) {
            for (int r = 0; r < rows; r++) {
                scales[r * g + gi] = scale(gi, r);
                zeros[r * g + gi] = zero(gi, r);
            }
        }
        PackedMatrix.ScaleType type = PackedLinear.exactInHalf(scales) && PackedLinear.exactInHalf(zeros)
                ? PackedMatrix.ScaleType.F16 : PackedMatrix.ScaleType.F32;
        PackedMatrix base = PackedMatrix.ofCodes(rows, cols, settings.bits(), settings.groupSize(), false, type,
                codes.clone(), scales, zeros);
        PackedMatMul kernel = backend == SparseKernels.Backend.NATIVE ? PackedLinear.defaultKernel()
                : new JavaPackedMatMul();
        if (kernel == null) {
            throw new IllegalStateException("the native packed kernel is not available here (see the log); use the"
                    + " JAVA backend or asLinearOp()");
        }
        int[] columns = new int[outlierValues.length];
        float[] corrections = new float[outlierValues.length];
        for (int r = 0; r < rows; r++) {
            for (int k = rowPointers[r]; k < rowPointers[r + 1]; k++) {
                int p = outlierColumns[k];
                columns[k] = original(p);
                corrections[k] = outlierValues[k] - dequantize(code(r, p), scales[r * g + p / settings.groupSize()],
                        zeros[r * g + p / settings.groupSize()]);
            }
        }
        LinearOp packed = new PackedLinear(base, kernel, perm == null ? null : perm.clone(), "SpQR base");
        CsrMatrix outliers = CsrMatrix.of(rows, cols, rowPointers, columns, corrections);
        return new SpqrLinear(packed, outliers, backend, describe() + " (" + packed.describe() + " + "
                + outlierValues.length + " CSR outliers, " + SparseKernels.name(backend) + ")");
    }

    /** The packed base product, then the outliers' corrections added. */
    private static final class SpqrLinear implements LinearOp {
        private final LinearOp base;
        private final CsrMatrix outliers;
        private final SparseKernels.Backend backend;
        private final String description;

        SpqrLinear(LinearOp base, CsrMatrix outliers, SparseKernels.Backend backend, String description) {
            this.base = base;
            this.outliers = outliers;
            this.backend = backend;
            this.description = description;
        }

        @Override
        public int inFeatures() {
            return base.inFeatures();
        }

        @Override
        public int outFeatures() {
            return base.outFeatures();
        }

        @Override
        public void forward(float[] x, int batch, float[] y) {
            base.forward(x, batch, y); // checks the lengths
            if (outliers.nnz() > 0) {
                SparseKernels.csrAdd(backend, outliers, x, y, batch, 0, outFeatures());
            }
        }

        @Override
        public String describe() {
            return description;
        }
    }

    @Override
    public String describe() {
        return String.format(java.util.Locale.ROOT, "%s, %.2f%% outliers, %.3f bits/weight", settings.describe(),
                100.0 * outlierCount() / ((double) rows * cols), bitsPerWeight());
    }
}
