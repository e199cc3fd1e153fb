package dev.squeeze.engine.compress;

import dev.squeeze.engine.compress.gptq.GptqTensor;

import java.util.Optional;

/**
 * The integer grid of a group-quantized tensor, whichever method made it (RTN's {@link QuantizedMatrix}, a
 * {@link GptqTensor}): {@code w[r][c] = scale(r, g) · (code(r, c) − zero(r, g))} in float32, with {@code g =
 * group(c)}. What the exporters read to write codes as another runtime's blocks, without re-quantizing.
 */
public final class IntegerGrid {
    private final int rows;
    private final int cols;
    private final int bits;
    private final int groupWidth;
    private final int groups;
    private final Codes codes;
    private final Params scales;
    private final Params zeros;
    private final Groups groupOf;

    @FunctionalInterface
    private interface Codes {
        int at(int r, int c);
    }

    @FunctionalInterface
    private interface Params {
        float at(int r, int g);
    }

    @FunctionalInterface
    private interface Groups {
        int of(int c);
    }

    private IntegerGrid(int rows, int cols, int bits, int groupWidth, int groups, Codes codes, Params scales,
                        Params zeros, Groups groupOf) {
        this.rows = rows;
        this.cols = cols;
        this.bits = bits;
        this.groupWidth = groupWidth;
        this.groups = groups;
        this.codes = codes;
        this.scales = scales;
        this.zeros = zeros;
        this.groupOf = groupOf;
    }

    /** The grid of {@code t}; empty for tensors that are not one (sparse, SpQR, low rank). */
    public static Optional<IntegerGrid> of(CompressedTensor t) {
        if (t instanceof QuantizedMatrix q) {
            int gpr = q.groupsPerRow();
            int width = q.groupSize();
            float[] s = q.scales(); // copies: taken once
            float[] z = q.zeros();
            return Optional.of(new IntegerGrid(q.rows(), q.cols(), q.bits(), width, gpr, q::code,
                    (r, g) -> s[r * gpr + g], (r, g) -> z[r * gpr + g], c -> c / width));
        }
        if (t instanceof GptqTensor g) {
            int width = g.settings().groupSize() == 0 ? g.cols() : Math.min(g.settings().groupSize(), g.cols());
            return Optional.of(new IntegerGrid(g.rows(), g.cols(), g.bits(), width, g.groups(), g::code,
                    (r, k) -> g.scale(k, r), (r, k) -> g.zero(k, r), g::group));
        }
        return Optional.empty();
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public int bits() {
        return bits;
    }

    /** Columns per group (the last group of a row may be partial). */
    public int groupWidth() {
        return groupWidth;
    }

    /** Groups per row. */
    public int groups() {
        return groups;
    }

    /** The group of column {@code c}: {@code c / groupWidth} unless act-order's {@code g_idx} says otherwise. */
    public int group(int c) {
        return groupOf.of(c);
    }

    /** The first column whose group is not {@code c / groupWidth} (act-order's g_idx), or -1 when there is none. */
    public int firstColumnOutOfBlock() {
        for (int c = 0; c < cols; c++) {
            if (groupOf.of(c) != c / groupWidth) {
                return c;
            }
        }
        return -1;
    }

    public int code(int r, int c) {
        return codes.at(r, c);
    }

    public float scale(int r, int g) {
        return scales.at(r, g);
    }

    public float zero(int r, int g) {
        return zeros.at(r, g);
    }
}
