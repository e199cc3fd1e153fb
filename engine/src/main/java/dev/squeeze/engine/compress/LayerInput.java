package dev.squeeze.engine.compress;

/**
 * What a method gets for one layer.
 *
 * @param weight  {@code rows × cols} row-major (out × in), float32; methods never modify it
 * @param hessian the layer Hessian {@code cols × cols} as the references accumulate it
 *                ({@link dev.squeeze.engine.compress.hessian.HessianAccumulator}), or null for data-free methods
 */
public record LayerInput(String layer, float[] weight, int rows, int cols, float[] hessian) {
    public LayerInput {
        if (weight.length != (long) rows * cols) {
            throw new IllegalArgumentException("layer " + layer + ": " + weight.length + " weights for " + rows + " × " + cols);
        }
        if (hessian != null && hessian.length != (long) cols * cols) {
            throw new IllegalArgumentException("layer " + layer + ": Hessian has " + hessian.length + " values for "
                    + cols + " × " + cols);
        }
    }

    /** The Hessian, or a clear error for a method that needs one. */
    public float[] requireHessian(String method) {
        if (hessian == null) {
            throw new dev.squeeze.engine.SqueezeException("Layer " + layer + ": " + method
                    + " needs calibration data (the layer Hessian) and none was collected",
                    "run it with calibration data, or choose a data-free method such as RTN");
        }
        return hessian;
    }
}
