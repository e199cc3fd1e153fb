package dev.squeeze.engine.kernels;

import dev.squeeze.engine.backend.Backends;
import dev.squeeze.engine.backend.Op;

/**
 * The door to the compute kernels: the kernel ops of the backend provider ({@link Backends}). On first use of an
 * op the highest-ranked backend that opens and passes a self-test against the pure-Java reference is chosen (ranks:
 * JNI-CPU, then pure Java), logged once, and kept.
 * <ul>
 *   <li>{@link #PACKED} ({@code packed}): the packed 2-8-bit kernels of quantized layers ({@link PackedMatMul}).</li>
 *   <li>{@link #SPARSE} ({@code sparse}): the N:M, CSR and small-dense products of pruned, SpQR and low-rank layers
 *       ({@link SparseKernels}).</li>
 * </ul>
 *
 * <p>System property {@value #BACKEND_PROPERTY} = {@code native} or {@code java} forces a backend for every op
 * that offers it; {@code squeeze.backend.packed} and {@code squeeze.backend.sparse} force one op. An unknown name,
 * or a forced backend that cannot be used here, is a {@link dev.squeeze.engine.SqueezeException} saying why and
 * what to give instead, not a silent fallback. {@value Backends#LEGACY_PROPERTY} is the old name of the property
 * and is still read.
 */
public final class Kernels {

    /** The provider's property: forces a backend for every op that offers it ({@link Backends#PROPERTY}). */
    public static final String BACKEND_PROPERTY = Backends.PROPERTY;

    /** The packed 2-8-bit kernels: native (JNI: AVX-512, AVX2 or scalar), then the Java reference. */
    public static final Op<PackedMatMul> PACKED = Op.of("packed", "the packed 2-8-bit kernels of quantized layers",
            PackedMatMul::name, PackedMatMul::selfTest, Op.Candidate.of("native", NativePacked::load),
            Op.Candidate.reference("java", JavaPackedMatMul::new));

    /**
     * The sparse and small-dense products: native (JNI: AVX-512, AVX2 or scalar), then the Java reference. The
     * "implementation" is the {@link SparseKernels.Backend} that {@link SparseKernels}' products take.
     */
    public static final Op<SparseKernels.Backend> SPARSE = Op.of("sparse",
            "the sparse and small-dense kernels of pruned, SpQR and low-rank layers", SparseKernels::name,
            b -> SparseKernels.selfTest(), Op.Candidate.of("native", SparseKernels::openNative),
            Op.Candidate.reference("java", () -> SparseKernels.Backend.JAVA));

    private Kernels() {
    }

    /** The packed kernel of the chosen backend (the native one, or the Java reference). */
    public static PackedMatMul packed() {
        return Backends.get(PACKED);
    }

    /** {@code "native"} or {@code "java"}: the packed op's backend in this process, for logs and the settings. */
    public static String backendName() {
        return Backends.choice(PACKED).backend();
    }
}
