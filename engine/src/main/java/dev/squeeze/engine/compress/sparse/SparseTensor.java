package dev.squeeze.engine.compress.sparse;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.Restored;
import dev.squeeze.engine.kernels.CsrLinear;
import dev.squeeze.engine.kernels.CsrMatrix;
import dev.squeeze.engine.kernels.DenseKernelLinear;
import dev.squeeze.engine.kernels.DenseMatrix;
import dev.squeeze.engine.kernels.NmSparseLinear;
import dev.squeeze.engine.kernels.NmSparseMatrix;
import dev.squeeze.engine.kernels.SparseKernels;
import dev.squeeze.engine.nn.LinearOp;

/**
 * A pruned (and optionally quantized) weight matrix, {@code rows × cols} (out × in), stored as its kept values
 * plus an index saying where they sit. Kept values are fp16 (16 bits), fp32 (32 bits) or integer codes with
 * per-(row, group) parameters (see {@link KeptValues}: code bits per kept value + 32-bit scale + code-width zero
 * per group).
 *
 * <p>Stored bits, by layout ({@code K} = kept values):
 * <ul>
 *   <li><b>unstructured</b>: values + {@code min(bitmap, CSR)} where bitmap = {@code rows × cols} bits (1 per
 *       weight) and CSR = {@code K × 16} column indices ({@code × 32} when {@code cols > 65536}) +
 *       {@code 32 × (rows + 1)} row pointers. An exporter writes whichever is smaller; this tensor holds the
 *       bitmap.</li>
 *   <li><b>N:M</b> (keep {@code N} of every {@code M}): {@code N} values per group + {@code ceil(log2 C(M, N))}
 *       bits per group for the rank of the kept positions in the combinatorial number system, which is what this
 *       tensor holds. Groups per row are {@code ceil(cols / M)}; a short last group is padded with pruned
 *       positions, and when it holds fewer than {@code N} real weights its padding supplies kept zeros, which are
 *       stored and counted. For 2:4 that is 8 value bits (fp16) + 3 index bits per group of 4 = 8.75 bits per
 *       weight in fp16; the paper and NVIDIA's sparse tensor cores use 2 bits per kept value (4 per group,
 *       9 bits per weight), 0.25 bits per weight more than needed.</li>
 *   <li><b>rows / channels</b>: the smaller dense matrix of kept rows (or kept input channels), at the value
 *       precision, + a bitmap of {@code rows} (or {@code cols}) bits saying which are kept.</li>
 * </ul>
 */
public final class SparseTensor implements CompressedTensor {
    private static final long serialVersionUID = 1L;
    public enum Layout { UNSTRUCTURED, N_OF_M, ROWS, CHANNELS }

    /** How kept values are encoded: 16 (fp16), 32 (fp32) or 2–8-bit codes with their quantizer parameters. */
    record Encoding(int bits, int groupSize, int groupsPerRow, float[] scales, float[] zeros)
            implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        static Encoding floats(int bits) {
            return new Encoding(bits, 0, 0, null, null);
        }

        boolean quantized() {
            return bits <= 8;
        }
    }

    private final int rows;
    private final int cols;
    private final Layout layout;
    private final int n;
    private final int m;
    private final PackedBits index;
    private final KeptValues values;
    private final String description;

    private SparseTensor(int rows, int cols, Layout layout, int n, int m, PackedBits index, KeptValues values,
                         String description) {
        this.rows = rows;
        this.cols = cols;
        this.layout = layout;
        this.n = n;
        this.m = m;
        this.index = index;
        this.values = values;
        this.description = description;
    }

    /**
     * Restored from a checkpoint: the index must describe {@code rows × cols} in the tensor's layout (every N:M
     * rank a valid choice), and the values must be one per slot the index opens, with quantizer groups that cover
     * the rows and columns; otherwise the walk over the slots would index outside the arrays.
     */
    private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
        in.defaultReadObject();
        Restored.checked("sparse tensor", () -> {
            check();
            return this;
        });
    }

    /** Fails with an IllegalArgumentException unless index and values agree with the shape (see readObject). */
    private void check() {
        {
            Restored.matrix(rows, cols);
            Restored.require(layout != null && index != null && values != null && description != null,
                    "layout, index, values or description missing");
            switch (layout) {
                case UNSTRUCTURED -> requireIndex(1, (long) rows * cols);
                case ROWS -> requireIndex(1, rows);
                case CHANNELS -> requireIndex(1, cols);
                case N_OF_M -> {
                    Restored.require(n >= 1 && m >= n && m <= Sparsity.MAX_M, "N:M pattern " + n + ":" + m);
                    long groups = ((long) cols + m - 1) / m;
                    requireIndex(Combinations.rankBits(n, m), rows * groups);
                    long choices = Combinations.binomial(m, n);
                    for (long i = 0; i < index.count(); i++) {
                        Restored.require(index.get(i) < choices, "N:M rank " + index.get(i) + " of group " + i
                                + " is not one of the " + choices + " choices");
                    }
                }
            }
            Restored.require(values.count() == slotCount(), values.count() + " values for " + slotCount() + " slots");
            if (values.kind() == KeptValues.Kind.CODES) {
                Restored.require(values.quantizedRows() == rows
                                && values.groupsPerRow() == ((long) cols + values.groupSize() - 1) / values.groupSize(),
                        "quantizer groups " + values.quantizedRows() + " × " + values.groupsPerRow() + " of "
                                + values.groupSize() + " columns for " + rows + " × " + cols);
            }
        }
    }

    /**
     * The stored form (copies): the index as packed fields ({@code indexWidth} bits each, {@code indexCount} of
     * them, little-endian in {@code indexWords}: a bitmap of kept weights, rows or channels, or N:M choice ranks)
     * and the kept values of one kind ({@code FP16} in {@code half}, {@code FP32} in {@code single}, {@code CODES}
     * in {@code codes} with {@code scales}/{@code zeros} per {@code quantizedRows × groupsPerRow}); the arrays a
     * kind does not use are null.
     */
    public record Parts(int rows, int cols, Layout layout, int n, int m, int indexWidth, long indexCount,
                        long[] indexWords, String valueKind, int valueCount, int valueBits, short[] half,
                        float[] single, byte[] codes, float[] scales, float[] zeros, int groupSize, int groupsPerRow,
                        int quantizedRows, String description) {
    }

    public Parts parts() {
        return new Parts(rows, cols, layout, n, m, index.width(), index.count(), index.words(), values.kind().name(),
                values.count(), values.bits(), values.half(), values.single(), values.codeArray(), values.scales(),
                values.zeros(), values.groupSize(), values.groupsPerRow(), values.quantizedRows(), description);
    }

    /**
     * A tensor from its stored form (a file reader's), with the checks a checkpoint's gets.
     *
     * @throws IllegalArgumentException saying what is inconsistent
     */
    public static SparseTensor fromParts(Parts p) {
        Restored.require(p.layout() != null && p.valueKind() != null && p.description() != null,
                "layout, value kind or description missing");
        KeptValues.Kind kind;
        try {
            kind = KeptValues.Kind.valueOf(p.valueKind());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("value kind '" + p.valueKind() + "' is not one of FP16, FP32, CODES");
        }
        KeptValues v = KeptValues.restore(kind, p.valueCount(), p.half(), p.single(), p.codes(), p.valueBits(),
                p.scales(), p.zeros(), p.groupSize(), p.groupsPerRow(), p.quantizedRows());
        PackedBits index = new PackedBits(p.indexWidth(), p.indexCount(), p.indexWords());
        SparseTensor t = new SparseTensor(p.rows(), p.cols(), p.layout(), p.n(), p.m(), index, v, p.description());
        t.check();
        return t;
    }

    private void requireIndex(int width, long count) {
        Restored.require(index.bits() == width * count && index.count() == count,
                "the index holds " + index.count() + " fields of " + index.bits() / Math.max(1, index.count())
                        + " bits, expected " + count + " of " + width);
    }

    /**
     * Builds the stored form.
     *
     * @param pruned     {@code rows × cols}, true where the weight is removed; must follow the layout
     *                   (exactly {@code min(n, group length)} kept per N:M group, whole rows or columns)
     * @param dense      the kept weights' values at their positions (fp values are rounded to the encoding)
     * @param denseCodes for a quantized encoding, the code of every kept position; otherwise null
     */
    static SparseTensor of(Layout layout, int rows, int cols, int n, int m, boolean[] pruned, float[] dense,
                           int[] denseCodes, Encoding enc, String description) {
        PackedBits index = buildIndex(layout, rows, cols, n, m, pruned);
        SparseTensor shape = new SparseTensor(rows, cols, layout, n, m, index, null, description);
        int count = Math.toIntExact(shape.slotCount());
        float[] vals = new float[count];
        byte[] codes = enc.quantized() ? new byte[count] : null;
        shape.forEachSlot((k, r, c) -> {
            if (c >= cols) {
                // N:M padding: a kept zero. Quantized, zero is exactly the group's (integer) zero point.
                if (codes != null) {
                    int g = r * enc.groupsPerRow() + enc.groupsPerRow() - 1;
                    codes[k] = (byte) Math.round(enc.zeros()[g]);
                }
                return;
            }
            vals[k] = dense[r * cols + c];
            if (codes != null) {
                codes[k] = (byte) denseCodes[r * cols + c];
            }
        });
        KeptValues kv = switch (enc.bits()) {
            case 16 -> KeptValues.fp16(vals);
            case 32 -> KeptValues.fp32(vals);
            default -> KeptValues.codes(enc.bits(), codes, enc.scales(), enc.zeros(), enc.groupSize(),
                    enc.groupsPerRow(), rows);
        };
        return new SparseTensor(rows, cols, layout, n, m, index, kv, description);
    }

    private static PackedBits buildIndex(Layout layout, int rows, int cols, int n, int m, boolean[] pruned) {
        if (pruned.length != (long) rows * cols) {
            throw new IllegalArgumentException(pruned.length + " mask entries for " + rows + " × " + cols);
        }
        switch (layout) {
            case UNSTRUCTURED -> {
                PackedBits bitmap = new PackedBits(1, (long) rows * cols);
                for (int i = 0; i < pruned.length; i++) {
                    bitmap.set(i, pruned[i] ? 0 : 1);
                }
                return bitmap;
            }
            case N_OF_M -> {
                int groups = Math.ceilDiv(cols, m);
                PackedBits ranks = new PackedBits(Combinations.rankBits(n, m), (long) rows * groups);
                int[] pos = new int[n];
                for (int r = 0; r < rows; r++) {
                    for (int g = 0; g < groups; g++) {
                        int c0 = g * m;
                        int len = Math.min(m, cols - c0);
                        int kept = 0;
                        for (int j = 0; j < len; j++) {
                            if (!pruned[r * cols + c0 + j]) {
                                if (kept == n) {
                                    throw new IllegalArgumentException("row " + r + " group " + g + " keeps more than " + n);
                                }
                                pos[kept++] = j;
                            }
                        }
                        if (kept != Math.min(n, len)) {
                            throw new IllegalArgumentException("row " + r + " group " + g + " keeps " + kept
                                    + " instead of " + Math.min(n, len));
                        }
                        for (int j = len; kept < n; j++) {
                            pos[kept++] = j;
                        }
                        ranks.set((long) r * groups + g, Combinations.rank(pos, n));
                    }
                }
                return ranks;
            }
            case ROWS, CHANNELS -> {
                boolean byRow = layout == Layout.ROWS;
                PackedBits bitmap = new PackedBits(1, byRow ? rows : cols);
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        boolean p = pruned[r * cols + c];
                        int unit = byRow ? r : c;
                        boolean first = byRow ? c == 0 : r == 0;
                        if (first) {
                            bitmap.set(unit, p ? 0 : 1);
                        } else if ((bitmap.get(unit) == 0) != p) {
                            throw new IllegalArgumentException((byRow ? "row " : "column ") + unit + " is only partly pruned");
                        }
                    }
                }
                return bitmap;
            }
            default -> throw new AssertionError(layout);
        }
    }

    private interface SlotVisitor {
        void visit(int k, int row, int col);
    }

    /** Walks every stored value slot in storage order: row by row, ascending column (N:M padding has col ≥ cols). */
    private void forEachSlot(SlotVisitor v) {
        int k = 0;
        switch (layout) {
            case UNSTRUCTURED -> {
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        if (index.get((long) r * cols + c) == 1) {
                            v.visit(k++, r, c);
                        }
                    }
                }
            }
            case N_OF_M -> {
                int groups = Math.ceilDiv(cols, m);
                int[] pos = new int[n];
                for (int r = 0; r < rows; r++) {
                    for (int g = 0; g < groups; g++) {
                        Combinations.unrank(index.get((long) r * groups + g), n, m, pos);
                        for (int j = 0; j < n; j++) {
                            v.visit(k++, r, g * m + pos[j]);
                        }
                    }
                }
            }
            case ROWS, CHANNELS -> {
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        if (index.get(layout == Layout.ROWS ? r : c) == 1) {
                            v.visit(k++, r, c);
                        }
                    }
                }
            }
            default -> throw new AssertionError(layout);
        }
    }

    private long slotCount() {
        return switch (layout) {
            case N_OF_M -> (long) rows * Math.ceilDiv(cols, m) * n;
            case ROWS -> (long) ones(index) * cols;
            case CHANNELS -> (long) ones(index) * rows;
            case UNSTRUCTURED -> ones(index);
        };
    }

    private static long ones(PackedBits bits) {
        long c = 0;
        for (long i = 0; i < bits.count(); i++) {
            c += bits.get(i);
        }
        return c;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    public Layout layout() {
        return layout;
    }

    /** Kept weights per N:M group (0 for the other layouts). */
    public int n() {
        return n;
    }

    /** N:M group length (0 for the other layouts). */
    public int m() {
        return m;
    }

    /** The pruning mask, {@code rows × cols} row-major, true = pruned (the reference's {@code mask == 1}). */
    public boolean[] prunedMask() {
        boolean[] pruned = new boolean[rows * cols];
        java.util.Arrays.fill(pruned, true);
        forEachSlot((k, r, c) -> {
            if (c < cols) {
                pruned[r * cols + c] = false;
            }
        });
        return pruned;
    }

    /** Stored value slots (kept weights, plus kept N:M padding zeros). */
    public int storedValues() {
        return values.count();
    }

    /** Bits per stored value: 16, 32 or the code width. */
    public int valueBits() {
        return values.bits();
    }

    /** The integer codes on the dense grid, {@code -1} where pruned; null unless the values are quantized. */
    public int[] codes() {
        if (values.kind() != KeptValues.Kind.CODES) {
            return null;
        }
        int[] out = new int[rows * cols];
        java.util.Arrays.fill(out, -1);
        forEachSlot((k, r, c) -> {
            if (c < cols) {
                out[r * cols + c] = values.code(k);
            }
        });
        return out;
    }

    /** Bits of the index: for unstructured, the smaller of bitmap and CSR (see the class comment). */
    public long indexBits() {
        if (layout != Layout.UNSTRUCTURED) {
            return index.bits();
        }
        return Math.min(index.bits(), csrBits());
    }

    /** Which unstructured index is counted: {@code bitmap} or {@code CSR}; the layout name otherwise. */
    public String indexFormat() {
        return switch (layout) {
            case UNSTRUCTURED -> csrBits() < index.bits() ? "CSR" : "bitmap";
            case N_OF_M -> "N:M rank " + Combinations.rankBits(n, m) + " bits/group";
            case ROWS -> "row bitmap";
            case CHANNELS -> "channel bitmap";
        };
    }

    private long csrBits() {
        int colBits = cols <= 65536 ? 16 : 32;
        return (long) values.count() * colBits + 32L * (rows + 1);
    }

    @Override
    public long storedBits() {
        return values.valueBits() + values.parameterBits() + indexBits();
    }

    @Override
    public float[] dequantize() {
        float[] w = new float[rows * cols];
        forEachSlot((k, r, c) -> {
            if (c < cols) {
                w[r * cols + c] = values.get(k, r, c);
            }
        });
        return w;
    }

    /**
     * Density (kept / all weights) up to which an unstructured layer multiplies through the CSR kernel rather
     * than as a dense matrix with zeros. Measured with native-kernels/bench/bench_sparse (4096 × 4096, CSR with
     * 16-bit columns and fp32 values against the dense fp16 kernel, one thread, AVX-512, weights streamed from
     * memory): at 25 % density CSR is 1.5× faster at batch 1 and 1.2× at batch 8; at 40 % it is 0.86× and
     * 0.66×; the crossover is near 30 % for both.
     */
    public static final double CSR_MAX_DENSITY = 0.25;

    /** The op on the engine's preferred sparse backend ({@link SparseKernels#preferred()}). */
    @Override
    public LinearOp asLinearOp() {
        return asLinearOp(SparseKernels.preferred());
    }

    /**
     * {@code y = W x} without materialising the dense matrix: N:M through the N:M kernel (fp16 or fp32 values as
     * stored, quantized codes as their dequantized fp32 values); unstructured through CSR up to
     * {@link #CSR_MAX_DENSITY}, above it as a dense matrix (fp16 when the values are fp16, else fp32); kept rows /
     * channels as a small dense product. Every value multiplied is exactly the one {@link #dequantize()} gives.
     */
    public LinearOp asLinearOp(SparseKernels.Backend backend) {
        return switch (layout) {
            case N_OF_M -> nmLinear(backend);
            case UNSTRUCTURED -> density() <= CSR_MAX_DENSITY
                    ? new CsrLinear(CsrMatrix.fromDense(rows, cols, dequantize()), backend, describe())
                    : new DenseKernelLinear(DenseMatrix.compact(rows, cols, dequantize()), backend,
                            describe() + " (dense, density " + String.format(java.util.Locale.ROOT, "%.2f", density())
                                    + ")");
            case ROWS, CHANNELS -> structuredLinear();
        };
    }

    /** Kept weights over all weights (N:M padding not counted). */
    public double density() {
        long[] kept = {0};
        forEachSlot((k, r, c) -> {
            if (c < cols) {
                kept[0]++;
            }
        });
        return kept[0] / ((double) rows * cols);
    }

    private LinearOp nmLinear(SparseKernels.Backend backend) {
        int count = values.count();
        int[] positions = new int[count];
        float[] single = values.kind() == KeptValues.Kind.FP16 ? null : new float[count];
        forEachSlot((k, r, c) -> {
            positions[k] = c % m;
            if (single != null) {
                single[k] = values.get(k, r, c);
            }
        });
        NmSparseMatrix w = single == null
                ? NmSparseMatrix.fp16(rows, cols, n, m, positions, values.half())
                : NmSparseMatrix.fp32(rows, cols, n, m, positions, single);
        return new NmSparseLinear(w, backend, describe());
    }

    private LinearOp structuredLinear() {
        int[] keptRows = java.util.stream.IntStream.range(0, rows)
                .filter(r -> layout != Layout.ROWS || index.get(r) == 1).toArray();
        int[] keptCols = java.util.stream.IntStream.range(0, cols)
                .filter(c -> layout != Layout.CHANNELS || index.get(c) == 1).toArray();
        float[] small = new float[keptRows.length * keptCols.length];
        // Storage order is row by row over kept rows and kept columns: exactly the small dense matrix.
        forEachSlot((k, r, c) -> small[k] = values.get(k, r, c));
        return new GatherScatterLinear(rows, cols, keptRows, keptCols, small, describe() + " ("
                + keptRows.length + " × " + keptCols.length + " dense)");
    }

    @Override
    public String describe() {
        return description;
    }

    /** A dense product over the kept input channels, written to the kept output rows; pruned rows give 0. */
    private static final class GatherScatterLinear implements LinearOp {
        private final int rows;
        private final int cols;
        private final int[] keptRows;
        private final int[] keptCols;
        private final float[] small;
        private final String description;

        GatherScatterLinear(int rows, int cols, int[] keptRows, int[] keptCols, float[] small, String description) {
            this.rows = rows;
            this.cols = cols;
            this.keptRows = keptRows;
            this.keptCols = keptCols;
            this.small = small;
            this.description = description;
        }

        @Override
        public int inFeatures() {
            return cols;
        }

        @Override
        public int outFeatures() {
            return rows;
        }

        @Override
        public void forward(float[] x, int batch, float[] y) {
            int kc = keptCols.length;
            float[] gathered = new float[kc];
            for (int b = 0; b < batch; b++) {
                int xo = b * cols;
                int yo = b * rows;
                for (int j = 0; j < kc; j++) {
                    gathered[j] = x[xo + keptCols[j]];
                }
                java.util.Arrays.fill(y, yo, yo + rows, 0f);
                for (int i = 0; i < keptRows.length; i++) {
                    float acc = 0f;
                    int wo = i * kc;
                    for (int j = 0; j < kc; j++) {
                        acc += small[wo + j] * gathered[j];
                    }
                    y[yo + keptRows[i]] = acc;
                }
            }
        }

        @Override
        public String describe() {
            return description;
        }
    }
}
