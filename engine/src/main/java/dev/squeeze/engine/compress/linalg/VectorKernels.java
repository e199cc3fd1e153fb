package dev.squeeze.engine.compress.linalg;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * SIMD kernels on the JDK's incubating Vector API: a register tile of 8 rows × 2 vectors (16 accumulators) on
 * AVX-512, 4 rows × 3 vectors (12, which fits AVX2's 16 registers) otherwise; B loaded as vectors, A broadcast. Lane for lane
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
        /** 8 × 2 vectors (16 accumulators) where there are 32 vector registers (AVX-512), else 4 × 3 (12). */
        private static final boolean WIDE = S.vectorBitSize() >= 512;
        private static final int MR = WIDE ? 8 : 4;
        private static final int NR = WIDE ? 2 * L : 3 * L;

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
            if (WIDE) {
                tile82(kc, ap, apOff, bp, bpOff, c, cOff, ldc, beta);
            } else {
                tile43(kc, ap, apOff, bp, bpOff, c, cOff, ldc, beta);
            }
        }

        private static void tile82(int kc, float[] ap, int apOff, float[] bp, int bpOff, float[] c, int cOff, int ldc,
                                   float beta) {
            int r0 = cOff + 0 * ldc;
            int r1 = cOff + 1 * ldc;
            int r2 = cOff + 2 * ldc;
            int r3 = cOff + 3 * ldc;
            int r4 = cOff + 4 * ldc;
            int r5 = cOff + 5 * ldc;
            int r6 = cOff + 6 * ldc;
            int r7 = cOff + 7 * ldc;
            FloatVector c00 = init(c, r0, beta), c01 = init(c, r0 + L, beta);
            FloatVector c10 = init(c, r1, beta), c11 = init(c, r1 + L, beta);
            FloatVector c20 = init(c, r2, beta), c21 = init(c, r2 + L, beta);
            FloatVector c30 = init(c, r3, beta), c31 = init(c, r3 + L, beta);
            FloatVector c40 = init(c, r4, beta), c41 = init(c, r4 + L, beta);
            FloatVector c50 = init(c, r5, beta), c51 = init(c, r5 + L, beta);
            FloatVector c60 = init(c, r6, beta), c61 = init(c, r6 + L, beta);
            FloatVector c70 = init(c, r7, beta), c71 = init(c, r7 + L, beta);
            int a = apOff;
            int b = bpOff;
            for (int p = 0; p < kc; p++, a += 8, b += 2 * L) {
                FloatVector b0 = FloatVector.fromArray(S, bp, b);
                FloatVector b1 = FloatVector.fromArray(S, bp, b + L);
                FloatVector a0 = FloatVector.broadcast(S, ap[a + 0]);
                c00 = b0.fma(a0, c00);
                c01 = b1.fma(a0, c01);
                FloatVector a1 = FloatVector.broadcast(S, ap[a + 1]);
                c10 = b0.fma(a1, c10);
                c11 = b1.fma(a1, c11);
                FloatVector a2 = FloatVector.broadcast(S, ap[a + 2]);
                c20 = b0.fma(a2, c20);
                c21 = b1.fma(a2, c21);
                FloatVector a3 = FloatVector.broadcast(S, ap[a + 3]);
                c30 = b0.fma(a3, c30);
                c31 = b1.fma(a3, c31);
                FloatVector a4 = FloatVector.broadcast(S, ap[a + 4]);
                c40 = b0.fma(a4, c40);
                c41 = b1.fma(a4, c41);
                FloatVector a5 = FloatVector.broadcast(S, ap[a + 5]);
                c50 = b0.fma(a5, c50);
                c51 = b1.fma(a5, c51);
                FloatVector a6 = FloatVector.broadcast(S, ap[a + 6]);
                c60 = b0.fma(a6, c60);
                c61 = b1.fma(a6, c61);
                FloatVector a7 = FloatVector.broadcast(S, ap[a + 7]);
                c70 = b0.fma(a7, c70);
                c71 = b1.fma(a7, c71);
            }
            c00.intoArray(c, r0);
            c01.intoArray(c, r0 + L);
            c10.intoArray(c, r1);
            c11.intoArray(c, r1 + L);
            c20.intoArray(c, r2);
            c21.intoArray(c, r2 + L);
            c30.intoArray(c, r3);
            c31.intoArray(c, r3 + L);
            c40.intoArray(c, r4);
            c41.intoArray(c, r4 + L);
            c50.intoArray(c, r5);
            c51.intoArray(c, r5 + L);
            c60.intoArray(c, r6);
            c61.intoArray(c, r6 + L);
            c70.intoArray(c, r7);
            c71.intoArray(c, r7 + L);
        }

        private static void tile43(int kc, float[] ap, int apOff, float[] bp, int bpOff, float[] c, int cOff, int ldc,
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
            for (int p = 0; p < kc; p++, a += 4, b += 3 * L) {
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
        /** 8 × 2 vectors (16 accumulators) where there are 32 vector registers (AVX-512), else 4 × 3 (12). */
        private static final boolean WIDE = S.vectorBitSize() >= 512;
        private static final int MR = WIDE ? 8 : 4;
        private static final int NR = WIDE ? 2 * L : 3 * L;

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
            if (WIDE) {
                tile82(kc, ap, apOff, bp, bpOff, c, cOff, ldc, beta);
            } else {
                tile43(kc, ap, apOff, bp, bpOff, c, cOff, ldc, beta);
            }
        }

        private static void tile82(int kc, double[] ap, int apOff, double[] bp, int bpOff, double[] c, int cOff, int ldc,
                                   double beta) {
            int r0 = cOff + 0 * ldc;
            int r1 = cOff + 1 * ldc;
            int r2 = cOff + 2 * ldc;
            int r3 = cOff + 3 * ldc;
            int r4 = cOff + 4 * ldc;
            int r5 = cOff + 5 * ldc;
            int r6 = cOff + 6 * ldc;
            int r7 = cOff + 7 * ldc;
            DoubleVector c00 = init(c, r0, beta), c01 = init(c, r0 + L, beta);
            DoubleVector c10 = init(c, r1, beta), c11 = init(c, r1 + L, beta);
            DoubleVector c20 = init(c, r2, beta), c21 = init(c, r2 + L, beta);
            DoubleVector c30 = init(c, r3, beta), c31 = init(c, r3 + L, beta);
            DoubleVector c40 = init(c, r4, beta), c41 = init(c, r4 + L, beta);
            DoubleVector c50 = init(c, r5, beta), c51 = init(c, r5 + L, beta);
            DoubleVector c60 = init(c, r6, beta), c61 = init(c, r6 + L, beta);
            DoubleVector c70 = init(c, r7, beta), c71 = init(c, r7 + L, beta);
            int a = apOff;
            int b = bpOff;
            for (int p = 0; p < kc; p++, a += 8, b += 2 * L) {
                DoubleVector b0 = DoubleVector.fromArray(S, bp, b);
                DoubleVector b1 = DoubleVector.fromArray(S, bp, b + L);
                DoubleVector a0 = DoubleVector.broadcast(S, ap[a + 0]);
                c00 = b0.fma(a0, c00);
                c01 = b1.fma(a0, c01);
                DoubleVector a1 = DoubleVector.broadcast(S, ap[a + 1]);
                c10 = b0.fma(a1, c10);
                c11 = b1.fma(a1, c11);
                DoubleVector a2 = DoubleVector.broadcast(S, ap[a + 2]);
                c20 = b0.fma(a2, c20);
                c21 = b1.fma(a2, c21);
                DoubleVector a3 = DoubleVector.broadcast(S, ap[a + 3]);
                c30 = b0.fma(a3, c30);
                c31 = b1.fma(a3, c31);
                DoubleVector a4 = DoubleVector.broadcast(S, ap[a + 4]);
                c40 = b0.fma(a4, c40);
                c41 = b1.fma(a4, c41);
                DoubleVector a5 = DoubleVector.broadcast(S, ap[a + 5]);
                c50 = b0.fma(a5, c50);
                c51 = b1.fma(a5, c51);
                DoubleVector a6 = DoubleVector.broadcast(S, ap[a + 6]);
                c60 = b0.fma(a6, c60);
                c61 = b1.fma(a6, c61);
                DoubleVector a7 = DoubleVector.broadcast(S, ap[a + 7]);
                c70 = b0.fma(a7, c70);
                c71 = b1.fma(a7, c71);
            }
            c00.intoArray(c, r0);
            c01.intoArray(c, r0 + L);
            c10.intoArray(c, r1);
            c11.intoArray(c, r1 + L);
            c20.intoArray(c, r2);
            c21.intoArray(c, r2 + L);
            c30.intoArray(c, r3);
            c31.intoArray(c, r3 + L);
            c40.intoArray(c, r4);
            c41.intoArray(c, r4 + L);
            c50.intoArray(c, r5);
            c51.intoArray(c, r5 + L);
            c60.intoArray(c, r6);
            c61.intoArray(c, r6 + L);
            c70.intoArray(c, r7);
            c71.intoArray(c, r7 + L);
        }

        private static void tile43(int kc, double[] ap, int apOff, double[] bp, int bpOff, double[] c, int cOff, int ldc,
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
            for (int p = 0; p < kc; p++, a += 4, b += 3 * L) {
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
