package dev.squeeze.engine.compress.linalg;

/**
 * The dense linear algebra the compression methods route their heavy work through: matrix products in float32
 * (GPTQ's lazy block updates, the Hessian {@code XᵀX}) and float64 (the blocked Cholesky factorisation and
 * triangular inverse in {@link Cholesky}), and a rank-1 update.
 *
 * <p>All matrices are row-major with an offset and a leading dimension (the distance between rows), so
 * sub-matrices are passed without copies. {@code op(A)} is {@code A} or, with {@code transA}, {@code Aᵀ} (then
 * {@code A} is stored {@code k × m}); likewise {@code op(B)} ({@code n × k} when transposed).
 *
 * <p><b>Results are exact functions of the inputs</b>, the same for every implementation and every blocking or
 * thread count: each element of C is computed as {@code acc = beta·C} (or 0 when {@code beta == 0}, or C when
 * {@code beta == 1}), then {@code acc = fma(alpha·a_ip, b_pj, acc)} for {@code p = 0 … k−1} in order, where
 * {@code alpha·a_ip} is rounded to the working precision (exact for {@code alpha = ±1}). This makes the fast
 * path testable bit for bit against the plain one ({@link #portable()}) and keeps runs reproducible.
 */
public interface Blas {
    /** A short name for logs and run provenance, e.g. {@code java-vector-512}. */
    String name();

    /** {@code C = beta·C + alpha·op(A)·op(B)}; {@code C} is {@code m × n}, {@code op(A)} {@code m × k}, {@code op(B)} {@code k × n}. */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
               float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc);

    /** The float64 version of {@link #sgemm}. */
    void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha, double[] a, int aOff, int lda,
               double[] b, int bOff, int ldb, double beta, double[] c, int cOff, int ldc);

    /**
     * Rank-1 update {@code A = A + (alpha·x) yᵀ} of an {@code m × n} matrix: {@code A[i][j] = fma(alpha·x[i], y[j],
     * A[i][j])}.
     */
    void sger(int m, int n, float alpha, float[] x, int xOff, float[] y, int yOff, float[] a, int aOff, int lda);

    /**
     * The implementation the backend provider routes the {@code gemm} op to ({@link dev.squeeze.engine.backend.Ops#GEMM}):
     * by default {@link #java()}, whose results are exact as described above; {@code -Dsqueeze.backend.gemm=nd4j}
     * (or {@code -Dsqueeze.backend=nd4j}) selects ND4J's OpenBLAS, whose results are not bit-identical.
     */
    static Blas get() {
        return dev.squeeze.engine.backend.Backends.get(dev.squeeze.engine.backend.Ops.GEMM);
    }

    /**
     * The fastest pure-Java implementation in this JVM: the SIMD one when the {@code jdk.incubator.vector} module
     * is present ({@code --add-modules jdk.incubator.vector}), else {@link #portable()}. Both give identical
     * results. System property {@code squeeze.blas=portable} forces the portable one, {@code squeeze.blas.threads}
     * sets the number of threads a large product is split over (default: the available processors; results do
     * not depend on it). The Java factorisations ({@link Cholesky}) always use this one.
     */
    static Blas java() {
        return BlasProvider.BEST;
    }

    /**
     * Checks the arguments of a {@code gemm} call against the array lengths (for implementations in other packages).
     *
     * @throws IllegalArgumentException naming the matrix whose leading dimension or index range is wrong
     */
    static void checkGemm(boolean transA, boolean transB, int m, int n, int k, int aLen, int aOff, int lda,
                          int bLen, int bOff, int ldb, int cLen, int cOff, int ldc) {
        PackedBlas.checkShape(transA, transB, m, n, k, aLen, aOff, lda, bLen, bOff, ldb, cLen, cOff, ldc);
    }

    /** The plain-Java reference implementation (scalar {@link Math#fma}, same blocking), single-threaded. */
    static Blas portable() {
        return BlasProvider.PORTABLE;
    }
}
