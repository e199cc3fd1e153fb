package dev.squeeze.engine.export.gguf;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.IntegerGrid;
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
    private final IntegerGrid grid;

    private QuantGrid(IntegerGrid grid) {
        this.grid = grid;
    }

    /** The grid of a tensor that has one; empty for other compressed tensors (sparse, SpQR, low-rank). */
    static Optional<QuantGrid> of(CompressedTensor t) {
        return IntegerGrid.of(t).map(QuantGrid::new);
    }

    /**
     * The ggml type that holds this grid exactly, or why none does: 4-bit → Q4_0 and 8-bit → Q8_0, when groups
     * are 32 consecutive columns, every zero point is the type's fixed one (8, 128) and every scale is an fp16
     * value.
     */
    Fit fit() {
        int bits = grid.bits();
        GgmlType type = switch (bits) {
            case 4 -> GgmlType.Q4_0;
            case 8 -> GgmlType.Q8_0;
            default -> null;
        };
        if (type == null) {
            return Fit.no(bits + "-bit codes: GGUF's 32-block types store 4 (Q4_0) or 8 (Q8_0) bits");
        }
        if (grid.firstColumnOutOfBlock() >= 0) {
            return Fit.no("act-order groups (g_idx) are not consecutive columns, as " + type + "'s blocks are");
        }
        if (grid.groupWidth() != type.blockSize() || grid.cols() % type.blockSize() != 0) {
            return Fit.no("groups of " + grid.groupWidth() + " columns in rows of " + grid.cols() + ": " + type
                    + " needs groups of exactly " + type.blockSize());
        }
        float zero = bits == 4 ? 8f : 128f;
        for (int r = 0; r < grid.rows(); r++) {
            for (int g = 0; g < grid.groups(); g++) {
                float z = grid.zero(r, g);
                if (z != zero) {
                    return Fit.no("zero point " + z + " (row " + r + "): " + type
                            + " has the fixed zero " + (int) zero + " of symmetric quantization");
                }
            }
        }
        for (int r = 0; r < grid.rows(); r++) {
            for (int g = 0; g < grid.groups(); g++) {
                float s = grid.scale(r, g);
                if (!Float.isFinite(s) || Float.floatToRawIntBits(Float.float16ToFloat(Float.floatToFloat16(s)))
                        != Float.floatToRawIntBits(s)) {
                    return Fit.no("scale " + s + " (row " + r + ") is not an fp16 value, and " + type
                            + " stores its scale d in fp16 (quantize with fp16 scales)");
                }
            }
        }
        return new Fit(type, null);
    }

    /** Encodes row {@code r} in {@code type} ({@link #fit()}'s), blocks of 32 as ggml lays them out. */
    void encode(GgmlType type, int r, ByteBuffer out) {
        out.order(ByteOrder.LITTLE_ENDIAN);
        for (int b = 0; b < grid.groups(); b++) {
            int c0 = b * grid.groupWidth();
            out.putShort(Float.floatToFloat16(grid.scale(r, b)));
            if (type == GgmlType.Q4_0) {
                for (int j = 0; j < 16; j++) {
                    out.put((byte) (grid.code(r, c0 + j) | grid.code(r, c0 + 16 + j) << 4));
                }
            } else {
                for (int j = 0; j < 32; j++) {
                    out.put((byte) (grid.code(r, c0 + j) - 128));
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
