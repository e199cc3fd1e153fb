package dev.squeeze.engine.kernels;

/**
 * Group-quantized int4 matrix-vector product {@code y = W x}, optionally over a small batch of vectors.
 *
 * <h2>Format (the single definition; the C kernel in native-kernels follows it)</h2>
 * <ul>
 *   <li>{@code W} has {@code rows} x {@code cols}: {@code x} has {@code cols} entries, {@code y} has
 *       {@code rows} entries.</li>
 *   <li><b>Codes</b>: one unsigned 4-bit code {@code q[r][c]} in {@code 0..15} per weight, packed two per
 *       byte, row-major. Row {@code r} starts at byte {@code r * ceil(cols / 2)} (the row stride; when
 *       {@code cols} is odd the last byte of each row uses only its low nibble, and the high nibble is
 *       ignored). Column {@code c} is in byte {@code r * ceil(cols / 2) + c / 2}; an <em>even</em>
 *       column is the <em>low</em> nibble ({@code byte & 0x0F}), an odd column the high nibble
 *       ({@code (byte >> 4) & 0x0F}). {@code codes.length == rows * ceil(cols / 2)}.</li>
 *   <li><b>Groups</b>: the columns of each row are split into groups of {@code groupSize} consecutive
 *       columns, group {@code g = c / groupSize}; {@code ngroups = ceil(cols / groupSize)}. The last group
 *       is partial when {@code cols % groupSize != 0}; {@code groupSize > cols} gives one partial group.</li>
 *   <li><b>Scales and zeros</b>: one float32 {@code scale[r][g]} and one float32 {@code zero[r][g]} per
 *       (row, group), each stored {@code [rows][ngroups]} row-major at index {@code r * ngroups + g}.
 *       {@code scales.length == zeros.length == rows * ngroups}. Zeros are floats, so fractional and
 *       out-of-range zero points are allowed.</li>
 *   <li><b>Dequantized weight</b>: {@code W[r][c] = scale[r][g] * (q[r][c] - zero[r][g])}, computed in
 *       float32.</li>
 *   <li><b>Batch</b>: {@code x} is {@code [batch][cols]} row-major ({@code x.length == batch * cols}),
 *       {@code y} is {@code [batch][rows]} ({@code y.length == batch * rows}), and
 *       {@code y[b][r] = sum over c of W[r][c] * x[b][c]}. A mat-vec is {@code batch == 1}.</li>
 * </ul>
 * Every dimension must be at least 1; {@code x} and {@code y} must be different arrays. A call overwrites
 * all of {@code y} and does not modify anything else.
 *
 * <h2>Accuracy</h2>
 * Implementations may sum in any order and in float32 (the native kernel factors the zero point out:
 * {@code scale * (sum q x - zero * sum x)}), so results agree with {@link JavaInt4MatVec} only up to
 * float rounding relative to {@code sum |scale| (q + |zero|) |x|}; see the tests for the tolerance.
 *
 * <p>Get an instance from {@link Kernels#int4MatVec()}, which picks the fastest backend that passes its
 * self-test. Implementations are stateless and thread-safe.
 */
public interface Int4MatVec {

    /** Short backend description for logs and run provenance, e.g. {@code "java"} or {@code "native-avx2"}. */
    String name();

    /**
     * Computes {@code y = W x} for each of the {@code batch} vectors packed in {@code x}.
     *
     * @throws IllegalArgumentException if a length or dimension does not match the format above; the
     *         message names the field
     */
    void multiply(Int4Matrix w, float[] x, float[] y, int batch);

    /** A single mat-vec: {@code x.length == w.cols()}, {@code y.length == w.rows()}. */
    default void multiply(Int4Matrix w, float[] x, float[] y) {
        multiply(w, x, y, 1);
    }
}
