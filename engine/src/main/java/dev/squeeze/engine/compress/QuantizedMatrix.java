package dev.squeeze.engine.compress;

import dev.squeeze.engine.kernels.PackedMatrix;
import dev.squeeze.engine.nn.LinearOp;

/**
 * Integer codes with per-(row, group) scales and zero points: {@code w = scale × (code − zero)}.
 * Groups are {@code groupSize} consecutive columns of a row; the last group of a row may be partial.
 *
 * <p>Stored bits: {@code bits} per code, 32 per scale (scales are kept in float32, so they are counted as
 * such) and, for asymmetric quantization, {@code bits} per zero point; symmetric zero points are implied by the
 * width and cost nothing.
 */
public final class QuantizedMatrix implements CompressedTensor {
    private static final long serialVersionUID = 1L;
    private final int rows;
    private final int cols;
    private final RtnSettings settings;
    private final byte[] codes;
    private final float[] scales;
    private final float[] zeros;

    QuantizedMatrix(int rows, int cols, RtnSettings settings, byte[] codes, float[] scales, float[] zeros) {
        this.rows = rows;
        this.cols = cols;
        this.settings = settings;
        this.codes = codes;
        this.scales = scales;
        this.zeros = zeros;
        Restored.require(settings != null, "settings are missing");
        settings.validate("(quantized matrix)");
        Restored.length(codes, Restored.matrix(rows, cols), "codes");
        Restored.codes(codes, settings.bits(), "code");
        Restored.length(scales, (long) rows * groupsPerRow(), "scales");
        Restored.length(zeros, (long) rows * groupsPerRow(), "zeros");
    }

    /** A matrix from a checkpoint passes the constructor's checks like a new one (see {@link Restored}). */
    private Object readResolve() throws java.io.InvalidObjectException {
        return Restored.checked("RTN matrix", () -> new QuantizedMatrix(rows, cols, settings, codes, scales, zeros));
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    public int bits() {
        return settings.bits();
    }

    /** The settings the codes were made with. */
    public RtnSettings settings() {
        return settings;
    }

    /** The stored arrays: codes {@code rows × cols} row-major, scales and zeros {@code rows × groupsPerRow} (copies). */
    public record Parts(int rows, int cols, RtnSettings settings, byte[] codes, float[] scales, float[] zeros) {
    }

    public Parts parts() {
        return new Parts(rows, cols, settings, codes.clone(), scales.clone(), zeros.clone());
    }

    /**
     * A matrix from its stored arrays (a file reader's), through the same checks as a new one.
     *
     * @throws IllegalArgumentException saying which part is inconsistent
     */
    public static QuantizedMatrix fromParts(Parts p) {
        return new QuantizedMatrix(p.rows(), p.cols(), p.settings(), p.codes(), p.scales(), p.zeros());
    }

    /** Columns per group; per-row quantization, or a group wider than the row, has one group as wide as the row. */
    public int groupSize() {
        return settings.groupSize() == 0 ? cols : Math.min(settings.groupSize(), cols);
    }

    public int groupsPerRow() {
        return Math.ceilDiv(cols, groupSize());
    }

    /** Code of weight (r, c), 0 to 2^bits − 1. */
    public int code(int r, int c) {
        return codes[r * cols + c] & 0xff;
    }

    /** Scales, {@code rows × groupsPerRow} row-major (a copy). */
    public float[] scales() {
        return scales.clone();
    }

    /** Zero points, {@code rows × groupsPerRow} row-major (a copy). */
    public float[] zeros() {
        return zeros.clone();
    }

    @Override
    public long storedBits() {
        long weights = (long) rows * cols;
        long groups = (long) rows * groupsPerRow();
        long zeroBits = settings.symmetric() ? 0 : settings.bits();
        return weights * settings.bits() + groups * (32 + zeroBits);
    }

    @Override
    public float[] dequantize() {
        float[] w = new float[rows * cols];
        int g = groupSize();
        int gpr = groupsPerRow();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int k = r * gpr + c / g;
                w[r * cols + c] = scales[k] * ((codes[r * cols + c] & 0xff) - zeros[k]);
            }
        }
        return w;
    }

    /**
     * Every width computes on its packed codes through {@link PackedLinear} (the native packed kernel, float32
     * scales as stored); without the native library the layer is the dequantized float32 one.
     */
    @Override
    public LinearOp asLinearOp() {
        return PackedLinear.of(packed(), null, describe(), this::dequantize);
    }

    /** The codes, scales and zeros as a {@link PackedMatrix} (codes one per byte, shared with this matrix). */
    public PackedMatrix packed() {
        // Symmetric RTN stores the implied zero (maxq + 1) / 2 = 2^(bits-1); the kernel then needs none.
        boolean symmetric = PackedLinear.impliedSymmetricZeros(zeros, bits());
        return PackedMatrix.ofCodes(rows, cols, bits(), groupSize(), symmetric, PackedMatrix.ScaleType.F32, codes,
                scales, symmetric ? null : zeros);
    }

    @Override
    public String describe() {
        return settings.describe();
    }
}
