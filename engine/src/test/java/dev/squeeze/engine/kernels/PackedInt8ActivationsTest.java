package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The opt-in int8-activation kernel ({@link NativePacked#loadInt8Activations()}) against the float32 Java
 * reference, within the error that quantizing x allows. Each x value in a block of {@code B} columns
 * ({@code B} = the largest of 256, 128, 64 dividing groupSize) moves by at most {@code sx / 2},
 * {@code sx = max|x| / 127} over the block, so an output moves by at most {@code Σ_c |w_c| · sx(c) / 2}; the
 * bound adds the float32 rounding allowance of the cross-backend test ({@code 1e-6 · M}).
 */
class PackedInt8ActivationsTest {

    @BeforeEach
    void onlyWithTheLibrary() {
        Assumptions.assumeTrue(PackedCrossBackendTest.nativeExpected(), "no native library");
    }

    private static int block(int groupSize) {
        for (int b : new int[]{256, 128, 64}) {
            if (groupSize % b == 0) {
                return b;
            }
        }
        throw new IllegalArgumentException("groupSize " + groupSize);
    }

    @Test
    void staysWithinTheInt8Bound() {
        NativePacked q8 = NativePacked.loadInt8Activations();
        assertTrue(q8.int8Activations() && q8.name().endsWith("-int8x"), q8.name());
        int rows = 29;
        int cols = 700; // partial last group for every group size below
        for (int bits : new int[]{2, 3, 4, 5, 8}) {
            for (int g : new int[]{64, 128, 192, 256}) {
                for (boolean symmetric : new boolean[]{true, false}) {
                    PackedMatrix.ScaleType type = bits % 2 == 0 ? PackedMatrix.ScaleType.F16 : PackedMatrix.ScaleType.F32;
                    PackedCase pc = PackedCase.random(rows, cols, bits, g, symmetric, type, 31L * bits + g);
                    PackedMatrix w = pc.matrix();
                    int batch = 5;
                    float[] x = PackedCase.input(batch * cols, bits + g);
                    float[] want = new float[batch * rows];
                    new JavaPackedMatMul().multiply(w, x, want, batch);
                    float[] got = new float[batch * rows];
                    q8.multiply(q8.prepare(w), x, got, batch);
                    int bl = block(g);
                    for (int b = 0; b < batch; b++) {
                        double[] sx = new double[(cols + bl - 1) / bl];
                        for (int c = 0; c < cols; c++) {
                            sx[c / bl] = Math.max(sx[c / bl], Math.abs(x[b * cols + c]) / 127.0);
                        }
                        for (int r = 0; r < rows; r++) {
                            double bound = 0;
                            for (int c = 0; c < cols; c++) {
                                bound += Math.abs(pc.dense()[r * cols + c]) * sx[c / bl] / 2;
                            }
                            bound += 1e-6 * pc.magnitude(x, b, r);
                            double error = Math.abs((double) got[b * rows + r] - want[b * rows + r]);
                            if (!(error <= bound)) {
                                fail(q8.name() + ", " + pc + ": y[" + b + "][" + r + "] = " + got[b * rows + r]
                                        + " but " + want[b * rows + r] + ", beyond the int8 bound " + bound);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void groupSizesThatAreNotMultiplesOf64AreRejectedOnBothSides() {
        NativePacked q8 = NativePacked.loadInt8Activations();
        PackedCase pc = PackedCase.random(8, 100, 4, 32, false, PackedMatrix.ScaleType.F32, 1);
        PackedMatrix w = q8.prepare(pc.matrix());
        IllegalArgumentException java = assertThrows(IllegalArgumentException.class,
                () -> q8.multiply(w, new float[100], new float[8], 1));
        assertTrue(java.getMessage().contains("multiple of 64"), java.getMessage());
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class,
                () -> NativePacked.matmulQ8(NativePacked.ISA_AUTO, 8, 100, 4, 32, 0, 0, w.data(), w.scalesArray(),
                        w.zerosArray(), new float[100], new float[8], 1, 0, 8));
        assertTrue(c.getMessage().contains("multiple of 64"), c.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NativePacked.matmulQ8(NativePacked.ISA_AUTO, 8, 100, 4, 64,
                0, 0, w.data(), w.scalesArray(), w.zerosArray(), new float[99], new float[8], 1, 0, 8));
    }
}
