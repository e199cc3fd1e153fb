package dev.squeeze.engine.kernels;

import dev.squeeze.engine.backend.Backends;
import dev.squeeze.engine.backend.Op;
import java.util.SplittableRandom;

/**
 * The door to the compute kernels. The int4 mat-vec is the {@code int4} op of the backend provider
 * ({@link Backends}): on first use the highest-ranked backend that opens and passes a self-test against the
 * pure-Java reference is chosen (ranks: JNI-CPU, then pure Java), logged once, and kept.
 *
 * <p>System property {@value #BACKEND_PROPERTY} (or {@code squeeze.backend.int4}) = {@code native} or {@code java}
 * forces a backend. An unknown name, or a forced backend that cannot be used here, is a
 * {@link dev.squeeze.engine.SqueezeException} saying why and what to give instead, not a silent fallback.
 * {@value Backends#LEGACY_PROPERTY} is the old name of the property and is still read.
 */
public final class Kernels {

    /** The provider's property: forces a backend for every op that offers it ({@link Backends#PROPERTY}). */
    public static final String BACKEND_PROPERTY = Backends.PROPERTY;

    /**
     * Self-test tolerance on |backend - reference| relative to sum |scale| (q + |zero|) |x| of each output.
     * This is a start-up guard against a broken build or a mis-selected CPU path (those err by 1e-3 or
     * more), not a precision test: the test suite holds backends to 1e-6. The looser bound keeps a
     * legitimate rounding difference on some other CPU from silently disabling the fast path.
     */
    static final double SELF_TEST_TOLERANCE = 1e-5;

    /** The int4 group-quantized mat-vec: native (JNI, AVX2/scalar), then the Java reference. */
    public static final Op<Int4MatVec> INT4 = Op.of("int4", "the int4 mat-vec kernels", Int4MatVec::name,
            Kernels::selfTest, Op.Candidate.of("native", NativeInt4MatVec::load),
            Op.Candidate.reference("java", JavaInt4MatVec::new));

    private Kernels() {
    }

    /** The int4 mat-vec of the chosen backend. */
    public static Int4MatVec int4MatVec() {
        return Backends.get(INT4);
    }

    /** {@code "native"} or {@code "java"}: the int4 op's backend in this process, for logs and the settings screen. */
    public static String backendName() {
        return Backends.choice(INT4).backend();
    }

    /**
     * One small random case with a partial last group and a batch of 3, against the Java reference. Cheap
     * (a few thousand weights) and run once, so a broken native build degrades to slow-but-right.
     */
    static String selfTest(Int4MatVec op) {
        int rows = 5, cols = 301, groupSize = 64, batch = 3;
        SplittableRandom random = new SplittableRandom(20261127L);
        byte[] codes = new byte[rows * ((cols + 1) / 2)];
        int groups = (cols + groupSize - 1) / groupSize;
        float[] scales = new float[rows * groups];
        float[] zeros = new float[rows * groups];
        float[] x = new float[batch * cols];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) random.nextInt(256);
        }
        for (int i = 0; i < scales.length; i++) {
            scales[i] = (float) random.nextDouble(-0.1, 0.1);
            zeros[i] = (float) random.nextDouble(0, 15);
        }
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble(-2, 2);
        }
        Int4Matrix w = new Int4Matrix(rows, cols, groupSize, codes, scales, zeros);
        float[] want = new float[batch * rows];
        float[] got = new float[batch * rows];
        new JavaInt4MatVec().multiply(w, x, want, batch);
        op.multiply(w, x, got, batch);
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    int g = r * groups + c / groupSize;
                    magnitude += Math.abs(scales[g]) * (w.code(r, c) + Math.abs(zeros[g])) * Math.abs(x[b * cols + c]);
                }
                int i = b * rows + r;
                double error = Math.abs(got[i] - want[i]);
                if (!(error <= SELF_TEST_TOLERANCE * magnitude)) { // negated so that NaN fails
                    return op.name() + " self-test failed: y[" + b + "][" + r + "] = " + got[i] + " but the Java"
                            + " reference gives " + want[i];
                }
            }
        }
        return null;
    }
}
