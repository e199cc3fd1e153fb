package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;

/**
 * The second-order (diagonal Fisher) estimate of how much the mean calibration loss grows when a layer's weights
 * {@code W} are replaced by {@code Ŵ}: {@code ΔL ≈ ½ Σ_ij F̄_ij (W_ij − Ŵ_ij)²} with {@code F̄ = F / samples}
 * the mean empirical Fisher diagonal (at a minimum of the loss the gradient term vanishes and the Fisher stands in
 * for the Hessian). A sensitivity proxy in nats per prediction, comparable across layers and with the measured
 * change of the loss or the KL divergence to the dense model; summed over layers it assumes the layers' errors do
 * not interact.
 */
public final class FisherProxy {
    private FisherProxy() {
    }

    /**
     * {@code ½ Σ F_ij (W_ij − Ŵ_ij)² / samples}.
     *
     * @param fisherSum summed squared gradients ({@link FisherDiagonals#of})
     * @param samples   the number of samples summed
     */
    public static double lossIncrease(String layer, float[] fisherSum, int samples, float[] weight, float[] approx) {
        if (fisherSum == null) {
            throw new SqueezeException("Layer " + layer + ": no Fisher information was computed for it",
                    "compute the Fisher diagonals (calibration data) for every layer whose sensitivity is asked");
        }
        if (fisherSum.length != weight.length || approx.length != weight.length) {
            throw new IllegalArgumentException("layer " + layer + ": Fisher " + fisherSum.length + ", weight "
                    + weight.length + " and approximation " + approx.length + " values differ");
        }
        if (samples < 1) {
            throw new IllegalArgumentException("samples must be positive, got " + samples);
        }
        double acc = 0;
        for (int i = 0; i < weight.length; i++) {
            double d = (double) weight[i] - approx[i];
            acc += fisherSum[i] * d * d;
        }
        return 0.5 * acc / samples;
    }

    /** {@link #lossIncrease(String, float[], int, float[], float[])} with the layer's diagonal from {@code f}. */
    public static double lossIncrease(FisherDiagonals f, String layer, float[] weight, float[] approx) {
        return lossIncrease(layer, f.of(layer), f.samples(), weight, approx);
    }
}
