package dev.squeeze.engine.nn;

import org.slf4j.LoggerFactory;

/**
 * Dot products of float rows for the few-row (generation) paths: SIMD through the JDK's Vector API when the
 * {@code jdk.incubator.vector} module is present ({@link VectorRowDot}, loaded reflectively so a JVM without it
 * never links it), else eight scalar accumulators. The summation order differs between the two (and from a
 * plain left-to-right sum); within one JVM every call with the same inputs gives the same bits.
 */
public final class RowDot {
    interface Impl {
        float dot(float[] a, int ao, float[] b, int bo, int n);
    }

    private static final Impl IMPL = choose();

    private RowDot() {
    }

    /** {@code Σ a[ao+i]·b[bo+i]} for {@code i < n}. */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        return IMPL.dot(a, ao, b, bo, n);
    }

    /** Which implementation runs: {@code vector-<bits>} or {@code scalar}. */
    public static String name() {
        return IMPL instanceof Scalar ? "scalar" : IMPL.toString();
    }

    private static Impl choose() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            try {
                return (Impl) Class.forName(RowDot.class.getPackageName() + ".VectorRowDot")
                        .getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                LoggerFactory.getLogger(RowDot.class).warn("SIMD dot products unavailable ({}); scalar", e.toString());
            }
        }
        return new Scalar();
    }

    static final class Scalar implements Impl {
        @Override
        public float dot(float[] a, int ao, float[] b, int bo, int n) {
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f, s4 = 0f, s5 = 0f, s6 = 0f, s7 = 0f;
            int i = 0;
            for (; i + 8 <= n; i += 8) {
                s0 = Math.fma(a[ao + i], b[bo + i], s0);
                s1 = Math.fma(a[ao + i + 1], b[bo + i + 1], s1);
                s2 = Math.fma(a[ao + i + 2], b[bo + i + 2], s2);
                s3 = Math.fma(a[ao + i + 3], b[bo + i + 3], s3);
                s4 = Math.fma(a[ao + i + 4], b[bo + i + 4], s4);
                s5 = Math.fma(a[ao + i + 5], b[bo + i + 5], s5);
                s6 = Math.fma(a[ao + i + 6], b[bo + i + 6], s6);
                s7 = Math.fma(a[ao + i + 7], b[bo + i + 7], s7);
            }
            for (; i < n; i++) {
                s0 = Math.fma(a[ao + i], b[bo + i], s0);
            }
            return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
        }
    }
}
