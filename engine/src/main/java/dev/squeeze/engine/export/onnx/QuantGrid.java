package dev.squeeze.engine.export.onnx;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.IntegerGrid;
import dev.squeeze.engine.compress.QuantizedMatrix;
import dev.squeeze.engine.compress.gptq.GptqTensor;

import java.util.Optional;

/**
 * A compressed matrix that ONNX's {@code DequantizeLinear} reproduces exactly: unsigned codes with one float32
 * scale and one integer zero point per block of {@code blockSize} consecutive columns of a row, so that weight
 * {@code (r, c)} is {@code (code − zero) · scale} in float32, the formula ONNX Runtime evaluates.
 * {@link #of} says why a tensor is not such a grid (a non-integer zero point, act-order's column→group index, a
 * method that is not a scalar quantizer), and the exporter then writes that layer as float32.
 */
final class QuantGrid {
    private final int rows;
    private final int cols;
    private final int bits;
    private final int blockSize;
    private final int blocks;
    private final Codes codes;
    private final float[] scales;
    private final int[] zeros;

    /** Code of weight (r, c). */
    @FunctionalInterface
    interface Codes {
        int at(int r, int c);
    }

    private QuantGrid(int rows, int cols, int bits, int blockSize, Codes codes, float[] scales, int[] zeros) {
        this.rows = rows;
        this.cols = cols;
        this.bits = bits;
        this.blockSize = blockSize;
        this.blocks = Math.ceilDiv(cols, blockSize);
        this.codes = codes;
        this.scales = scales;
        this.zeros = zeros;
    }

    /** The grid of {@code t}, or the reason it has none. */
    sealed interface Result permits Grid, NoGrid {
    }

    record Grid(QuantGrid grid) implements Result {
    }

    record NoGrid(String reason) implements Result {
    }

    static Result of(CompressedTensor t) {
        Optional<IntegerGrid> found = IntegerGrid.of(t);
        if (found.isEmpty()) {
            return new NoGrid(t.describe() + " is not a grid of integer codes with one scale per block"
                    + " (DequantizeLinear cannot express it)");
        }
        IntegerGrid g = found.get();
        int c = g.firstColumnOutOfBlock();
        if (c >= 0) {
            return new NoGrid("act-order: column " + c + " belongs to group " + g.group(c)
                    + ", not to the block of consecutive columns " + (c / g.groupWidth())
                    + " (DequantizeLinear's blocks cannot follow g_idx)");
        }
        int rows = g.rows();
        int blocks = g.groups();
        float[] scales = new float[rows * blocks];
        int[] zeros = new int[rows * blocks];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < blocks; b++) {
                String bad = integerZero(g.zero(r, b), g.bits());
                if (bad != null) {
                    return new NoGrid("row " + r + " group " + b + ": " + bad);
                }
                scales[r * blocks + b] = g.scale(r, b);
                zeros[r * blocks + b] = (int) g.zero(r, b);
            }
        }
        return new Grid(new QuantGrid(rows, g.cols(), g.bits(), g.groupWidth(), g::code, scales, zeros));
    }

    /** Null when {@code z} is an integer zero point the codes' unsigned type holds, else why not. */
    private static String integerZero(float z, int bits) {
        if (z != Math.rint(z) || Float.isInfinite(z)) {
            return "zero point " + z + " is not an integer (ONNX zero points have the codes' integer type)";
        }
        if (z < 0 || z > (1 << bits) - 1) {
            return "zero point " + z + " lies outside the " + bits + "-bit code range";
        }
        return null;
    }

    int rows() {
        return rows;
    }

    int cols() {
        return cols;
    }

    int bits() {
        return bits;
    }

    int blockSize() {
        return blockSize;
    }

    int blocks() {
        return blocks;
    }

    int code(int r, int c) {
        return codes.at(r, c);
    }

    float scale(int r, int block) {
        return scales[r * blocks + block];
    }

    int zero(int r, int block) {
        return zeros[r * blocks + block];
    }

    /** 4-bit and narrower codes go in UINT4 (two per byte), wider ones in UINT8. */
    boolean nibbles() {
        return bits <= 4;
    }
}
