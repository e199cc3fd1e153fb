package dev.squeeze.engine.kernels;

/**
 * The JNI surface of the sparse products (native-kernels/src/sparse.h, bound by jni_sparse.c through
 * {@code RegisterNatives} when the library loads, so a signature mismatch fails {@code System.load}, not the
 * first call). Callers are {@link SparseKernels} alone, after {@link SparseChecks} validated every argument;
 * the C side checks every dimension and length again and the kernels check the sparse structure, throwing
 * {@link IllegalArgumentException}, but a crash there would take the whole process, so this is not the first
 * line of defence.
 *
 * <p>Shared conventions: {@code x} is {@code [batch][cols]}, {@code y} is {@code [batch][rows]}, both may be
 * longer than that; only rows {@code [rowBegin, rowEnd)} of each output vector are written. Instruction sets
 * are sq_isa values: 0 auto, 1 scalar, 2 AVX2, 3 AVX-512.
 */
final class NativeSparse {
    static final int ISA_AUTO = 0;
    static final int ISA_SCALAR = 1;
    static final int ISA_AVX2 = 2;
    static final int ISA_AVX512 = 3;

    private NativeSparse() {
    }

    /** Whether the native library loaded (and with it these natives). */
    static boolean available() {
        return NativeLibrary.status().available();
    }

    static String isaName(int isa) {
        return switch (isa) {
            case ISA_SCALAR -> "scalar";
            case ISA_AVX2 -> "avx2";
            case ISA_AVX512 -> "avx512";
            default -> "isa" + isa;
        };
    }

    /** The best path on this CPU: {@link #ISA_SCALAR}, {@link #ISA_AVX2} or {@link #ISA_AVX512}. */
    static native int bestIsa();

    static native boolean isaSupported(int isa);

    /** {@code y = W x}, N:M with fp16 values; see {@link NmSparseMatrix} for the layout. */
    static native void nmMatMulF16(int isa, int rows, int cols, int n, int m, short[] values, byte[] index,
            float[] x, float[] y, int batch, int rowBegin, int rowEnd);

    static native void nmMatMulF32(int isa, int rows, int cols, int n, int m, float[] values, byte[] index,
            float[] x, float[] y, int batch, int rowBegin, int rowEnd);

    /** {@code y += S x}, CSR with int32 column indices. */
    static native void csrMatMulAddI32(int isa, int rows, int cols, int[] rowPtr, int[] columns, float[] values,
            float[] x, float[] y, int batch, int rowBegin, int rowEnd);

    /** {@code y += S x}, CSR with uint16 column indices (Java {@code char}). */
    static native void csrMatMulAddU16(int isa, int rows, int cols, int[] rowPtr, char[] columns, float[] values,
            float[] x, float[] y, int batch, int rowBegin, int rowEnd);

    /** {@code y = W x}, dense fp16 row-major. */
    static native void denseMatMulF16(int isa, int rows, int cols, short[] w, float[] x, float[] y, int batch,
            int rowBegin, int rowEnd);

    static native void denseMatMulF32(int isa, int rows, int cols, float[] w, float[] x, float[] y, int batch,
            int rowBegin, int rowEnd);
}
