package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad shapes are IllegalArgumentExceptions that name the field, in every backend, before any native call. */
class Int4ValidationTest {

    private static final float[] PARAMS = new float[4 * 3]; // 4 rows, ceil(5 / 2) = 3 groups

    @Test
    void matrixConstructorNamesTheField() {
        assertMessage("codes has 11 elements but rows * ceil(cols / 2) = 4 * 3 = 12",
                () -> new Int4Matrix(4, 5, 2, new byte[11], PARAMS, PARAMS));
        assertMessage("scales has 13 elements", () -> new Int4Matrix(4, 5, 2, new byte[12], new float[13], PARAMS));
        assertMessage("zeros has 3 elements", () -> new Int4Matrix(4, 5, 2, new byte[12], PARAMS, new float[3]));
        assertMessage("codes is null", () -> new Int4Matrix(4, 5, 2, null, PARAMS, PARAMS));
        assertMessage("rows must be at least 1, got 0", () -> new Int4Matrix(0, 5, 2, new byte[0], PARAMS, PARAMS));
        assertMessage("cols must be at least 1", () -> new Int4Matrix(4, -5, 2, new byte[12], PARAMS, PARAMS));
        assertMessage("groupSize must be at least 1", () -> new Int4Matrix(4, 5, 0, new byte[12], PARAMS, PARAMS));
    }

    @Test
    void hugeDimensionsReportAMismatchInsteadOfOverflowing() {
        // rows * ceil(cols / 2) = 2^31 would wrap to a negative int.
        assertMessage("codes has 0 elements but rows * ceil(cols / 2) = 65536 * 32768 = 2147483648",
                () -> new Int4Matrix(65536, 65536, 128, new byte[0], new float[0], new float[0]));
    }

    @Test
    void everyBackendChecksVectorsAndBatch() {
        Int4Matrix w = new Int4Matrix(4, 5, 2, new byte[12], PARAMS, PARAMS);
        List<Int4MatVec> ops = new ArrayList<>(List.of(new JavaInt4MatVec()));
        if (NativeInt4MatVecTest.nativeExpected()) {
            ops.add(NativeInt4MatVec.load()); // fails the test if the library does not load
        }
        for (Int4MatVec op : ops) {
            assertMessage("x has 4 elements but batch * cols = 1 * 5 = 5", () -> op.multiply(w, new float[4], new float[4]));
            assertMessage("y has 8 elements but batch * rows = 1 * 4 = 4", () -> op.multiply(w, new float[5], new float[8]));
            assertMessage("x has 5 elements but batch * cols = 2 * 5 = 10",
                    () -> op.multiply(w, new float[5], new float[8], 2));
            assertMessage("batch must be at least 1, got 0", () -> op.multiply(w, new float[0], new float[0], 0));
            assertMessage("x is null", () -> op.multiply(w, null, new float[4]));
            assertMessage("y is null", () -> op.multiply(w, new float[5], null));
            assertMessage("w (the Int4Matrix) is null", () -> op.multiply(null, new float[5], new float[4]));
            Int4Matrix square = new Int4Matrix(5, 5, 5, new byte[15], new float[5], new float[5]);
            float[] same = new float[5];
            assertMessage("x and y are the same array", () -> op.multiply(square, same, same));
        }
    }

    private static void assertMessage(String fragment, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), () -> "expected '" + fragment + "' in: " + e.getMessage());
    }
}
