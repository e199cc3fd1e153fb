package dev.squeeze.engine.compress.lowrank;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.QuantizedMatrix;
import dev.squeeze.engine.compress.Restored;
import dev.squeeze.engine.compress.RtnQuantizer;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.kernels.SparseKernels;
import dev.squeeze.engine.nn.LinearOp;

import java.util.Optional;

/**
 * A weight matrix stored as two factors, {@code W ≈ A B} with {@code A} of {@code rows × r} and {@code B} of
 * {@code r × cols}. The values it computes with are exactly the stored ones (fp16-rounded, or dequantized codes).
 *
 * <p>Stored bits: the sum over both factors of
 * <ul>
 *   <li>fp16 factor: {@code 16} bits per value, so {@code 16 r (rows + cols)} for both;</li>
 *   <li>RTN-quantized factor: {@link QuantizedMatrix#storedBits()}: {@code bits} per code, plus per (row, group)
 *       a float32 scale (32 bits) and, when asymmetric, a {@code bits}-wide zero point. {@code A} is quantized in
 *       its {@code rows × r} layout (groups run along r), {@code B} in its {@code r × cols} layout.</li>
 * </ul>
 * Nothing else is stored: no permutation, no index. The rank is metadata of the layer like its shape.
 */
public final class LowRankTensor implements CompressedTensor {
    private static final long serialVersionUID = 1L;
    private static final float FP16_MAX = 65504f;

    private final int rows;
    private final int cols;
    private final int rank;
    private final Factor a;
    private final Factor b;
    private final String description;

    /** One stored factor: its values as computed with, its stored bits, and its codes if quantized. */
    private record Factor(float[] values, long storedBits, QuantizedMatrix quantized) implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        /** {@code r × c} values, and the bits {@link #store} counts for them: fp16 each, or the codes'. */
        void check(String name, int r, int c) {
            Restored.length(values, (long) r * c, "factor " + name);
            if (quantized == null) {
                Restored.require(storedBits == 16L * values.length, "factor " + name + " claims " + storedBits
                        + " bits for " + values.length + " fp16 values");
            } else {
                Restored.require(quantized.rows() == r && quantized.cols() == c
                                && storedBits == quantized.storedBits(),
                        "factor " + name + " is " + r + " × " + c + " in " + storedBits + " bits but its codes are "
                                + quantized.rows() + " × " + quantized.cols() + " in " + quantized.storedBits());
            }
        }
    }

    private LowRankTensor(int rows, int cols, int rank, Factor a, Factor b, String description) {
        this.rows = rows;
        this.cols = cols;
        this.rank = rank;
        this.a = a;
        this.b = b;
        this.description = description;
        Restored.matrix(rows, cols);
        Restored.matrix(rows, rank);
        Restored.matrix(rank, cols);
        Restored.require(a != null && b != null && description != null, "a factor or the description is missing");
        a.check("A", rows, rank);
        b.check("B", rank, cols);
    }

    /** A tensor from a checkpoint passes the constructor's checks like a new one (see {@link Restored}). */
    private Object readResolve() throws java.io.InvalidObjectException {
        return Restored.checked("low-rank tensor", () -> new LowRankTensor(rows, cols, rank, a, b, description));
    }

    /**
     * Rounds (fp16) or quantizes (RTN) the factors for storage.
     *
     * @param quantA RTN settings for {@code A}, or null for fp16
     * @param quantB RTN settings for {@code B}, or null for fp16
     * @throws SqueezeException naming the layer if an fp16 factor holds a value beyond the fp16 range
     */
    public static LowRankTensor of(String layer, LowRankFactors f, RtnSettings quantA, RtnSettings quantB,
                                   String description) {
        Factor fa = store(layer, "A", f.a(), f.rows(), f.rank(), quantA);
        Factor fb = store(layer, "B", f.b(), f.rank(), f.cols(), quantB);
        return new LowRankTensor(f.rows(), f.cols(), f.rank(), fa, fb, description);
    }

    private static Factor store(String layer, String name, double[] values, int r, int c, RtnSettings quant) {
        float[] asFloat = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            asFloat[i] = (float) values[i];
        }
        if (quant != null) {
            QuantizedMatrix q = RtnQuantizer.quantize(layer + " (low-rank factor " + name + ")", asFloat, r, c, quant);
            return new Factor(q.dequantize(), q.storedBits(), q);
        }
        float[] rounded = new float[asFloat.length];
        for (int i = 0; i < asFloat.length; i++) {
            if (Math.abs(asFloat[i]) > FP16_MAX) {
                throw new SqueezeException("Layer " + layer + ": low-rank factor " + name + " holds " + asFloat[i]
                        + ", beyond the fp16 range (±65504)", "quantize factor " + name + " (field 'quant" + name
                        + "'), or leave this layer uncompressed");
            }
            // Rounded via float32: in rare ties this can differ by one fp16 ulp from rounding the double directly;
            // what matters is that we compute with exactly the value we store.
            rounded[i] = Float.float16ToFloat(Float.floatToFloat16(asFloat[i]));
        }
        return new Factor(rounded, 16L * rounded.length, null);
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    public int rank() {
        return rank;
    }

    /**
     * The stored form: each factor either fp16 values ({@code a}/{@code b}, fp16-representable floats) or RTN
     * codes ({@code quantA}/{@code quantB}, then the float array is null).
     */
    public record Parts(int rows, int cols, int rank, float[] a, QuantizedMatrix quantA, float[] b,
                        QuantizedMatrix quantB, String description) {
    }

    public Parts parts() {
        return new Parts(rows, cols, rank, this.a.quantized == null ? this.a.values.clone() : null, this.a.quantized,
                this.b.quantized == null ? this.b.values.clone() : null, this.b.quantized, description);
    }

    /**
     * A tensor from its stored form (a file reader's), through the same checks as a new one: a quantized factor
     * computes with its codes' dequantized values, as when it was made.
     *
     * @throws IllegalArgumentException saying what is inconsistent
     */
    public static LowRankTensor fromParts(Parts p) {
        return new LowRankTensor(p.rows(), p.cols(), p.rank(), restore("A", p.a(), p.quantA()),
                restore("B", p.b(), p.quantB()), p.description());
    }

    private static Factor restore(String name, float[] values, QuantizedMatrix quantized) {
        Restored.require((values == null) != (quantized == null), "factor " + name
                + " must be either fp16 values or codes");
        if (quantized != null) {
            return new Factor(quantized.dequantize(), quantized.storedBits(), quantized);
        }
        for (float v : values) {
            Restored.require(Float.floatToRawIntBits(Float.float16ToFloat(Float.floatToFloat16(v)))
                    == Float.floatToRawIntBits(v), "factor " + name + " holds " + v + ", not an fp16 value");
        }
        return new Factor(values.clone(), 16L * values.length, null);
    }

    /** Factor {@code A}, {@code rows × rank} row-major, as stored (fp16 values or dequantized codes; a copy). */
    public float[] a() {
        return a.values.clone();
    }

    /** Factor {@code B}, {@code rank × cols} row-major, as stored (a copy). */
    public float[] b() {
        return b.values.clone();
    }

    /** The codes of {@code A} if it is quantized. */
    public Optional<QuantizedMatrix> quantizedA() {
        return Optional.ofNullable(a.quantized);
    }

    /** The codes of {@code B} if it is quantized. */
    public Optional<QuantizedMatrix> quantizedB() {
        return Optional.ofNullable(b.quantized);
    }

    @Override
    public long storedBits() {
        return a.storedBits + b.storedBits;
    }

    /** {@code A B}, accumulated in double and rounded once to float. */
    @Override
    public float[] dequantize() {
        float[] w = new float[rows * cols];
        double[] row = new double[cols];
        for (int i = 0; i < rows; i++) {
            java.util.Arrays.fill(row, 0.0);
            for (int k = 0; k < rank; k++) {
                double aik = a.values[i * rank + k];
                int bk = k * cols;
                for (int j = 0; j < cols; j++) {
                    row[j] += aik * b.values[bk + j];
                }
            }
            for (int j = 0; j < cols; j++) {
                w[i * cols + j] = (float) row[j];
            }
        }
        return w;
    }

    /** {@code y = A (B x)}: {@code r (rows + cols)} multiply-adds per input instead of {@code rows × cols}. */
    @Override
    public LinearOp asLinearOp() {
        return asLinearOp(SparseKernels.preferred());
    }

    /** As {@link #asLinearOp()} on the given backend (the Java one multiplies with {@code FastDenseLinear}). */
    public LinearOp asLinearOp(SparseKernels.Backend backend) {
        return new LowRankLinear(rows, cols, rank, a.values, b.values, description, backend);
    }

    @Override
    public String describe() {
        return description;
    }
}
