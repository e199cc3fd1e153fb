package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.squeeze.engine.nn.DenseLinear;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every packed kernel path (native best, native scalar, AVX2 where the best is AVX-512) against the Java
 * reference, and the Java reference against the dense float32 layer of weights dequantized by the test itself
 * ({@link PackedCase}): bits 2..8, symmetric and asymmetric, f32 and f16 scales, group sizes 1, 7, 32, 64, 128,
 * one group per row and wider than the row (301 columns: partial last groups), batch 1..17, row ranges.
 *
 * <p><b>Tolerance.</b> {@code |a − b| ≤ 1e-6 · M}, with {@code M = Σ_c |scale| (code + |zero|) |x_c|} per output:
 * every term any of these computations forms is bounded by M, whether the zero is subtracted per weight or
 * factored out of a group sum. Each side rounds in float32 (u = 2^-24 ≈ 6e-8) in its own order; with zero-mean
 * random x the error of a float sum grows like sqrt(n)·u·(typical term), far below the worst case n·u·M, and
 * these shapes stay under 3e-7·M (2.5e-7 seen, printed after the run). 1e-6 (about 16u) keeps a margin for other CPUs,
 * while the exact test below catches what a rounding bound cannot: one wrong code bit.
 */
class PackedCrossBackendTest {

    static final double TOLERANCE = 1e-6;
    static final int ROWS = 37;
    static final int COLS = 301;
    static final int[] GROUPS = {1, 7, 32, 64, 128, COLS, 1000};

    static boolean nativeExpected() {
        return NativeInt4MatVecTest.nativeExpected();
    }

    /** Every native path this CPU runs; a load failure on a platform that builds the library fails the test. */
    static List<NativePacked> nativePaths() {
        if (!nativeExpected()) {
            return List.of();
        }
        NativePacked best = NativePacked.load();
        List<NativePacked> paths = new ArrayList<>(List.of(best));
        for (int isa : new int[]{NativePacked.ISA_AVX2, NativePacked.ISA_SCALAR}) {
            if (!best.isa().equals(NativePacked.isaName(isa)) && NativePacked.isaSupported(isa)) {
                paths.add(NativePacked.load(isa));
            }
        }
        return paths;
    }

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (int bits = 2; bits <= 8; bits++) {
            for (boolean symmetric : new boolean[]{true, false}) {
                for (PackedMatrix.ScaleType type : PackedMatrix.ScaleType.values()) {
                    for (int g : GROUPS) {
                        list.add(Arguments.of(bits, symmetric, type, g));
                    }
                }
            }
        }
        return list.stream();
    }

    private static double worst = 0;

    @ParameterizedTest(name = "{0}-bit sym={1} {2} g{3}")
    @MethodSource("cases")
    void everyBackendAgreesWithTheReferenceAndTheDenseLayer(int bits, boolean symmetric, PackedMatrix.ScaleType type,
                                                            int groupSize) {
        long seed = 1000L * bits + 10L * groupSize + (symmetric ? 1 : 0) + (type == PackedMatrix.ScaleType.F16 ? 5 : 0);
        PackedCase pc = PackedCase.random(ROWS, COLS, bits, groupSize, symmetric, type, seed);
        PackedMatrix w = pc.matrix();
        DenseLinear dense = new DenseLinear(ROWS, COLS, pc.dense(), null);
        // y[b] depends on x[b] only, so one batch of 17 gives the reference (and M) for every smaller batch: each
        // batch k below uses the first k vectors and must reproduce the first k rows of these.
        int maxBatch = 17;
        float[] x = PackedCase.input(maxBatch * COLS, seed);
        float[] want = new float[maxBatch * ROWS];
        new JavaPackedMatMul().multiply(w, x, want, maxBatch);
        double[] m = new double[maxBatch * ROWS];
        for (int b = 0; b < maxBatch; b++) {
            for (int r = 0; r < ROWS; r++) {
                m[b * ROWS + r] = pc.magnitude(x, b, r);
            }
        }
        float[] viaDense = new float[maxBatch * ROWS];
        dense.forward(x, maxBatch, viaDense);
        compare(pc, m, maxBatch, want, viaDense, "dense f32 vs Java reference");
        List<NativePacked> paths = nativePaths();
        List<PackedMatrix> prepared = paths.stream().map(p -> p.prepare(w)).toList();
        for (int batch = 1; batch <= maxBatch; batch++) {
            for (int i = 0; i < paths.size(); i++) {
                float[] got = new float[batch * ROWS];
                paths.get(i).multiply(prepared.get(i), x, got, batch); // x is longer than batch * COLS: allowed
                compare(pc, m, batch, want, got, paths.get(i).name() + ", batch " + batch);
                // A row range writes those rows only, with the same values as the whole product.
                float[] part = new float[batch * ROWS];
                Arrays.fill(part, Float.NaN);
                int begin = batch % 5;
                int end = ROWS - batch % 3;
                paths.get(i).multiply(prepared.get(i), x, part, batch, begin, end);
                for (int b = 0; b < batch; b++) {
                    for (int r = 0; r < ROWS; r++) {
                        float v = part[b * ROWS + r];
                        if (r < begin || r >= end) {
                            assertTrue(Float.isNaN(v), "row " + r + " outside [" + begin + ", " + end + ") written");
                        } else {
                            assertEquals(got[b * ROWS + r], v, 0f, paths.get(i).name() + " row range, " + pc);
                        }
                    }
                }
            }
        }
    }

    private static void compare(PackedCase pc, double[] m, int batch, float[] want, float[] got, String what) {
        for (int i = 0; i < batch * pc.rows(); i++) {
            double error = Math.abs((double) got[i] - want[i]);
            synchronized (PackedCrossBackendTest.class) {
                worst = Math.max(worst, error / m[i]);
            }
            if (!(error <= TOLERANCE * m[i])) { // negated so that NaN fails
                fail(what + ", " + pc + ": y[" + i / pc.rows() + "][" + i % pc.rows() + "] = " + got[i] + " but "
                        + want[i] + " (|error| / M = " + error / m[i] + ")");
            }
        }
    }

    /**
     * Integer-valued data: scales in {±0.5, ±1, 2}, x integers in [−8, 8], zeros integers (or the implied
     * 2^(bits−1)). Every product and partial sum is then an exact float32 (|sum| < 2^24), so each path must give
     * exactly the integer result computed here in long arithmetic, whatever its summation order: one wrong code
     * bit, group index or zero shows.
     */
    @Test
    void integerDataGivesExactResultsOnEveryPath() {
        Assumptions.assumeTrue(nativeExpected(), "no native library for " + NativeLibrary.platform());
        float[] choices = {0.5f, 1f, 2f, -1f, -0.5f};
        for (int bits = 2; bits <= 8; bits++) {
            for (boolean symmetric : new boolean[]{true, false}) {
                for (PackedMatrix.ScaleType type : PackedMatrix.ScaleType.values()) {
                    for (int g : new int[]{5, 64, 100, COLS}) {
                        PackedCase base = PackedCase.random(ROWS, COLS, bits, g, symmetric, type, 77L * bits + g);
                        float[] scales = base.scales().clone();
                        float[] zeros = base.zeros() == null ? null : base.zeros().clone();
                        for (int i = 0; i < scales.length; i++) {
                            scales[i] = choices[(i * 7 + bits) % choices.length];
                            if (zeros != null) {
                                zeros[i] = (float) Math.floor(zeros[i]);
                            }
                        }
                        PackedMatrix w = PackedMatrix.ofCodes(ROWS, COLS, bits, g, symmetric, type, base.codes(),
                                scales, zeros);
                        int batch = 17;
                        float[] x = new float[batch * COLS];
                        for (int i = 0; i < x.length; i++) {
                            x[i] = (i * 31 + bits) % 17 - 8;
                        }
                        float[] exact = new float[batch * ROWS];
                        int groups = (COLS + g - 1) / g;
                        for (int b = 0; b < batch; b++) {
                            for (int r = 0; r < ROWS; r++) {
                                long twice = 0; // 2 · y: every scale is a multiple of 0.5
                                for (int c = 0; c < COLS; c++) {
                                    int k = r * groups + c / g;
                                    long zero = zeros == null ? 1L << (bits - 1) : (long) zeros[k];
                                    twice += (long) (2 * scales[k]) * ((base.codes()[r * COLS + c] & 0xff) - zero)
                                            * (long) x[b * COLS + c];
                                }
                                exact[b * ROWS + r] = twice / 2f;
                            }
                        }
                        float[] java = new float[batch * ROWS];
                        new JavaPackedMatMul().multiply(w, x, java, batch);
                        assertTrue(Arrays.equals(exact, java), "Java reference, " + bits + "-bit g" + g);
                        for (NativePacked path : nativePaths()) {
                            float[] got = new float[batch * ROWS];
                            path.multiply(path.prepare(w), x, got, batch);
                            for (int i = 0; i < got.length; i++) {
                                assertEquals(exact[i], got[i], 0f, path.name() + ", " + bits + "-bit g" + g + " sym="
                                        + symmetric + " " + type + ", y[" + i / ROWS + "][" + i % ROWS + "]");
                            }
                        }
                    }
                }
            }
        }
    }

    /** The C library's own threads give the same values as one call on the caller's thread. */
    @Test
    void nativeThreadsGiveTheSingleThreadValues() {
        Assumptions.assumeTrue(nativeExpected(), "no native library for " + NativeLibrary.platform());
        PackedCase pc = PackedCase.random(300, 515, 3, 32, false, PackedMatrix.ScaleType.F16, 5);
        for (NativePacked path : nativePaths()) {
            PackedMatrix w = path.prepare(pc.matrix());
            for (int batch : new int[]{1, 9}) {
                float[] x = PackedCase.input(batch * 515, batch);
                float[] one = new float[batch * 300];
                path.multiply(w, x, one, batch);
                for (int threads : new int[]{1, 2, 3, 7}) {
                    float[] many = new float[batch * 300];
                    path.multiplyThreads(w, x, many, batch, threads);
                    assertTrue(Arrays.equals(one, many), path.name() + " with " + threads + " threads, batch " + batch);
                }
            }
        }
    }

    @AfterAll
    static void reportWorstError() {
        System.out.printf("packed kernels: worst |error| / M seen = %.3g (tolerance %.1g)%n", worst, TOLERANCE);
    }

    @Test
    void theNativeKernelPassesTheSelfTest() {
        Assumptions.assumeTrue(nativeExpected(), "no native library for " + NativeLibrary.platform());
        for (NativePacked path : nativePaths()) {
            assertEquals(null, PackedMatMul.selfTest(path));
        }
    }
}
