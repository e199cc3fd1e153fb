package dev.squeeze.engine.search;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Synthetic layers for the allocator and search tests (levels carry only a key and a bit count). */
final class SearchFixtures {
    private SearchFixtures() {
    }

    static LayerLevels layer(String name, int rows, int cols, long... bits) {
        List<Level> levels = new ArrayList<>();
        for (int k = 0; k < bits.length; k++) {
            levels.add(new Level(null, "L" + k + "@" + bits[k], bits[k]));
        }
        return new LayerLevels(name, rows, cols, levels);
    }

    /** Exhaustive optimum: the least summed error with total bits at most budget (or +inf when none fits). */
    static double bruteForce(long[][] bits, double[][] error, long budget) {
        return brute(bits, error, budget, 0, 0, 0);
    }

    private static double brute(long[][] bits, double[][] error, long budget, int i, long cost, double err) {
        if (cost > budget) {
            return Double.POSITIVE_INFINITY;
        }
        if (i == bits.length) {
            return err;
        }
        double best = Double.POSITIVE_INFINITY;
        for (int k = 0; k < bits[i].length; k++) {
            best = Math.min(best, brute(bits, error, budget, i + 1, cost + bits[i][k], err + error[i][k]));
        }
        return best;
    }

    /** Random instance: costs from a small range (ties and dense levels), errors on a half-integer grid (ties). */
    static Instance random(SplittableRandom r, int n, int maxLevels, int costRange) {
        long[][] bits = new long[n][];
        double[][] error = new double[n][];
        List<LayerLevels> layers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int m = 1 + r.nextInt(maxLevels);
            bits[i] = new long[m];
            error[i] = new double[m];
            for (int k = 0; k < m; k++) {
                bits[i][k] = 1 + r.nextInt(costRange);
                error[i][k] = r.nextInt(20) * 0.5;
            }
            layers.add(layer("l" + i, 8, 8, bits[i]));
        }
        return new Instance(layers, bits, error);
    }

    record Instance(List<LayerLevels> layers, long[][] bits, double[][] error) {
        long min() {
            long s = 0;
            for (long[] b : bits) {
                long m = Long.MAX_VALUE;
                for (long v : b) {
                    m = Math.min(m, v);
                }
                s += m;
            }
            return s;
        }

        long max() {
            long s = 0;
            for (long[] b : bits) {
                long m = 0;
                for (long v : b) {
                    m = Math.max(m, v);
                }
                s += m;
            }
            return s;
        }

        long cost(int[] choice) {
            long s = 0;
            for (int i = 0; i < choice.length; i++) {
                s += bits[i][choice[i]];
            }
            return s;
        }

        double error(int[] choice) {
            double s = 0;
            for (int i = 0; i < choice.length; i++) {
                s += error[i][choice[i]];
            }
            return s;
        }
    }
}
