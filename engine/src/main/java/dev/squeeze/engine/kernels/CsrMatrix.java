package dev.squeeze.engine.kernels;

/**
 * A sparse matrix in compressed-row storage: {@code rowPtr} ({@code rows + 1}, from 0, non-decreasing, ending
 * at the value count), one column index per value (16-bit when {@code cols <= 65536}, else 32-bit) and fp32
 * values. Immutable: the arrays are private copies, checked once here, so a product can never be handed a
 * bad index.
 */
public final class CsrMatrix {
    private final int rows;
    private final int cols;
    private final int[] rowPtr;
    private final char[] col16;
    private final int[] col32;
    private final float[] values;

    private CsrMatrix(int rows, int cols, int[] rowPtr, char[] col16, int[] col32, float[] values) {
        this.rows = rows;
        this.cols = cols;
        this.rowPtr = rowPtr;
        this.col16 = col16;
        this.col32 = col32;
        this.values = values;
    }

    /**
     * @param rowPtr  {@code rows + 1}: 0, non-decreasing, last = {@code values.length}
     * @param columns one per value, in {@code [0, cols)}
     */
    public static CsrMatrix of(int rows, int cols, int[] rowPtr, int[] columns, float[] values) {
        SparseChecks.positive("rows", rows);
        SparseChecks.positive("cols", cols);
        if (values == null || columns == null || rowPtr == null) {
            throw new IllegalArgumentException("rowPtr, columns and values must not be null");
        }
        SparseChecks.length("rowPtr", rowPtr.length, rows + 1L, "rows + 1");
        SparseChecks.length("columns", columns.length, values.length, "values.length");
        if (rowPtr[0] != 0 || rowPtr[rows] != values.length) {
            throw new IllegalArgumentException("rowPtr must run from 0 to " + values.length + " (the value count),"
                    + " got " + rowPtr[0] + " .. " + rowPtr[rows]);
        }
        for (int r = 0; r < rows; r++) {
            if (rowPtr[r + 1] < rowPtr[r]) {
                throw new IllegalArgumentException("rowPtr decreases at row " + r + ": " + rowPtr[r] + " then "
                        + rowPtr[r + 1]);
            }
        }
        for (int k = 0; k < columns.length; k++) {
            if (columns[k] < 0 || columns[k] >= cols) {
                throw new IllegalArgumentException("column index " + columns[k] + " of value " + k
                        + " is outside [0, " + cols + ")");
            }
        }
        char[] c16 = null;
        int[] c32 = null;
        if (cols <= 65536) {
            c16 = new char[columns.length];
            for (int k = 0; k < columns.length; k++) {
                c16[k] = (char) columns[k];
            }
        } else {
            c32 = columns.clone();
        }
        return new CsrMatrix(rows, cols, rowPtr.clone(), c16, c32, values.clone());
    }

    /** The non-zeros of a dense row-major matrix (exact zeros are dropped). */
    public static CsrMatrix fromDense(int rows, int cols, float[] dense) {
        SparseChecks.positive("rows", rows);
        SparseChecks.positive("cols", cols);
        SparseChecks.length("dense", dense == null ? -1 : dense.length, (long) rows * cols, "rows * cols");
        int nnz = 0;
        for (float v : dense) {
            if (v != 0f) {
                nnz++;
            }
        }
        int[] rp = new int[rows + 1];
        int[] col = new int[nnz];
        float[] val = new float[nnz];
        int k = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float v = dense[r * cols + c];
                if (v != 0f) {
                    col[k] = c;
                    val[k++] = v;
                }
            }
            rp[r + 1] = k;
        }
        return of(rows, cols, rp, col, val);
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public int nnz() {
        return values.length;
    }

    /** Fraction of non-zeros, {@code nnz / (rows × cols)}. */
    public double density() {
        return values.length / ((double) rows * cols);
    }

    int[] rowPtrArray() {
        return rowPtr;
    }

    char[] col16Array() {
        return col16;
    }

    int[] col32Array() {
        return col32;
    }

    float[] valueArray() {
        return values;
    }

    int column(int k) {
        return col16 != null ? col16[k] : col32[k];
    }

    @Override
    public String toString() {
        return "CSR " + rows + " x " + cols + ", " + values.length + " non-zeros";
    }
}
