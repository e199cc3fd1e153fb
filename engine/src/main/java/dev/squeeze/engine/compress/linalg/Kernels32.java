package dev.squeeze.engine.compress.linalg;

/**
 * The float32 inner loops of {@link PackedBlas}: a register-tiled micro-kernel over packed panels and an
 * {@code fma} row update. Implementations must compute exactly the operations documented on {@link Blas}.
 */
interface Kernels32 {
    /** Rows of the micro-tile (rows of a packed A strip). */
    int mr();

    /** Columns of the micro-tile (columns of a packed B strip). */
    int nr();

    /**
     * {@code C[0:mr, 0:nr] = init + Σ_p ap[p·mr + i] · bp[p·nr + j]} with fma in order of {@code p}, where init is
     * {@code C} ({@code beta == 1}), 0 ({@code beta == 0}) or {@code beta·C}.
     */
    void tile(int kc, float[] ap, int apOff, float[] bp, int bpOff, float[] c, int cOff, int ldc, float beta);

    /** {@code dst[d + j] = fma(a, y[yOff + j], dst[d + j])} for {@code j < n}. */
    void axpy(int n, float a, float[] y, int yOff, float[] dst, int d);
}
