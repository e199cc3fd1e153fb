package dev.squeeze.engine.kernels;

/**
 * The C kernel (native-kernels/src/int4_matvec*.c) behind JNI: an AVX2 + FMA path chosen at run time by
 * the library, with a portable scalar path for other CPUs. Single-threaded. The arrays are pinned, not
 * copied, for the duration of a call, which holds off garbage collection that long (about 7 ms for a
 * 4096 x 14336 layer at batch 1 on the reference VM): call it per layer, not on one giant batch.
 */
public final class NativeInt4MatVec implements Int4MatVec {

    private final int isa;
    private final String name;

    private NativeInt4MatVec(int isa) {
        this.isa = isa;
        this.name = "native-" + switch (isa) {
            case NativeBridge.ISA_SCALAR -> "scalar";
            case NativeBridge.ISA_AVX2 -> "avx2";
            default -> "isa" + isa;
        };
    }

    /**
     * The best path for this CPU.
     *
     * @throws IllegalStateException if the native library did not load; the message says why
     */
    public static NativeInt4MatVec load() {
        NativeLibrary.require();
        return new NativeInt4MatVec(NativeBridge.bestIsa());
    }

    /** A specific instruction-set path ({@code NativeBridge.ISA_*}), so tests can cover each one. */
    static NativeInt4MatVec load(int isa) {
        NativeLibrary.require();
        return new NativeInt4MatVec(isa);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void multiply(Int4Matrix w, float[] x, float[] y, int batch) {
        // Validate here, in Java: a bad length reaching C is an out-of-bounds access, not an exception.
        Int4Checks.call(w, x, y, batch);
        NativeBridge.int4MatVec(isa, w.rows(), w.cols(), w.groupSize(), w.codes(), w.scales(), w.zeros(), x, y,
                batch);
    }

    @Override
    public String toString() {
        return name;
    }
}
