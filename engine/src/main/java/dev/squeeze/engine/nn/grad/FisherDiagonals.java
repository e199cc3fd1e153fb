package dev.squeeze.engine.nn.grad;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per-weight empirical Fisher diagonals: for each layer, {@code F_ij = Σ_s (∂loss_s/∂W_ij)²} summed over
 * {@code samples} calibration samples (not divided by their number), {@code out × in} row-major like the weight.
 *
 * @param sums     layer name → summed squared gradients (float32; accumulated in double)
 * @param samples  the number of samples summed (≥ 1)
 * @param meanLoss the mean of the samples' losses (nats), for reports
 */
public record FisherDiagonals(Map<String, float[]> sums, int samples, double meanLoss) {
    public FisherDiagonals {
        if (samples < 1) {
            throw new IllegalArgumentException("Fisher diagonals need at least one sample, got " + samples);
        }
        sums = Collections.unmodifiableMap(new LinkedHashMap<>(sums));
    }

    /** The summed diagonal of {@code layer}, or null when none was computed for it. */
    public float[] of(String layer) {
        return sums.get(layer);
    }

    /** The mean diagonal of {@code layer} ({@code F / samples}, a new array), or null. */
    public float[] mean(String layer) {
        float[] f = sums.get(layer);
        if (f == null) {
            return null;
        }
        float[] m = new float[f.length];
        for (int i = 0; i < f.length; i++) {
            m[i] = f[i] / samples;
        }
        return m;
    }
}
