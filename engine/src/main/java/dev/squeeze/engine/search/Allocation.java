package dev.squeeze.engine.search;

import java.util.Arrays;
import java.util.List;

/**
 * One level per layer chosen under a budget.
 *
 * @param choice the level index of each layer (indices into the {@link LayerLevels} the allocator was given)
 * @param bits   total stored bits of the chosen levels, exactly
 * @param error  the summed proxy error of the chosen levels
 * @param exact  true when the assignment is proven to minimise the summed error under the budget
 * @param method how it was found: {@link #DYNAMIC_PROGRAMMING}, {@link #LAGRANGIAN}
 */
public record Allocation(int[] choice, long bits, double error, boolean exact, String method) {
    /** Exact dynamic programming over the Pareto frontier of (bits, error) of the layers so far. */
    public static final String DYNAMIC_PROGRAMMING = "dynamic-programming";
    /** Lagrangian relaxation (the convex-hull optimum) and a greedy fill of the budget left. */
    public static final String LAGRANGIAN = "lagrangian+greedy";

    public Allocation {
        choice = choice.clone();
    }

    @Override
    public int[] choice() {
        return choice.clone();
    }

    /** Bits per weight over the given layers' weights. */
    public double bitsPerWeight(List<LayerLevels> layers) {
        return (double) bits / totalWeights(layers);
    }

    /** Total stored bits of an assignment. */
    public static long bitsOf(List<LayerLevels> layers, int[] choice) {
        if (choice.length != layers.size()) {
            throw new IllegalArgumentException(choice.length + " choices for " + layers.size() + " layers");
        }
        long total = 0;
        for (int i = 0; i < choice.length; i++) {
            total = Math.addExact(total, layers.get(i).level(choice[i]).bits());
        }
        return total;
    }

    /** Total weights of the layers. */
    public static long totalWeights(List<LayerLevels> layers) {
        long w = 0;
        for (LayerLevels l : layers) {
            w += l.weights();
        }
        return w;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Allocation a && Arrays.equals(choice, a.choice) && bits == a.bits
                && Double.compare(error, a.error) == 0 && exact == a.exact && method.equals(a.method);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(choice) * 31 + Long.hashCode(bits);
    }

    @Override
    public String toString() {
        return "Allocation[" + method + (exact ? ", exact" : "") + ", bits=" + bits + ", error=" + error
                + ", choice=" + Arrays.toString(choice) + "]";
    }
}
