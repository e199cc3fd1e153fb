package dev.squeeze.engine.compress;

/**
 * What a method gets for one layer.
 *
 * @param weight  {@code rows × cols} row-major (out × in), float32; methods never modify it
 * @param hessian the layer Hessian {@code cols × cols} as the references accumulate it
 *                ({@link dev.squeeze.engine.compress.hessian.HessianAccumulator}), or null for data-free methods
 * @param fisher  the empirical Fisher diagonal of the weight, {@code rows × cols} row-major: squared gradients of
 *                the calibration loss summed over the calibration samples
 *                ({@link dev.squeeze.engine.nn.grad.FisherDiagonals}), or null when none was computed (only
 *                methods that ask for it get it)
 */
public record LayerInput(String layer, float[] weight, int rows, int cols, float[] hessian, float[] fisher) {
    public LayerInput {
        if (weight.length != (long) rows * cols) {
            throw new IllegalArgumentException("layer " + layer + ": " + weight.length + " weights for " + rows + " × " + cols);
        }
        if (hessian != null && hessian.length != (long) cols * cols) {
            throw new IllegalArgumentException("layer " + layer + ": Hessian has " + hessian.length + " values for "
                    + cols + " × " + cols);
        }
        if (fisher != null && fisher.length != (long) rows * cols) {
            throw new IllegalArgumentException("layer " + layer + ": Fisher diagonal has " + fisher.length
                    + " values for " + rows + " × " + cols);
        }
    }

    /** A layer without Fisher information. */
    public LayerInput(String layer, float[] weight, int rows, int cols, float[] hessian) {
        this(layer, weight, rows, cols, hessian, null);
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

    /** The Fisher diagonal, or a clear error for a method that needs one. */
    public float[] requireFisher(String method) {
        if (fisher == null) {
            throw new dev.squeeze.engine.SqueezeException("Layer " + layer + ": " + method
                    + " needs the Fisher information of the layer's weights (gradients of the loss on calibration"
                    + " data) and none was computed",
                    "run it as a language-model compression with calibration data (the Fisher diagonals are"
                            + " computed on the dense model), or choose the low-rank variant 'whitened' or 'svd'");
        }
        return fisher;
    }
}
