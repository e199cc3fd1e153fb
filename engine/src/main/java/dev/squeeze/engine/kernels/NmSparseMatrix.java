package dev.squeeze.engine.kernels;

/**
 * An N:M structured-sparse matrix in the kernels' layout: {@code rows × cols}, every run of {@code m} columns
 * of a row (a group; the last may be partial) keeps {@code n} values. Per row, {@code groups × n} values,
 * group after group ({@code groups = ceil(cols / m)}), each with its position inside its group:
 * <ul>
 *   <li>2:4 exactly: 2 bits per position, packed LSB-first, four per byte, each row starting on a byte
 *       ({@code ceil(groups / 2)} bytes per row) — 0.5 bits per weight of index, what NVIDIA's sparse tensor
 *       cores use;</li>
 *   <li>any other N:M: one byte per position ({@code groups × n} bytes per row).</li>
 * </ul>
 * A kept position whose column ({@code group × m + position}) is {@code >= cols} is padding of a partial last
 * group and contributes nothing. Values are fp16 bit patterns or fp32. Immutable: the arrays are private
 * copies, checked once here (every position {@code < m}), so a product can never be handed a bad index.
 */
public final class NmSparseMatrix {
    private final int rows;
    private final int cols;
    private final int n;
    private final int m;
    private final short[] half;
    private final float[] single;
    private final byte[] index;

    private NmSparseMatrix(int rows, int cols, int n, int m, short[] half, float[] single, byte[] index) {
        this.rows = rows;
        this.cols = cols;
        this.n = n;
        this.m = m;
        this.half = half;
        this.single = single;
        this.index = index;
    }

    /** Groups per row, {@code ceil(cols / m)}. */
    public static long groups(int cols, int m) {
        return (cols + (long) m - 1) / m;
    }

    static boolean packed2(int n, int m) {
        return n == 2 && m == 4;
    }

    /** Bytes of positions per row. */
    static long indexStride(int n, int m, int cols) {
        long g = groups(cols, m);
        return packed2(n, m) ? (g + 1) / 2 : g * n;
    }

    /**
     * @param positions one per value, {@code rows × groups × n}, each in {@code [0, m)}, in value order
     * @param values    fp16 bit patterns, same count
     */
    public static NmSparseMatrix fp16(int rows, int cols, int n, int m, int[] positions, short[] values) {
        SparseChecks.nmShape(rows, cols, n, m);
        long count = rows * groups(cols, m) * n;
        SparseChecks.length("values", values == null ? -1 : values.length, count, "rows * ceil(cols / m) * n");
        return new NmSparseMatrix(rows, cols, n, m, values.clone(), null, pack(rows, cols, n, m, positions));
    }

    /** As {@link #fp16} with fp32 values. */
    public static NmSparseMatrix fp32(int rows, int cols, int n, int m, int[] positions, float[] values) {
        SparseChecks.nmShape(rows, cols, n, m);
        long count = rows * groups(cols, m) * n;
        SparseChecks.length("values", values == null ? -1 : values.length, count, "rows * ceil(cols / m) * n");
        return new NmSparseMatrix(rows, cols, n, m, null, values.clone(), pack(rows, cols, n, m, positions));
    }

    private static byte[] pack(int rows, int cols, int n, int m, int[] positions) {
        long perRow = groups(cols, m) * n;
        SparseChecks.length("positions", positions == null ? -1 : positions.length, rows * perRow,
                "rows * ceil(cols / m) * n");
        long stride = indexStride(n, m, cols);
        byte[] index = new byte[Math.toIntExact(rows * stride)];
        for (int r = 0; r < rows; r++) {
            for (long j = 0; j < perRow; j++) {
                int p = positions[(int) (r * perRow + j)];
                if (p < 0 || p >= m) {
                    throw new IllegalArgumentException("position " + p + " of value " + j + " in row " + r
                            + " is outside [0, " + m + ") for " + n + ":" + m);
                }
                if (packed2(n, m)) {
                    index[(int) (r * stride + (j >> 2))] |= (byte) (p << ((j & 3) * 2));
                } else {
                    index[(int) (r * stride + j)] = (byte) p;
                }
            }
        }
        return index;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public int n() {
        return n;
    }

    public int m() {
        return m;
    }

    public boolean isFp16() {
        return half != null;
    }

    /** Position of kept value {@code j} of row {@code r}. */
    int position(int r, long j) {
        long stride = indexStride(n, m, cols);
        if (packed2(n, m)) {
            return (index[(int) (r * stride + (j >> 2))] >> ((j & 3) * 2)) & 3;
        }
        return index[(int) (r * stride + j)] & 0xff;
    }

    /** Value {@code k} (row-major over all values) as a float. */
    float value(long k) {
        return half != null ? Float.float16ToFloat(half[(int) k]) : single[(int) k];
    }

    short[] halfArray() {
        return half;
    }

    float[] singleArray() {
        return single;
    }

    byte[] indexArray() {
        return index;
    }

    /** Bytes the kernel reads: values plus positions. */
    public long bytes() {
        return (half != null ? 2L * half.length : 4L * single.length) + index.length;
    }

    @Override
    public String toString() {
        return n + ":" + m + " " + rows + " x " + cols + " " + (half != null ? "fp16" : "fp32");
    }
}
