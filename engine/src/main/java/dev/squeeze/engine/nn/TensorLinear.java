package dev.squeeze.engine.nn;

import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Tensor;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * A dense linear that multiplies by a {@link Tensor}'s weights where they lie (typically a memory-mapped file),
 * decoding rows as it goes, so a model larger than the heap can run. A window (at least
 * {@link FastDenseLinear#GEMM_MIN} rows) decodes blocks of rows and multiplies them with {@link Blas#sgemm}, the
 * same bits as {@link FastDenseLinear}; a few rows (generation) run as SIMD dot products on several threads.
 * {@link #reference()} is the readable path: each output sums its terms in input order from zero, then adds the
 * bias, as {@link DenseLinear} does.
 */
public final class TensorLinear implements LinearOp {
    private final Tensor weight;
    private final int out;
    private final int in;
    private final float[] bias;
    private final boolean reference;
    /** Weights decoded per block of a window's product (floats; 4 MiB). */
    private static final int BLOCK_FLOATS = 1 << 20;
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    /** @param weight rank 2, {@code out × in}, F32, F16 or BF16 */
    public TensorLinear(Tensor weight, float[] bias) {
        this(weight, bias, false);
    }

    private TensorLinear(Tensor weight, float[] bias, boolean reference) {
        this.reference = reference;
        if (weight.rank() != 2 || weight.dim(0) <= 0 || weight.dim(1) <= 0) {
            throw new IllegalArgumentException("tensor " + weight.name() + " is not an out × in matrix: " + weight);
        }
        this.weight = weight;
        this.out = Math.toIntExact(weight.dim(0));
        this.in = Math.toIntExact(weight.dim(1));
        if (bias != null && bias.length != out) {
            throw new IllegalArgumentException("bias has " + bias.length + " values, expected " + out);
        }
        this.bias = bias == null ? null : bias.clone();
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    @Override
    public void forward(float[] x, int batch, float[] y) {
        if (reference) {
            forwardReference(x, batch, y);
        } else if (batch >= FastDenseLinear.GEMM_MIN) {
            forwardBlocks(x, batch, y);
        } else {
            forwardRows(x, batch, y);
        }
    }

    /** The reference: one decoded row at a time, each output a dot product summed in input order, bias last. */
    private void forwardReference(float[] x, int batch, float[] y) {
        float[] row = new float[in];
        RowReader reader = new RowReader(weight);
        for (int o = 0; o < out; o++) {
            reader.row(o, row);
            for (int b = 0; b < batch; b++) {
                int xo = b * in;
                float acc = 0f;
                for (int i = 0; i < in; i++) {
                    acc += row[i] * x[xo + i];
                }
                y[b * out + o] = bias == null ? acc : acc + bias[o];
            }
        }
    }

    /**
     * A window: blocks of rows decoded to float32 and multiplied by {@link Blas#sgemm} (threads inside the
     * product). Each output is the {@link Blas} fma chain, so the bits equal {@link FastDenseLinear}'s.
     */
    private void forwardBlocks(float[] x, int batch, float[] y) {
        int rowsPerBlock = Math.max(1, Math.min(out, BLOCK_FLOATS / in));
        float[] block = new float[rowsPerBlock * in];
        RowReader reader = new RowReader(weight);
        Blas blas = Blas.get();
        for (int r0 = 0; r0 < out; r0 += rowsPerBlock) {
            int rows = Math.min(rowsPerBlock, out - r0);
            for (int r = 0; r < rows; r++) {
                reader.row(r0 + r, block, r * in);
            }
            blas.sgemm(false, true, batch, rows, in, 1f, x, 0, in, block, 0, in, 0f, y, r0, out);
        }
        if (bias != null) {
            for (int b = 0; b < batch; b++) {
                for (int o = 0; o < out; o++) {
                    y[b * out + o] += bias[o];
                }
            }
        }
    }

    /**
     * A few rows (generation): row ranges on several threads, each row decoded once and dotted with every input
     * row by {@link RowKernels#dot} (SIMD lanes, then the lanes summed): another summation order than the window's
     * products, so the two agree to float rounding, not bit for bit.
     */
    private void forwardRows(float[] x, int batch, float[] y) {
        int parts = (long) out * in < (1L << 16) ? 1 : Math.min(out, 8 * Parallelism.threads());
        int per = (out + parts - 1) / parts;
        Parallelism.forEach((out + per - 1) / per, p -> {
            int o0 = p * per;
            int o1 = Math.min(out, o0 + per);
            float[] row = ROW.get();
            if (row.length < in) {
                row = new float[in];
                ROW.set(row);
            }
            RowReader reader = new RowReader(weight);
            for (int o = o0; o < o1; o++) {
                reader.row(o, row);
                for (int b = 0; b < batch; b++) {
                    float acc = RowKernels.dot(row, 0, x, b * in, in);
                    y[b * out + o] = bias == null ? acc : acc + bias[o];
                }
            }
        });
    }

    /** The same weights on the reference path: rows decoded one at a time, dot products summed in input order. */
    public TensorLinear reference() {
        return reference ? this : new TensorLinear(weight, bias, true);
    }

    @Override
    public String describe() {
        String type = weight.codec() != null ? weight.codec().name() : weight.dtype().name();
        return type.toLowerCase(java.util.Locale.ROOT) + " in place";
    }

    /** Decodes rows of a rank-2 tensor without copying the rest of it. */
    public static final class RowReader {
        private final Tensor tensor;
        private final DType dtype;
        private final int cols;
        private final FloatBuffer floats;
        private final ShortBuffer halves;
        private short[] raw;

        public RowReader(Tensor t) {
            this.tensor = t;
            this.dtype = t.dtype();
            this.cols = Math.toIntExact(t.dim(t.rank() - 1));
            var bytes = t.bytes().order(ByteOrder.LITTLE_ENDIAN);
            this.floats = dtype == DType.F32 ? bytes.asFloatBuffer() : null;
            this.halves = dtype == DType.F16 || dtype == DType.BF16 ? bytes.asShortBuffer() : null;
        }

        /** Writes row {@code r} (of {@code cols} values) into {@code dst[0 .. cols)}. */
        public void row(int r, float[] dst) {
            row(r, dst, 0);
        }

        public void row(int r, float[] dst, int offset) {
            int start = r * cols;
            switch (dtype) {
                case F32 -> floats.get(start, dst, offset, cols);
                case F16 -> {
                    short[] s = rawRow(start);
                    for (int i = 0; i < cols; i++) {
                        dst[offset + i] = Float.float16ToFloat(s[i]);
                    }
                }
                case BF16 -> {
                    short[] s = rawRow(start);
                    for (int i = 0; i < cols; i++) {
                        dst[offset + i] = Float.intBitsToFloat((s[i] & 0xffff) << 16);
                    }
                }
                // Quantized storage (llama2.c int8 groups, GGUF blocks) is dequantized a row at a time, never as a
                // whole.
                case I8_GROUPS, BLOCKS -> tensor.decode((long) r * cols, dst, offset, cols);
            }
        }

        private short[] rawRow(int start) {
            if (raw == null) {
                raw = new short[cols];
            }
            halves.get(start, raw, 0, cols);
            return raw;
        }
    }
}
