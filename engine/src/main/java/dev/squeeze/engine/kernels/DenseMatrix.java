package dev.squeeze.engine.kernels;

/**
 * A dense row-major {@code rows × cols} matrix of fp16 bit patterns or fp32 values, for the one-pass batched
 * product (low-rank factors, SpQR's base until a packed form serves it). Immutable: a private copy.
 */
public final class DenseMatrix {
    private final int rows;
    private final int cols;
    private final short[] half;
    private final float[] single;

    private DenseMatrix(int rows, int cols, short[] half, float[] single) {
        this.rows = rows;
        this.cols = cols;
        this.half = half;
        this.single = single;
    }

    public static DenseMatrix fp16(int rows, int cols, short[] values) {
        SparseChecks.positive("rows", rows);
        SparseChecks.positive("cols", cols);
        SparseChecks.length("values", values == null ? -1 : values.length, (long) rows * cols, "rows * cols");
        return new DenseMatrix(rows, cols, values.clone(), null);
    }

    public static DenseMatrix fp32(int rows, int cols, float[] values) {
        SparseChecks.positive("rows", rows);
        SparseChecks.positive("cols", cols);
        SparseChecks.length("values", values == null ? -1 : values.length, (long) rows * cols, "rows * cols");
        return new DenseMatrix(rows, cols, null, values.clone());
    }

    /**
     * fp16 when every value is exactly an fp16 value (then the product is the same and reads half the bytes),
     * else fp32.
     */
    public static DenseMatrix compact(int rows, int cols, float[] values) {
        SparseChecks.length("values", values == null ? -1 : values.length, (long) rows * cols, "rows * cols");
        short[] h = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            h[i] = Float.floatToFloat16(values[i]);
            if (Float.floatToRawIntBits(Float.float16ToFloat(h[i])) != Float.floatToRawIntBits(values[i])) {
                return fp32(rows, cols, values);
            }
        }
        return new DenseMatrix(rows, cols, h, null);
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public boolean isFp16() {
        return half != null;
    }

    float get(long k) {
        return half != null ? Float.float16ToFloat(half[(int) k]) : single[(int) k];
    }

    short[] halfArray() {
        return half;
    }

    float[] singleArray() {
        return single;
    }

    @Override
    public String toString() {
        return "dense " + rows + " x " + cols + " " + (half != null ? "fp16" : "fp32");
    }
}
