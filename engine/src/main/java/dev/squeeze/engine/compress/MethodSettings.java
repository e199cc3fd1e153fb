package dev.squeeze.engine.compress;

/** The settings of one compression method for one layer (a record per method, e.g. {@link RtnSettings}). */
public interface MethodSettings extends java.io.Serializable {
    /** The method's registry name, e.g. {@code rtn}, {@code gptq}. */
    String method();

    /**
     * Checks the settings against a layer of {@code rows × cols} before any work starts; throws a
     * {@link dev.squeeze.engine.SqueezeException} naming the layer and the field.
     */
    void validate(String layer, int rows, int cols);

    /** A short human description, e.g. {@code GPTQ 4-bit g128 act-order}. */
    String describe();

    /** Whether the method needs calibration data (the layer's Hessian); data-free methods (RTN, magnitude) do not. */
    default boolean needsCalibration() {
        return false;
    }
}
