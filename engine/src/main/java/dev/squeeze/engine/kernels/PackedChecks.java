package dev.squeeze.engine.kernels;

/**
 * Argument checks shared by every {@link PackedMatMul} and by {@link PackedMatrix}. They run before any native
 * call: a wrong length that reached the C kernel would read or write out of bounds and take the whole JVM
 * down (the C side checks again, but it is the last line, not the first). Products are computed in
 * {@code long}, so huge dimensions report a mismatch instead of overflowing.
 */
final class PackedChecks {
    static final int MIN_BITS = 2;
    static final int MAX_BITS = 8;

    private PackedChecks() {
    }

    /** The shape fields of a packed matrix. */
    static void shape(int rows, int cols, int bits, int groupSize) {
        positive("rows", rows);
        positive("cols", cols);
        if (bits < MIN_BITS || bits > MAX_BITS) {
            throw new IllegalArgumentException("bits must be between " + MIN_BITS + " and " + MAX_BITS + ", got "
                    + bits);
        }
        positive("groupSize", groupSize);
    }

    /** Groups per row: {@code ceil(cols / groupSize)}. */
    static long groups(int cols, int groupSize) {
        return (cols + (long) groupSize - 1) / groupSize;
    }

    /** Everything one product reads or writes, including the matrix's own arrays (cheap, and the last line). */
    static void call(PackedMatrix w, float[] x, float[] y, int batch, int rowBegin, int rowEnd) {
        if (w == null) {
            throw new IllegalArgumentException("w (the PackedMatrix) is null");
        }
        w.checkConsistent();
        positive("batch", batch);
        String context = " (" + w + ", batch " + batch + ")";
        atLeast("x", x == null ? -1 : x.length, (long) batch * w.cols(), "batch * cols = " + batch + " * " + w.cols(),
                context);
        atLeast("y", y == null ? -1 : y.length, (long) batch * w.rows(), "batch * rows = " + batch + " * " + w.rows(),
                context);
        if (x == y) {
            throw new IllegalArgumentException("x and y are the same array; y must be a separate output buffer");
        }
        if (rowBegin < 0 || rowEnd > w.rows() || rowBegin > rowEnd) {
            throw new IllegalArgumentException("row range [" + rowBegin + ", " + rowEnd + ") is not inside [0, "
                    + w.rows() + ")" + context + "; it needs 0 <= rowBegin <= rowEnd <= rows");
        }
    }

    static void positive(String field, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(field + " must be at least 1, got " + value);
        }
    }

    /** Exact length: the matrix's own arrays. */
    static void length(String field, int actual, long expected, String formula, String context) {
        if (actual < 0) {
            throw new IllegalArgumentException(field + " is null; expected " + expected + " elements" + context);
        }
        if (actual != expected) {
            throw new IllegalArgumentException(field + " has " + actual + " elements but " + formula + " = "
                    + expected + " are needed" + context);
        }
    }

    /** At-least length: x and y may be reused buffers longer than this batch (only the prefix is used). */
    static void atLeast(String field, int actual, long expected, String formula, String context) {
        if (actual < 0) {
            throw new IllegalArgumentException(field + " is null; expected " + expected + " elements" + context);
        }
        if (actual < expected) {
            throw new IllegalArgumentException(field + " has " + actual + " elements but " + formula + " = "
                    + expected + " are needed" + context);
        }
    }
}
