package dev.squeeze.engine.compress.linalg;

/** The float64 micro-kernel of {@link PackedBlas}; see {@link Kernels32#tile}. */
interface Kernels64 {
    int mr();

    int nr();

    void tile(int kc, double[] ap, int apOff, double[] bp, int bpOff, double[] c, int cOff, int ldc, double beta);
}
