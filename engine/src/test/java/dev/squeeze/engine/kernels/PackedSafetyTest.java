package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Wrong shapes, short buffers, bad widths and group sizes, bad batches and row ranges, nulls: every one is an
 * {@link IllegalArgumentException} with a message naming the culprit, never a crash (this test runs in the
 * surefire JVM: a crash fails the whole run). Both lines of defence are exercised: the Java wrapper
 * ({@link PackedMatrix}, {@link NativePacked#multiply}, {@link JavaPackedMatMul}) and, by calling the natives of
 * {@link NativePacked} directly with the same mistakes, the C re-check in jni_packed.c.
 */
class PackedSafetyTest {

    private static final int ROWS = 20;
    private static final int COLS = 70;
    private static final int BITS = 3;
    private static final int G = 32;
    private static final int GROUPS = 3;

    private static PackedCase valid(boolean symmetric, PackedMatrix.ScaleType type) {
        return PackedCase.random(ROWS, COLS, BITS, G, symmetric, type, 9);
    }

    private static void rejects(String fragment, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
                () -> "expected a message containing '" + fragment + "', got: " + e.getMessage());
    }

    @Test
    void theMatrixRejectsInconsistentParts() {
        PackedCase c = valid(false, PackedMatrix.ScaleType.F32);
        PackedMatrix.ScaleType f32 = PackedMatrix.ScaleType.F32;
        rejects("rows", () -> PackedMatrix.ofCodes(0, COLS, BITS, G, false, f32, c.codes(), c.scales(), c.zeros()));
        rejects("cols", () -> PackedMatrix.ofCodes(ROWS, -3, BITS, G, false, f32, c.codes(), c.scales(), c.zeros()));
        rejects("bits", () -> PackedMatrix.ofCodes(ROWS, COLS, 1, G, false, f32, c.codes(), c.scales(), c.zeros()));
        rejects("bits", () -> PackedMatrix.ofCodes(ROWS, COLS, 9, G, false, f32, c.codes(), c.scales(), c.zeros()));
        rejects("groupSize", () -> PackedMatrix.ofCodes(ROWS, COLS, BITS, 0, false, f32, c.codes(), c.scales(),
                c.zeros()));
        rejects("scaleType", () -> PackedMatrix.ofCodes(ROWS, COLS, BITS, G, false, null, c.codes(), c.scales(),
                c.zeros()));
        rejects("codes is null", () -> PackedMatrix.ofCodes(ROWS, COLS, BITS, G, false, f32, null, c.scales(),
                c.zeros()));
        rejects("codes has", () -> PackedMatrix.ofCodes(ROWS, COLS, BITS, G, false, f32,
                Arrays.copyOf(c.codes(), ROWS * COLS - 1), c.scales(), c.zeros()));
        byte[] tooWide = c.codes().clone();
        tooWide[5] = 8; // 3-bit codes stop at 7
        rejects("above the 3-bit maximum", () -> PackedMatrix.ofCodes(ROWS, COLS, BITS, G, false, f32, tooWide,
                c.scales(), c.zeros()));
        rejects("scales has", () -> PackedMatrix.ofCodes(ROWS, COLS, BITS, G, false, f32, c.codes(),
                Arrays.copyOf(c.scales(), ROWS * GROUPS - 1), c.zeros()));
        rejects("zeros is null", () -> PackedMatrix.ofCodes(ROWS, COLS, BITS, G, false, f32, c.codes(), c.scales(),
                null));
        rejects("zeros must be null", () -> PackedMatrix.ofCodes(ROWS, COLS, BITS, G, true, f32, c.codes(),
                c.scales(), c.zeros()));
        float[] notHalf = c.scales().clone();
        notHalf[0] = 0.1f; // not a binary16 value
        rejects("not exactly a half", () -> PackedMatrix.ofCodes(ROWS, COLS, BITS, G, false,
                PackedMatrix.ScaleType.F16, c.codes(), notHalf, null == c.zeros() ? null : roundHalf(c.zeros())));
    }

    private static float[] roundHalf(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Float.float16ToFloat(Float.floatToFloat16(v[i]));
        }
        return out;
    }

    /** The Java checks every backend runs before computing; for the native one, before any JNI call. */
    @Test
    void everyBackendRejectsBadCallsBeforeComputing() {
        List<PackedMatMul> backends = new ArrayList<>(List.of(new JavaPackedMatMul()));
        if (PackedCrossBackendTest.nativeExpected()) {
            backends.addAll(PackedCrossBackendTest.nativePaths());
        }
        PackedMatrix codes = valid(false, PackedMatrix.ScaleType.F16).matrix();
        for (PackedMatMul k : backends) {
            PackedMatrix w = k.prepare(codes);
            float[] x = new float[2 * COLS];
            float[] y = new float[2 * ROWS];
            rejects("is null", () -> k.multiply(null, x, y, 1));
            rejects("batch must be at least 1", () -> k.multiply(w, x, y, 0));
            rejects("batch must be at least 1", () -> k.multiply(w, x, y, -4));
            rejects("x has", () -> k.multiply(w, x, y, 3)); // x holds 2 vectors
            rejects("x has", () -> k.multiply(w, new float[COLS - 1], y, 1));
            rejects("y has", () -> k.multiply(w, x, new float[ROWS - 1], 1));
            rejects("x is null", () -> k.multiply(w, null, y, 1));
            rejects("y is null", () -> k.multiply(w, x, null, 1));
            float[] xy = new float[ROWS * COLS];
            rejects("same array", () -> k.multiply(w, xy, xy, 1));
            rejects("row range", () -> k.multiply(w, x, y, 1, -1, 5));
            rejects("row range", () -> k.multiply(w, x, y, 1, 0, ROWS + 1));
            rejects("row range", () -> k.multiply(w, x, y, 1, 7, 6));
            rejects("batch must be at least 1", () -> k.multiply(w, x, y, Integer.MIN_VALUE, 0, ROWS));
            rejects("x has", () -> k.multiply(w, x, y, Integer.MAX_VALUE, 0, ROWS)); // batch * cols overflows int
        }
        if (PackedCrossBackendTest.nativeExpected()) {
            NativePacked k = NativePacked.load();
            rejects("native packed layout", () -> k.multiply(codes, new float[COLS], new float[ROWS], 1));
            rejects("one code per byte", () -> new JavaPackedMatMul().prepare(k.prepare(codes)));
            rejects("threads", () -> k.multiplyThreads(k.prepare(codes), new float[COLS], new float[ROWS], 1, 0));
        }
    }

    /**
     * The C side on its own: the natives called directly with each mistake the Java wrapper would have caught.
     * Each must throw IllegalArgumentException from jni_packed.c (the messages are C's own wording) and leave
     * the output untouched.
     */
    @Test
    void theNativeSideRechecksEveryArgument() {
        Assumptions.assumeTrue(PackedCrossBackendTest.nativeExpected(), "no native library for "
                + NativeLibrary.platform());
        NativePacked.requireLibrary();
        PackedCase c = valid(false, PackedMatrix.ScaleType.F32);
        int isa = NativePacked.bestIsa();
        long bytes = NativePacked.codesBytes(ROWS, COLS, BITS, G, 0, 0);
        assertTrue(bytes > 0 && bytes < (long) ROWS * COLS, "packed bytes " + bytes);
        byte[] packed = new byte[(int) bytes];
        NativePacked.pack(ROWS, COLS, BITS, G, 0, 0, c.codes(), packed);
        float[] s = c.scales();
        float[] z = c.zeros();
        float[] x = PackedCase.input(2 * COLS, 3);
        float[] y = new float[2 * ROWS];

        // descriptor fields
        rejects("rows must be > 0", () -> NativePacked.codesBytes(0, COLS, BITS, G, 0, 0));
        rejects("cols must be > 0", () -> NativePacked.codesBytes(ROWS, -1, BITS, G, 0, 0));
        rejects("bits must be 2..8", () -> NativePacked.codesBytes(ROWS, COLS, 1, G, 0, 0));
        rejects("bits must be 2..8", () -> NativePacked.codesBytes(ROWS, COLS, 9, G, 0, 0));
        rejects("groupSize must be > 0", () -> NativePacked.codesBytes(ROWS, COLS, BITS, 0, 0, 0));
        rejects("symmetric must be 0 or 1", () -> NativePacked.codesBytes(ROWS, COLS, BITS, G, 2, 0));
        rejects("scaleType must be 0", () -> NativePacked.codesBytes(ROWS, COLS, BITS, G, 0, 7));

        // the packer
        rejects("codes is null", () -> NativePacked.pack(ROWS, COLS, BITS, G, 0, 0, null, packed));
        rejects("codes has length", () -> NativePacked.pack(ROWS, COLS, BITS, G, 0, 0, new byte[10], packed));
        rejects("packed has length", () -> NativePacked.pack(ROWS, COLS, BITS, G, 0, 0, c.codes(),
                new byte[packed.length - 1]));
        byte[] wide = c.codes().clone();
        wide[ROWS * COLS - 1] = (byte) 200;
        byte[] untouched = new byte[packed.length];
        rejects("above the 3-bit maximum", () -> NativePacked.pack(ROWS, COLS, BITS, G, 0, 0, wide, untouched));
        assertTrue(Arrays.equals(new byte[packed.length], untouched), "a rejected pack writes nothing");

        // the product
        rejects("isa must be", () -> NativePacked.matmul(9, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, y, 1, 0, ROWS));
        rejects("isa must be", () -> NativePacked.matmul(-1, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, y, 1, 0,
                ROWS));
        rejects("bits must be 2..8", () -> NativePacked.matmul(isa, ROWS, COLS, 0, G, 0, 0, packed, s, z, x, y, 1, 0,
                ROWS));
        rejects("batch must be > 0", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, y, 0,
                0, ROWS));
        rejects("batch must be > 0", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, y,
                -5, 0, ROWS));
        rejects("packed is null", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, null, s, z, x, y, 1, 0,
                ROWS));
        rejects("packed has length", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0,
                Arrays.copyOf(packed, packed.length - 1), s, z, x, y, 1, 0, ROWS));
        // a larger matrix claimed over the same buffers: the packed length no longer matches
        rejects("packed has length", () -> NativePacked.matmul(isa, ROWS * 2, COLS, BITS, G, 0, 0, packed, s, z,
                new float[4 * COLS], new float[4 * ROWS], 1, 0, ROWS));
        rejects("scales is null", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, null, z, x, y, 1,
                0, ROWS));
        rejects("scales has length", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed,
                Arrays.copyOf(s, s.length - 1), z, x, y, 1, 0, ROWS));
        rejects("scales must be a float[]", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed,
                new short[s.length], z, x, y, 1, 0, ROWS));
        rejects("scales must be a short[]", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 1, packed, s,
                new short[s.length], x, y, 1, 0, ROWS));
        rejects("scales must be a float[]", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed,
                "not an array", z, x, y, 1, 0, ROWS));
        rejects("zeros is null", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, null, x, y, 1,
                0, ROWS));
        rejects("zeros has length", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s,
                new float[3], x, y, 1, 0, ROWS));
        rejects("zeros must be null", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 1, 0, packed, s, z, x, y,
                1, 0, ROWS));
        rejects("x is null", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, null, y, 1, 0,
                ROWS));
        rejects("x has length", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, y, 3, 0,
                ROWS));
        rejects("x has length", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, y,
                Integer.MAX_VALUE, 0, ROWS));
        rejects("y has length", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x,
                new float[ROWS + 1], 2, 0, ROWS));
        rejects("y is null", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, null, 1, 0,
                ROWS));
        float[] xy = new float[COLS * ROWS];
        rejects("different arrays", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, xy, xy,
                1, 0, ROWS));
        rejects("row range", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, y, 1, -1,
                ROWS));
        rejects("row range", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, y, 1, 0,
                ROWS + 1));
        rejects("row range", () -> NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, y, 1, 5, 4));
        rejects("threads must be > 0", () -> NativePacked.matmulMt(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, y,
                1, 0));
        rejects("x has length", () -> NativePacked.matmulMt(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z,
                new float[5], y, 1, 2));
        assertTrue(Arrays.equals(new float[2 * ROWS], y), "no rejected call wrote y");

        // and the same arguments, made right, compute what the Java reference computes
        float[] want = new float[2 * ROWS];
        new JavaPackedMatMul().multiply(c.matrix(), x, want, 2);
        NativePacked.matmul(isa, ROWS, COLS, BITS, G, 0, 0, packed, s, z, x, y, 2, 0, ROWS);
        for (int i = 0; i < y.length; i++) {
            assertEquals(want[i], y[i], 1e-6 * c.magnitude(x, i / ROWS, i % ROWS), "y[" + i + "]");
        }
    }
}
