package dev.squeeze.engine.kernels;

/**
 * Argument checks shared by every sparse-product backend. They run before any native call: a wrong length
 * that reached C would read or write out of bounds and take the whole JVM down. Lengths are computed in
 * {@code long} so that huge dimensions report a mismatch instead of overflowing.
 */
final class SparseChecks {
    private SparseChecks() {
    }

    static void positive(String field, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(field + " must be at least 1, got " + value);
        }
    }

    static void length(String field, int actual, long expected, String formula) {
        if (actual < 0) {
            throw new IllegalArgumentException(field + " is null; expected " + expected + " elements (" + formula + ")");
        }
        if (actual != expected) {
            throw new IllegalArgumentException(field + " has " + actual + " elements but " + formula + " = "
                    + expected + " are needed");
        }
    }

    static void nmShape(int rows, int cols, int n, int m) {
        positive("rows", rows);
        positive("cols", cols);
        if (n < 1 || m < n || m > 255) {
            throw new IllegalArgumentException("N:M pattern " + n + ":" + m + " must have 1 <= n <= m <= 255");
        }
        long count = rows * NmSparseMatrix.groups(cols, m) * n;
        if (count > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(rows + " x " + cols + " at " + n + ":" + m + " keeps " + count
                    + " values, more than one Java array holds");
        }
    }

    /** x, y, batch and the row range of a product over a {@code rows × cols} matrix. */
    static void call(int rows, int cols, float[] x, float[] y, int batch, int rowBegin, int rowEnd) {
        positive("batch", batch);
        if (x == null || y == null) {
            throw new IllegalArgumentException((x == null ? "x" : "y") + " is null");
        }
        if (x.length < (long) batch * cols) {
            throw new IllegalArgumentException("x has " + x.length + " elements but batch * cols = " + batch + " * "
                    + cols + " = " + (long) batch * cols + " are needed");
        }
        if (y.length < (long) batch * rows) {
            throw new IllegalArgumentException("y has " + y.length + " elements but batch * rows = " + batch + " * "
                    + rows + " = " + (long) batch * rows + " are needed");
        }
        if (x == y) {
            throw new IllegalArgumentException("x and y are the same array; y must be a separate output buffer");
        }
        if (rowBegin < 0 || rowEnd < rowBegin || rowEnd > rows) {
            throw new IllegalArgumentException("row range [" + rowBegin + ", " + rowEnd + ") is not inside [0, "
                    + rows + ")");
        }
    }
}
