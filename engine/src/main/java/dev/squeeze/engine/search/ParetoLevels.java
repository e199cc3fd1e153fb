package dev.squeeze.engine.search;

import dev.squeeze.engine.SqueezeException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Drops the levels of a layer that another level beats in both stored bits and error: a level is kept only if no
 * other level has at most as many bits and a lower error. Of levels with equal bits and equal error the one with the
 * lowest index is kept; a level with more bits and the same error as another is dropped.
 */
public final class ParetoLevels {
    private ParetoLevels() {
    }

    /**
     * The kept level indices, ordered by bits ascending (so their errors strictly decrease).
     *
     * @param bits  stored bits of each level
     * @param error error of each level (finite), same length
     */
    public static int[] keep(long[] bits, double[] error) {
        if (bits.length != error.length) {
            throw new IllegalArgumentException(bits.length + " levels but " + error.length + " errors");
        }
        if (bits.length == 0) {
            throw new IllegalArgumentException("no levels");
        }
        for (int i = 0; i < error.length; i++) {
            if (!Double.isFinite(error[i])) {
                throw new IllegalArgumentException("error of level " + i + " is " + error[i]);
            }
        }
        Integer[] order = new Integer[bits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        // bits ascending, then error ascending, then index: the first of a run of equal bits is its best level
        Arrays.sort(order, Comparator.<Integer>comparingLong(i -> bits[i])
                .thenComparingDouble(i -> error[i])
                .thenComparingInt(i -> i));
        int[] kept = new int[bits.length];
        int n = 0;
        double best = Double.POSITIVE_INFINITY;
        for (int i : order) {
            if (error[i] < best) {
                kept[n++] = i;
                best = error[i];
            }
        }
        return Arrays.copyOf(kept, n);
    }

    /** {@link #keep(long[], double[])} for one layer's levels. */
    public static int[] keep(LayerLevels layer, double[] error) {
        long[] bits = new long[layer.size()];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = layer.level(i).bits();
        }
        try {
            return keep(bits, error);
        } catch (IllegalArgumentException e) {
            throw new SqueezeException("layer " + layer.layer() + ": " + e.getMessage(),
                    "give one finite proxy error per level of the layer");
        }
    }

    /**
     * Every layer pruned: the kept levels as new {@link LayerLevels} (in the order of {@link #keep}) and, per layer,
     * which original index each kept level had.
     */
    public static Pruned prune(List<LayerLevels> layers, double[][] error) {
        if (layers.size() != error.length) {
            throw new IllegalArgumentException(layers.size() + " layers but " + error.length + " error rows");
        }
        List<LayerLevels> out = new ArrayList<>(layers.size());
        int[][] original = new int[layers.size()][];
        double[][] prunedError = new double[layers.size()][];
        for (int i = 0; i < layers.size(); i++) {
            LayerLevels layer = layers.get(i);
            int[] kept = keep(layer, error[i]);
            List<Level> levels = new ArrayList<>(kept.length);
            double[] e = new double[kept.length];
            for (int k = 0; k < kept.length; k++) {
                levels.add(layer.level(kept[k]));
                e[k] = error[i][kept[k]];
            }
            out.add(new LayerLevels(layer.layer(), layer.rows(), layer.cols(), levels));
            original[i] = kept;
            prunedError[i] = e;
        }
        return new Pruned(List.copyOf(out), original, prunedError);
    }

    /**
     * Pruned layers.
     *
     * @param layers   the kept levels of each layer
     * @param original per layer, the original index of each kept level
     * @param error    per layer, the error of each kept level
     */
    public record Pruned(List<LayerLevels> layers, int[][] original, double[][] error) {
        /** An assignment over the pruned levels as indices into the original levels. */
        public int[] toOriginal(int[] choice) {
            int[] out = new int[choice.length];
            for (int i = 0; i < choice.length; i++) {
                out[i] = original[i][choice[i]];
            }
            return out;
        }
    }
}
