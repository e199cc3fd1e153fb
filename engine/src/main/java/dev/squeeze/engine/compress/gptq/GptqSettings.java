package dev.squeeze.engine.compress.gptq;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;

/**
 * GPTQ settings (ALGORITHMS.md, "GPTQ"; IST-DASLab/gptq {@code fasterquant}).
 *
 * @param bits           code width, 2 to 8
 * @param groupSize      columns per quantization group, or {@code 0} for one group per row (the reference's
 *                       {@code groupsize=-1}); a group wider than the row is one group per row
 * @param symmetric      symmetric range (zero point implied, {@code (maxq+1)/2}) or asymmetric (stored zero point)
 * @param actOrder       process columns by decreasing Hessian diagonal ({@code --act-order}); with dynamic groups
 *                       the result needs a column→group index ({@code g_idx})
 * @param staticGroups   fit every group's parameters up front on the (dead-zeroed) original weights, in original
 *                       column order ({@code --static-groups}); needs a group size
 * @param percdamp       dampening, as a fraction of the mean Hessian diagonal added to the diagonal (reference
 *                       default 0.01)
 * @param blockSize      columns per lazy-update block (reference default 128)
 * @param groupParams    where dynamic group parameters are fitted; see {@link GroupParams}
 * @param scalePrecision how scales are stored; see {@link ScalePrecision}
 */
public record GptqSettings(int bits, int groupSize, boolean symmetric, boolean actOrder, boolean staticGroups,
                           double percdamp, int blockSize, GroupParams groupParams, ScalePrecision scalePrecision)
        implements MethodSettings {
    private static final long serialVersionUID = 1L;

    public static final double DEFAULT_PERCDAMP = 0.01;
    public static final int DEFAULT_BLOCK_SIZE = 128;

    /**
     * Where the parameters of a dynamic group (one that is not {@code staticGroups}) are fitted when the group starts
     * inside a 128-column block. Per-row and static-group parameters are fitted once up front and are the same in
     * both modes.
     */
    public enum GroupParams {
        /**
         * As the reference code: on the global {@code W[:, c:c+g]}, which is only updated at block boundaries, so a
         * group starting inside a block is fitted on weights that lack the error feedback of the block's earlier
         * columns. Use it to reproduce the reference bit for bit.
         */
        REFERENCE,
        /**
         * On the current weights, as if there were no blocks: the in-block columns as already updated, and any
         * columns past the block with the block's pending update applied. The parameters then fit the values that
         * are actually quantized; the result no longer depends on the block size. The default.
         */
        UPDATED
    }

    /** The stored precision of the per-group scales (and so the precision GPTQ quantizes against). */
    public enum ScalePrecision {
        /** IEEE half precision, as GPTQ checkpoints store them and as ALGORITHMS.md's cost counts them. Default. */
        FP16,
        /** Float32, as the reference keeps them in memory; counted at 32 bits. */
        FP32
    }

    /** The usual GPTQ: asymmetric, no act-order, dynamic groups fitted on updated weights, fp16 scales. */
    public static GptqSettings of(int bits, int groupSize) {
        return new GptqSettings(bits, groupSize, false, false, false, DEFAULT_PERCDAMP, DEFAULT_BLOCK_SIZE,
                GroupParams.UPDATED, ScalePrecision.FP16);
    }

    /** Exactly what the reference computes for these options (its group quirk, float32 scales). */
    public static GptqSettings reference(int bits, int groupSize, boolean symmetric, boolean actOrder,
                                         boolean staticGroups) {
        return new GptqSettings(bits, groupSize, symmetric, actOrder, staticGroups, DEFAULT_PERCDAMP,
                DEFAULT_BLOCK_SIZE, GroupParams.REFERENCE, ScalePrecision.FP32);
    }

    public GptqSettings withActOrder(boolean on) {
        return new GptqSettings(bits, groupSize, symmetric, on, staticGroups, percdamp, blockSize, groupParams,
                scalePrecision);
    }

    public GptqSettings withStaticGroups(boolean on) {
        return new GptqSettings(bits, groupSize, symmetric, actOrder, on, percdamp, blockSize, groupParams,
                scalePrecision);
    }

    public GptqSettings withSymmetric(boolean on) {
        return new GptqSettings(bits, groupSize, on, actOrder, staticGroups, percdamp, blockSize, groupParams,
                scalePrecision);
    }

    public GptqSettings withPercdamp(double value) {
        return new GptqSettings(bits, groupSize, symmetric, actOrder, staticGroups, value, blockSize, groupParams,
                scalePrecision);
    }

    public GptqSettings withBlockSize(int value) {
        return new GptqSettings(bits, groupSize, symmetric, actOrder, staticGroups, percdamp, value, groupParams,
                scalePrecision);
    }

    public GptqSettings withGroupParams(GroupParams value) {
        return new GptqSettings(bits, groupSize, symmetric, actOrder, staticGroups, percdamp, blockSize, value,
                scalePrecision);
    }

    public GptqSettings withScalePrecision(ScalePrecision value) {
        return new GptqSettings(bits, groupSize, symmetric, actOrder, staticGroups, percdamp, blockSize, groupParams,
                value);
    }

    @Override
    public String method() {
        return "gptq";
    }

    @Override
    public void validate(String layer, int rows, int cols) {
        if (bits < 2 || bits > 8) {
            throw bad(layer, "bits", bits + "; GPTQ supports 2 to 8 bits", "choose a width between 2 and 8");
        }
        if (groupSize < 0) {
            throw bad(layer, "groupSize", groupSize + "; it must be positive, or 0 for one group per row",
                    "use e.g. 128, or 0 for per-row");
        }
        if (staticGroups && groupSize == 0) {
            throw bad(layer, "staticGroups", "on, but groupSize is 0 (per row): there are no groups to fix",
                    "set a group size, or turn staticGroups off");
        }
        if (!(percdamp >= 0) || Double.isInfinite(percdamp)) {
            throw bad(layer, "percdamp", percdamp + "; it must be a finite number ≥ 0",
                    "use the reference's 0.01");
        }
        if (blockSize < 1) {
            throw bad(layer, "blockSize", blockSize + "; it must be at least 1", "use the reference's 128");
        }
        if (groupParams == null) {
            throw bad(layer, "groupParams", "missing", "use UPDATED (or REFERENCE to reproduce the reference)");
        }
        if (scalePrecision == null) {
            throw bad(layer, "scalePrecision", "missing", "use FP16 (or FP32)");
        }
        if (rows < 1 || cols < 1) {
            throw bad(layer, "shape", rows + " × " + cols + ", which has no weights",
                    "compress only layers with weights");
        }
    }

    private static SqueezeException bad(String layer, String field, String what, String fix) {
        return new SqueezeException("Layer " + layer + ": GPTQ field '" + field + "' is " + what, fix);
    }

    @Override
    public String describe() {
        StringBuilder b = new StringBuilder("GPTQ ").append(bits).append("-bit ").append(symmetric ? "sym" : "asym")
                .append(' ').append(groupSize == 0 ? "per-row" : "g" + groupSize);
        if (actOrder) {
            b.append(" act-order");
        }
        if (staticGroups) {
            b.append(" static-groups");
        }
        if (groupParams == GroupParams.REFERENCE && groupSize > 0 && !staticGroups) {
            b.append(" reference-groups");
        }
        return b.append(scalePrecision == ScalePrecision.FP16 ? " (fp16 scales)" : " (fp32 scales)").toString();
    }

    @Override
    public boolean needsCalibration() {
        return true;
    }
}
