/**
 * The backend provider: every heavy op ({@code gemm}, {@code cholesky}, {@code trinv}, {@code eigen}, {@code int4})
 * goes through one ranked, lazily opened, self-tested and logged choice ({@link dev.squeeze.engine.backend.Backends},
 * in the pattern of DJL's {@code EngineProvider} and Jlama's {@code TensorOperations} provider).
 *
 * <ul>
 *   <li>{@link dev.squeeze.engine.backend.Op}: an op and its candidate implementations, best first, one of them the
 *       pure-Java reference that the others' self-tests compare against.</li>
 *   <li>{@link dev.squeeze.engine.backend.Ops}: every op and its default routing, with the measurement and the
 *       reproducibility argument behind it ({@code bench/backends.sh}).</li>
 *   <li>{@code -Dsqueeze.backend=NAME} forces a backend wherever an op offers it, {@code -Dsqueeze.backend.OP=NAME}
 *       one op; an unknown name, or a forced backend that cannot run, is an error, never a silent fallback.</li>
 *   <li>{@link dev.squeeze.engine.backend.Backends#describe()} and {@link dev.squeeze.engine.backend.CpuInfo} go into
 *       every run's provenance.</li>
 *   <li>{@code backend.nd4j}: ND4J's OpenBLAS BLAS/LAPACK, loaded by name only when an op tries it.</li>
 * </ul>
 * The Java implementations stay where they were ({@code compress.linalg} for the dense ops, {@code kernels} for the
 * packed kernels); their public entry points ({@code Blas.get()}, {@code Cholesky.lowerInPlace},
 * {@code Cholesky.invertLowerInPlace}, {@code SymmetricEigen.of}, {@code Kernels.int4MatVec()}) route through here.
 */
package dev.squeeze.engine.backend;
