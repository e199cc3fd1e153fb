package dev.squeeze.app.search;

import dev.squeeze.engine.model.Model;

import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Where the workbench gets per-layer sensitivity: the engine's measurement and its cache in the results database.
 * Both calls run on a background thread (never the FX thread) and may throw
 * {@link dev.squeeze.engine.SqueezeException} with a message for the user.
 */
public interface SensitivitySource {
    /** What {@link #compute} reports as it goes: {@code done} of {@code total} measurements, and what it does now. */
    @FunctionalInterface
    interface Progress {
        void report(long done, long total, String what);
    }

    /** The sensitivity of {@code model} already stored for its calibration data; {@link SensitivityTable#EMPTY} if none. */
    SensitivityTable stored(Model model);

    /**
     * Measures the sensitivity of every layer of {@code model} at every candidate level of {@code methods} (the
     * families of {@code search.SearchSpec#FAMILIES} the model's data allows), reusing what is stored and storing
     * what it measures. Stops soon after {@code cancelled} turns true, keeping what it stored, and returns what is
     * known then.
     */
    SensitivityTable compute(Model model, List<String> methods, Progress progress, BooleanSupplier cancelled);
}
