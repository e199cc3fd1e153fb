package dev.squeeze.engine.backend;

import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.compress.linalg.Cholesky;
import dev.squeeze.engine.compress.linalg.SymmetricEigen;
import dev.squeeze.engine.kernels.Kernels;
import java.util.List;

/**
 * Every op the provider routes, and the default routing: the order of each op's candidates (best first).
 *
 * <p>ROUTING (bench/backends.sh measures each op both ways at n = 1024 and 4096 in one run; the README has the table):
 * <ul>
 *   <li>{@link #GEMM}: java, then nd4j. Java stays first whatever the speed: GPTQ's lazy batch updates and the
 *       Hessian {@code XᵀX} go through it, and {@link Blas} promises results that are exact functions of the
 *       inputs, identical for every thread count and machine, which makes compression runs reproducible bit for
 *       bit. OpenBLAS' results depend on its kernel and thread count.</li>
 *   <li>{@link #CHOLESKY}, {@link #TRIANGULAR_INVERSE}: java, then nd4j, for the same reason: they make GPTQ's,
 *       SparseGPT's and SpQR's inverse-Hessian factor ({@code Cholesky.upperFactorOfInverseInPlace}), which decides
 *       every quantized weight; a last-bit difference there can flip a rounding decision.</li>
 *   <li>{@link #SYMMETRIC_EIGEN}: nd4j, then java (LAPACK {@code dsyevd}, divide and conquer, is many times faster
 *       than the Java QL at these sizes). Its users (low-rank factors, truncated SVD) promise results to rounding
 *       only; an eigenvector's sign may differ between backends, which those users do not depend on.</li>
 *   <li>{@code int4} ({@link Kernels#INT4}): native, then java.</li>
 * </ul>
 * Any op can be forced with {@code -Dsqueeze.backend.OP=NAME}, all with {@code -Dsqueeze.backend=NAME} ({@link Backends}).
 */
public final class Ops {
    private static final String JAVA = "java";
    private static final String ND4J = "nd4j";

    /** Matrix products (sgemm/dgemm/sger): {@link Blas#get()}. */
    public static final Op<Blas> GEMM = Op.of("gemm", "matrix products", Blas::name, SelfTests::gemm,
            Op.Candidate.reference(JAVA, Blas::java), Op.Candidate.of(ND4J, () -> Nd4jLoader.open(Blas.class)));

    /** Lower Cholesky factor: {@link Cholesky#lowerInPlace}. */
    public static final Op<CholeskyOp> CHOLESKY = Op.of("cholesky", "the Cholesky factorisation", CholeskyOp::name,
            SelfTests::cholesky, Op.Candidate.reference(JAVA, () -> JavaOps.CHOLESKY),
            Op.Candidate.of(ND4J, () -> Nd4jLoader.open(CholeskyOp.class)));

    /** Inverse of a lower-triangular matrix: {@link Cholesky#invertLowerInPlace}. */
    public static final Op<TriangularInverseOp> TRIANGULAR_INVERSE = Op.of("trinv", "the triangular inverse",
            TriangularInverseOp::name, SelfTests::triangularInverse,
            Op.Candidate.reference(JAVA, () -> JavaOps.TRIANGULAR_INVERSE),
            Op.Candidate.of(ND4J, () -> Nd4jLoader.open(TriangularInverseOp.class)));

    /** Symmetric eigendecomposition: {@link SymmetricEigen#of}. */
    public static final Op<SymmetricEigenOp> SYMMETRIC_EIGEN = Op.of("eigen", "the symmetric eigendecomposition",
            SymmetricEigenOp::name, SelfTests::eigen,
            Op.Candidate.of(ND4J, () -> Nd4jLoader.open(SymmetricEigenOp.class)),
            Op.Candidate.reference(JAVA, () -> JavaOps.SYMMETRIC_EIGEN));

    /** Every op, in the order provenance lists them. */
    public static final List<Op<?>> ALL = List.of(GEMM, CHOLESKY, TRIANGULAR_INVERSE, SYMMETRIC_EIGEN, Kernels.INT4);

    private Ops() {
    }

    /** The Java implementations as op objects. */
    static final class JavaOps {
        static final CholeskyOp CHOLESKY = new CholeskyOp() {
            @Override
            public String name() {
                return "java";
            }

            @Override
            public void lowerInPlace(double[] a, int n) {
                Cholesky.lowerInPlaceJava(a, n);
            }
        };
        static final TriangularInverseOp TRIANGULAR_INVERSE = new TriangularInverseOp() {
            @Override
            public String name() {
                return "java";
            }

            @Override
            public void invertLowerInPlace(double[] l, int n) {
                Cholesky.invertLowerInPlaceJava(l, n);
            }
        };
        static final SymmetricEigenOp SYMMETRIC_EIGEN = new SymmetricEigenOp() {
            @Override
            public String name() {
                return "java";
            }

            @Override
            public void decompose(double[] a, int n, double[] values, double[] vectors) {
                SymmetricEigen.decomposeJava(a, n, values, vectors);
            }
        };

        private JavaOps() {
        }
    }
}
