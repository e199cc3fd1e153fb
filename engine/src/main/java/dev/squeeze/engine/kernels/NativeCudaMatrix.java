package dev.squeeze.engine.kernels;

import java.util.Objects;

/**
 * A weight matrix on the GPU (device 0): group-quantized 2..8-bit codes, or dense fp16, and its product with a
 * batch of activation vectors, {@code y[b * rows + r] = sum_k W[r][k] * x[b * cols + k]}.
 *
 * <p>Quantized format, as {@code compress.QuantizedMatrix} stores it: one unsigned code per byte,
 * {@code rows × cols} row-major; per (row, group) a scale and a zero point, {@code rows × ceil(cols / groupSize)}
 * row-major; {@code w = scale × (code − zero)}. {@code zeros == null} means symmetric, zero point
 * {@code 2^(bits−1)}. On the GPU, scales and activations are fp16 and the sums fp32 (see native-kernels/cuda/
 * sq_cuda.h): results agree with a float64 reference to about 1e-3 of {@code sum |w x|}. CUDA limits: group size
 * a multiple of 64, or {@code >= cols} (one group per row); zero points integers in [−1023, 1023].
 *
 * <p>Every argument is validated here before the native call (a wrong length reaching the device is memory
 * corruption, not an exception). The JNI layer checks lengths again. Calls on all matrices are serialized on one
 * CUDA context. {@link #close()} frees the device memory; a closed matrix throws {@link IllegalStateException}.
 */
public final class NativeCudaMatrix implements AutoCloseable {

    private static final Object LOCK = new Object();
    private static long context; // device 0, created on first use, lives as long as the JVM; guarded by LOCK

    private final int rows;
    private final int cols;
    private final String kind;
    private long handle; // guarded by LOCK

    private NativeCudaMatrix(int rows, int cols, String kind, long handle) {
        this.rows = rows;
        this.cols = cols;
        this.kind = kind;
        this.handle = handle;
    }

    /**
     * Uploads a group-quantized matrix.
     *
     * @throws IllegalArgumentException for a bad shape, length, code, scale or zero point, or a group size the
     *         CUDA kernels do not support (the message says which and what to use)
     * @throws IllegalStateException if the CUDA backend is unavailable ({@link NativeCuda#status()} says why)
     *         or the upload fails
     */
    public static NativeCudaMatrix quantized(int rows, int cols, int bits, int groupSize, byte[] codes,
            float[] scales, float[] zeros) {
        checkQuantized(rows, cols, bits, groupSize, codes, scales, zeros);
        NativeCuda.require();
        synchronized (LOCK) {
            long h = NativeCuda.quantCreate(context(), rows, cols, bits, groupSize, codes, scales, zeros);
            return new NativeCudaMatrix(rows, cols, "int" + bits + " g" + groupSize
                    + (zeros == null ? " sym" : " asym"), h);
        }
    }

    /** Uploads a dense matrix ({@code rows × cols} row-major, rounded to fp16); products use cuBLAS. */
    public static NativeCudaMatrix dense(int rows, int cols, float[] w) {
        checkDense(rows, cols, w);
        NativeCuda.require();
        synchronized (LOCK) {
            return new NativeCudaMatrix(rows, cols, "fp16", NativeCuda.denseCreate(context(), rows, cols, w));
        }
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /**
     * {@code y = W x} for {@code batch} vectors: x is {@code batch × cols}, y is {@code batch × rows}, both
     * row-major. Batches up to 16 run the fused kernel in one pass over W; larger ones dequantize to fp16 and
     * use cuBLAS.
     */
    public void multiply(float[] x, int batch, float[] y) {
        checkMultiply(rows, cols, x, batch, y);
        synchronized (LOCK) {
            if (handle == 0) {
                throw new IllegalStateException("this CUDA matrix (" + this + ") is closed");
            }
            NativeCuda.matmul(context, handle, x, batch, y);
        }
    }

    @Override
    public void close() {
        synchronized (LOCK) {
            if (handle != 0) {
                NativeCuda.matrixFree(handle);
                handle = 0;
            }
        }
    }

    @Override
    public String toString() {
        return "cuda " + kind + " " + rows + "x" + cols;
    }

    private static long context() {
        // caller holds LOCK
        if (context == 0) {
            context = NativeCuda.contextCreate(0);
        }
        return context;
    }

    // ---- validation (package-private: tested without a GPU) ------------------------------------------------

    static void checkQuantized(int rows, int cols, int bits, int groupSize, byte[] codes, float[] scales,
            float[] zeros) {
        checkShape(rows, cols);
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("bits must be 2..8 for the CUDA kernels, got " + bits);
        }
        if (groupSize <= 0) {
            throw new IllegalArgumentException("groupSize must be > 0, got " + groupSize);
        }
        if (groupSize % 64 != 0 && groupSize < cols) {
            throw new IllegalArgumentException("group size " + groupSize + " with " + cols + " columns is not "
                    + "supported by the CUDA kernels: use a multiple of 64, or one group per row (group size >= "
                    + "columns); other group sizes run on the CPU kernels");
        }
        Objects.requireNonNull(codes, "codes");
        Objects.requireNonNull(scales, "scales");
        long n = (long) rows * cols;
        if (codes.length != n) {
            throw new IllegalArgumentException("codes has length " + codes.length + " but rows × cols = " + n);
        }
        long groups = (long) rows * ((cols + (long) groupSize - 1) / groupSize);
        if (scales.length != groups) {
            throw new IllegalArgumentException("scales has length " + scales.length
                    + " but rows × ceil(cols / groupSize) = " + groups);
        }
        if (zeros != null && zeros.length != groups) {
            throw new IllegalArgumentException("zeros has length " + zeros.length
                    + " but rows × ceil(cols / groupSize) = " + groups);
        }
        int gpr = (int) (groups / rows);
        for (int i = 0; i < scales.length; i++) {
            if (!Float.isFinite(scales[i])) {
                throw new IllegalArgumentException("scale of row " + i / gpr + ", group " + i % gpr + " is "
                        + scales[i]);
            }
            if (zeros != null) {
                float z = zeros[i];
                if (!(z >= -1023f && z <= 1023f) || z != Math.rint(z)) {
                    throw new IllegalArgumentException("zero point " + z + " of row " + i / gpr + ", group " + i % gpr
                            + " is not an integer in [-1023, 1023], which the CUDA kernels need");
                }
            }
        }
        int limit = 1 << bits;
        for (int i = 0; i < codes.length; i++) {
            if ((codes[i] & 0xff) >= limit) {
                throw new IllegalArgumentException("code " + (codes[i] & 0xff) + " at row " + i / cols + ", column "
                        + i % cols + " does not fit in " + bits + " bits");
            }
        }
    }

    static void checkDense(int rows, int cols, float[] w) {
        checkShape(rows, cols);
        Objects.requireNonNull(w, "w");
        if (w.length != (long) rows * cols) {
            throw new IllegalArgumentException("w has length " + w.length + " but rows × cols = " + (long) rows * cols);
        }
    }

    static void checkMultiply(int rows, int cols, float[] x, int batch, float[] y) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        if (batch <= 0) {
            throw new IllegalArgumentException("batch must be > 0, got " + batch);
        }
        if (x.length != (long) batch * cols) {
            throw new IllegalArgumentException("x has length " + x.length + " but batch × cols = "
                    + (long) batch * cols);
        }
        if (y.length != (long) batch * rows) {
            throw new IllegalArgumentException("y has length " + y.length + " but batch × rows = "
                    + (long) batch * rows);
        }
    }

    private static void checkShape(int rows, int cols) {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("rows and cols must be > 0, got " + rows + " × " + cols);
        }
        if ((long) rows * cols > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(rows + " × " + cols + " does not fit in one Java array");
        }
    }
}
