package dev.squeeze.engine.kernels;

import java.util.Objects;

/**
 * A group-quantized weight matrix of any width from 2 to 8 bits, in the form the packed kernels compute on.
 *
 * <p><b>Format.</b> W is {@code rows × cols}. Each weight has an unsigned code {@code 0 .. 2^bits − 1}. Columns
 * form groups of {@code groupSize} consecutive columns per row (the last may be partial; a group wider than the
 * row is one group); {@code groups = ceil(cols / groupSize)}. Per (row, group) one scale and, when asymmetric,
 * one zero point, both stored {@code [rows][groups]} row-major, as float32 or as IEEE half precision
 * ({@link ScaleType}). Symmetric matrices store no zero points: the zero is {@code 2^(bits−1)}, the
 * {@code (maxq + 1) / 2} that RTN and GPTQ imply. The dequantized weight is {@code scale × (code − zero)},
 * computed in float32 from the stored (for F16: half-precision) values.
 *
 * <p><b>Code layouts.</b> {@link Layout#CODES}: one code per byte, row-major, {@code rows × cols} bytes; what
 * the pure-Java reference reads. {@link Layout#NATIVE}: the C library's packed layout ({@code sq_packed_pack}
 * in native-kernels/src/packed.h), private to the C side and of {@code sq_packed_codes_bytes} bytes; what the
 * native kernel reads. {@link #ofCodes} builds the first, {@link #packNative()} turns it into the second.
 *
 * <p>Arrays are held, not copied (a model's matrices can be hundreds of megabytes and the kernels only read
 * them), except float32 scales or zeros stored as half, which are converted once. The constructor checks every
 * length and code, so an instance always describes a consistent buffer set.
 */
public final class PackedMatrix {

    /** How scales and zero points are stored; the ordinal values are sq_scale_type's ({@code SQ_SCALE_*}). */
    public enum ScaleType {
        /** float32. */
        F32,
        /** IEEE 754 binary16, {@code short} bits ({@link Float#floatToFloat16}). */
        F16
    }

    /** Where the codes live; see the class comment. */
    public enum Layout {
        CODES,
        NATIVE
    }

    private final int rows;
    private final int cols;
    private final int bits;
    private final int groupSize;
    private final boolean symmetric;
    private final ScaleType scaleType;
    private final Layout layout;
    private final byte[] data;
    private final long dataLength;
    private final Object scales; // float[] for F32, short[] for F16
    private final Object zeros;  // same type as scales, null when symmetric

    private PackedMatrix(int rows, int cols, int bits, int groupSize, boolean symmetric, ScaleType scaleType,
                         Layout layout, byte[] data, long dataLength, Object scales, Object zeros) {
        this.rows = rows;
        this.cols = cols;
        this.bits = bits;
        this.groupSize = groupSize;
        this.symmetric = symmetric;
        this.scaleType = scaleType;
        this.layout = layout;
        this.data = data;
        this.dataLength = dataLength;
        this.scales = scales;
        this.zeros = zeros;
        checkConsistent();
    }

    /**
     * A matrix from one code per byte (layout {@link Layout#CODES}).
     *
     * @param codes  {@code rows × cols} bytes, row-major, each {@code 0 .. 2^bits − 1}; held, not copied
     * @param scales {@code rows × groups} floats, {@code [rows][groups]}; for {@link ScaleType#F16} every value
     *               must be exactly representable in half precision (GPTQ's fp16 scales are: they were rounded
     *               when quantizing), so that the packed kernel computes with the very values the Java path uses
     * @param zeros  same shape and rule as {@code scales} when asymmetric; {@code null} when symmetric
     * @throws IllegalArgumentException naming the field that is inconsistent and what it should be
     */
    public static PackedMatrix ofCodes(int rows, int cols, int bits, int groupSize, boolean symmetric,
                                       ScaleType scaleType, byte[] codes, float[] scales, float[] zeros) {
        PackedChecks.shape(rows, cols, bits, groupSize);
        if (scaleType == null) {
            throw new IllegalArgumentException("scaleType is null; use F32 or F16");
        }
        String context = context(rows, cols, bits, groupSize);
        long weights = (long) rows * cols;
        PackedChecks.length("codes", codes == null ? -1 : codes.length, weights, "rows * cols", context
                + "; one code per byte, row-major");
        int max = (1 << bits) - 1;
        for (int i = 0; i < codes.length; i++) {
            if ((codes[i] & 0xff) > max) {
                throw new IllegalArgumentException("codes[" + i + "] (row " + i / cols + ", column " + i % cols
                        + ") is " + (codes[i] & 0xff) + ", above the " + bits + "-bit maximum " + max + context);
            }
        }
        long n = (long) rows * PackedChecks.groups(cols, groupSize);
        PackedChecks.length("scales", scales == null ? -1 : scales.length, n, "rows * ceil(cols / groupSize)", context);
        if (symmetric && zeros != null) {
            throw new IllegalArgumentException("zeros must be null for a symmetric matrix (its zero point is 2^(bits-1)"
                    + " = " + (1 << (bits - 1)) + ")" + context + "; pass symmetric = false to store zero points");
        }
        if (!symmetric) {
            PackedChecks.length("zeros", zeros == null ? -1 : zeros.length, n, "rows * ceil(cols / groupSize)",
                    context);
        }
        Object s = scaleType == ScaleType.F16 ? toHalf("scales", scales, context) : scales;
        Object z = zeros == null ? null : scaleType == ScaleType.F16 ? toHalf("zeros", zeros, context) : zeros;
        return new PackedMatrix(rows, cols, bits, groupSize, symmetric, scaleType, Layout.CODES, codes, weights, s, z);
    }

    /**
     * The same matrix with its codes in the native packed layout ({@code sq_packed_pack}); scales and zeros are
     * shared. Returns {@code this} if the codes already are.
     *
     * @throws IllegalStateException if the native library is not available (the message says why)
     */
    public PackedMatrix packNative() {
        if (layout == Layout.NATIVE) {
            return this;
        }
        NativePacked.requireLibrary();
        long bytes = NativePacked.codesBytes(rows, cols, bits, groupSize, symmetric ? 1 : 0, scaleType.ordinal());
        if (bytes < 0 || bytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the packed codes of " + this + " take " + bytes
                    + " bytes, more than a Java array holds; split the matrix");
        }
        byte[] packed = new byte[(int) bytes];
        NativePacked.pack(rows, cols, bits, groupSize, symmetric ? 1 : 0, scaleType.ordinal(), data, packed);
        return new PackedMatrix(rows, cols, bits, groupSize, symmetric, scaleType, Layout.NATIVE, packed, bytes,
                scales, zeros);
    }

    private static short[] toHalf(String field, float[] values, String context) {
        short[] half = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            short h = Float.floatToFloat16(values[i]);
            float back = Float.float16ToFloat(h);
            if (Float.floatToRawIntBits(back) != Float.floatToRawIntBits(values[i])) {
                throw new IllegalArgumentException(field + "[" + i + "] = " + values[i] + " is not exactly a half-"
                        + "precision value (nearest: " + back + ")" + context + "; round it with Float.floatToFloat16"
                        + " first, or use ScaleType.F32");
            }
            half[i] = h;
        }
        return half;
    }

    private static String context(int rows, int cols, int bits, int groupSize) {
        return " (matrix " + rows + " x " + cols + ", " + bits + "-bit, groupSize " + groupSize + ")";
    }

    /** Every array against the shape; the constructor runs it and so does every product (it is cheap). */
    void checkConsistent() {
        PackedChecks.shape(rows, cols, bits, groupSize);
        String context = context(rows, cols, bits, groupSize);
        PackedChecks.length("codes", data == null ? -1 : data.length, dataLength,
                layout == Layout.CODES ? "rows * cols" : "sq_packed_codes_bytes", context);
        long n = (long) rows * groups();
        int scaleLength = scales instanceof float[] f ? f.length : scales instanceof short[] h ? h.length : -1;
        PackedChecks.length("scales", scaleLength, n, "rows * ceil(cols / groupSize)", context);
        if (scaleType == ScaleType.F32 ? !(scales instanceof float[]) : !(scales instanceof short[])) {
            throw new IllegalArgumentException("scales are not stored as " + scaleType + context);
        }
        if (symmetric) {
            if (zeros != null) {
                throw new IllegalArgumentException("a symmetric matrix stores no zeros" + context);
            }
        } else {
            int zeroLength = zeros instanceof float[] f ? f.length : zeros instanceof short[] h ? h.length : -1;
            PackedChecks.length("zeros", zeroLength, n, "rows * ceil(cols / groupSize)", context);
            if (zeros.getClass() != scales.getClass()) {
                throw new IllegalArgumentException("zeros are not stored as " + scaleType + context);
            }
        }
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public int bits() {
        return bits;
    }

    public int groupSize() {
        return groupSize;
    }

    public boolean symmetric() {
        return symmetric;
    }

    public ScaleType scaleType() {
        return scaleType;
    }

    public Layout layout() {
        return layout;
    }

    /** Groups per row: {@code ceil(cols / groupSize)}. */
    public int groups() {
        return (int) PackedChecks.groups(cols, groupSize);
    }

    /** The scale of (row, group) as the kernels use it (half values widened exactly). */
    public float scale(int row, int group) {
        int i = cellIndex(row, group);
        return scales instanceof float[] f ? f[i] : Float.float16ToFloat(((short[]) scales)[i]);
    }

    /** The zero point of (row, group); {@code 2^(bits−1)} when symmetric. */
    public float zero(int row, int group) {
        int i = cellIndex(row, group);
        if (zeros == null) {
            return 1 << (bits - 1);
        }
        return zeros instanceof float[] f ? f[i] : Float.float16ToFloat(((short[]) zeros)[i]);
    }

    /** The code of weight (r, c); layout {@link Layout#CODES} only (the native layout is private to C). */
    public int code(int r, int c) {
        if (layout != Layout.CODES) {
            throw new IllegalStateException("the codes of " + this + " are in the native packed layout; read them"
                    + " from the CODES form this matrix was packed from");
        }
        Objects.checkIndex(r, rows);
        Objects.checkIndex(c, cols);
        return data[r * cols + c] & 0xff;
    }

    /** The dequantized weight (r, c): {@code scale × (code − zero)} in float32. */
    public float weight(int r, int c) {
        int g = c / groupSize;
        return scale(r, g) * (code(r, c) - zero(r, g));
    }

    /** Bytes of the codes, scales and zeros as held (what a layer costs in memory). */
    public long storageBytes() {
        long perValue = scaleType == ScaleType.F16 ? 2 : 4;
        long n = (long) rows * groups();
        return dataLength + n * perValue * (symmetric ? 1 : 2);
    }

    // Raw arrays for the kernels in this package; never handed out.
    byte[] data() {
        return data;
    }

    Object scalesArray() {
        return scales;
    }

    Object zerosArray() {
        return zeros;
    }

    private int cellIndex(int row, int group) {
        Objects.checkIndex(row, rows);
        Objects.checkIndex(group, groups());
        return row * groups() + group;
    }

    @Override
    public String toString() {
        return "packed " + rows + " x " + cols + " " + bits + "-bit g" + groupSize + (symmetric ? " sym" : " asym")
                + " " + scaleType.name().toLowerCase(java.util.Locale.ROOT) + " scales, " + layout.name()
                .toLowerCase(java.util.Locale.ROOT) + " layout";
    }
}
