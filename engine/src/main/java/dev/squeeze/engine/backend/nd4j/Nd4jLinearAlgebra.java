package dev.squeeze.engine.backend.nd4j;

import dev.squeeze.engine.backend.CholeskyOp;
import dev.squeeze.engine.backend.SymmetricEigenOp;
import dev.squeeze.engine.backend.TriangularInverseOp;
import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.compress.linalg.Cholesky;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The {@code nd4j} backend of the dense ops: ND4J ({@code org.nd4j:nd4j-native}) and the OpenBLAS it bundles.
 *
 * <ul>
 *   <li>gemm: {@code Nd4j.gemm} on INDArrays. Our operands are sub-matrices of Java arrays (offset, leading
 *       dimension), so each call copies op(A), op(B) (and C when {@code beta ≠ 0}) into contiguous off-heap arrays
 *       and C back; the measurements include those copies. {@code sger} stays in Java ({@link Blas#java()}): a
 *       rank-1 update is memory-bound and the copies would cost more than it.</li>
 *   <li>cholesky, trinv, eigen: LAPACK {@code dpotrf}, {@code dtrtri} and {@code dsyevd} (divide and conquer) of
 *       that same OpenBLAS, called through its JavaCPP binding ({@code org.bytedeco.openblas}, a dependency of
 *       nd4j-native) on row-major copies. ND4J's own {@code Lapack} interface has no trtri or syevd, its
 *       {@code Level3.trsm} passes LAPACK an invalid argument here ("DTRSM parameter number 4 had an illegal
 *       value", 1.0.0-M2.1), and its potrf does not report which pivot failed; libnd4j's own Cholesky/Svd ops are
 *       not used (STACK-NOTES: they reject valid input or never finish).</li>
 * </ul>
 * Results agree with the Java reference to rounding, not bit for bit (see {@code backend.Ops} for where that
 * matters). Loaded only by name from {@code backend.Nd4jLoader}, when an op tries this backend.
 */
public final class Nd4jLinearAlgebra implements Blas, CholeskyOp, TriangularInverseOp, SymmetricEigenOp {
    private static final Nd4jLinearAlgebra INSTANCE = new Nd4jLinearAlgebra();
    private static final byte LOWER = 'L';

    private final String name;

    private Nd4jLinearAlgebra() {
        // Starts ND4J's backend (loads libnd4jcpu and OpenBLAS) and fails here, not in the first product, if it cannot.
        String vendor = String.valueOf(Nd4j.factory().blas().getBlasVendor()).toLowerCase(java.util.Locale.ROOT);
        this.name = "nd4j-" + vendor;
    }

    /** The backend, started on first call. */
    public static Nd4jLinearAlgebra instance() {
        return INSTANCE;
    }

    @Override
    public String name() {
        return name;
    }

    /** The threads OpenBLAS splits a call over (ND4J's setting: the physical cores by default). */
    public int threads() {
        return Nd4j.factory().blas().getMaxThreads();
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                      float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        Blas.checkGemm(transA, transB, m, n, k, a.length, aOff, lda, b.length, bOff, ldb, c.length, cOff, ldc);
        if (m == 0 || n == 0 || k == 0 || alpha == 0) {
            Blas.java().sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        try (INDArray ma = Nd4j.create(gather(a, aOff, lda, transA ? k : m, transA ? m : k), new long[]{transA ? k : m, transA ? m : k}, 'c');
             INDArray mb = Nd4j.create(gather(b, bOff, ldb, transB ? n : k, transB ? k : n), new long[]{transB ? n : k, transB ? k : n}, 'c');
             INDArray mc = beta == 0 ? Nd4j.create(DataType.FLOAT, new long[]{m, n}, 'c')
                     : Nd4j.create(gather(c, cOff, ldc, m, n), new long[]{m, n}, 'c')) {
            Nd4j.gemm(ma, mb, mc, transA, transB, alpha, beta);
            float[] out = mc.data().asFloat();
            for (int i = 0; i < m; i++) {
                System.arraycopy(out, i * n, c, cOff + i * ldc, n);
            }
        }
    }

    @Override
    public void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha, double[] a, int aOff, int lda,
                      double[] b, int bOff, int ldb, double beta, double[] c, int cOff, int ldc) {
        Blas.checkGemm(transA, transB, m, n, k, a.length, aOff, lda, b.length, bOff, ldb, c.length, cOff, ldc);
        if (m == 0 || n == 0 || k == 0 || alpha == 0) {
            Blas.java().dgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        try (INDArray ma = Nd4j.create(gather(a, aOff, lda, transA ? k : m, transA ? m : k), new long[]{transA ? k : m, transA ? m : k}, 'c');
             INDArray mb = Nd4j.create(gather(b, bOff, ldb, transB ? n : k, transB ? k : n), new long[]{transB ? n : k, transB ? k : n}, 'c');
             INDArray mc = beta == 0 ? Nd4j.create(DataType.DOUBLE, new long[]{m, n}, 'c')
                     : Nd4j.create(gather(c, cOff, ldc, m, n), new long[]{m, n}, 'c')) {
            Nd4j.gemm(ma, mb, mc, transA, transB, alpha, beta);
            double[] out = mc.data().asDouble();
            for (int i = 0; i < m; i++) {
                System.arraycopy(out, i * n, c, cOff + i * ldc, n);
            }
        }
    }

    /** Memory-bound: done in Java ({@link Blas#java()}), exactly as the reference. */
    @Override
    public void sger(int m, int n, float alpha, float[] x, int xOff, float[] y, int yOff, float[] a, int aOff, int lda) {
        Blas.java().sger(m, n, alpha, x, xOff, y, yOff, a, aOff, lda);
    }

    @Override
    public void lowerInPlace(double[] a, int n) {
        checkSquare(a, n);
        if (n == 0) {
            return;
        }
        int info = openblas.LAPACKE_dpotrf(openblas.LAPACK_ROW_MAJOR, LOWER, n, a, n);
        if (info < 0) {
            throw new IllegalStateException("LAPACK dpotrf rejected argument " + (-info) + " (n = " + n + ")");
        }
        if (info > 0) {
            // The leading minor of order info is not positive definite; dpotrf leaves that pivot's value on the diagonal.
            int index = info - 1;
            throw new Cholesky.NotPositiveDefiniteException(index, a[index * n + index]);
        }
        for (int i = 0; i < n; i++) {
            java.util.Arrays.fill(a, i * n + i + 1, i * n + n, 0);
        }
    }

    @Override
    public void invertLowerInPlace(double[] l, int n) {
        checkSquare(l, n);
        if (n == 0) {
            return;
        }
        int info = openblas.LAPACKE_dtrtri(openblas.LAPACK_ROW_MAJOR, LOWER, (byte) 'N', n, l, n);
        if (info < 0) {
            throw new IllegalStateException("LAPACK dtrtri rejected argument " + (-info) + " (n = " + n + ")");
        }
        if (info > 0) {
            throw new ArithmeticException("triangular matrix is singular: diagonal element " + (info - 1) + " is zero");
        }
    }

    @Override
    public void decompose(double[] a, int n, double[] values, double[] vectors) {
        checkSquare(a, n);
        if (values.length != n || vectors.length != a.length) {
            throw new IllegalArgumentException("eigen: output arrays of " + values.length + " and " + vectors.length
                    + " values for n = " + n);
        }
        double[] ascending = new double[n];
        int info = openblas.LAPACKE_dsyevd(openblas.LAPACK_ROW_MAJOR, (byte) 'V', LOWER, n, a, n, ascending);
        if (info != 0) {
            throw new ArithmeticException("LAPACK dsyevd failed (info " + info + ", n = " + n + ")");
        }
        // dsyevd: eigenvalues ascending, eigenvector j in column j of a. Ours: descending, vectors as rows.
        for (int kk = 0; kk < n; kk++) {
            int col = n - 1 - kk;
            values[kk] = ascending[col];
            for (int i = 0; i < n; i++) {
                vectors[kk * n + i] = a[i * n + col];
            }
        }
    }

    private static float[] gather(float[] src, int off, int ld, int rows, int cols) {
        if (ld == cols) {
            return java.util.Arrays.copyOfRange(src, off, off + rows * cols);
        }
        float[] out = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(src, off + i * ld, out, i * cols, cols);
        }
        return out;
    }

    private static double[] gather(double[] src, int off, int ld, int rows, int cols) {
        if (ld == cols) {
            return java.util.Arrays.copyOfRange(src, off, off + rows * cols);
        }
        double[] out = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(src, off + i * ld, out, i * cols, cols);
        }
        return out;
    }

    private static void checkSquare(double[] a, int n) {
        if (n < 0 || a.length != (long) n * n) {
            throw new IllegalArgumentException("expected a " + n + " × " + n + " matrix, got " + a.length + " values");
        }
    }
}
