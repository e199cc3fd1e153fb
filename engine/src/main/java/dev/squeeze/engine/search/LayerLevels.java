package dev.squeeze.engine.search;

import java.util.List;

/**
 * The levels one layer may take in a search, in a fixed order (the search refers to them by index).
 *
 * @param layer  the layer's canonical name
 * @param rows   out features
 * @param cols   in features
 * @param levels the candidate levels; at least one
 */
public record LayerLevels(String layer, int rows, int cols, List<Level> levels) {
    public LayerLevels {
        levels = List.copyOf(levels);
        if (levels.isEmpty()) {
            throw new IllegalArgumentException("layer " + layer + " has no levels");
        }
    }

    /** Weights of the layer ({@code rows × cols}). */
    public long weights() {
        return (long) rows * cols;
    }

    /**
     * Layers of one size class have the same shape and so the same level costs: EvoPress swaps levels only inside
     * a class, which keeps the total cost exactly constant.
     */
    public String sizeClass() {
        return rows + "x" + cols;
    }

    public Level level(int i) {
        return levels.get(i);
    }

    public int size() {
        return levels.size();
    }
}
