package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA backend from Java. Without a GPU (CI, this build machine) it must report itself unavailable with a
 * reason and never throw from the probe; where the build found nvcc, the library must still load and answer
 * (so a JNI name or ABI mismatch is caught on machines without a GPU too). With a device, products are checked
 * against a float64 reference computed here.
 */
class NativeCudaTest {

    @Test
    void withoutDeviceTheBackendIsACleanSkip() {
        NativeCuda.Status s = NativeCuda.status();
        Assumptions.assumeFalse(s.available(), "a CUDA device is present: " + s.device());
        assertFalse(NativeCuda.available());
        assertEquals(0, NativeCuda.deviceCount());
        assertNotNull(s.problem());
        assertFalse(s.problem().isBlank());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> NativeCudaMatrix.quantized(16, 64, 4, 64, new byte[16 * 64], new float[16], null));
        assertTrue(e.getMessage().contains(s.problem()), e.getMessage());
        assertThrows(IllegalStateException.class, () -> NativeCudaMatrix.dense(2, 2, new float[4]));
    }

    @Test
    void libraryLoadsAndAnswersEvenWithoutADriver() {
        NativeCuda.Status s = NativeCuda.probe(false);
        if (!NativeCuda.libraryInBuild()) {
            assertFalse(s.available());
            assertTrue(s.problem().contains("nvcc"), s.problem());
            Assumptions.abort("this build has no CUDA library (no nvcc where native-kernels was built)");
        }
        // Loaded, ABI matched, devices counted: the only acceptable problem is the absence of a device.
        assertTrue(s.available() || s.problem().startsWith("no CUDA device: "), String.valueOf(s.problem()));
        if (!s.available()) {
            assertEquals(0, s.devices());
            assertTrue(s.problem().length() > "no CUDA device: ".length(), "the CUDA runtime's reason is given");
            // The JNI glue's own checks and error mapping, reachable without a device:
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> NativeCuda.contextCreate(0));
            assertTrue(e.getMessage().contains("CUDA context"), e.getMessage());
        }
        assertIae("null context", () -> NativeCuda.quantCreate(0, 16, 64, 4, 64, new byte[16 * 64], new float[16],
                null), "context handle is 0");
        assertIae("null context", () -> NativeCuda.denseCreate(0, 2, 2, new float[4]), "context handle is 0");
        assertIae("null handles", () -> NativeCuda.matmul(0, 0, new float[4], 1, new float[4]), "handle is 0");
        NativeCuda.matrixFree(0); // no-ops, not crashes
        NativeCuda.contextFree(0);
    }

    @Test
    void aBrokenLibraryPathIsReportedNotThrown(@TempDir Path dir) {
        Path bogus = dir.resolve("missing").resolve(NativeCuda.LIBRARY); // no such file
        String old = System.getProperty(NativeCuda.PATH_PROPERTY);
        System.setProperty(NativeCuda.PATH_PROPERTY, bogus.toString());
        try {
            NativeCuda.Status s = NativeCuda.probe(true);
            assertFalse(s.available());
            assertTrue(s.problem().startsWith("could not load " + NativeCuda.LIBRARY), s.problem());
        } finally {
            if (old == null) {
                System.clearProperty(NativeCuda.PATH_PROPERTY);
            } else {
                System.setProperty(NativeCuda.PATH_PROPERTY, old);
            }
        }
    }

    @Test
    void turnedOffByProperty() {
        String old = System.getProperty(NativeCuda.DISABLE_PROPERTY);
        System.setProperty(NativeCuda.DISABLE_PROPERTY, "off");
        try {
            NativeCuda.Status s = NativeCuda.probe(true);
            assertFalse(s.available());
            assertTrue(s.problem().contains("-Dsqueeze.cuda=off"), s.problem());
        } finally {
            if (old == null) {
                System.clearProperty(NativeCuda.DISABLE_PROPERTY);
            } else {
                System.setProperty(NativeCuda.DISABLE_PROPERTY, old);
            }
        }
    }

    @Test
    void validationRejectsWrongShapesAndValuesBeforeAnyNativeCall() {
        byte[] codes = new byte[16 * 128];
        float[] scales = new float[16 * 2];
        java.util.Arrays.fill(scales, 0.5f);
        // valid
        NativeCudaMatrix.checkQuantized(16, 128, 4, 64, codes, scales, null);
        NativeCudaMatrix.checkQuantized(16, 128, 4, 128, codes, new float[16], null);
        NativeCudaMatrix.checkQuantized(16, 100, 4, 100, new byte[1600], new float[16], null); // one group per row
        assertIae("group size 32", () -> NativeCudaMatrix.checkQuantized(16, 128, 4, 32, codes, new float[64], null),
                "multiple of 64");
        assertIae("short codes", () -> NativeCudaMatrix.checkQuantized(16, 128, 4, 64, new byte[10], scales, null),
                "codes has length 10");
        assertIae("short scales", () -> NativeCudaMatrix.checkQuantized(16, 128, 4, 64, codes, new float[31], null),
                "scales has length 31");
        assertIae("short zeros", () -> NativeCudaMatrix.checkQuantized(16, 128, 4, 64, codes, scales, new float[3]),
                "zeros has length 3");
        assertIae("bits 9", () -> NativeCudaMatrix.checkQuantized(16, 128, 9, 64, codes, scales, null), "2..8");
        assertIae("bits 1", () -> NativeCudaMatrix.checkQuantized(16, 128, 1, 64, codes, scales, null), "2..8");
        assertIae("rows 0", () -> NativeCudaMatrix.checkQuantized(0, 128, 4, 64, codes, scales, null), "> 0");
        byte[] big = codes.clone();
        big[3 * 128 + 5] = 16;
        assertIae("code 16 in 4 bits", () -> NativeCudaMatrix.checkQuantized(16, 128, 4, 64, big, scales, null),
                "row 3, column 5");
        byte[] neg = codes.clone();
        neg[7] = (byte) 200; // unsigned 200 in 8 bits is fine, in 4 bits it is not
        NativeCudaMatrix.checkQuantized(16, 128, 8, 64, neg, scales, null);
        assertIae("code 200 in 4 bits", () -> NativeCudaMatrix.checkQuantized(16, 128, 4, 64, neg, scales, null),
                "code 200");
        float[] nan = scales.clone();
        nan[5] = Float.NaN;
        assertIae("NaN scale", () -> NativeCudaMatrix.checkQuantized(16, 128, 4, 64, codes, nan, null),
                "row 2, group 1");
        float[] zeros = new float[32];
        zeros[4] = 7.5f;
        assertIae("fractional zero", () -> NativeCudaMatrix.checkQuantized(16, 128, 4, 64, codes, scales, zeros),
                "not an integer");
        assertThrows(NullPointerException.class,
                () -> NativeCudaMatrix.checkQuantized(16, 128, 4, 64, null, scales, null));

        NativeCudaMatrix.checkMultiply(16, 128, new float[2 * 128], 2, new float[2 * 16]);
        assertIae("batch 0", () -> NativeCudaMatrix.checkMultiply(16, 128, new float[0], 0, new float[0]), "batch");
        assertIae("short x", () -> NativeCudaMatrix.checkMultiply(16, 128, new float[255], 2, new float[32]),
                "x has length 255");
        assertIae("short y", () -> NativeCudaMatrix.checkMultiply(16, 128, new float[256], 2, new float[31]),
                "y has length 31");
        assertIae("dense short", () -> NativeCudaMatrix.checkDense(3, 4, new float[11]), "w has length 11");
    }

    private static void assertIae(String what, org.junit.jupiter.api.function.Executable call, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, what);
        assertTrue(e.getMessage().contains(fragment), what + ": " + e.getMessage());
    }

    /** Runs only where a CUDA device is present: quantized (fused and prefill batches) and dense products. */
    @Test
    void productsMatchAFloat64ReferenceOnTheDevice() {
        Assumptions.assumeTrue(NativeCuda.available(), () -> "no CUDA device: " + NativeCuda.status().problem());
        Random rnd = new Random(42);
        int rows = 37;
        int cols = 200;
        for (int bits : new int[] {3, 4, 8}) {
            for (boolean asym : new boolean[] {false, true}) {
                int group = 64;
                int gpr = (cols + group - 1) / group;
                byte[] codes = new byte[rows * cols];
                for (int i = 0; i < codes.length; i++) {
                    codes[i] = (byte) rnd.nextInt(1 << bits);
                }
                float[] scales = new float[rows * gpr];
                float[] zeros = asym ? new float[rows * gpr] : null;
                for (int i = 0; i < scales.length; i++) {
                    scales[i] = 0.001f + 0.05f * rnd.nextFloat();
                    if (zeros != null) {
                        zeros[i] = rnd.nextInt(1 << bits);
                    }
                }
                try (NativeCudaMatrix m = NativeCudaMatrix.quantized(rows, cols, bits, group, codes, scales, zeros)) {
                    for (int batch : new int[] {1, 9, 20}) {
                        float[] x = new float[batch * cols];
                        for (int i = 0; i < x.length; i++) {
                            x[i] = 4 * rnd.nextFloat() - 2;
                        }
                        float[] y = new float[batch * rows];
                        m.multiply(x, batch, y);
                        float zsym = 1 << (bits - 1);
                        for (int b = 0; b < batch; b++) {
                            for (int r = 0; r < rows; r++) {
                                double ref = 0;
                                double abs = 0;
                                for (int c = 0; c < cols; c++) {
                                    int gi = r * gpr + c / group;
                                    double w = scales[gi] * ((codes[r * cols + c] & 0xff) - (asym ? zeros[gi] : zsym));
                                    ref += w * x[b * cols + c];
                                    abs += Math.abs(w * x[b * cols + c]);
                                }
                                // fp16 scales and x: relative rounding 2^-11 each, so 2e-3 of sum |w x| bounds it
                                assertEquals(ref, y[b * rows + r], 2e-3 * abs + 1e-6,
                                        m + " batch " + batch + " y[" + b + "][" + r + "]");
                            }
                        }
                    }
                }
            }
        }
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = 0.2f * rnd.nextFloat() - 0.1f;
        }
        try (NativeCudaMatrix d = NativeCudaMatrix.dense(rows, cols, w)) {
            float[] x = new float[3 * cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = 2 * rnd.nextFloat() - 1;
            }
            float[] y = new float[3 * rows];
            d.multiply(x, 3, y);
            for (int b = 0; b < 3; b++) {
                for (int r = 0; r < rows; r++) {
                    double ref = 0;
                    double abs = 0;
                    for (int c = 0; c < cols; c++) {
                        ref += (double) w[r * cols + c] * x[b * cols + c];
                        abs += Math.abs((double) w[r * cols + c] * x[b * cols + c]);
                    }
                    assertEquals(ref, y[b * rows + r], 2e-3 * abs + 1e-6, "dense y[" + b + "][" + r + "]");
                }
            }
            d.close();
            assertThrows(IllegalStateException.class, () -> d.multiply(new float[cols], 1, new float[rows]));
        }
    }
}
