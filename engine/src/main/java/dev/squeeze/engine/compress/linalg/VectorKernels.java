package dev.squeeze.engine.compress.linalg;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * SIMD kernels on the JDK's incubating Vector API: a 4 × 3-vector register tile (12 accumulators, which fits the
 * 16 vector registers of AVX2 and leaves room on AVX-512), B loaded as vectors, A broadcast. Lane for lane
 * the same {@code fma} chain as {@link ScalarKernels}, hence bit-identical results.
 *
 * <p>Only {@link BlasProvider} names this class, reflectively, after checking that the module is present: a JVM
 * started without {@code --add-modules jdk.incubator.vector} never loads it and uses the scalar kernels.
 */
final class VectorKernels {
    private VectorKernels() {
    }

    static final class F32 implements Kernels32 {
        private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
        private static final int L = S.length();
        private static final int MR = 4;
        private static final int NR = 3 * L;

        @Override
        public int mr() {
            return MR;
        }

        @Override
        public int nr() {
            return NR;
        }

        private static FloatVector init(float[] c, int off, float beta) {
            if (beta == 0f) {
                return FloatVector.zero(S);
            }
            FloatVector v = FloatVector.fromArray(S, c, off);
            return beta == 1f ? v : v.mul(beta);
        }

        @Override
        public void tile(int kc, float[] ap, int apOff, float[] bp, int bpOff, float[] c, int cOff, int ldc,
                         float beta) {
            int r0 = cOff;
            int r1 = r0 + ldc;
            int r2 = r1 + ldc;
            int r3 = r2 + ldc;
            FloatVector c00 = init(c, r0, beta), c01 = init(c, r0 + L, beta), c02 = init(c, r0 + 2 * L, beta);
            FloatVector c10 = init(c, r1, beta), c11 = init(c, r1 + L, beta), c12 = init(c, r1 + 2 * L, beta);
            FloatVector c20 = init(c, r2, beta), c21 = init(c, r2 + L, beta), c22 = init(c, r2 + 2 * L, beta);
            FloatVector c30 = init(c, r3, beta), c31 = init(c, r3 + L, beta), c32 = init(c, r3 + 2 * L, beta);
            int a = apOff;
            int b = bpOff;
            for (int p = 0; p < kc; p++, a += MR, b += NR) {
                FloatVector b0 = FloatVector.fromArray(S, bp, b);
                FloatVector b1 = FloatVector.fromArray(S, bp, b + L);
                FloatVector b2 = FloatVector.fromArray(S, bp, b + 2 * L);
                FloatVector a0 = FloatVector.broadcast(S, ap[a]);
                c00 = b0.fma(a0, c00);
                c01 = b1.fma(a0, c01);
                c02 = b2.fma(a0, c02);
                FloatVector a1 = FloatVector.broadcast(S, ap[a + 1]);
                c10 = b0.fma(a1, c10);
                c11 = b1.fma(a1, c11);
                c12 = b2.fma(a1, c12);
                FloatVector a2 = FloatVector.broadcast(S, ap[a + 2]);
                c20 = b0.fma(a2, c20);
                c21 = b1.fma(a2, c21);
                c22 = b2.fma(a2, c22);
                FloatVector a3 = FloatVector.broadcast(S, ap[a + 3]);
                c30 = b0.fma(a3, c30);
                c31 = b1.fma(a3, c31);
                c32 = b2.fma(a3, c32);
            }
            c00.intoArray(c, r0);
            c01.intoArray(c, r0 + L);
            c02.intoArray(c, r0 + 2 * L);
            c10.intoArray(c, r1);
            c11.intoArray(c, r1 + L);
            c12.intoArray(c, r1 + 2 * L);
            c20.intoArray(c, r2);
            c21.intoArray(c, r2 + L);
            c22.intoArray(c, r2 + 2 * L);
            c30.intoArray(c, r3);
            c31.intoArray(c, r3 + L);
            c32.intoArray(c, r3 + 2 * L);
        }

        @Override
        public void axpy(int n, float a, float[] y, int yOff, float[] dst, int d) {
            FloatVector av = FloatVector.broadcast(S, a);
            int j = 0;
            for (int end = S.loopBound(n); j < end; j += L) {
                FloatVector.fromArray(S, y, yOff + j).fma(av, FloatVector.fromArray(S, dst, d + j)).intoArray(dst, d + j);
            }
            for (; j < n; j++) {
                dst[d + j] = Math.fma(a, y[yOff + j], dst[d + j]);
            }
        }
    }

    static final class F64 implements Kernels64 {
        private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
        private static final int L = S.length();
        private static final int MR = 4;
        private static final int NR = 3 * L;

        @Override
        public int mr() {
            return MR;
        }

        @Override
        public int nr() {
            return NR;
        }

        private static DoubleVector init(double[] c, int off, double beta) {
            if (beta == 0) {
                return DoubleVector.zero(S);
            }
            DoubleVector v = DoubleVector.fromArray(S, c, off);
            return beta == 1 ? v : v.mul(beta);
        }

        @Override
        public void tile(int kc, double[] ap, int apOff, double[] bp, int bpOff, double[] c, int cOff, int ldc,
                         double beta) {
            int r0 = cOff;
            int r1 = r0 + ldc;
            int r2 = r1 + ldc;
            int r3 = r2 + ldc;
            DoubleVector c00 = init(c, r0, beta), c01 = init(c, r0 + L, beta), c02 = init(c, r0 + 2 * L, beta);
            DoubleVector c10 = init(c, r1, beta), c11 = init(c, r1 + L, beta), c12 = init(c, r1 + 2 * L, beta);
            DoubleVector c20 = init(c, r2, beta), c21 = init(c, r2 + L, beta), c22 = init(c, r2 + 2 * L, beta);
            DoubleVector c30 = init(c, r3, beta), c31 = init(c, r3 + L, beta), c32 = init(c, r3 + 2 * L, beta);
            int a = apOff;
            int b = bpOff;
            for (int p = 0; p < kc; p++, a += MR, b += NR) {
                DoubleVector b0 = DoubleVector.fromArray(S, bp, b);
                DoubleVector b1 = DoubleVector.fromArray(S, bp, b + L);
                DoubleVector b2 = DoubleVector.fromArray(S, bp, b + 2 * L);
                DoubleVector a0 = DoubleVector.broadcast(S, ap[a]);
                c00 = b0.fma(a0, c00);
                c01 = b1.fma(a0, c01);
                c02 = b2.fma(a0, c02);
                DoubleVector a1 = DoubleVector.broadcast(S, ap[a + 1]);
                c10 = b0.fma(a1, c10);
                c11 = b1.fma(a1, c11);
                c12 = b2.fma(a1, c12);
                DoubleVector a2 = DoubleVector.broadcast(S, ap[a + 2]);
                c20 = b0.fma(a2, c20);
                c21 = b1.fma(a2, c21);
                c22 = b2.fma(a2, c22);
                DoubleVector a3 = DoubleVector.broadcast(S, ap[a + 3]);
                c30 = b0.fma(a3, c30);
                c31 = b1.fma(a3, c31);
                c32 = b2.fma(a3, c32);
            }
            c00.intoArray(c, r0);
            c01.intoArray(c, r0 + L);
            c02.intoArray(c, r0 + 2 * L);
            c10.intoArray(c, r1);
            c11.intoArray(c, r1 + L);
            c12.intoArray(c, r1 + 2 * L);
            c20.intoArray(c, r2);
            c21.intoArray(c, r2 + L);
            c22.intoArray(c, r2 + 2 * L);
            c30.intoArray(c, r3);
            c31.intoArray(c, r3 + L);
            c32.intoArray(c, r3 + 2 * L);
        }
    }

    static String describe() {
        return "java-vector-" + FloatVector.SPECIES_PREFERRED.vectorBitSize();
    }
}
