package dev.squeeze.engine.nn;

import org.slf4j.LoggerFactory;

/**
 * The row-wise inner loops of the fast forward pass: dot products (few-row linears), attention rows, the attention softmax, the
 * SwiGLU gate and a double-precision log-sum-exp. SIMD through the JDK's Vector API when the
 * {@code jdk.incubator.vector} module is present ({@link VectorRowKernels}, loaded reflectively so a JVM without
 * it never links it), else plain loops. SIMD sums lane by lane (lanes then added in a fixed order) and
 * {@link #exp} is a float polynomial (within about an ulp of {@link Math#exp}), so results agree with the
 * reference path to float rounding; within one JVM the same inputs always give the same bits, whatever the thread
 * count, the row blocking or the JIT's progress.
 */
public final class RowKernels {
    interface Impl {
        float dot(float[] a, int ao, float[] b, int bo, int n);

        void softmax(float[] a, int off, int n, float scale);

        void swiglu(float[] gate, float[] up, int from, int to);

        double logSumExp(float[] x, int off, int n);

        void attendRow(float[] q, int qo, int hd, float[] keys, int kBase, float[] values, int vBase, int cap,
                       int seen, float scale, float[] scores, float[] att, int ao);
    }

    private static final Impl IMPL = choose();
    static final float MAGIC = 12582912f; // 1.5 · 2^23: adding it rounds to an integer in the low bits
    static final int MAGIC_BITS = Float.floatToRawIntBits(MAGIC);
    static final float LOG2E = 1.44269504f;
    static final float MLN2_HI = -0.693359375f;
    static final float LN2_LO = 2.12194440e-4f;
    static final float P0 = 1.9875691500e-4f;
    static final float P1 = 1.3981999507e-3f;
    static final float P2 = 8.3334519073e-3f;
    static final float P3 = 4.1665795894e-2f;
    static final float P4 = 1.6666665459e-1f;
    static final float P5 = 5.0000001201e-1f;

    private RowKernels() {
    }

    /** {@code Σ a[ao+i]·b[bo+i]} for {@code i < n}. */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        return IMPL.dot(a, ao, b, bo, n);
    }

    /**
     * In place on {@code a[off .. off+n)}: {@code s = a / scale}, then {@code exp(s − max s)} divided by its sum
     * (run.c's attention softmax).
     */
    public static void softmax(float[] a, int off, int n, float scale) {
        IMPL.softmax(a, off, n, scale);
    }

    /** {@code gate[i] = silu(gate[i]) · up[i]} for {@code from ≤ i < to}, {@code silu(g) = g · 1/(1+exp(−g))}. */
    public static void swiglu(float[] gate, float[] up, int from, int to) {
        IMPL.swiglu(gate, up, from, to);
    }

    /** {@code log Σ exp(x[off .. off+n))} in double precision. */
    public static double logSumExp(float[] x, int off, int n) {
        return IMPL.logSumExp(x, off, n);
    }

    /**
     * One query row of one head against {@code seen} cached positions, keys and values element-major
     * ({@code keys[kBase + i·cap + p]} is element i of position p): scores {@code Σ_i q_i k_pi / scale}, softmax
     * (max subtracted), {@code att[ao + i] = Σ_p e_p v_pi / Σ_p e_p}. {@code scores} is scratch of at least
     * {@code seen} floats.
     */
    public static void attendRow(float[] q, int qo, int hd, float[] keys, int kBase, float[] values, int vBase,
                                 int cap, int seen, float scale, float[] scores, float[] att, int ao) {
        IMPL.attendRow(q, qo, hd, keys, kBase, values, vBase, cap, seen, scale, scores, att, ao);
    }

    /**
     * {@code e^x} in float (Cephes' expf: {@code x = k·ln 2 + r}, a polynomial in r, times 2^k), within about an
     * ulp of {@link Math#exp}; inputs below −87.3 give {@code e^−87.3} (≈ 1e−38), above 88.37 infinity. The SIMD
     * kernels compute the same operations lane by lane, so an element gets the same bits whether it falls in a
     * vector or in a loop's tail (which is what keeps results independent of how rows are split over threads).
     */
    public static float exp(float x) {
        x = Math.max(x, -87.33654f);
        float t = Math.fma(x, LOG2E, MAGIC);
        float k = t - MAGIC;
        float r = Math.fma(k, MLN2_HI, x);
        r = Math.fma(k, LN2_LO, r);
        float z = r * r;
        float p = Math.fma(r, P0, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, z, r + 1f);
        return y * Float.intBitsToFloat((Float.floatToRawIntBits(t) - (MAGIC_BITS - 127)) << 23);
    }

    /** Which implementation runs: {@code vector-<bits>} or {@code scalar}. */
    public static String name() {
        return IMPL.toString();
    }

    private static Impl choose() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            try {
                return (Impl) Class.forName(RowKernels.class.getPackageName() + ".VectorRowKernels")
                        .getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                LoggerFactory.getLogger(RowKernels.class).warn("SIMD row kernels unavailable ({}); scalar",
                        e.toString());
            }
        }
        return new Scalar();
    }

    /** The plain loops (also the reference's arithmetic for softmax, SwiGLU and log-sum-exp). */
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

        @Override
        public void softmax(float[] a, int off, int n, float scale) {
            float max = Float.NEGATIVE_INFINITY;
            for (int p = off; p < off + n; p++) {
                float s = a[p] / scale;
                a[p] = s;
                max = Math.max(max, s);
            }
            float sum = 0f;
            for (int p = off; p < off + n; p++) {
                float e = exp(a[p] - max);
                a[p] = e;
                sum += e;
            }
            for (int p = off; p < off + n; p++) {
                a[p] = a[p] / sum;
            }
        }

        @Override
        public void swiglu(float[] gate, float[] up, int from, int to) {
            for (int i = from; i < to; i++) {
                float g = gate[i];
                gate[i] = g * (1.0f / (1.0f + exp(-g))) * up[i];
            }
        }

        @Override
        public double logSumExp(float[] x, int off, int n) {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = off; i < off + n; i++) {
                max = Math.max(max, x[i]);
            }
            double sum = 0;
            for (int i = off; i < off + n; i++) {
                sum += Math.exp(x[i] - max);
            }
            return max + Math.log(sum);
        }

        @Override
        public void attendRow(float[] q, int qo, int hd, float[] keys, int kBase, float[] values, int vBase,
                              int cap, int seen, float scale, float[] scores, float[] att, int ao) {
            float max = Float.NEGATIVE_INFINITY;
            for (int p = 0; p < seen; p++) {
                float acc = 0f;
                for (int i = 0, k = kBase + p; i < hd; i++, k += cap) {
                    acc = Math.fma(keys[k], q[qo + i], acc);
                }
                acc = acc / scale;
                scores[p] = acc;
                max = Math.max(max, acc);
            }
            float sum = 0f;
            for (int p = 0; p < seen; p++) {
                float e = exp(scores[p] - max);
                scores[p] = e;
                sum += e;
            }
            for (int i = 0; i < hd; i++) {
                att[ao + i] = dot(scores, 0, values, vBase + i * cap, seen) / sum;
            }
        }

        @Override
        public String toString() {
            return "scalar";
        }
    }
}
