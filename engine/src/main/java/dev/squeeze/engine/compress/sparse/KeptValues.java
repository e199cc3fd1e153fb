package dev.squeeze.engine.compress.sparse;

import dev.squeeze.engine.compress.Restored;

/**
 * The values a sparse tensor keeps, in the order the tensor walks its kept positions (row by row, ascending
 * column), stored as one of:
 * <ul>
 *   <li>fp16 (16 bits each), the default: the methods round to fp16 before they store, so what is counted is
 *       what is multiplied;</li>
 *   <li>fp32 (32 bits each): what the SparseGPT reference keeps for unpruned weights;</li>
 *   <li>integer codes of {@code bits} bits with asymmetric per-(row, group) quantizer parameters
 *       {@code w = scale × (code − zero)}: the scale in float32 (32 bits) and the zero point as a
 *       {@code bits}-bit integer, as {@link dev.squeeze.engine.compress.QuantizedMatrix} counts them. Only kept
 *       values have codes; the parameters are counted for every (row, group) of the dense grid.</li>
 * </ul>
 */
final class KeptValues implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    enum Kind { FP16, FP32, CODES }

    private final Kind kind;
    private final int count;
    private final short[] half;
    private final float[] single;
    private final byte[] codes;
    private final int bits;
    private final float[] scales;
    private final float[] zeros;
    private final int groupSize;
    private final int groupsPerRow;
    private final int quantizedRows;

    private KeptValues(Kind kind, int count, short[] half, float[] single, byte[] codes, int bits, float[] scales,
                       float[] zeros, int groupSize, int groupsPerRow, int quantizedRows) {
        this.kind = kind;
        this.count = count;
        this.half = half;
        this.single = single;
        this.codes = codes;
        this.bits = bits;
        this.scales = scales;
        this.zeros = zeros;
        this.groupSize = groupSize;
        this.groupsPerRow = groupsPerRow;
        this.quantizedRows = quantizedRows;
    }

    /**
     * Restored from a checkpoint: the arrays of its kind hold {@code count} values, codes fit their width and the
     * quantizer parameters cover {@code quantizedRows × groupsPerRow} groups. That the count and the rows match the
     * tensor is {@link SparseTensor}'s check.
     */
    private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
        in.defaultReadObject();
        Restored.checked("sparse tensor values", () -> {
            check();
            return this;
        });
    }

    /** Fails with an IllegalArgumentException unless the arrays of its kind are consistent (see readObject). */
    private void check() {
        {
            Restored.require(kind != null && count >= 0, "kind " + kind + ", count " + count);
            switch (kind) {
                case FP16 -> {
                    Restored.require(bits == 16, kind + " values of " + bits + " bits");
                    Restored.length(half, count, "fp16 values");
                }
                case FP32 -> {
                    Restored.require(bits == 32, kind + " values of " + bits + " bits");
                    Restored.length(single, count, "fp32 values");
                }
                case CODES -> {
                    Restored.require(bits >= 2 && bits <= 8, "codes of " + bits + " bits");
                    Restored.length(codes, count, "codes");
                    Restored.codes(codes, bits, "code");
                    Restored.require(groupSize >= 1 && groupsPerRow >= 1 && quantizedRows >= 1,
                            "groups of " + groupSize + ", " + groupsPerRow + " per row, " + quantizedRows + " rows");
                    Restored.length(scales, (long) quantizedRows * groupsPerRow, "scales");
                    Restored.length(zeros, (long) quantizedRows * groupsPerRow, "zeros");
                }
            }
        }
    }

    /** Values from their stored arrays (a file reader's), checked as a checkpoint's are; arrays not used by the kind are null. */
    static KeptValues restore(Kind kind, int count, short[] half, float[] single, byte[] codes, int bits,
                              float[] scales, float[] zeros, int groupSize, int groupsPerRow, int quantizedRows) {
        KeptValues v = new KeptValues(kind, count, half, single, codes, bits, scales, zeros, groupSize, groupsPerRow,
                quantizedRows);
        v.check();
        return v;
    }

    short[] half() {
        return half == null ? null : half.clone();
    }

    float[] single() {
        return single == null ? null : single.clone();
    }

    byte[] codeArray() {
        return codes == null ? null : codes.clone();
    }

    float[] scales() {
        return scales == null ? null : scales.clone();
    }

    float[] zeros() {
        return zeros == null ? null : zeros.clone();
    }

    int quantizedRows() {
        return quantizedRows;
    }

    int groupsPerRow() {
        return groupsPerRow;
    }

    int groupSize() {
        return groupSize;
    }

    /** Values rounded to fp16 here (they should already be fp16 values; rounding again changes nothing). */
    static KeptValues fp16(float[] values) {
        short[] h = new short[values.length];
        for (int i = 0; i < h.length; i++) {
            h[i] = Float.floatToFloat16(values[i]);
        }
        return new KeptValues(Kind.FP16, h.length, h, null, null, 16, null, null, 0, 0, 0);
    }

    static KeptValues fp32(float[] values) {
        return new KeptValues(Kind.FP32, values.length, null, values.clone(), null, 32, null, null, 0, 0, 0);
    }

    /**
     * @param codes        one code per kept value, 0 to 2^bits − 1
     * @param scales       {@code rows × groupsPerRow}, row-major
     * @param zeros        integer-valued zero points, same layout
     * @param groupSize    columns per quantizer group
     * @param groupsPerRow {@code ceil(cols / groupSize)}
     */
    static KeptValues codes(int bits, byte[] codes, float[] scales, float[] zeros, int groupSize, int groupsPerRow,
                            int rows) {
        if (scales.length != rows * groupsPerRow || zeros.length != scales.length) {
            throw new IllegalArgumentException(scales.length + " scales for " + rows + " × " + groupsPerRow + " groups");
        }
        return new KeptValues(Kind.CODES, codes.length, null, null, codes.clone(), bits, scales.clone(),
                zeros.clone(), groupSize, groupsPerRow, rows);
    }

    Kind kind() {
        return kind;
    }

    int count() {
        return count;
    }

    /** Bits per value: 16, 32 or the code width. */
    int bits() {
        return bits;
    }

    /** Value {@code k}, which sits at {@code (row, col)} of the dense matrix (col may be N:M padding). */
    float get(int k, int row, int col) {
        return switch (kind) {
            case FP16 -> Float.float16ToFloat(half[k]);
            case FP32 -> single[k];
            case CODES -> {
                int g = row * groupsPerRow + Math.min(col / groupSize, groupsPerRow - 1);
                yield scales[g] * ((codes[k] & 0xff) - zeros[g]);
            }
        };
    }

    /** The stored code of value {@code k} (quantized values only). */
    int code(int k) {
        return codes[k] & 0xff;
    }

    /** Bits of the values themselves. */
    long valueBits() {
        return (long) count * bits;
    }

    /** Bits of the quantizer parameters: {@code rows × groupsPerRow × (32 + bits)}, 0 for float values. */
    long parameterBits() {
        return kind == Kind.CODES ? (long) quantizedRows * groupsPerRow * (32 + bits) : 0;
    }

    String describe() {
        return switch (kind) {
            case FP16 -> "fp16 values";
            case FP32 -> "fp32 values";
            case CODES -> bits + "-bit asym " + (groupsPerRow == 1 ? "per-row" : "g" + groupSize) + " codes";
        };
    }
}
