package dev.squeeze.engine.kernels;

/**
 * A group-quantized int4 weight matrix in the layout defined by {@link Int4MatVec}. The constructor checks
 * every length, so an instance always describes a consistent buffer set.
 *
 * <p>The arrays are held, not copied: a compressed model can be hundreds of megabytes, and the kernels
 * only read them. {@code equals} is therefore identity on the arrays, as for any record with array
 * components; compare contents with {@link java.util.Arrays} if you need to.
 *
 * @param rows      output size, at least 1
 * @param cols      input size, at least 1
 * @param groupSize columns per quantization group, at least 1 (may exceed {@code cols})
 * @param codes     {@code rows * ceil(cols / 2)} bytes, two codes per byte, even column in the low nibble
 * @param scales    {@code rows * ceil(cols / groupSize)} floats, {@code [rows][ngroups]}
 * @param zeros     same shape as {@code scales}
 */
public record Int4Matrix(int rows, int cols, int groupSize, byte[] codes, float[] scales, float[] zeros) {

    public Int4Matrix {
        Int4Checks.matrix(rows, cols, groupSize, codes, scales, zeros);
    }

    /**
     * Packs 4-bit codes into this format's layout: row stride {@code ceil(cols / 2)}, even column in the low
     * nibble. {@code code.applyAsInt(r, c)} gives the code of weight (r, c), 0..15.
     */
    public static byte[] pack(int rows, int cols, java.util.function.IntBinaryOperator code) {
        int stride = (cols + 1) / 2;
        byte[] packed = new byte[rows * stride];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int q = code.applyAsInt(r, c) & 0x0F;
                packed[r * stride + c / 2] |= (byte) (c % 2 == 0 ? q : q << 4);
            }
        }
        return packed;
    }

    /** Bytes per row of {@link #codes()}: {@code ceil(cols / 2)}. */
    public int rowStride() {
        return (int) Int4Checks.rowStride(cols);
    }

    /** Groups per row: {@code ceil(cols / groupSize)}. */
    public int groups() {
        return (int) Int4Checks.groups(cols, groupSize);
    }

    /** The 4-bit code of weight (r, c), in 0..15. */
    public int code(int r, int c) {
        checkCell(r, c);
        int packed = codes[r * rowStride() + c / 2];
        return (c % 2 == 0 ? packed : packed >> 4) & 0x0F;
    }

    /** The dequantized weight (r, c) in float32: {@code scale * (code - zero)} of its group. */
    public float weight(int r, int c) {
        checkCell(r, c);
        int index = r * groups() + c / groupSize;
        return scales[index] * (code(r, c) - zeros[index]);
    }

    private void checkCell(int r, int c) {
        // Without this an out-of-range column would silently read the next row.
        java.util.Objects.checkIndex(r, rows);
        java.util.Objects.checkIndex(c, cols);
    }

    @Override
    public String toString() {
        return "Int4Matrix[" + rows + " x " + cols + ", groupSize " + groupSize + "]";
    }
}
