package dev.squeeze.engine.search;

import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.plan.SettingsJson;

/**
 * One candidate setting of one layer in a search: a method's settings (or the layer kept dense) and exactly how
 * many bits the layer takes stored that way.
 *
 * @param settings the settings, or null for the layer kept dense (as stored in the model file)
 * @param key      the canonical identity of the setting: {@link #DENSE}, or the settings' canonical JSON
 * @param bits     every stored bit of the layer at this level (codes, scales, zeros, indices, factors), exactly
 *                 what its {@code CompressedTensor.storedBits()} gives; for dense, the weight at its stored type
 */
public record Level(MethodSettings settings, String key, long bits) {
    /** The key of the dense level. */
    public static final String DENSE = "dense";

    public Level {
        if (bits <= 0) {
            throw new IllegalArgumentException("a level takes at least one bit, not " + bits);
        }
        if (key == null || key.isBlank()) {
            throw new IllegalArgumentException("a level needs a key");
        }
    }

    /** The canonical key of a setting (null: dense): sorted-key JSON as plans store it. */
    public static String keyOf(MethodSettings settings) {
        return settings == null ? DENSE : CompressionPlan.canonicalJson(SettingsJson.write(settings));
    }

    public static Level of(MethodSettings settings, long bits) {
        return new Level(settings, keyOf(settings), bits);
    }

    public boolean dense() {
        return settings == null;
    }

    /** A short description, e.g. {@code GPTQ 3-bit g32} or {@code dense}. */
    public String describe() {
        return settings == null ? "dense" : settings.describe();
    }
}
