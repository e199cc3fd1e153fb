package dev.squeeze.engine.bench;

import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.gptq.Gptq;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.compress.hessian.PreparedHessian;
import dev.squeeze.engine.compress.linalg.Blas;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * GPTQ on one synthetic layer against the matrix products it cannot avoid (a program, not a test;
 * {@code bench/gptq-4096.sh} runs it). Issue #4, "Fast linear algebra".
 *
 * <p>Each run times the whole job, the Hessian {@code XᵀX} from the calibration tokens (as
 * {@link HessianAccumulator} does it) plus {@link Gptq#compress} (dead columns, dampening, {@code U}, blocks,
 * lazy updates), and, in the same run, the floor: the same Hessian product alone, then the lazy block updates
 * alone ({@code W[:, i2:] −= Err · U[i1:i2, i2:]} for every block, {@code rows × 128 × (cols − i2)} each) through the
 * same {@link Blas}. It also times {@link PreparedHessian#gptq} on its own to show where the rest goes. Prints each
 * run and the medians.
 *
 * <p>Options: {@code --rows 4096 --cols 4096 --tokens 2048 --seq 2048 --bits 4 --group 128 --runs 5 --seed 1}.
 * {@code --seq} is the tokens per calibration sequence (one {@code addBatch} each; the reference's windows are
 * 2048 tokens).
 */
public final class GptqBench {
    private GptqBench() {
    }

    public static void main(String[] args) {
        int rows = intOpt(args, "--rows", 4096);
        int cols = intOpt(args, "--cols", 4096);
        int tokens = intOpt(args, "--tokens", 2048);
        int seq = intOpt(args, "--seq", 2048);
        int bits = intOpt(args, "--bits", 4);
        int group = intOpt(args, "--group", 128);
        int runs = intOpt(args, "--runs", 5);
        long seed = intOpt(args, "--seed", 1);
        GptqSettings settings = GptqSettings.of(bits, group);
        System.out.printf(Locale.ROOT, "GPTQ bench: %d × %d layer, %d tokens (sequences of %d), %s; linear algebra: %s;"
                        + " %d processors, Java %s%n", rows, cols, tokens, seq, settings.describe(), Blas.get().name(),
                Runtime.getRuntime().availableProcessors(), Runtime.version());

        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = activations(rnd, tokens, cols);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (0.02 * gaussian(rnd));
        }

        // Warm-up on a small layer, so the first timed run measures compiled code.
        int wc = Math.min(cols, 512);
        int wr = Math.min(rows, 512);
        for (int i = 0; i < 3; i++) {
            one(Arrays.copyOf(w, wr * wc), wr, wc, activations(rnd, Math.min(tokens, 512), wc), Math.min(tokens, 512),
                    Math.min(seq, 512), settings);
        }

        List<double[]> results = new ArrayList<>();
        for (int run = 1; run <= runs; run++) {
            double[] r = one(w, rows, cols, x, tokens, seq, settings);
            results.add(r);
            System.out.printf(Locale.ROOT, "run %d: total %.2f s (hessian %.2f + gptq %.2f; of which U %.2f) | floor %.2f s"
                            + " (XᵀX %.2f at %.1f GFLOP/s + lazy updates %.2f at %.1f GFLOP/s) | ratio %.2f%n",
                    run, r[0], r[1], r[2], r[3], r[4], r[5], r[7], r[6], r[8], r[0] / r[4]);
        }
        System.out.printf(Locale.ROOT, "median of %d: total %.2f s, hessian %.2f s, gptq %.2f s, U %.2f s, floor %.2f s"
                        + " (XᵀX %.2f s, lazy %.2f s), ratio total/floor %.2f (median of per-run ratios %.2f)%n",
                runs, median(results, 0), median(results, 1), median(results, 2), median(results, 3),
                median(results, 4), median(results, 5), median(results, 6),
                median(results, 0) / median(results, 4), medianRatio(results));
    }

    /** {total, hessian, gptq, prepare, floor, floor XᵀX, floor lazy, GFLOP/s XᵀX, GFLOP/s lazy}. */
    private static double[] one(float[] w, int rows, int cols, float[] x, int tokens, int seq, GptqSettings s) {
        long t0 = System.nanoTime();
        HessianAccumulator acc = new HessianAccumulator(cols);
        for (int t = 0; t < tokens; t += seq) {
            int n = Math.min(seq, tokens - t);
            acc.addBatch(Arrays.copyOfRange(x, t * cols, (t + n) * cols), n, 1);
        }
        float[] h = acc.hessian();
        long t1 = System.nanoTime();
        new Gptq().compress(new LayerInput("bench", w, rows, cols, h), s);
        long t2 = System.nanoTime();

        PreparedHessian prep = PreparedHessian.gptq("bench", h, cols, s.percdamp(), s.actOrder());
        long t3 = System.nanoTime();

        // Floor 1: XᵀX over all tokens, the lower triangle as HessianAccumulator computes it (one product per block row).
        Blas blas = Blas.get();
        float[] hh = new float[cols * cols];
        long f0 = System.nanoTime();
        for (int r0 = 0; r0 < cols; r0 += 256) {
            int rb = Math.min(256, cols - r0);
            blas.sgemm(true, false, rb, r0 + rb, tokens, 1f, x, r0, cols, x, 0, cols, 0f, hh, r0 * cols, cols);
        }
        long f1 = System.nanoTime();
        // Floor 2: the lazy block updates, same shapes and operands' sizes as GPTQ's.
        float[] u = new float[cols * cols];
        for (int i = 0; i < u.length; i++) {
            u[i] = (float) prep.u()[i];
        }
        float[] wk = w.clone();
        int bs = s.blockSize();
        float[] err = new float[rows * bs];
        SplittableRandom rnd = new SplittableRandom(5);
        for (int i = 0; i < err.length; i++) {
            err[i] = (float) (1e-3 * gaussian(rnd));
        }
        long f2 = System.nanoTime();
        double lazyFlops = 0;
        for (int i1 = 0; i1 < cols; i1 += bs) {
            int i2 = Math.min(cols, i1 + bs);
            if (i2 < cols) {
                blas.sgemm(false, false, rows, cols - i2, i2 - i1, -1f, err, 0, i2 - i1, u, i1 * cols + i2, cols, 1f,
                        wk, i2, cols);
                lazyFlops += 2.0 * rows * (i2 - i1) * (cols - i2);
            }
        }
        long f3 = System.nanoTime();
        double hFlops = 0;
        for (int r0 = 0; r0 < cols; r0 += 256) {
            hFlops += 2.0 * Math.min(256, cols - r0) * (r0 + Math.min(256, cols - r0)) * tokens;
        }
        double hessian = (t1 - t0) / 1e9;
        double gptq = (t2 - t1) / 1e9;
        double fx = (f1 - f0) / 1e9;
        double fl = (f3 - f2) / 1e9;
        return new double[] {hessian + gptq, hessian, gptq, (t3 - t2) / 1e9, fx + fl, fx, fl, hFlops / fx / 1e9,
                lazyFlops / fl / 1e9};
    }

    private static float[] activations(SplittableRandom rnd, int tokens, int cols) {
        // Unequal channel scales and a few outlier channels, like real activations (and the reference cases' X).
        double[] scale = new double[cols];
        for (int c = 0; c < cols; c++) {
            scale[c] = Math.exp(0.5 * gaussian(rnd)) * (c % 397 == 5 ? 20 : 1);
        }
        float[] x = new float[tokens * cols];
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < cols; c++) {
                x[t * cols + c] = (float) (scale[c] * gaussian(rnd));
            }
        }
        return x;
    }

    private static double gaussian(SplittableRandom rnd) {
        // Box–Muller: SplittableRandom has no nextGaussian on every JDK we build with.
        double u1 = 1 - rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rnd.nextDouble());
    }

    private static double median(List<double[]> rs, int k) {
        double[] v = rs.stream().mapToDouble(r -> r[k]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static double medianRatio(List<double[]> rs) {
        double[] v = rs.stream().mapToDouble(r -> r[0] / r[4]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static int intOpt(String[] args, String name, int dflt) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return Integer.parseInt(args[i + 1]);
            }
        }
        return dflt;
    }
}
