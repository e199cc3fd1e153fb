package dev.squeeze.engine.kernels;

/**
 * The packed low-bit kernels of the C library (native-kernels/src/packed*.c) behind JNI, and their natives:
 * registered by {@code sq_register_packed} (native-kernels/src/jni_packed.c) from the library's
 * {@code JNI_OnLoad}, so a renamed method or changed signature makes the library fail to load, not the first
 * call. The library picks an instruction-set path at run time (AVX-512, AVX2 + FMA, portable scalar); one
 * instance is bound to one path.
 *
 * <p>{@link #multiply} validates every argument in Java first ({@link PackedChecks}); the C side checks every
 * length and field again and throws {@link IllegalArgumentException} as well, so that a bad argument is an
 * exception on either side and never a crash. The arrays are pinned, not copied, for the duration of a call
 * ({@code GetPrimitiveArrayCritical}), which holds off garbage collection that long: call it per layer (or per
 * row range), not on one giant batch.
 */
public final class NativePacked implements PackedMatMul {

    /** Instruction-set selectors: sq_isa in native-kernels/src/sq_common.h. */
    static final int ISA_AUTO = 0;
    static final int ISA_SCALAR = 1;
    static final int ISA_AVX2 = 2;
    static final int ISA_AVX512 = 3;

    private final int isa;
    private final boolean int8Activations;
    private final String name;

    private NativePacked(int isa, boolean int8Activations) {
        this.isa = isa;
        this.int8Activations = int8Activations;
        this.name = "native-" + isaName(isa) + (int8Activations ? "-int8x" : "");
    }

    /**
     * The best path for this CPU.
     *
     * @throws IllegalStateException if the native library did not load; the message says why
     */
    public static NativePacked load() {
        requireLibrary();
        return new NativePacked(bestIsa(), false);
    }

    /**
     * The approximate variant ggml uses ({@code sq_packed_matmul_q8}): each vector of x is quantized to int8 inside
     * the call, in blocks of 64 to 256 columns ({@code sx = max|x| / 127}, round half to even), and the products
     * are integer dot products (AVX-512 VNNI where the CPU has it, else the scalar reference). Not faithful to
     * float32: each x value moves by at most {@code sx / 2}, so an output moves by at most
     * {@code Σ_c |w_c| · sx(c) / 2}. Needs {@code groupSize} a multiple of 64. Opt-in only; compressed layers use
     * the faithful kernel.
     *
     * @throws IllegalStateException if the library did not load
     */
    public static NativePacked loadInt8Activations() {
        requireLibrary();
        return new NativePacked(q8IsaSupported(ISA_AVX512) ? ISA_AVX512 : ISA_SCALAR, true);
    }

    /** Whether this instance quantizes x to int8 (see {@link #loadInt8Activations()}). */
    public boolean int8Activations() {
        return int8Activations;
    }

    /**
     * A given path ({@code ISA_*}), so that tests can run each one.
     *
     * @throws IllegalStateException if the library did not load
     * @throws IllegalArgumentException if this build or CPU cannot run that path
     */
    static NativePacked load(int isa) {
        requireLibrary();
        if (isa < ISA_SCALAR || isa > ISA_AVX512 || !isaSupported(isa)) {
            throw new IllegalArgumentException("instruction-set path " + isa + " (" + isaName(isa) + ") is not"
                    + " supported by this build or CPU");
        }
        return new NativePacked(isa, false);
    }

    /** Whether the native library is loaded here (no exception; {@link #load()} says why not). */
    public static boolean available() {
        return NativeLibrary.status().available();
    }

    static void requireLibrary() {
        NativeLibrary.require();
    }

    static String isaName(int isa) {
        return switch (isa) {
            case ISA_AUTO -> "auto";
            case ISA_SCALAR -> "scalar";
            case ISA_AVX2 -> "avx2";
            case ISA_AVX512 -> "avx512";
            default -> "isa" + isa;
        };
    }

    /** The instruction-set path this instance runs: {@code scalar}, {@code avx2} or {@code avx512}. */
    public String isa() {
        return isaName(isa);
    }

    /** Whether the CPU has AVX-512 VNNI (for provenance; the fp32-activation kernels do not need it). */
    public static boolean cpuHasAvx512Vnni() {
        requireLibrary();
        return cpuHasVnni();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public PackedMatrix.Layout layout() {
        return PackedMatrix.Layout.NATIVE;
    }

    @Override
    public PackedMatrix prepare(PackedMatrix w) {
        if (w == null) {
            throw new IllegalArgumentException("w (the PackedMatrix) is null");
        }
        return w.packNative();
    }

    @Override
    public void multiply(PackedMatrix w, float[] x, float[] y, int batch, int rowBegin, int rowEnd) {
        // Validate here, in Java: a bad length reaching C is an out-of-bounds access, not an exception.
        PackedChecks.call(w, x, y, batch, rowBegin, rowEnd);
        requireNativeLayout(w);
        if (rowBegin == rowEnd) {
            return;
        }
        if (int8Activations) {
            if (w.groupSize() % 64 != 0) {
                throw new IllegalArgumentException(w + ": int8 activations need groupSize a multiple of 64; use"
                        + " NativePacked.load() for this matrix");
            }
            matmulQ8(isa, w.rows(), w.cols(), w.bits(), w.groupSize(), w.symmetric() ? 1 : 0,
                    w.scaleType().ordinal(), w.data(), w.scalesArray(), w.zerosArray(), x, y, batch, rowBegin, rowEnd);
            return;
        }
        matmul(isa, w.rows(), w.cols(), w.bits(), w.groupSize(), w.symmetric() ? 1 : 0, w.scaleType().ordinal(),
                w.data(), w.scalesArray(), w.zerosArray(), x, y, batch, rowBegin, rowEnd);
    }

    /**
     * All rows over {@code threads} threads of the C library ({@code sq_packed_matmul_mt}, pthreads; 1 = the
     * calling thread). The Java alternative is to split row ranges of {@link #multiply} over a pool.
     */
    public void multiplyThreads(PackedMatrix w, float[] x, float[] y, int batch, int threads) {
        PackedChecks.call(w, x, y, batch, 0, w == null ? 0 : w.rows());
        requireNativeLayout(w);
        PackedChecks.positive("threads", threads);
        if (int8Activations) {
            throw new IllegalArgumentException(name + ": the C library's threads run the float32 kernel only; split"
                    + " rows over your own threads with multiply(w, x, y, batch, rowBegin, rowEnd)");
        }
        matmulMt(isa, w.rows(), w.cols(), w.bits(), w.groupSize(), w.symmetric() ? 1 : 0, w.scaleType().ordinal(),
                w.data(), w.scalesArray(), w.zerosArray(), x, y, batch, threads);
    }

    private static void requireNativeLayout(PackedMatrix w) {
        if (w.layout() != PackedMatrix.Layout.NATIVE) {
            throw new IllegalArgumentException(w + ": the native kernel reads the native packed layout; call"
                    + " prepare(w) (or w.packNative()) once and multiply with its result");
        }
    }

    @Override
    public String toString() {
        return name;
    }

    // --- natives (jni_packed.c); callers must have validated every argument ------------------------------

    /** sq_packed_best_isa: never {@link #ISA_AUTO}. */
    static native int bestIsa();

    /** sq_packed_isa_supported. */
    static native boolean isaSupported(int isa);

    /** sq_cpu_has_avx512_vnni. */
    static native boolean cpuHasVnni();

    /** sq_packed_codes_bytes; throws IllegalArgumentException if a field is out of range. */
    static native long codesBytes(int rows, int cols, int bits, int groupSize, int symmetric, int scaleType);

    /** sq_packed_pack: codes one per byte ({@code rows × cols}), packed {@link #codesBytes} bytes. */
    static native void pack(int rows, int cols, int bits, int groupSize, int symmetric, int scaleType, byte[] codes,
                            byte[] packed);

    /**
     * sq_packed_matmul. {@code scales} and {@code zeros} are {@code float[]} (scaleType 0) or {@code short[]}
     * holding binary16 bits (scaleType 1), {@code [rows][groups]}; zeros null iff symmetric. x and y may be
     * longer than {@code batch × cols} / {@code batch × rows}.
     */
    static native void matmul(int isa, int rows, int cols, int bits, int groupSize, int symmetric, int scaleType,
                              byte[] packed, Object scales, Object zeros, float[] x, float[] y, int batch,
                              int rowBegin, int rowEnd);

    /** sq_packed_matmul_q8: as {@link #matmul} with x quantized to int8 per block; groupSize % 64 == 0. */
    static native void matmulQ8(int isa, int rows, int cols, int bits, int groupSize, int symmetric, int scaleType,
                                byte[] packed, Object scales, Object zeros, float[] x, float[] y, int batch,
                                int rowBegin, int rowEnd);

    /** sq_packed_q8_isa_supported. */
    static native boolean q8IsaSupported(int isa);

    /** sq_packed_matmul_mt: all rows over {@code threads} C threads. */
    static native void matmulMt(int isa, int rows, int cols, int bits, int groupSize, int symmetric, int scaleType,
                                byte[] packed, Object scales, Object zeros, float[] x, float[] y, int batch,
                                int threads);
}
