package dev.squeeze.engine.compress.sparse;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;

/**
 * SparseGPT settings.
 *
 * @param sparsity  unstructured (a fraction in (0, 1)) or N:M (keep N of every M, any N &lt; M); the structured
 *                  patterns are magnitude pruning's only
 * @param bits      how kept values are stored: 16 (fp16, the default), 32 (fp32, as the reference keeps them), or
 *                  2 to 8 for joint sparsity + quantization (asymmetric, GPTQ's quantizer, parameters fitted once
 *                  up front on the unpruned weights, as the reference does)
 * @param groupSize with 2–8 bits: columns per quantizer group, 0 for one quantizer per row (the reference's
 *                  only option, fitted up front on the unpruned W). Groups are our extension: each is fitted when
 *                  the loop reaches its first column, on the current error-updated weights (GPTQ's dynamic
 *                  groups); the block size must be a multiple of the group size so that no group straddles
 *                  two blocks. A group wider than the row is one group per row (fitted at column 0, on the current weights)
 * @param percdamp  dampening, a fraction of mean(diag H) added to the diagonal (reference default 0.01)
 * @param blockSize columns per lazy-update block (reference default 128); with N:M it must be a multiple of M so
 *                  that no group straddles two blocks
 * @param mode      {@link Mode#DEFAULT} or {@link Mode#REFERENCE}, which reproduces the reference's quirks
 */
public record SparseGptSettings(Sparsity sparsity, int bits, int groupSize, double percdamp, int blockSize, Mode mode)
        implements MethodSettings {
    private static final long serialVersionUID = 1L;

    /**
     * What differs between our default and the reference (IST-DASLab/sparsegpt, sparsegpt.py):
     * <ul>
     *   <li>Unstructured: per 128-column block the reference takes {@code thresh = sorted(scores)[int(n·s)]} and
     *       prunes {@code scores <= thresh}, i.e. {@code floor(n·s) + 1} weights (more on ties). The default
     *       prunes exactly the target: {@code floor(rows·i2·s) − floor(rows·i1·s)} for block {@code [i1, i2)},
     *       so the whole matrix loses exactly {@code floor(rows·cols·s)}, ties broken by position.</li>
     *   <li>N:M: the reference prunes {@code topk(scores, prunen, largest=False)}, i.e. N of every M, which is
     *       "keep N of M" only when N = M − N (2:4, 4:8). The default keeps exactly N (prunes M − N). In reference
     *       mode the method does what the reference does: it keeps M − N per group, and the tensor is stored as
     *       (M − N):M. (A last group shorter than M, which the reference cases never have, follows the padding
     *       rule of {@link Sparsity} in both modes.)</li>
     *   <li>Joint quantization: the reference fits the quantizer on W before dead columns are zeroed; the default
     *       fits it on the dead-zeroed W (dead inputs never reach the output, so their weights should not widen
     *       the range).</li>
     * </ul>
     */
    public enum Mode { DEFAULT, REFERENCE }

    public static final double DEFAULT_PERCDAMP = 0.01;
    public static final int DEFAULT_BLOCK_SIZE = 128;

    /** SparseGPT with the reference's dampening and block size, fp16 values, default mode. */
    public static SparseGptSettings of(Sparsity sparsity) {
        return new SparseGptSettings(sparsity, 16, 0, DEFAULT_PERCDAMP, DEFAULT_BLOCK_SIZE, Mode.DEFAULT);
    }

    /** Joint sparsity and {@code bits}-bit per-row quantization. */
    public static SparseGptSettings quantized(Sparsity sparsity, int bits) {
        return new SparseGptSettings(sparsity, bits, 0, DEFAULT_PERCDAMP, DEFAULT_BLOCK_SIZE, Mode.DEFAULT);
    }

    public SparseGptSettings withMode(Mode m) {
        return new SparseGptSettings(sparsity, bits, groupSize, percdamp, blockSize, m);
    }

    public SparseGptSettings withBits(int b) {
        return new SparseGptSettings(sparsity, b, groupSize, percdamp, blockSize, mode);
    }

    public boolean quantized() {
        return bits <= 8;
    }

    @Override
    public String method() {
        return "sparsegpt";
    }

    @Override
    public void validate(String layer, int rows, int cols) {
        if (sparsity == null) {
            throw new SqueezeException("Layer " + layer + ": field 'sparsity' of sparsegpt is missing",
                    "give an unstructured fraction such as 0.5 or an N:M pattern such as 2:4");
        }
        sparsity.validate("sparsegpt", layer, rows, cols);
        if (sparsity.pattern() == Sparsity.Pattern.ROWS || sparsity.pattern() == Sparsity.Pattern.CHANNELS) {
            throw new SqueezeException("Layer " + layer + ": field 'sparsity' of sparsegpt is " + sparsity.describe()
                    + "; SparseGPT prunes unstructured or N:M", "use magnitude pruning for whole rows or channels");
        }
        if (!(bits >= 2 && bits <= 8) && bits != 16 && bits != 32) {
            throw new SqueezeException("Layer " + layer + ": field 'bits' of sparsegpt is " + bits
                    + "; kept values are 2 to 8-bit codes, or 16 (fp16) or 32 (fp32) floats",
                    "use 16 for plain sparsity, or 2 to 8 to quantize the kept weights as well");
        }
        if (groupSize < 0) {
            throw new SqueezeException("Layer " + layer + ": field 'groupSize' of sparsegpt is " + groupSize
                    + "; it must be positive, or 0 for one quantizer per row", "use e.g. 128, or 0");
        }
        if (groupSize > 0 && !quantized()) {
            throw new SqueezeException("Layer " + layer + ": field 'groupSize' of sparsegpt is " + groupSize
                    + " but bits is " + bits + "; groups apply only to quantized values", "set groupSize to 0");
        }
        if (!(percdamp >= 0) || Double.isInfinite(percdamp)) {
            throw new SqueezeException("Layer " + layer + ": field 'percdamp' of sparsegpt is " + percdamp
                    + "; it must be a finite number ≥ 0", "use 0.01, the reference's default");
        }
        if (blockSize < 1) {
            throw new SqueezeException("Layer " + layer + ": field 'blockSize' of sparsegpt is " + blockSize
                    + "; it must be positive", "use 128, the reference's default");
        }
        // A group at least as wide as the row is one group, fitted at column 0 before any update: no block can
        // split it, so any block size will do.
        if (groupSize > 0 && groupSize < cols && blockSize % groupSize != 0) {
            throw new SqueezeException("Layer " + layer + ": field 'blockSize' of sparsegpt is " + blockSize
                    + ", not a multiple of groupSize " + groupSize + ", so a quantizer group would straddle two"
                    + " blocks", "use blockSize " + Math.max(groupSize, blockSize - blockSize % groupSize));
        }
        if (sparsity.isNOfM() && blockSize % sparsity.m() != 0) {
            int suggestion = Math.max(sparsity.m(), blockSize - blockSize % sparsity.m());
            throw new SqueezeException("Layer " + layer + ": field 'blockSize' of sparsegpt is " + blockSize
                    + ", not a multiple of M = " + sparsity.m() + ", so an N:M group would straddle two blocks",
                    "use blockSize " + suggestion);
        }
        if (mode == null) {
            throw new SqueezeException("Layer " + layer + ": field 'mode' of sparsegpt is missing",
                    "use DEFAULT, or REFERENCE to reproduce the reference implementation's quirks");
        }
    }

    @Override
    public String describe() {
        String values = quantized() ? " + " + bits + "-bit " + (groupSize == 0 ? "per-row" : "g" + groupSize)
                : bits == 32 ? " fp32" : "";
        return "SparseGPT " + (sparsity == null ? "?" : sparsity.describe()) + values
                + (mode == Mode.REFERENCE ? " (reference mode)" : "");
    }

    @Override
    public boolean needsCalibration() {
        return true;
    }
}
