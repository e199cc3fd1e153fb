package dev.squeeze.engine.plan;

import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.StoredSizes;
import dev.squeeze.engine.model.Tensor;

import java.util.Map;

/**
 * The stored size of a plan without compressing anything: per layer, the bits its compressed weight matrix will
 * take, counted as each method's tensor counts them ({@code storedBits()} of {@code QuantizedMatrix},
 * {@code GptqTensor}, {@code SpqrTensor}, {@code SparseTensor} and {@code LowRankTensor}); and for the model, the
 * two figures of {@code eval.SizeAccounting}: bits per weight over the compressed linears and bytes of the whole
 * model as stored.
 *
 * <p>Exact wherever the layout depends only on the settings and the shape: RTN, GPTQ, low rank, magnitude
 * pruning, and SparseGPT in its default mode. Two figures depend on the weights and are estimates:
 * <ul>
 *   <li>SpQR's outliers: counted as {@link #SPQR_OUTLIER_FRACTION} of the weights (the SpQR paper reports
 *       about 1% or less at its recommended threshold); with the threshold infinite there are none, and the
 *       estimate is exact;</li>
 *   <li>SparseGPT in reference mode, unstructured: the reference prunes {@code floor(n·s) + 1} per 128-column
 *       block (more on ties); counted as exactly the target fraction, i.e. a little more than it keeps.</li>
 * </ul>
 */
public final class PlanEstimate {
    /** The fraction of a layer's weights assumed to be SpQR outliers at a finite threshold. */
    public static final double SPQR_OUTLIER_FRACTION = 0.01;

    private PlanEstimate() {
    }

    /**
     * The size figures of a plan.
     *
     * @param compressedWeights weights of the compressed linears
     * @param compressedBits    their estimated stored bits
     * @param bitsPerWeight     {@code compressedBits / compressedWeights}; null when nothing is compressed
     * @param modelBytes        the whole model as stored after compression: compressed layers at their estimate,
     *                          every other tensor (biases included) as stored in the file
     * @param fp16Bytes         every parameter in fp16, the papers' reference size
     * @param fileBytes         the model as stored in its file now
     */
    public record Summary(long compressedWeights, long compressedBits, Double bitsPerWeight, long modelBytes,
                          long fp16Bytes, long fileBytes) {
        /** {@code modelBytes / fp16Bytes}. */
        public double ratioToFp16() {
            return fp16Bytes == 0 ? 0 : (double) modelBytes / fp16Bytes;
        }

        /** {@code modelBytes / fileBytes}. */
        public double ratioToFile() {
            return fileBytes == 0 ? 0 : (double) modelBytes / fileBytes;
        }
    }

    /** Whether {@link #bits} is exact (the stored layout does not depend on the weights) for these settings. */
    public static boolean exact(MethodSettings s) {
        return switch (s) {
            case SpqrSettings q -> !q.detectsOutliers();
            case SparseGptSettings g -> g.mode() != SparseGptSettings.Mode.REFERENCE || g.sparsity() == null
                    || g.sparsity().isNOfM();
            default -> true;
        };
    }

    /** Rows of a layer's weight matrix (its first dimension). */
    public static long rows(LayerInfo layer) {
        return layer.shape()[0];
    }

    /** Columns of a layer's weight matrix: the product of its other dimensions (1 for a vector). */
    public static long cols(LayerInfo layer) {
        long[] shape = layer.shape();
        long c = 1;
        for (int i = 1; i < shape.length; i++) {
            c *= shape[i];
        }
        return c;
    }

    /** The estimated stored bits of {@code layer}'s weight matrix compressed with {@code s}. */
    public static long bits(LayerInfo layer, MethodSettings s) {
        return bits(rows(layer), cols(layer), s);
    }

    /**
     * The estimated stored bits of a {@code rows × cols} matrix compressed with {@code s}. Settings that a job
     * would refuse (see {@link PlanCheck}) still give a figure: out-of-range sizes are clamped as the tensors
     * clamp them, so that an editor can show something while the user types.
     */
    public static long bits(long rows, long cols, MethodSettings s) {
        return switch (s) {
            case RtnSettings r -> rtn(rows, cols, r);
            case GptqSettings g -> gptq(rows, cols, g);
            case SpqrSettings q -> spqr(rows, cols, q);
            case SparseGptSettings g -> sparseGpt(rows, cols, g);
            case MagnitudeSettings m -> magnitude(rows, cols, m);
            case LowRankSettings l -> lowRank(rows, cols, l);
            default -> throw new IllegalArgumentException("no size estimate for method " + s.method());
        };
    }

    /** Groups per row for a group size (0 or wider than the row: one group). */
    private static long groupsPerRow(long cols, int groupSize) {
        long g = groupSize <= 0 ? cols : Math.min(groupSize, cols);
        return g <= 0 ? 0 : Math.ceilDiv(cols, g);
    }

    /** {@code QuantizedMatrix.storedBits}: codes, a float32 scale per group and, asymmetric, a code-wide zero. */
    private static long rtn(long rows, long cols, RtnSettings r) {
        long zero = r.symmetric() ? 0 : r.bits();
        return rows * cols * r.bits() + rows * groupsPerRow(cols, r.groupSize()) * (32 + zero);
    }

    /** {@code GptqTensor.storedBits}: codes, per (group, row) a scale and (asymmetric) a zero, g_idx when needed. */
    private static long gptq(long rows, long cols, GptqSettings g) {
        long perGroup = (g.scalePrecision() == GptqSettings.ScalePrecision.FP32 ? 32 : 16)
                + (g.symmetric() ? 0 : g.bits());
        boolean dynamic = g.groupSize() != 0 && !g.staticGroups();
        long index = dynamic && g.actOrder() ? 32L * cols : 0;
        return rows * cols * g.bits() + rows * groupsPerRow(cols, g.groupSize()) * perGroup + index;
    }

    /** {@code SpqrTensor.storedBits}, with the outlier count estimated. */
    private static long spqr(long rows, long cols, SpqrSettings q) {
        long groups = q.groupSize() <= 0 ? 1 : Math.ceilDiv(cols, q.groupSize());
        long chunks = q.qqGroupSize() <= 0 ? 0 : rows / q.qqGroupSize();
        long v = q.referencePrecision() ? 32 : 16;
        long outliers = q.detectsOutliers() ? Math.round(rows * cols * SPQR_OUTLIER_FRACTION) : 0;
        long bits = rows * cols * q.bits();
        bits += rows * groups * (q.qqScaleBits() + q.qqZeroBits());
        bits += groups * chunks * 4 * v;
        bits += outliers * (v + 16);
        bits += (rows + 1) * 32;
        if (q.actOrder()) {
            bits += cols * 16;
        }
        return bits;
    }

    private static long sparseGpt(long rows, long cols, SparseGptSettings g) {
        Sparsity sp = g.sparsity();
        if (sp == null) {
            return rows * cols * 16;
        }
        int valueBits = g.bits();
        long params = g.quantized() ? rows * groupsPerRow(cols, g.groupSize()) * (32L + valueBits) : 0;
        if (sp.isNOfM()) {
            int keep = g.mode() == SparseGptSettings.Mode.REFERENCE ? sp.m() - sp.n() : sp.n();
            return nOfM(rows, cols, keep, sp.m(), valueBits) + params;
        }
        return unstructured(rows, cols, sp.fraction(), valueBits) + params;
    }

    /** {@code SparseTensor.storedBits} for magnitude pruning's four layouts (values are fp16 or fp32). */
    private static long magnitude(long rows, long cols, MagnitudeSettings m) {
        Sparsity sp = m.sparsity();
        int vb = m.valueBits();
        if (sp == null || sp.pattern() == null) {
            return rows * cols * vb;
        }
        return switch (sp.pattern()) {
            case UNSTRUCTURED -> unstructured(rows, cols, sp.fraction(), vb);
            case N_OF_M -> nOfM(rows, cols, sp.n(), sp.m(), vb);
            case ROWS -> (rows - pruned(rows, sp.fraction())) * cols * vb + rows;
            case CHANNELS -> rows * (cols - pruned(cols, sp.fraction())) * vb + cols;
        };
    }

    /** Kept values plus the smaller of a bitmap and CSR (16-bit column indices up to 65536 columns). */
    private static long unstructured(long rows, long cols, double fraction, int valueBits) {
        long kept = rows * cols - pruned(rows * cols, fraction);
        long bitmap = rows * cols;
        long csr = kept * (cols <= 65536 ? 16 : 32) + 32 * (rows + 1);
        return kept * valueBits + Math.min(bitmap, csr);
    }

    /** {@code keep} values per group of {@code m} (a short last group padded) plus the rank of the choice. */
    private static long nOfM(long rows, long cols, int keep, int m, int valueBits) {
        if (m < 2 || keep < 1 || keep >= m) {
            return rows * cols * valueBits;
        }
        long groups = rows * Math.ceilDiv(cols, m);
        return groups * keep * valueBits + groups * rankBits(keep, m);
    }

    /** {@code Sparsity.prunedCount}: {@code floor(units × fraction)}, robust to binary rounding. */
    private static long pruned(long units, double fraction) {
        if (!(fraction > 0)) {
            return 0;
        }
        return Math.min(units, (long) Math.floor(units * Math.min(1, fraction) + 1e-9));
    }

    /** {@code ceil(log2 C(m, n))}, at least 1: the bits of a rank in the combinatorial number system. */
    static int rankBits(int n, int m) {
        java.math.BigInteger c = java.math.BigInteger.ONE;
        for (int i = 0; i < n; i++) {
            c = c.multiply(java.math.BigInteger.valueOf(m - i)).divide(java.math.BigInteger.valueOf(i + 1));
        }
        return Math.max(1, c.subtract(java.math.BigInteger.ONE).bitLength());
    }

    /** {@code LowRankTensor.storedBits}: factor A (rows × r) and B (r × cols), each fp16 or RTN-quantized. */
    private static long lowRank(long rows, long cols, LowRankSettings l) {
        long r = Math.max(0, l.rank());
        long a = l.quantA() == null ? 16 * rows * r : rtn(rows, r, l.quantA());
        long b = l.quantB() == null ? 16 * r * cols : rtn(r, cols, l.quantB());
        return a + b;
    }

    /**
     * The bytes {@code layer}'s weight tensor takes in the model's file: the tensor {@code <layer>.weight} when the
     * model has it, else the layer's stored bytes in proportion of its weights to its parameters.
     */
    public static long weightFileBytes(Model model, LayerInfo layer) {
        Tensor t = model.findTensor(layer.name() + ".weight").orElse(null);
        if (t != null) {
            return StoredSizes.of(model, t);
        }
        long weights = rows(layer) * cols(layer);
        return layer.parameters() == 0 ? 0 : Math.round((double) layer.storedBytes() * weights / layer.parameters());
    }

    /**
     * The summary of per-layer settings on a model (a layer absent from {@code settings} stays as stored).
     *
     * @param layerBits the estimate of each compressed layer, e.g. from {@link #bits(LayerInfo, MethodSettings)};
     *                  layers absent from it are estimated here
     */
    public static Summary summary(Model model, Map<String, MethodSettings> settings, Map<String, Long> layerBits) {
        java.util.List<LayerSize> compressed = new java.util.ArrayList<>();
        for (LayerInfo l : model.layers()) {
            MethodSettings s = settings.get(l.name());
            if (s == null || l.shape().length < 2) {
                continue;
            }
            Long b = layerBits.get(l.name());
            compressed.add(new LayerSize(rows(l) * cols(l), b != null ? b : bits(l, s), weightFileBytes(model, l)));
        }
        return summary(model.storedBytes(), model.parameterCount() * 2, compressed);
    }

    /** {@link #summary(Model, Map, Map)} with every layer estimated here. */
    public static Summary summary(Model model, Map<String, MethodSettings> settings) {
        return summary(model, settings, Map.of());
    }

    /**
     * One compressed layer for {@link #summary(long, long, Iterable)}.
     *
     * @param weights   rows × cols of its weight matrix
     * @param bits      its estimated stored bits
     * @param fileBytes what the weight takes in the model's file now ({@link #weightFileBytes})
     */
    public record LayerSize(long weights, long bits, long fileBytes) {
    }

    /**
     * The summary from figures a caller keeps (an editor that recomputes on every edit need not walk the model):
     * the model's file bytes, its fp16 bytes and the compressed layers.
     */
    public static Summary summary(long fileBytes, long fp16Bytes, Iterable<LayerSize> compressed) {
        long weights = 0;
        long bits = 0;
        long replacedBytes = 0;
        for (LayerSize l : compressed) {
            weights += l.weights();
            bits += l.bits();
            replacedBytes += l.fileBytes();
        }
        long modelBits = (fileBytes - replacedBytes) * 8 + bits;
        return new Summary(weights, bits, weights == 0 ? null : (double) bits / weights, (modelBits + 7) / 8,
                fp16Bytes, fileBytes);
    }
}
