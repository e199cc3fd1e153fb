package dev.squeeze.engine.backend;

import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.compress.linalg.Cholesky;
import dev.squeeze.engine.compress.linalg.SymmetricEigen;
import dev.squeeze.engine.kernels.Kernels;
import java.util.List;

/**
 * Every op the provider routes, and the default routing: the order of each op's candidates (best first).
 *
 * <p>MEASUREMENT ({@code bench/backends.sh}, medians, ratio = Java ms / ND4J ms, above 1 = ND4J faster; Intel Xeon
 * (Sapphire Rapids class: AVX-512, VNNI, AMX), 2 logical CPUs shared with other work (load average ≈ 13), two
 * whole runs; ND4J's times include copying operands into and out of its off-heap arrays):
 * <pre>
 *   op        n=1024 (run 1, run 2)   n=4096 (run 1, run 2)
 *   sgemm       0.49, 0.40              0.32, 0.31            Java faster
 *   dgemm       0.18, 0.30              0.29, 0.30            Java faster
 *   cholesky    0.51, 0.44              0.32, 0.43            Java faster
 *   trinv       0.47, 0.37              0.28, 0.37            Java faster
 *   eigen       4.30, 2.17              9.20, 5.79            ND4J faster (dsyevd against the Java QL; 613–1,098 s
 *                                                             against 106–119 s at 4096)
 * </pre>
 * ND4J 1.0.0-M2.1 bundles OpenBLAS 0.3.19, which does not know this CPU and runs its generic "Prescott" (SSE3)
 * kernels; forcing its SkylakeX kernels ({@code OPENBLAS_CORETYPE=SkylakeX}) made GEMM as fast as Java's but gave
 * wrong factorisations (dpotrf called a well-conditioned SPD matrix indefinite; dtrtri and dsyevd wrong), which
 * the self-tests below catch. On CPUs that OpenBLAS 0.3.19 knows (AVX2 EPYC/Zen) ND4J's GEMM may be faster; the
 * routing below does not depend on it (the ops that must be exact stay on Java whatever the speed).
 *
 * <p>ROUTING:
 * <ul>
 *   <li>{@link #GEMM}: java, then nd4j. GPTQ's lazy batch updates and the Hessian {@code XᵀX} go through it, and
 *       {@link Blas} promises results that are exact functions of the inputs, identical for every thread count and
 *       machine, which makes compression runs reproducible bit for bit. OpenBLAS' results depend on its kernel and
 *       thread count (measured: up to 3e-6 relative in float, 6e-15 in double). Java is also faster here.</li>
 *   <li>{@link #CHOLESKY}, {@link #TRIANGULAR_INVERSE}: java, then nd4j, for the same reason: they make GPTQ's,
 *       SparseGPT's and SpQR's inverse-Hessian factor ({@code Cholesky.upperFactorOfInverseInPlace}), which decides
 *       every quantized weight; a last-bit difference there can flip a rounding decision. Java is also faster.</li>
 *   <li>{@link #SYMMETRIC_EIGEN}: nd4j, then java (2–9 times faster). Its users (low-rank factors, truncated SVD)
 *       promise results to rounding only: eigenvalues differ from the Java solver's by about 1e-14 relative and an
 *       eigenvector's sign may differ, which the factor products do not see. ND4J's result is repeatable in a
 *       process (tested), not bit-identical across machines with other OpenBLAS kernels or thread counts:
 *       {@code -Dsqueeze.backend.eigen=java} gives the machine-independent Java result.</li>
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
