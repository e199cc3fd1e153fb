package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The JNI kernel against the Java reference. The library is built by this same Maven build, so wherever it
 * is built (linux-x86_64 at least) failing to load it is a test failure, not a skip: a JNI name or
 * signature mismatch, a missing resource or a bad ABI version must not quietly turn into "Java fallback".
 */
class NativeInt4MatVecTest {

    /**
     * |native - Java| relative to sum |scale| (q + |zero|) |x| per output. The C kernels sum in float32
     * (AVX2: 8 lanes, FMA, zero point factored out); with zero-mean random x the rounding error of a float
     * sum stays near u * magnitude whatever its length (u = 6e-8; about 5e-8 seen on these shapes). 1e-6
     * (about 16u) leaves a 20x margin, while one wrong nibble or group index errs by about 1 / (15 cols) of
     * the magnitude: 1.6e-5 at 4099 columns. Same bound as native-kernels/test/test_int4.c.
     */
    static final double NATIVE_TOLERANCE = 1e-6;

    static boolean nativeExpected() {
        return NativeLibrary.platform().equals("linux-x86_64")
                || NativeInt4MatVecTest.class.getResource(NativeLibrary.resourceDir() + NativeLibrary.LIBRARY) != null;
    }

    @BeforeEach
    void onlyWhereTheBuildMakesALibrary() {
        Assumptions.assumeTrue(nativeExpected(), () -> "no native library is built for " + NativeLibrary.platform());
    }

    @Test
    void libraryLoads() {
        NativeLibrary.Status status = NativeLibrary.status();
        assertTrue(status.available(), () -> "the native library is built by this Maven build and must load on "
                + NativeLibrary.platform() + ": " + status.problem());
        assertEquals(NativeBridge.ABI_VERSION, NativeBridge.abiVersion());
    }

    /** Every native path this CPU can run: the best one and the portable scalar one. */
    static List<NativeInt4MatVec> paths() {
        NativeInt4MatVec best = NativeInt4MatVec.load(); // throws, failing the test, if the library did not load
        List<NativeInt4MatVec> paths = new ArrayList<>(List.of(best));
        if (NativeBridge.bestIsa() != NativeBridge.ISA_SCALAR) {
            paths.add(NativeInt4MatVec.load(NativeBridge.ISA_SCALAR));
        }
        return paths;
    }

    @Test
    void usesAvx2WhereTheCpuHasIt() {
        // Not a CPU test: guards against a build that silently compiled the AVX2 path out.
        Assumptions.assumeTrue(NativeLibrary.platform().equals("linux-x86_64"));
        String cpuFlags;
        try {
            cpuFlags = Files.readString(Path.of("/proc/cpuinfo"));
        } catch (IOException e) {
            cpuFlags = Assumptions.abort("cannot read /proc/cpuinfo: " + e);
        }
        Assumptions.assumeTrue(cpuFlags.contains(" avx2") && cpuFlags.contains(" fma"));
        assertEquals("native-avx2", NativeInt4MatVec.load().name());
    }

    @ParameterizedTest(name = "{0}x{1} g{2} batch {3}")
    @MethodSource("dev.squeeze.engine.kernels.Int4Case#shapes")
    void matchesJavaReference(int rows, int cols, int groupSize, int batch) {
        Int4Case tc = Int4Case.random(rows, cols, groupSize, batch);
        float[] want = new float[batch * rows];
        new JavaInt4MatVec().multiply(tc.matrix(), tc.x(), want, batch);
        double[] magnitude = tc.magnitude();
        for (NativeInt4MatVec op : paths()) {
            float[] got = new float[batch * rows];
            Arrays.fill(got, Float.NaN); // every output must be written
            op.multiply(tc.matrix(), tc.x(), got, batch);
            for (int i = 0; i < got.length; i++) {
                double error = Math.abs(got[i] - want[i]);
                int k = i;
                assertTrue(error <= NATIVE_TOLERANCE * magnitude[i], () -> op.name() + " " + tc + ": y[" + k + "] = "
                        + got[k] + " but Java gives " + want[k] + " (error " + error / magnitude[k] + " of magnitude)");
            }
        }
    }

    @Test
    void handWorkedExampleWithGarbageInUnusedNibbles() {
        // See JavaInt4MatVecTest.handWorkedExample for the arithmetic.
        Int4Matrix w = new Int4Matrix(2, 3, 2,
                new byte[] {0x21, (byte) 0xFF, 0x04, (byte) 0xA3},
                new float[] {0.5f, 2f, 1f, -1f},
                new float[] {1f, 15f, 2f, 0f});
        for (NativeInt4MatVec op : paths()) {
            float[] y = new float[2];
            op.multiply(w, new float[] {1, 2, 3}, y);
            assertArrayEquals(new float[] {1f, -11f}, y, op.name());
        }
    }

    @Test
    void inputsAreNotModified() {
        Int4Case tc = Int4Case.random(5, 130, 32, 3);
        byte[] codes = tc.matrix().codes().clone();
        float[] scales = tc.matrix().scales().clone();
        float[] x = tc.x().clone();
        NativeInt4MatVec.load().multiply(tc.matrix(), tc.x(), new float[3 * 5], 3);
        assertArrayEquals(codes, tc.matrix().codes());
        assertArrayEquals(scales, tc.matrix().scales());
        assertArrayEquals(x, tc.x());
    }

    /** The C side's own checks, reached by calling the bridge directly, past the Java validation. */
    @Test
    void bridgeRejectsBadArgumentsWithExceptionsNotCrashes() {
        NativeLibrary.require();
        byte[] codes = new byte[4 * 3];
        float[] params = new float[4 * 3];
        float[] x = new float[5];
        float[] y = new float[4];
        int auto = NativeBridge.ISA_AUTO;
        assertMessage("codes has", () -> NativeBridge.int4MatVec(auto, 4, 5, 2, new byte[11], params, params, x, y, 1));
        assertMessage("scales has", () -> NativeBridge.int4MatVec(auto, 4, 5, 2, codes, new float[3], params, x, y, 1));
        assertMessage("zeros is null", () -> NativeBridge.int4MatVec(auto, 4, 5, 2, codes, params, null, x, y, 1));
        assertMessage("x has", () -> NativeBridge.int4MatVec(auto, 4, 5, 2, codes, params, params, new float[4], y, 1));
        assertMessage("y has", () -> NativeBridge.int4MatVec(auto, 4, 5, 2, codes, params, params, x, new float[5], 1));
        assertMessage("batch must", () -> NativeBridge.int4MatVec(auto, 4, 5, 2, codes, params, params, x, y, 0));
        assertMessage("rows must", () -> NativeBridge.int4MatVec(auto, -1, 5, 2, codes, params, params, x, y, 1));
        assertMessage("groupSize must", () -> NativeBridge.int4MatVec(auto, 4, 5, 0, codes, params, params, x, y, 1));
        assertMessage("isa must", () -> NativeBridge.int4MatVec(7, 4, 5, 2, codes, params, params, x, y, 1));
        float[] same = new float[5];
        assertMessage("different arrays",
                () -> NativeBridge.int4MatVec(auto, 5, 5, 2, new byte[15], new float[15], new float[15], same, same, 1));
    }

    private static void assertMessage(String fragment, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), () -> "message should name '" + fragment + "': " + e.getMessage());
    }
}
