package dev.squeeze.engine.bench;

import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.lowrank.LowRank;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.linalg.SymmetricEigen;
import dev.squeeze.engine.compress.linalg.TruncatedSvd;

import java.util.Random;

/**
 * Times of the pure-Java low-rank toolkit (run by {@code bench/lowrank.sh}; a script, not a test): the symmetric
 * eigensolver at growing sizes, a truncated SVD of a square matrix through its Gram matrix, and the four
 * low-rank variants on layer shapes of stories15M (288 ↔ 768) and of a 1024-wide model. Each figure is the best
 * of {@code reps} runs after one warm-up run.
 */
public final class LowRankBench {
    private LowRankBench() {
    }

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        Random rnd = new Random(1);
        for (int n : new int[]{256, 512, 1024}) {
            double[] a = new double[n * n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j <= i; j++) {
                    double v = rnd.nextGaussian();
                    a[i * n + j] = v;
                    a[j * n + i] = v;
                }
            }
            System.out.printf("SymmetricEigen n=%d: %.3f s%n", n, best(reps, () -> SymmetricEigen.of(a, n)));
        }
        int m = 1024;
        double[] w = new double[m * m];
        for (int i = 0; i < w.length; i++) {
            w[i] = rnd.nextGaussian();
        }
        System.out.printf("TruncatedSvd %dx%d r=64: %.3f s%n", m, m, best(reps, () -> TruncatedSvd.of(w, m, m, 64)));
        for (int[] shape : new int[][]{{768, 288}, {288, 768}, {1024, 1024}}) {
            LayerInput in = layer(rnd, shape[0], shape[1]);
            int rank = LowRankSettings.maxUsefulRank(shape[0], shape[1]) / 2;
            for (LowRankVariant v : LowRankVariant.values()) {
                LowRankSettings s = LowRankSettings.of(v, rank);
                System.out.printf("lowrank %-8s %4dx%-4d r=%d: %.3f s%n", v.key(), shape[0], shape[1], rank,
                        best(reps, () -> new LowRank().compress(in, s)));
            }
        }
    }

    private static LayerInput layer(Random rnd, int rows, int cols) {
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        // A Hessian-like SPD matrix: diagonal dominant with unequal scales (its exact values do not matter here).
        float[] h = new float[cols * cols];
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < cols; j++) {
                h[i * cols + j] = (float) (i == j ? cols * (1 + i % 7) : rnd.nextGaussian());
            }
        }
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < i; j++) {
                h[i * cols + j] = h[j * cols + i];
            }
        }
        return new LayerInput("bench", w, rows, cols, h);
    }

    private static double best(int reps, Runnable r) {
        r.run();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }
}
