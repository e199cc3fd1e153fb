package dev.squeeze.engine.export.gguf;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.QuantizedMatrix;
import dev.squeeze.engine.compress.gptq.GptqTensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * The integer grid of a group-quantized layer (RTN's {@link QuantizedMatrix} or a {@link GptqTensor}):
 * {@code w[r][c] = scale(r, g) · (code(r, c) − zero(r, g))} with {@code g = c / groupWidth}, in float32. When the
 * grid is one of ggml's block types it is written as such without re-quantizing: Q4_0's value {@code (q − 8)·d}
 * and Q8_0's {@code q·d} are the same float32 product when {@code q} is the code (shifted by the fixed zero 8 or
 * 128) and {@code d} is the fp16 scale, so the blocks hold exactly the layer's weights.
 */
final class QuantGrid {
    private final CompressedTensor tensor;
    private final int rows;
    private final int cols;
    private final int bits;
    private final int groupWidth;
    private final int groups;
    private final boolean groupIndex;
    private final float[] scales;
    private final float[] zeros;

    private QuantGrid(CompressedTensor tensor, int bits, int groupWidth, boolean groupIndex, float[] scales,
                      float[] zeros) {
        this.tensor = tensor;
        this.rows = tensor.rows();
        this.cols = tensor.cols();
        this.bits = bits;
        this.groupWidth = groupWidth;
        this.groups = Math.ceilDiv(cols, groupWidth);
        this.groupIndex = groupIndex;
        this.scales = scales;
        this.zeros = zeros;
    }

    /** The grid of a tensor that has one; empty for other compressed tensors (sparse, SpQR, low-rank). */
    static Optional<QuantGrid> of(CompressedTensor t) {
        if (t instanceof QuantizedMatrix q) {
            // scales and zeros are row-major rows × groupsPerRow, as this class keeps them.
            return Optional.of(new QuantGrid(t, q.bits(), q.groupSize(), false, q.scales(), q.zeros()));
        }
        if (t instanceof GptqTensor g) {
            int n = g.groups();
            float[] s = new float[t.rows() * n];
            float[] z = new float[t.rows() * n];
            for (int r = 0; r < t.rows(); r++) {
                for (int k = 0; k < n; k++) {
                    s[r * n + k] = g.scale(k, r);
                    z[r * n + k] = g.zero(k, r);
                }
            }
            int width = g.settings().groupSize() == 0 ? t.cols() : Math.min(g.settings().groupSize(), t.cols());
            return Optional.of(new QuantGrid(t, g.bits(), width, g.storesGroupIndex(), s, z));
        }
        return Optional.empty();
    }

    private int code(int r, int c) {
        return tensor instanceof QuantizedMatrix q ? q.code(r, c) : ((GptqTensor) tensor).code(r, c);
    }

    /**
     * The ggml type that holds this grid exactly, or why none does: 4-bit → Q4_0 and 8-bit → Q8_0, when groups
     * are 32 consecutive columns, every zero point is the type's fixed one (8, 128) and every scale is an fp16
     * value.
     */
    Fit fit() {
        GgmlType type = switch (bits) {
            case 4 -> GgmlType.Q4_0;
            case 8 -> GgmlType.Q8_0;
            default -> null;
        };
        if (type == null) {
            return Fit.no(bits + "-bit codes: GGUF's 32-block types store 4 (Q4_0) or 8 (Q8_0) bits");
        }
        if (groupIndex) {
            return Fit.no("act-order groups (g_idx) are not consecutive columns, as " + type + "'s blocks are");
        }
        if (groupWidth != type.blockSize() || cols % type.blockSize() != 0) {
            return Fit.no("groups of " + groupWidth + " columns in rows of " + cols + ": " + type
                    + " needs groups of exactly " + type.blockSize());
        }
        float zero = bits == 4 ? 8f : 128f;
        for (int i = 0; i < zeros.length; i++) {
            if (zeros[i] != zero) {
                return Fit.no("zero point " + zeros[i] + " (row " + i / groups + "): " + type
                        + " has the fixed zero " + (int) zero + " of symmetric quantization");
            }
        }
        for (int i = 0; i < scales.length; i++) {
            float s = scales[i];
            if (!Float.isFinite(s) || Float.floatToRawIntBits(Float.float16ToFloat(Float.floatToFloat16(s)))
                    != Float.floatToRawIntBits(s)) {
                return Fit.no("scale " + s + " (row " + i / groups + ") is not an fp16 value, and " + type
                        + " stores its scale d in fp16 (quantize with fp16 scales)");
            }
        }
        return new Fit(type, null);
    }

    /** Encodes row {@code r} in {@code type} ({@link #fit()}'s), blocks of 32 as ggml lays them out. */
    void encode(GgmlType type, int r, ByteBuffer out) {
        out.order(ByteOrder.LITTLE_ENDIAN);
        for (int b = 0; b < groups; b++) {
            int c0 = b * groupWidth;
            out.putShort(Float.floatToFloat16(scales[r * groups + b]));
            if (type == GgmlType.Q4_0) {
                for (int j = 0; j < 16; j++) {
                    out.put((byte) (code(r, c0 + j) | code(r, c0 + 16 + j) << 4));
                }
            } else {
                for (int j = 0; j < 32; j++) {
                    out.put((byte) (code(r, c0 + j) - 128));
                }
            }
        }
    }

    /** Either a type that holds the grid exactly, or the reason none does. */
    record Fit(GgmlType type, String reason) {
        static Fit no(String reason) {
            return new Fit(null, reason);
        }
    }
}
