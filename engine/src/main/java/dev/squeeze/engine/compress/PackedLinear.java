package dev.squeeze.engine.compress;

import dev.squeeze.engine.backend.Backends;
import dev.squeeze.engine.kernels.Kernels;
import dev.squeeze.engine.kernels.PackedMatMul;
import dev.squeeze.engine.kernels.PackedMatrix;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.Parallelism;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A group-quantized linear (any width 2 to 8) that computes on its packed codes through a {@link PackedMatMul}
 * instead of expanding the weights to float32: memory stays at the stored width, and the native kernel reads
 * {@code bits/8} bytes per weight.
 *
 * <p><b>Column order.</b> Groups must be runs of consecutive columns. A tensor whose groups are not (GPTQ act-order
 * with dynamic groups stores {@code g_idx}) is given as codes already reordered so that they are, plus
 * {@code columnOrder}: stored column {@code j} is original column {@code columnOrder[j]}. Each forward then
 * gathers {@code x'[b][j] = x[b][columnOrder[j]]} once (O(batch × cols), nothing next to the product) and
 * multiplies the reordered matrix; the sum over columns is the same sum in another order.
 *
 * <p><b>Threads.</b> A product of at least {@value #PARALLEL_MIN} multiply-adds is split by output rows over the
 * forward pass's threads ({@link Parallelism}, {@code -D}{@value Parallelism#PROPERTY}), the caller taking part;
 * a smaller one, or one started from one of those threads, runs on the caller's thread.
 */
public final class PackedLinear implements LinearOp {

    /** Multiply-adds ({@code rows × cols × batch}) from which a product is split over threads. */
    static final long PARALLEL_MIN = Parallelism.MIN_PARALLEL_WORK;

    /** Row shares are multiples of this (whole 64-byte lines of y per thread, as sq_packed_matmul_mt splits). */
    private static final int ROW_ALIGN = 16;

    private static final Logger LOG = LoggerFactory.getLogger(PackedLinear.class);

    private final PackedMatrix matrix;
    private final PackedMatMul kernel;
    private final int[] columnOrder;
    private final String description;

    /**
     * @param matrix      the weights (any layout: converted once to the kernel's)
     * @param kernel      the product to run
     * @param columnOrder null, or a permutation of {@code 0 .. cols−1}: stored column j is input feature
     *                    {@code columnOrder[j]} (see the class comment); held, not copied
     * @param what        what the weights are (e.g. the method's description); the packing and kernel are appended
     */
    public PackedLinear(PackedMatrix matrix, PackedMatMul kernel, int[] columnOrder, String what) {
        if (matrix == null || kernel == null) {
            throw new IllegalArgumentException("a packed linear needs a matrix and a kernel");
        }
        if (columnOrder != null) {
            checkPermutation(columnOrder, matrix.cols());
        }
        this.kernel = kernel;
        this.matrix = kernel.prepare(matrix);
        this.columnOrder = columnOrder;
        this.description = what + " (packed " + matrix.bits() + "-bit g" + matrix.groupSize() + " "
                + (matrix.symmetric() ? "sym" : "asym") + " " + matrix.scaleType().name().toLowerCase(Locale.ROOT)
                + " scales" + (columnOrder != null ? ", act-order columns regrouped" : "") + "; kernel "
                + kernel.name() + ")";
    }

    /**
     * The layer for a compressed tensor: a {@code PackedLinear} on the native kernel when that is usable here,
     * else (the packed op's backend is {@code java}: no usable native library, or {@code -Dsqueeze.backend=java},
     * {@code -Dsqueeze.backend.packed=java}) the float32 dense layer of the dequantized
     * weights, which is the fast pure-Java path ({@link dev.squeeze.engine.kernels.JavaPackedMatMul} is a
     * readable reference, not a fast one).
     */
    public static LinearOp of(PackedMatrix codes, int[] columnOrder, String what, Supplier<float[]> dequantized) {
        PackedMatMul kernel = DefaultKernel.choose();
        if (kernel == null) {
            return new FastDenseLinear(codes.rows(), codes.cols(), dequantized.get(), null,
                    what + " (dequantized f32)");
        }
        return new PackedLinear(codes, kernel, columnOrder, what);
    }

    /**
     * The native packed kernel this JVM uses for compressed layers, or null (then layers run dequantized).
     *
     * @throws dev.squeeze.engine.SqueezeException if a property forces a packed backend that cannot run here
     */
    public static PackedMatMul defaultKernel() {
        return DefaultKernel.choose();
    }

    /** Whether every zero is the symmetric zero point {@code 2^(bits−1)} (so none need be stored). */
    public static boolean impliedSymmetricZeros(float[] zeros, int bits) {
        float z = 1 << (bits - 1);
        for (float v : zeros) {
            if (Float.floatToRawIntBits(v) != Float.floatToRawIntBits(z)) {
                return false;
            }
        }
        return true;
    }

    /** Whether every value survives a round trip through half precision bit for bit. */
    public static boolean exactInHalf(float[] values) {
        for (float v : values) {
            if (Float.floatToRawIntBits(Float.float16ToFloat(Float.floatToFloat16(v))) != Float.floatToRawIntBits(v)) {
                return false;
            }
        }
        return true;
    }

    public PackedMatrix matrix() {
        return matrix;
    }

    public PackedMatMul kernel() {
        return kernel;
    }

    @Override
    public int inFeatures() {
        return matrix.cols();
    }

    @Override
    public int outFeatures() {
        return matrix.rows();
    }

    @Override
    public void forward(float[] x, int batch, float[] y) {
        int cols = matrix.cols();
        if (batch < 1 || x == null || y == null || (long) batch * cols > x.length
                || (long) batch * matrix.rows() > y.length) {
            throw new IllegalArgumentException(description + ": forward needs batch >= 1, x of at least batch * "
                    + cols + " and y of at least batch * " + matrix.rows() + " values; got batch " + batch + ", x "
                    + (x == null ? "null" : x.length) + ", y " + (y == null ? "null" : y.length));
        }
        float[] input = x;
        if (columnOrder != null) {
            input = new float[batch * cols];
            for (int b = 0; b < batch; b++) {
                int o = b * cols;
                for (int j = 0; j < cols; j++) {
                    input[o + j] = x[o + columnOrder[j]];
                }
            }
        }
        multiply(input, batch, y);
    }

    private void multiply(float[] x, int batch, float[] y) {
        int rows = matrix.rows();
        Parallelism.forRows(rows, ROW_ALIGN, (long) rows * matrix.cols() * batch,
                (begin, end) -> kernel.multiply(matrix, x, y, batch, begin, end));
    }

    @Override
    public String describe() {
        return description;
    }

    private static void checkPermutation(int[] order, int cols) {
        if (order.length != cols) {
            throw new IllegalArgumentException("columnOrder has " + order.length + " entries for " + cols + " columns");
        }
        boolean[] seen = new boolean[cols];
        for (int j = 0; j < cols; j++) {
            int c = order[j];
            if (c < 0 || c >= cols || seen[c]) {
                throw new IllegalArgumentException("columnOrder is not a permutation of 0.." + (cols - 1)
                        + ": entry " + j + " is " + c);
            }
            seen[c] = true;
        }
    }

    /**
     * The packed op's choice ({@link Kernels#PACKED}, made once by the backend provider): its native kernel, or null
     * where the provider chose {@code java}, because then layers run as the dequantized float32 product, which is
     * faster than the Java packed reference. A forced backend that cannot run here is the provider's
     * {@link dev.squeeze.engine.SqueezeException}, thrown to the caller.
     */
    private static final class DefaultKernel {
        private static final AtomicBoolean LOGGED = new AtomicBoolean();

        static PackedMatMul choose() {
            Backends.Choice<PackedMatMul> choice = Backends.choice(Kernels.PACKED);
            PackedMatMul kernel = "java".equals(choice.backend()) ? null : choice.instance();
            if (LOGGED.compareAndSet(false, true)) {
                if (kernel == null) {
                    LOG.info("Compressed layers run dequantized in float32 (the packed op's backend is java)");
                } else {
                    LOG.info("Compressed layers run on the packed kernel {}", kernel.name());
                }
            }
            return kernel;
        }
    }
}
