package dev.squeeze.engine.bench;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.PackedLinear;
import dev.squeeze.engine.compress.QuantizedMatrix;
import dev.squeeze.engine.compress.RtnQuantizer;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.llama.LlamaModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@link PackedLinear} against {@link FastDenseLinear} of the dequantized weights (run by
 * {@code bench/packed-linear.sh}; a script, not a test).
 *
 * <ol>
 *   <li>4096 × 4096, RTN asym g128 at 2, 3, 4 and 8 bits, batch 1, 8 and 16: the dense layer (one thread, as it
 *       is), the packed kernel on the caller's thread (one call, all rows), and {@code PackedLinear.forward} (rows
 *       split over the shared pool). Rounds interleave the three; medians (and minima: the machine is shared) of
 *       {@code rounds}.</li>
 *   <li>stories260K perplexity on a story range (default 501-1000, the issue's), every block linear RTN 4-bit
 *       g32 and 3-bit g32, through PackedLinear and through the dequantized dense layers; fp32 for reference.</li>
 * </ol>
 * Arguments: {@code [rounds] [first-last stories] [shared dir]}.
 */
public final class PackedLinearBench {
    private PackedLinearBench() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        String range = args.length > 1 ? args[1] : "501-1000";
        Path shared = Path.of(args.length > 2 ? args[2] : "../shared");
        System.out.println("packed kernel: " + (PackedLinear.defaultKernel() == null ? "none (dense fallback)"
                : PackedLinear.defaultKernel().name()) + ", processors " + Runtime.getRuntime().availableProcessors());
        matrices(rounds);
        perplexity(range, shared);
    }

    private static void matrices(int rounds) {
        int n = 4096;
        SplittableRandom random = new SplittableRandom(1);
        float[] w = new float[n * n];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) random.nextGaussian();
        }
        System.out.printf("%n%-18s %5s %17s %17s %17s %9s %9s%n", "4096x4096", "batch", "dense f32 ms",
                "packed 1t ms", "PackedLinear ms", "1t/dense", "pool/dense");
        System.out.printf("%-18s %5s %17s %17s %17s %9s %9s%n", "", "", "median (min)", "median (min)",
                "median (min)", "medians", "medians");
        for (int bits : new int[]{2, 3, 4, 8}) {
            QuantizedMatrix q = RtnQuantizer.quantize("bench", w, n, n, new RtnSettings(bits, 128, false));
            LinearOp dense = new FastDenseLinear(n, n, q.dequantize(), null);
            LinearOp op = q.asLinearOp();
            if (!(op instanceof PackedLinear packed)) {
                System.out.println("no packed kernel here: " + op.describe());
                return;
            }
            for (int batch : new int[]{1, 8, 16}) {
                float[] x = new float[batch * n];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) random.nextGaussian();
                }
                float[] y = new float[batch * n];
                double[][] times = new double[3][rounds];
                for (int warm = 0; warm < 2; warm++) {
                    dense.forward(x, batch, y);
                    packed.kernel().multiply(packed.matrix(), x, y, batch, 0, n);
                    packed.forward(x, batch, y);
                }
                for (int r = 0; r < rounds; r++) {
                    long t0 = System.nanoTime();
                    dense.forward(x, batch, y);
                    long t1 = System.nanoTime();
                    packed.kernel().multiply(packed.matrix(), x, y, batch, 0, n);
                    long t2 = System.nanoTime();
                    packed.forward(x, batch, y);
                    long t3 = System.nanoTime();
                    times[0][r] = (t1 - t0) / 1e6;
                    times[1][r] = (t2 - t1) / 1e6;
                    times[2][r] = (t3 - t2) / 1e6;
                }
                double d = median(times[0]);
                double one = median(times[1]);
                double pool = median(times[2]);
                System.out.printf("%-18s %5d %8.2f (%6.2f) %8.2f (%6.2f) %8.2f (%6.2f) %8.1fx %8.1fx%n",
                        "RTN " + bits + "-bit g128", batch, d, min(times[0]), one, min(times[1]), pool, min(times[2]),
                        d / one, d / pool);
            }
        }
    }

    private static void perplexity(String range, Path shared) {
        Path bin = shared.resolve("models/stories260K/stories260K.bin");
        if (!Files.isRegularFile(bin)) {
            System.out.println("no " + bin + ": perplexity timing skipped");
            return;
        }
        String[] se = range.split("-");
        Model model = new Llama2cFormat().read(bin);
        Llama2cTokenizer tok = Llama2cTokenizer.read(shared.resolve("models/stories260K/tok512.bin"), 512);
        List<int[]> stories = StoryCorpus.read(shared.resolve("data/tinystories/valid-1k.txt"))
                .tokens(StoryRange.of(Integer.parseInt(se[0]), Integer.parseInt(se[1])), tok);
        LlamaModel base = LlamaModel.from(model);
        System.out.printf("%nstories260K, stories %s, %d predictions (LlamaModel's forward pass as it is)%n", range,
                Perplexity.predictions(stories, 512, Perplexity.Overflow.TRUNCATE));
        long t = System.nanoTime();
        double fp32 = Perplexity.evaluate(base, stories).perplexity();
        System.out.printf("%-26s perplexity %.6f  %.2f s%n", "fp32", fp32, (System.nanoTime() - t) / 1e9);
        for (int bits : new int[]{4, 3}) {
            Map<String, LinearOp> packed = new LinkedHashMap<>();
            Map<String, LinearOp> dense = new LinkedHashMap<>();
            for (String name : new ArrayList<>(base.linears().keySet())) {
                if (!name.startsWith("model.layers.")) {
                    continue; // the tied head stays fp32
                }
                long[] s = model.tensor(name + ".weight").shape();
                CompressedTensor q = RtnQuantizer.quantize(name, model.tensor(name + ".weight").floats(), (int) s[0],
                        (int) s[1], new RtnSettings(bits, 32, false));
                packed.put(name, q.asLinearOp());
                dense.put(name, new FastDenseLinear((int) s[0], (int) s[1], q.dequantize(), null));
            }
            for (int round = 0; round < 2; round++) { // interleaved, twice: the machine is shared
                t = System.nanoTime();
                double p = Perplexity.evaluate(base.withLinears(packed), stories).perplexity();
                double tp = (System.nanoTime() - t) / 1e9;
                t = System.nanoTime();
                double d = Perplexity.evaluate(base.withLinears(dense), stories).perplexity();
                double td = (System.nanoTime() - t) / 1e9;
                System.out.printf("RTN %d-bit g32 round %d: packed perplexity %.6f %.2f s | dequantized f32 %.6f %.2f s"
                        + " | relative difference %.1e%n", bits, round + 1, p, tp, d, td, Math.abs(p - d) / d);
            }
        }
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElseThrow();
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
