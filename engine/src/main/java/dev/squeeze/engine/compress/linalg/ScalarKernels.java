package dev.squeeze.engine.compress.linalg;

/**
 * The readable reference kernels: scalar {@link Math#fma}, one accumulator per element. The SIMD kernels
 * ({@code VectorKernels}) perform the same operations lane by lane, so both give bit-identical results.
 */
final class ScalarKernels {
    private ScalarKernels() {
    }

    static final class F32 implements Kernels32 {
        private static final int MR = 4;
        private static final int NR = 16;

        @Override
        public int mr() {
            return MR;
        }

        @Override
        public int nr() {
            return NR;
        }

        @Override
        public void tile(int kc, float[] ap, int apOff, float[] bp, int bpOff, float[] c, int cOff, int ldc,
                         float beta) {
            float[] acc = new float[MR * NR];
            for (int i = 0; i < MR; i++) {
                for (int j = 0; j < NR; j++) {
                    float v = c[cOff + i * ldc + j];
                    acc[i * NR + j] = beta == 0f ? 0f : beta == 1f ? v : beta * v;
                }
            }
            for (int p = 0; p < kc; p++) {
                for (int i = 0; i < MR; i++) {
                    float a = ap[apOff + p * MR + i];
                    for (int j = 0; j < NR; j++) {
                        acc[i * NR + j] = Math.fma(a, bp[bpOff + p * NR + j], acc[i * NR + j]);
                    }
                }
            }
            for (int i = 0; i < MR; i++) {
                System.arraycopy(acc, i * NR, c, cOff + i * ldc, NR);
            }
        }

        @Override
        public void axpy(int n, float a, float[] y, int yOff, float[] dst, int d) {
            for (int j = 0; j < n; j++) {
                dst[d + j] = Math.fma(a, y[yOff + j], dst[d + j]);
            }
        }
    }

    static final class F64 implements Kernels64 {
        private static final int MR = 4;
        private static final int NR = 8;

        @Override
        public int mr() {
            return MR;
        }

        @Override
        public int nr() {
            return NR;
        }

        @Override
        public void tile(int kc, double[] ap, int apOff, double[] bp, int bpOff, double[] c, int cOff, int ldc,
                         double beta) {
            double[] acc = new double[MR * NR];
            for (int i = 0; i < MR; i++) {
                for (int j = 0; j < NR; j++) {
                    double v = c[cOff + i * ldc + j];
                    acc[i * NR + j] = beta == 0 ? 0 : beta == 1 ? v : beta * v;
                }
            }
            for (int p = 0; p < kc; p++) {
                for (int i = 0; i < MR; i++) {
                    double a = ap[apOff + p * MR + i];
                    for (int j = 0; j < NR; j++) {
                        acc[i * NR + j] = Math.fma(a, bp[bpOff + p * NR + j], acc[i * NR + j]);
                    }
                }
            }
            for (int i = 0; i < MR; i++) {
                System.arraycopy(acc, i * NR, c, cOff + i * ldc, NR);
            }
        }
    }
}
