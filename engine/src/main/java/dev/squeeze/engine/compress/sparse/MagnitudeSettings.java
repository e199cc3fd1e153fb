package dev.squeeze.engine.compress.sparse;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;

/**
 * Magnitude pruning settings.
 *
 * @param sparsity  unstructured (per matrix), N:M, whole output rows or whole input channels
 * @param valueBits kept values in fp16 (16, the default) or fp32 (32)
 */
public record MagnitudeSettings(Sparsity sparsity, int valueBits) implements MethodSettings {
    private static final long serialVersionUID = 1L;
    public static MagnitudeSettings of(Sparsity sparsity) {
        return new MagnitudeSettings(sparsity, 16);
    }

    @Override
    public String method() {
        return "magnitude";
    }

    @Override
    public void validate(String layer, int rows, int cols) {
        if (sparsity == null) {
            throw new SqueezeException("Layer " + layer + ": field 'sparsity' of magnitude is missing",
                    "give a fraction such as 0.5, an N:M pattern such as 2:4, or rows/channels with a fraction");
        }
        sparsity.validate("magnitude", layer, rows, cols);
        if (valueBits != 16 && valueBits != 32) {
            throw new SqueezeException("Layer " + layer + ": field 'valueBits' of magnitude is " + valueBits
                    + "; kept values are stored as fp16 (16) or fp32 (32)", "use 16");
        }
    }

    @Override
    public String describe() {
        return "magnitude " + (sparsity == null ? "?" : sparsity.describe()) + (valueBits == 32 ? " fp32" : "");
    }
}
