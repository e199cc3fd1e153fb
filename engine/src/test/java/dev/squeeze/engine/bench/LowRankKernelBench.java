package dev.squeeze.engine.bench;

import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.kernels.DenseKernelLinear;
import dev.squeeze.engine.kernels.DenseMatrix;
import dev.squeeze.engine.kernels.SparseKernels;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Low-rank {@code y = A (B x)} three ways, in one run: the native dense kernel (fp16 factors, one pass over each
 * factor for up to 16 vectors), {@link FastDenseLinear} (the pure-Java layer) and {@link Blas#sgemm} (the engine's
 * blocked GEMM, {@code Blas.get()}), at 4096 × 4096 and 4096 × 14336 with rank 256, batch 1, 8 and 16. Factors
 * rotate through ≥ 1 GiB of copies so each product streams them from memory; medians of interleaved rounds.
 * Run with {@code bench/sparse-kernels.sh lowrank}.
 */
public final class LowRankKernelBench {
    private LowRankKernelBench() {
    }

    public static void main(String[] args) throws Exception {
        String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse("unknown");
        System.out.println("CPU: " + cpu + "; sparse backend " + SparseKernels.name(SparseKernels.preferred())
                + "; Blas " + Blas.get().name() + "; threads " + Runtime.getRuntime().availableProcessors());
        int rank = 256;
        int[][] shapes = {{4096, 4096}, {4096, 14336}};
        SplittableRandom rnd = new SplittableRandom(1);
        System.out.printf("%-12s %5s | %10s %10s %10s | %s%n", "out x in", "batch", "native ms", "Fast ms",
                "sgemm ms", "speed-up of native over the faster Java one");
        for (int[] s : shapes) {
            int out = s[0], in = s[1];
            long bytes16 = 2L * rank * (out + in);
            int copies = (int) Math.max(1, (1L << 30) / bytes16);
            LinearOp[] nat = new LinearOp[copies];
            LinearOp[] fast = new LinearOp[Math.min(copies, (int) Math.max(1, (1L << 30) / (2 * bytes16)))];
            float[][][] gemm = new float[fast.length][][];
            float[] a = new float[out * rank];
            float[] b = new float[rank * in];
            for (int i = 0; i < a.length; i++) {
                a[i] = Float.float16ToFloat(Float.floatToFloat16((float) rnd.nextDouble(-1, 1)));
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = Float.float16ToFloat(Float.floatToFloat16((float) rnd.nextDouble(-1, 1)));
            }
            for (int c = 0; c < copies; c++) {
                LinearOp bl = new DenseKernelLinear(DenseMatrix.compact(rank, in, b), SparseKernels.Backend.NATIVE, "B");
                LinearOp al = new DenseKernelLinear(DenseMatrix.compact(out, rank, a), SparseKernels.Backend.NATIVE, "A");
                nat[c] = chain(bl, al, rank);
            }
            for (int c = 0; c < fast.length; c++) {
                fast[c] = chain(new FastDenseLinear(rank, in, b, null), new FastDenseLinear(out, rank, a, null), rank);
                gemm[c] = new float[][] {a.clone(), b.clone()};
            }
            for (int batch : new int[] {1, 8, 16}) {
                float[] x = new float[batch * in];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextDouble(-1, 1);
                }
                float[] y = new float[batch * out];
                float[] t = new float[batch * rank];
                int reps = 15;
                double[] tn = new double[reps];
                double[] tf = new double[reps];
                double[] tg = new double[reps];
                for (int k = -2; k < reps; k++) { // two warm-up rounds
                    long t0 = System.nanoTime();
                    nat[Math.floorMod(k, nat.length)].forward(x, batch, y);
                    long t1 = System.nanoTime();
                    fast[Math.floorMod(k, fast.length)].forward(x, batch, y);
                    long t2 = System.nanoTime();
                    float[][] f = gemm[Math.floorMod(k, gemm.length)];
                    // t (batch × rank) = x (batch × in) · Bᵀ; y (batch × out) = t · Aᵀ
                    Blas.get().sgemm(false, true, batch, rank, in, 1f, x, 0, in, f[1], 0, in, 0f, t, 0, rank);
                    Blas.get().sgemm(false, true, batch, out, rank, 1f, t, 0, rank, f[0], 0, rank, 0f, y, 0, out);
                    long t3 = System.nanoTime();
                    if (k >= 0) {
                        tn[k] = (t1 - t0) / 1e6;
                        tf[k] = (t2 - t1) / 1e6;
                        tg[k] = (t3 - t2) / 1e6;
                    }
                }
                double mn = median(tn), mf = median(tf), mg = median(tg);
                System.out.printf("%5dx%-6d %5d | %10.3f %10.3f %10.3f | %.2fx%n", out, in, batch, mn, mf, mg,
                        Math.min(mf, mg) / mn);
            }
        }
    }

    private static LinearOp chain(LinearOp b, LinearOp a, int rank) {
        return new LinearOp() {
            @Override
            public int inFeatures() {
                return b.inFeatures();
            }

            @Override
            public int outFeatures() {
                return a.outFeatures();
            }

            @Override
            public void forward(float[] x, int batch, float[] y) {
                float[] t = new float[batch * rank];
                b.forward(x, batch, t);
                a.forward(t, batch, y);
            }

            @Override
            public String describe() {
                return "A(Bx)";
            }
        };
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
