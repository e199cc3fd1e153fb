package dev.squeeze.engine.compress.sparse;

import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;

import java.util.Random;

/** Seeded synthetic layers for the sparse tests: Gaussian W, and H from correlated Gaussian inputs. */
final class Synthetic {
    private Synthetic() {
    }

    static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return v;
    }

    /** A layer with a Hessian from {@code tokens} inputs whose neighbouring channels are correlated. */
    static LayerInput layer(String name, int rows, int cols, int tokens, long seed) {
        Random rnd = new Random(seed);
        float[] w = gaussian(rnd, rows * cols);
        float[] x = new float[tokens * cols];
        for (int t = 0; t < tokens; t++) {
            float prev = 0f;
            for (int c = 0; c < cols; c++) {
                float v = (float) (0.6 * prev + rnd.nextGaussian() * (1 + (c % 7)));
                x[t * cols + c] = v;
                prev = v;
            }
        }
        HessianAccumulator acc = new HessianAccumulator(cols);
        acc.addBatch(x, tokens, 1);
        return new LayerInput(name, w, rows, cols, acc.hessian());
    }

    /** A layer whose Hessian is the identity: no error feedback, so SparseGPT must act like magnitude pruning. */
    static LayerInput identityHessian(String name, int rows, int cols, long seed) {
        float[] h = new float[cols * cols];
        for (int i = 0; i < cols; i++) {
            h[i * cols + i] = 1f;
        }
        return new LayerInput(name, gaussian(new Random(seed), rows * cols), rows, cols, h);
    }

    /** Kept weights in each group of m columns of each row (the last group may be short). */
    static int[] keptPerGroup(boolean[] pruned, int rows, int cols, int m) {
        int groups = (cols + m - 1) / m;
        int[] kept = new int[rows * groups];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                if (!pruned[r * cols + c]) {
                    kept[r * groups + c / m]++;
                }
            }
        }
        return kept;
    }

    static int count(boolean[] b) {
        int n = 0;
        for (boolean v : b) {
            n += v ? 1 : 0;
        }
        return n;
    }

    /** C(m, n) by counting the m-bit masks with n bits set: independent of the code under test. */
    static long subsets(int n, int m) {
        long c = 0;
        for (long mask = 0; mask < (1L << m); mask++) {
            if (Long.bitCount(mask) == n) {
                c++;
            }
        }
        return c;
    }

    /** The least number of bits that can hold {@code count} distinct values. */
    static int bitsFor(long count) {
        int b = 0;
        while ((1L << b) < count) {
            b++;
        }
        return Math.max(b, 1);
    }
}
