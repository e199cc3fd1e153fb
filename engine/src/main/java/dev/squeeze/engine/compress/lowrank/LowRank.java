package dev.squeeze.engine.compress.lowrank;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.CompressionMethod;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;

/**
 * Low-rank factorisation {@code W ≈ A B} as a {@link CompressionMethod} ({@code lowrank}); the variant
 * ({@link LowRankVariant}) picks the factors, the settings pick how they are stored.
 *
 * <p>Quantizing the factors: RTN now ({@link LowRankSettings#quantA()}, {@link LowRankSettings#quantB()}). GPTQ
 * plugs in without new statistics: {@code B} is an ordinary linear layer on the same input {@code x}, so
 * GPTQ on {@code B} ({@code r × cols}) uses the layer Hessian H unchanged; {@code A} then sees
 * {@code t = B̂ x}, whose Hessian is {@code B̂ H B̂ᵀ} ({@code r × r}), so GPTQ on {@code A} runs second with it —
 * the two-layer case of GPTQ's sequential order.
 */
public final class LowRank implements CompressionMethod {
    @Override
    public String name() {
        return "lowrank";
    }

    @Override
    public Class<? extends MethodSettings> settingsType() {
        return LowRankSettings.class;
    }

    @Override
    public CompressedTensor compress(LayerInput input, MethodSettings settings) {
        LowRankSettings s = (LowRankSettings) settings;
        // Cheap, and it keeps a direct caller's bad rank a SqueezeException rather than a failure deep inside.
        s.validate(input.layer(), input.rows(), input.cols());
        float[] h = s.variant().needsHessian() ? input.requireHessian("low-rank " + s.variant().label()) : null;
        float[] fisher = s.variant().needsFisher() ? input.requireFisher("low-rank " + s.variant().label()) : null;
        LowRankFactors f = LowRankFactors.compute(input.layer(), input.weight(), input.rows(), input.cols(), h,
                fisher, s.variant(), s.rank(), s.percdamp());
        return LowRankTensor.of(input.layer(), f, s.quantA(), s.quantB(), s.describe());
    }
}
