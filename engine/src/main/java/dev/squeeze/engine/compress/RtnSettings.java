package dev.squeeze.engine.compress;

import dev.squeeze.engine.SqueezeException;

/**
 * Round-to-nearest quantization settings.
 *
 * @param bits      2 to 8
 * @param groupSize columns per group; {@code 0} means one group per row ("per-row"), as does a group wider than
 *                  the row (so g128 applies to a 64-column layer)
 * @param symmetric symmetric range around zero (the zero point is implied) or asymmetric (stored zero point)
 */
public record RtnSettings(int bits, int groupSize, boolean symmetric) implements MethodSettings {
    private static final long serialVersionUID = 1L;
    public static RtnSettings perRow(int bits) {
        return new RtnSettings(bits, 0, false);
    }

    @Override
    public String method() {
        return "rtn";
    }

    @Override
    public void validate(String layer, int rows, int cols) {
        validate(layer);
    }

    /** Checks the settings for a layer, naming the layer and field in the error. */
    public void validate(String layer) {
        if (bits < 2 || bits > 8) {
            throw new SqueezeException("Layer " + layer + ": field 'bits' is " + bits + "; RTN supports 2 to 8 bits",
                    "choose a width between 2 and 8");
        }
        if (groupSize < 0) {
            throw new SqueezeException("Layer " + layer + ": field 'groupSize' is " + groupSize
                    + "; it must be positive, or 0 for per-row", "use e.g. 128, or 0 for one group per row");
        }
    }

    @Override
    public String describe() {
        return "RTN " + bits + "-bit " + (symmetric ? "sym" : "asym") + " " + (groupSize == 0 ? "per-row" : "g" + groupSize);
    }
}
