package dev.squeeze.engine.kernels;

/**
 * The whole JNI surface, and the only class with {@code native} methods. The C side
 * (native-kernels/src/jni_bridge.c) binds these with {@code RegisterNatives} in {@code JNI_OnLoad}, so a
 * renamed method or changed signature makes {@code System.load} fail (NoSuchMethodError) rather than the
 * first call. Callers must have loaded the library through {@link NativeLibrary} and validated every
 * argument; the C side checks again and throws {@link IllegalArgumentException}, but a crash there would
 * cost the whole process, so it is not the first line of defence.
 */
final class NativeBridge {

    /** Must equal SQ_ABI_VERSION in jni_bridge.c: bump both when a signature or its meaning changes. */
    static final int ABI_VERSION = 3;

    /** Instruction-set selectors, the values of sq_isa in int4_matvec.h. */
    static final int ISA_AUTO = 0;
    static final int ISA_SCALAR = 1;
    static final int ISA_AVX2 = 2;

    /** Fault kinds of {@link #faultForTest}, SQ_FAULT_* in jni_bridge.c. */
    static final int FAULT_SEGV = 1;

    private NativeBridge() {
    }

    static native int abiVersion();

    /** The best path this CPU supports: {@link #ISA_SCALAR} or {@link #ISA_AVX2}. */
    static native int bestIsa();

    /** See {@link Int4MatVec} for the layout. Throws IllegalArgumentException on any bad argument. */
    static native void int4MatVec(int isa, int rows, int cols, int groupSize, byte[] codes, float[] scales,
            float[] zeros, float[] x, float[] y, int batch);

    /**
     * Test-only, reached through {@link NativeFaults} alone: kind {@link #FAULT_SEGV} stores through a null
     * pointer inside the library, so the JVM dies of SIGSEGV; any other kind throws
     * IllegalArgumentException.
     */
    static native void faultForTest(int kind);
}
