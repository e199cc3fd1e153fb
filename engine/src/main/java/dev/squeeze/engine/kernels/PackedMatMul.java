package dev.squeeze.engine.kernels;

import java.util.SplittableRandom;

/**
 * {@code y = W x} for a batch of inputs over a {@link PackedMatrix}, for a range of output rows:
 * {@code y[b][r] = Σ_c scale[r][c / groupSize] · (code[r][c] − zero[r][c / groupSize]) · x[b][c]} for
 * {@code r} in {@code [rowBegin, rowEnd)}; other entries of {@code y} are left alone, so several threads may
 * fill disjoint row ranges of one {@code y}. {@code x} is {@code [batch][cols]} and {@code y} {@code [batch][rows]},
 * row-major; either array may be longer than that (a reused buffer): only the prefix is used.
 *
 * <p>Every implementation validates all arguments first and throws {@link IllegalArgumentException}, naming the
 * argument and what it should be; a native one never reaches C with a bad length.
 */
public interface PackedMatMul {

    /** For logs and {@code describe()}: e.g. {@code java-reference} or {@code native-avx2}. */
    String name();

    /** The code layout this implementation reads; {@link #prepare} converts to it. */
    PackedMatrix.Layout layout();

    /** {@code w} in this implementation's layout (the same object when it already is). */
    PackedMatrix prepare(PackedMatrix w);

    /**
     * @throws IllegalArgumentException on any inconsistent argument, or a matrix in another layout
     */
    void multiply(PackedMatrix w, float[] x, float[] y, int batch, int rowBegin, int rowEnd);

    /** All rows. */
    default void multiply(PackedMatrix w, float[] x, float[] y, int batch) {
        multiply(w, x, y, batch, 0, w == null ? 0 : w.rows());
    }

    /**
     * Self-test tolerance on {@code |candidate − reference|} relative to {@code Σ_c |w| |x|} of each output. A
     * start-up guard against a broken build or a mis-dispatched CPU path (those err by 1e-3 or more), not a
     * precision test: the test suite holds backends to tighter bounds.
     */
    double SELF_TEST_TOLERANCE = 1e-5;

    /**
     * Runs {@code candidate} against {@link JavaPackedMatMul} on small random matrices (3 and 5 bits, symmetric and
     * asymmetric, f32 and f16 scales, a partial last group, a batch of 3, a row range). Cheap (a few thousand
     * weights); returns null when it agrees, else a sentence saying where it did not (or what it threw).
     */
    static String selfTest(PackedMatMul candidate) {
        SplittableRandom random = new SplittableRandom(20261206L);
        int rows = 13;
        int cols = 301;
        int batch = 3;
        int[][] cases = {{3, 64, 1, 0}, {5, 32, 0, 1}, {8, 301, 0, 0}, {2, 7, 1, 1}};
        try {
            for (int[] k : cases) {
                int bits = k[0];
                int groupSize = k[1];
                boolean symmetric = k[2] == 1;
                PackedMatrix.ScaleType type = k[3] == 1 ? PackedMatrix.ScaleType.F16 : PackedMatrix.ScaleType.F32;
                int groups = (cols + groupSize - 1) / groupSize;
                byte[] codes = new byte[rows * cols];
                for (int i = 0; i < codes.length; i++) {
                    codes[i] = (byte) random.nextInt(1 << bits);
                }
                float[] scales = new float[rows * groups];
                float[] zeros = symmetric ? null : new float[rows * groups];
                for (int i = 0; i < scales.length; i++) {
                    scales[i] = Float.float16ToFloat(Float.floatToFloat16((float) random.nextDouble(-0.1, 0.1)));
                    if (zeros != null) {
                        zeros[i] = random.nextInt(1 << bits);
                    }
                }
                float[] x = new float[batch * cols];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) random.nextDouble(-2, 2);
                }
                PackedMatrix w = PackedMatrix.ofCodes(rows, cols, bits, groupSize, symmetric, type, codes, scales,
                        zeros);
                float[] want = new float[batch * rows];
                new JavaPackedMatMul().multiply(w, x, want, batch);
                float[] got = new float[batch * rows];
                java.util.Arrays.fill(got, Float.NaN);
                int begin = 2;
                int end = rows - 1;
                candidate.multiply(candidate.prepare(w), x, got, batch, begin, end);
                for (int b = 0; b < batch; b++) {
                    for (int r = 0; r < rows; r++) {
                        int i = b * rows + r;
                        if (r < begin || r >= end) {
                            if (!Float.isNaN(got[i])) {
                                return candidate.name() + " self-test: wrote y[" + b + "][" + r + "] outside the row"
                                        + " range [" + begin + ", " + end + ")";
                            }
                            continue;
                        }
                        double magnitude = 0;
                        for (int c = 0; c < cols; c++) {
                            magnitude += Math.abs(w.weight(r, c)) * Math.abs(x[b * cols + c]);
                        }
                        double error = Math.abs(got[i] - want[i]);
                        if (!(error <= SELF_TEST_TOLERANCE * magnitude)) { // negated so that NaN fails
                            return candidate.name() + " self-test failed on " + w + ": y[" + b + "][" + r + "] = "
                                    + got[i] + " but the Java reference gives " + want[i];
                        }
                    }
                }
            }
        } catch (RuntimeException e) {
            return candidate.name() + " self-test threw " + e;
        }
        return null;
    }
}
