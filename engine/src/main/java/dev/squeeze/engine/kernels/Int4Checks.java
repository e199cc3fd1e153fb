package dev.squeeze.engine.kernels;

/**
 * Shape checks shared by every {@link Int4MatVec} backend. They run before any native call: a wrong length
 * that reached the C kernel would read or write out of bounds and take the whole JVM down.
 * Lengths are computed in {@code long} so that huge dimensions report a mismatch instead of overflowing.
 */
final class Int4Checks {
    private Int4Checks() {
    }

    static long rowStride(int cols) {
        return (cols + 1L) / 2;
    }

    static long groups(int cols, int groupSize) {
        return (cols + (long) groupSize - 1) / groupSize;
    }

    static void matrix(int rows, int cols, int groupSize, byte[] codes, float[] scales, float[] zeros) {
        positive("rows", rows);
        positive("cols", cols);
        positive("groupSize", groupSize);
        String shape = " (matrix " + rows + " x " + cols + ", groupSize " + groupSize + ")";
        long stride = rowStride(cols);
        long ngroups = groups(cols, groupSize);
        length("codes", codes == null ? -1 : codes.length, rows * stride,
                "rows * ceil(cols / 2) = " + rows + " * " + stride, shape
                        + "; codes are packed two per byte, row-major, even column in the low nibble");
        length("scales", scales == null ? -1 : scales.length, rows * ngroups,
                "rows * ceil(cols / groupSize) = " + rows + " * " + ngroups, shape);
        length("zeros", zeros == null ? -1 : zeros.length, rows * ngroups,
                "rows * ceil(cols / groupSize) = " + rows + " * " + ngroups, shape);
    }

    /** Everything a kernel call reads or writes, including the matrix again (cheap, and it is the last line). */
    static void call(Int4Matrix w, float[] x, float[] y, int batch) {
        if (w == null) {
            throw new IllegalArgumentException("w (the Int4Matrix) is null");
        }
        matrix(w.rows(), w.cols(), w.groupSize(), w.codes(), w.scales(), w.zeros());
        positive("batch", batch);
        String shape = " (" + w + ", batch " + batch + ")";
        length("x", x == null ? -1 : x.length, (long) batch * w.cols(),
                "batch * cols = " + batch + " * " + w.cols(), shape);
        length("y", y == null ? -1 : y.length, (long) batch * w.rows(),
                "batch * rows = " + batch + " * " + w.rows(), shape);
        if (x == y) {
            throw new IllegalArgumentException("x and y are the same array; y must be a separate output buffer");
        }
    }

    private static void positive(String field, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(field + " must be at least 1, got " + value);
        }
    }

    private static void length(String field, int actual, long expected, String formula, String context) {
        if (actual < 0) {
            throw new IllegalArgumentException(field + " is null; expected " + expected + " elements" + context);
        }
        if (actual != expected) {
            throw new IllegalArgumentException(field + " has " + actual + " elements but " + formula + " = "
                    + expected + " are needed" + context);
        }
    }
}
