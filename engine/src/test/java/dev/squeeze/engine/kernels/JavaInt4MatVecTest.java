package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class JavaInt4MatVecTest {

    /**
     * |Java - oracle| relative to the magnitude. Both sum the same float32 weights in double, so they differ
     * by at most the final rounding of y to float32: 2^-24 |y| <= 6e-8 * magnitude. 1e-7 covers that.
     */
    static final double ORACLE_TOLERANCE = 1e-7;

    @ParameterizedTest(name = "{0}x{1} g{2} batch {3}")
    @MethodSource("dev.squeeze.engine.kernels.Int4Case#shapes")
    void matchesDequantizeThenMultiply(int rows, int cols, int groupSize, int batch) {
        Int4Case tc = Int4Case.random(rows, cols, groupSize, batch);
        float[] y = new float[batch * rows];
        new JavaInt4MatVec().multiply(tc.matrix(), tc.x(), y, batch);
        double[] want = tc.oracle();
        double[] magnitude = tc.magnitude();
        for (int i = 0; i < y.length; i++) {
            double error = Math.abs(y[i] - want[i]);
            int k = i;
            assertTrue(error <= ORACLE_TOLERANCE * magnitude[i],
                    () -> tc + ": y[" + k + "] = " + y[k] + " but oracle " + want[k]);
        }
    }

    /**
     * Worked by hand from the format. W is 2 x 3, groupSize 2 (groups {0,1} and {2}, partial), stride 2 bytes.
     * Row 0 codes 1, 2, 15: byte 0 = 0x21 (col 0 low, col 1 high), byte 1 = 0x0F (col 2; high nibble unused).
     * Row 1 codes 4, 0, 3: bytes 0x04, 0x03. Scales/zeros: row 0 (0.5, 1) and (2, 15); row 1 (1, 2) and (-1, 0).
     * Weights: row 0 = 0.5*(1-1), 0.5*(2-1), 2*(15-15) = 0, 0.5, 0; row 1 = 1*(4-2), 1*(0-2), -1*(3-0) = 2, -2, -3.
     * x = (1, 2, 3): y0 = 0 + 1 + 0 = 1; y1 = 2 - 4 - 9 = -11.
     */
    @Test
    void handWorkedExample() {
        Int4Matrix w = new Int4Matrix(2, 3, 2,
                new byte[] {0x21, 0x0F, 0x04, 0x03},
                new float[] {0.5f, 2f, 1f, -1f},
                new float[] {1f, 15f, 2f, 0f});
        assertEquals(2, w.rowStride());
        assertEquals(2, w.groups());
        assertEquals(1, w.code(0, 0));
        assertEquals(2, w.code(0, 1));
        assertEquals(15, w.code(0, 2));
        float[] y = new float[2];
        new JavaInt4MatVec().multiply(w, new float[] {1, 2, 3}, y);
        assertArrayEquals(new float[] {1f, -11f}, y);
    }

    @Test
    void highNibbleOfTheLastByteOfAnOddRowIsIgnored() {
        // Same matrix as above with garbage in the unused nibbles: the result must not change.
        Int4Matrix w = new Int4Matrix(2, 3, 2,
                new byte[] {0x21, (byte) 0xFF, 0x04, (byte) 0xA3},
                new float[] {0.5f, 2f, 1f, -1f},
                new float[] {1f, 15f, 2f, 0f});
        float[] y = new float[2];
        new JavaInt4MatVec().multiply(w, new float[] {1, 2, 3}, y);
        assertArrayEquals(new float[] {1f, -11f}, y);
    }
}
