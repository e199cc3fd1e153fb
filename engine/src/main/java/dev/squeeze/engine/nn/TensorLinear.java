package dev.squeeze.engine.nn;

import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Tensor;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * A dense linear that multiplies by a {@link Tensor}'s weights where they lie (typically a memory-mapped file),
 * decoding one row at a time, so a model larger than the heap can run. Slower than {@link FastDenseLinear};
 * the arithmetic is the reference's ({@link DenseLinear}): each output sums its terms in input order from zero,
 * then adds the bias.
 */
public final class TensorLinear implements LinearOp {
    private final Tensor weight;
    private final int out;
    private final int in;
    private final float[] bias;

    /** @param weight rank 2, {@code out × in}, F32, F16 or BF16 */
    public TensorLinear(Tensor weight, float[] bias) {
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
