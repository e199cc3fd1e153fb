package dev.squeeze.app.search;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What is known of a model's per-layer sensitivity: for each layer and candidate level (the level's canonical key,
 * {@code search.Level#keyOf}), the level's stored bits and the KL divergence to the dense model on calibration data
 * when only that layer takes the level. The plan editor's sensitivity column looks a row's current setting up here
 * ({@link #deltaKl}); the sensitivity chart draws it.
 *
 * <p>Immutable; built from every measured (layer, level), in the order measured (layers in model order).
 */
public final class SensitivityTable {
    /** No sensitivity known. */
    public static final SensitivityTable EMPTY = new SensitivityTable(List.of());

    /**
     * One measurement.
     *
     * @param layer   the layer's name as the model has it
     * @param key     the level's canonical key ({@code dense}, or the settings' canonical JSON)
     * @param level   the level in a few words ({@code GPTQ 3-bit g32})
     * @param bits    every stored bit of the layer at this level
     * @param weights the layer's weight count (bits / weights = bits per weight)
     * @param deltaKl KL divergence to the dense model's outputs on calibration data with only this layer changed
     */
    public record Entry(String layer, String key, String level, long bits, long weights, double deltaKl) {
        public Entry {
            if (layer == null || key == null || level == null) {
                throw new IllegalArgumentException("a sensitivity entry needs a layer, a key and a level");
            }
        }

        public double bitsPerWeight() {
            return weights <= 0 ? 0 : (double) bits / weights;
        }
    }

    /** A level as the chart's choice lists it: its key, its words and its mean bits per weight over the layers. */
    public record LevelChoice(String key, String level, double bitsPerWeight) {
        @Override
        public String toString() {
            return level;
        }
    }

    private final List<Entry> entries;
    private final Map<String, Entry> index = new HashMap<>();

    public SensitivityTable(List<Entry> entries) {
        this.entries = List.copyOf(entries);
        for (Entry e : this.entries) {
            index.put(e.layer() + '\u0000' + e.key(), e);
        }
    }

    /** Every measurement, in the order measured. */
    public List<Entry> entries() {
        return entries;
    }

    /** The ΔKL of {@code layer} at the level {@code key}, or null when it was not measured. */
    public Double deltaKl(String layer, String key) {
        Entry e = index.get(layer + '\u0000' + key);
        return e == null ? null : e.deltaKl();
    }

    /** The entry of {@code layer} at {@code key}, or null. */
    public Entry entry(String layer, String key) {
        return index.get(layer + '\u0000' + key);
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** The measured layers in the order of the entries. */
    public List<String> layers() {
        List<String> out = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Entry e : entries) {
            if (seen.add(e.layer())) {
                out.add(e.layer());
            }
        }
        return out;
    }

    /** The measured levels, fewest bits per weight first (dense last), each once. */
    public List<LevelChoice> levels() {
        Map<String, double[]> sums = new LinkedHashMap<>();
        Map<String, String> words = new HashMap<>();
        for (Entry e : entries) {
            double[] s = sums.computeIfAbsent(e.key(), k -> new double[2]);
            s[0] += e.bits();
            s[1] += e.weights();
            words.putIfAbsent(e.key(), e.level());
        }
        List<LevelChoice> out = new ArrayList<>();
        sums.forEach((k, s) -> out.add(new LevelChoice(k, words.get(k), s[1] <= 0 ? 0 : s[0] / s[1])));
        out.sort(Comparator.comparingDouble(LevelChoice::bitsPerWeight).thenComparing(LevelChoice::level));
        return Collections.unmodifiableList(out);
    }

    /** The entries of one layer, fewest bits first. */
    public List<Entry> ofLayer(String layer) {
        return entries.stream().filter(e -> e.layer().equals(layer)).sorted(Comparator.comparingLong(Entry::bits))
                .toList();
    }
}
