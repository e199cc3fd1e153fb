package dev.squeeze.engine.search;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Timing of {@link ProxyAllocator} on a 7B-shaped synthetic instance (a main, not a test): 32 blocks of q, k, v, o
 * (4096 x 4096), gate, up (11008 x 4096) and down (4096 x 11008), about 60 levels per layer (RTN/GPTQ bits 2-8 at
 * groups per row / 128 / 64 / 32 with fp32 scale and zero, sparsity 50/60/70 % with a bitmask and fp16 values, 2:4
 * and 2:4 with 4-/8-bit values, low rank at four ranks in fp16, 8-bit and 4-bit g32), convex synthetic errors.
 * A second instance gives every level a random cost (no shared structure: the worst case for the frontier).
 * Arguments: {@code [rounds]}.
 */
public final class AllocatorBench {
    private AllocatorBench() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        small(rounds);
        for (boolean randomCosts : new boolean[] {false, true}) {
            List<LayerLevels> layers = new ArrayList<>();
            List<double[]> errors = new ArrayList<>();
            build(layers, errors, randomCosts);
            double[][] error = errors.toArray(new double[0][]);
            long weights = Allocation.totalWeights(layers);
            int levels = 0;
            for (LayerLevels l : layers) {
                levels += l.size();
            }
            System.out.printf(Locale.ROOT, "%s: %d layers, %d levels, %.3e weights%n",
                    randomCosts ? "random costs" : "structured costs", layers.size(), levels, (double) weights);
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                ProxyAllocator alloc = new ProxyAllocator(layers, error);
                long t1 = System.nanoTime();
                StringBuilder b = new StringBuilder();
                for (double bpw : new double[] {2.5, 3.0, 4.125, 5.0, 6.0}) {
                    long budget = (long) (bpw * weights);
                    long s = System.nanoTime();
                    Allocation a = alloc.allocate(budget);
                    long e = System.nanoTime();
                    Allocation l = alloc.lagrangian(budget);
                    long e2 = System.nanoTime();
                    b.append(String.format(Locale.ROOT, "  %.3f bpw: %s %.1f ms (bits %.4f bpw, err %.6g) | "
                                    + "lagrangian %.1f ms err %.6g (gap %.2e)%n", bpw, a.method(), (e - s) / 1e6,
                            a.bitsPerWeight(layers), a.error(), (e2 - e) / 1e6, l.error(),
                            (l.error() - a.error()) / a.error()));
                }
                long f0 = System.nanoTime();
                var front = alloc.frontier();
                long f1 = System.nanoTime();
                System.out.printf(Locale.ROOT, "round %d: prune %.1f ms; front %s in %.1f ms%n%s", r, (t1 - t0) / 1e6,
                        front.map(f -> f.size() + " points").orElse("too large"), (f1 - f0) / 1e6, b);
            }
        }
    }

    /** stories260K-shaped: 35 linears (64 x 64 and 172 x 64 / 64 x 172), 60 levels each; whole front + 17 budgets. */
    private static void small(int rounds) {
        List<LayerLevels> layers = new ArrayList<>();
        double[][] error = new double[35][];
        SplittableRandom r = new SplittableRandom(16);
        for (int i = 0; i < 35; i++) {
            int rows = i % 7 < 4 ? 64 : 172;
            int cols = 64;
            long[] bits = new long[60];
            error[i] = new double[60];
            double sens = Math.exp(r.nextGaussian());
            for (int k = 0; k < 60; k++) {
                int b = 2 + k % 7;
                int groups = 1 + k / 7;
                bits[k] = (long) rows * (cols * b + groups * 64L) + r.nextInt(64);
                error[i][k] = sens * Math.pow(2, -2.0 * b) * (1 + 1.0 / groups) * (1 + 0.05 * r.nextDouble());
            }
            layers.add(SearchFixtures.layer("l" + i, rows, cols, bits));
        }
        long weights = Allocation.totalWeights(layers);
        for (int round = 0; round < rounds; round++) {
            long t0 = System.nanoTime();
            ProxyAllocator alloc = new ProxyAllocator(layers, error);
            var front = alloc.frontier().orElseThrow();
            long t1 = System.nanoTime();
            int exact = 0;
            for (double bpw = 4.0; bpw <= 8.0; bpw += 0.25) {
                exact += alloc.allocate((long) (bpw * weights)).exact() ? 1 : 0;
            }
            long t2 = System.nanoTime();
            System.out.printf(Locale.ROOT, "small (35 x 60): front of %d points in %.1f ms; 17 budgets (%d exact) "
                    + "in %.1f ms%n", front.size(), (t1 - t0) / 1e6, exact, (t2 - t1) / 1e6);
        }
    }

    private static void build(List<LayerLevels> layers, List<double[]> errors, boolean randomCosts) {
        SplittableRandom r = new SplittableRandom(2024);
        String[] names = {"q", "k", "v", "o", "gate", "up", "down"};
        int[][] shapes = {{4096, 4096}, {4096, 4096}, {4096, 4096}, {4096, 4096}, {11008, 4096}, {11008, 4096},
                {4096, 11008}};
        for (int block = 0; block < 32; block++) {
            for (int j = 0; j < names.length; j++) {
                int rows = shapes[j][0];
                int cols = shapes[j][1];
                long w = (long) rows * cols;
                double sens = Math.exp(r.nextGaussian()) * (block == 0 || block == 31 ? 4 : 1);
                List<Long> bits = new ArrayList<>();
                List<Double> err = new ArrayList<>();
                for (int b = 2; b <= 8; b++) {
                    for (int g : new int[] {0, 128, 64, 32}) {
                        long groups = g == 0 ? 1 : cols / g;
                        bits.add(w * b + rows * groups * 64L);
                        double eff = b + (g == 0 ? 0 : 0.3 * Math.log(128.0 / g) / Math.log(2) + 0.4);
                        err.add(sens * w * Math.pow(2, -2 * eff) * (1 + 0.05 * r.nextDouble()));
                    }
                }
                for (double s : new double[] {0.5, 0.6, 0.7}) {
                    bits.add(Math.round(w * (1 - s)) * 16 + w);
                    err.add(sens * w * 0.02 * s * s * (1 + 0.05 * r.nextDouble()));
                }
                bits.add(w / 2 * 16 + w / 2 * 2);
                err.add(sens * w * 0.012 * (1 + 0.05 * r.nextDouble()));
                bits.add(w / 2 * 4 + w / 2 * 2 + rows * (cols / 2 / 32) * 64L);
                err.add(sens * w * 0.016 * (1 + 0.05 * r.nextDouble()));
                bits.add(w / 2 * 8 + w / 2 * 2 + rows * (cols / 2 / 32) * 64L);
                err.add(sens * w * 0.0125 * (1 + 0.05 * r.nextDouble()));
                int full = Math.min(rows, cols);
                for (int q = 1; q <= 4; q++) {
                    long rank = full * q / 8;
                    long factors = rank * (rows + cols);
                    double e = sens * w * 0.05 * Math.pow(1 - q / 8.0, 2);
                    bits.add(factors * 16);
                    err.add(e * (1 + 0.05 * r.nextDouble()));
                    bits.add(factors * 8 + rank * 2 * 64L);
                    err.add(e * 1.01 * (1 + 0.05 * r.nextDouble()));
                    bits.add(factors * 4 + factors / 32 * 64);
                    err.add(e * 1.2 * (1 + 0.05 * r.nextDouble()));
                }
                bits.add(w * 32);
                err.add(0.0);
                long[] lb = new long[bits.size()];
                double[] le = new double[bits.size()];
                for (int k = 0; k < lb.length; k++) {
                    lb[k] = randomCosts ? bits.get(k) + r.nextInt(1 << 20) : bits.get(k);
                    le[k] = err.get(k);
                }
                layers.add(SearchFixtures.layer(block + "." + names[j], rows, cols, lb));
                errors.add(le);
            }
        }
    }
}
