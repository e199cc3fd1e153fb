package dev.squeeze.engine.bench;

import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.hf.HfModelFormat;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;
import dev.squeeze.engine.nn.Parallelism;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaModel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The forward-pass benchmark of issue 12 ({@code bench/forward.sh}); every ratio is measured in the same run.
 * <ul>
 *   <li>{@code stories <shared> [rounds]}: stories260K perplexity on TinyStories 501–1000, the reference path
 *       ({@link LlamaModel#reference()}) against the fast one, rounds interleaved, medians.</li>
 *   <li>{@code synthetic <hf dir> [window] [decode tokens]}: a large model read in place: prefill of one window
 *       against {@link Blas#sgemm} on the same shapes (heap f32), and decode ms/token against the time to read
 *       every weight byte once.</li>
 * </ul>
 */
public final class ForwardBench {
    private ForwardBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: ForwardBench stories <shared dir> [rounds] | synthetic <hf dir> [window] [decode]");
            System.exit(2);
        }
        System.out.println("cpu: " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors()
                + " processors; threads " + Parallelism.threads() + "; blas " + Blas.get().name());
        if (args[0].equals("stories")) {
            stories(Path.of(args[1]), args.length > 2 ? Integer.parseInt(args[2]) : 3,
                    args.length > 3 ? Integer.parseInt(args[3]) : 1000, args.length > 4 && args[4].equals("fast"));
        } else {
            synthetic(Path.of(args[1]), args.length > 2 ? Integer.parseInt(args[2]) : 512,
                    args.length > 3 ? Integer.parseInt(args[3]) : 8);
        }
    }

    /** CPU time of the whole process (all threads), to see through a loaded machine's wall-clock noise. */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static String cpuModel() throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("model name")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return System.getProperty("os.arch");
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    // ------------------------------------------------------------------ stories260K

    static void stories(Path shared, int rounds, int lastStory, boolean fastOnly) {
        Model m = new Llama2cFormat().read(shared.resolve("models/stories260K/stories260K.bin"));
        Llama2cTokenizer tok = Llama2cTokenizer.read(shared.resolve("models/stories260K/tok512.bin"), 512);
        List<int[]> stories = StoryCorpus.read(shared.resolve("data/tinystories/valid-1k.txt"))
                .tokens(StoryRange.of(501, lastStory), tok);
        long tokens = stories.stream().mapToLong(s -> s.length).sum();
        LlamaModel fast = LlamaModel.from(m);
        LlamaModel ref = fast.reference();
        System.out.printf(Locale.ROOT, "stories260K, stories 501-" + lastStory + ": %d sequences, %,d tokens%n", stories.size(),
                tokens);
        double[] tRef = new double[rounds];
        double[] tFast = new double[rounds];
        Perplexity.Result rRef = null;
        Perplexity.Result rFast = null;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            rRef = fastOnly ? null : Perplexity.evaluate(ref, stories);
            long t1 = System.nanoTime();
            long c1 = cpuNanos();
            rFast = Perplexity.evaluate(fast, stories);
            long t2 = System.nanoTime();
            System.out.printf(Locale.ROOT, "  fast: process CPU time %.2f s%n", (cpuNanos() - c1) / 1e9);
            tRef[r] = (t1 - t0) / 1e9;
            tFast[r] = (t2 - t1) / 1e9;
            System.out.printf(Locale.ROOT, "  round %d: reference %.2f s, fast %.2f s%n", r + 1, tRef[r], tFast[r]);
        }
        if (fastOnly) {
            System.out.printf(Locale.ROOT, "fast: perplexity %.6f, median %.2f s%n", rFast.perplexity(), median(tFast));
            return;
        }
        double rel = Math.abs(rFast.perplexity() - rRef.perplexity()) / rRef.perplexity();
        System.out.printf(Locale.ROOT, "perplexity: reference %.6f, fast %.6f (relative difference %.2e), %,d "
                + "predictions%n", rRef.perplexity(), rFast.perplexity(), rel, rFast.tokens());
        System.out.printf(Locale.ROOT, "stories260K perplexity time (median of %d): reference %.2f s, fast %.2f s "
                + "(%.1fx); target <= 5 s: %s%n", rounds, median(tRef), median(tFast), median(tRef) / median(tFast),
                median(tFast) <= 5 ? "met" : "MISSED");
    }

    // ------------------------------------------------------------------ a large model read in place

    static void synthetic(Path dir, int window, int decode) {
        Model model = new HfModelFormat().read(dir);
        LlamaModel llama = LlamaModel.from(model);
        LlamaConfig c = llama.config();
        long linearWeights = llama.linears().values().stream()
                .mapToLong(op -> (long) op.inFeatures() * op.outFeatures()).sum();
        long bytes = model.tensors().values().stream().mapToLong(t -> t.bytes().remaining()).sum();
        System.out.printf(Locale.ROOT, "model %s: dim %d, hidden %d, %d layers, %d heads (%d kv), vocab %d; %,d "
                        + "linear weights, %,d bytes stored; linears: %s%n", dir, c.dim(), c.hiddenDim(), c.nLayers(),
                c.nHeads(), c.nKvHeads(), c.vocabSize(), linearWeights, bytes,
                llama.linears().values().iterator().next().describe());
        Random rng = new Random(7);
        int[] tokens = new int[window + decode];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = rng.nextInt(c.vocabSize());
        }
        // Prefill: the whole window through every block and the head on every row (as perplexity does).
        double attnFlops = 0;
        for (int t = 0; t < window; t++) {
            attnFlops += 2.0 * 2 * (t + 1) * c.headDim() * c.nHeads() * c.nLayers();
        }
        double linearFlops = 2.0 * linearWeights * window;
        double[] prefill = new double[3];
        for (int r = 0; r < prefill.length; r++) {
            LlamaModel.State s = llama.newState();
            long t0 = System.nanoTime();
            float[] x = llama.embed(Arrays.copyOf(tokens, window));
            for (int l = 0; l < c.nLayers(); l++) {
                llama.block(l, x, window, 0, s);
            }
            llama.head(x, window);
            prefill[r] = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "  prefill round %d: %.2f s%n", r + 1, prefill[r]);
        }
        double prefillS = median(prefill);
        double prefillRate = (linearFlops + attnFlops) / prefillS / 1e9;
        // The same products on heap float32 matrices: window × in times in × out, every distinct shape once,
        // weighted by how often the model runs it.
        double gemmS = gemmTime(llama, window);
        double gemmRate = linearFlops / gemmS / 1e9;
        System.out.printf(Locale.ROOT, "prefill %d tokens: median %.2f s = %.0f tokens/s, %.1f GFLOP/s (linears %.1f"
                        + " GFLOP + attention %.1f GFLOP); sgemm on the same shapes %.1f GFLOP/s (%.2f s); prefill at "
                        + "%.0f %% of it (target >= 50 %%)%n", window, prefillS, window / prefillS, prefillRate,
                linearFlops / 1e9, attnFlops / 1e9, gemmRate, gemmS, 100 * prefillRate / gemmRate);

        // Decode: one token at a time after the window, against reading every stored byte once.
        LlamaModel.State s = llama.newState();
        llama.forwardLast(Arrays.copyOf(tokens, window), 0, s);
        double[] perToken = new double[decode];
        for (int i = 0; i < decode; i++) {
            long t0 = System.nanoTime();
            llama.forward(tokens[window + i], window + i, s);
            perToken[i] = (System.nanoTime() - t0) / 1e9;
        }
        double decodeS = median(perToken);
        double[] reads = new double[3];
        for (int r = 0; r < reads.length; r++) {
            reads[r] = readOnce(model);
        }
        double readS = median(reads);
        System.out.printf(Locale.ROOT, "decode: median %.1f ms/token over %d tokens; reading the %,d stored bytes once "
                        + "(%d threads): %.1f ms = %.1f GB/s; decode / read = %.2fx (target <= 1.5x)%n",
                decodeS * 1e3, decode, bytes, Parallelism.threads(), readS * 1e3, bytes / readS / 1e9,
                decodeS / readS);
    }

    /** Seconds {@link Blas#sgemm} takes for every linear of the model at {@code window} rows (heap f32 copies). */
    private static double gemmTime(LlamaModel llama, int window) {
        record Shape(int out, int in) {
        }
        java.util.Map<Shape, Integer> shapes = new java.util.LinkedHashMap<>();
        llama.linears().values().forEach(op -> shapes.merge(new Shape(op.outFeatures(), op.inFeatures()), 1,
                Integer::sum));
        double total = 0;
        Blas blas = Blas.get();
        for (var e : shapes.entrySet()) {
            Shape sh = e.getKey();
            float[] a = new float[window * sh.in()];
            float[] b = new float[sh.in() * sh.out()];
            float[] cc = new float[window * sh.out()];
            Random rng = new Random(1);
            for (int i = 0; i < a.length; i++) {
                a[i] = rng.nextFloat();
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = rng.nextFloat();
            }
            double[] t = new double[3];
            for (int r = 0; r < t.length; r++) {
                long t0 = System.nanoTime();
                blas.sgemm(false, false, window, sh.out(), sh.in(), 1f, a, 0, sh.in(), b, 0, sh.out(), 0f, cc, 0,
                        sh.out());
                t[r] = (System.nanoTime() - t0) / 1e9;
            }
            double med = median(t);
            System.out.printf(Locale.ROOT, "  sgemm %d x %d x %d: %.1f ms, %.1f GFLOP/s (x%d in the model)%n", window,
                    sh.out(), sh.in(), med * 1e3, 2.0 * window * sh.out() * sh.in() / med / 1e9, e.getValue());
            total += med * e.getValue();
        }
        return total;
    }

    /** Seconds to read every stored byte of the model once (SIMD loads, summed), on the forward pass's threads. */
    private static double readOnce(Model model) {
        List<ByteBuffer> parts = new ArrayList<>();
        for (Tensor t : model.tensors().values()) {
            ByteBuffer b = t.bytes();
            int chunk = 1 << 24;
            for (int off = 0; off < b.remaining(); off += chunk) {
                parts.add(b.slice(b.position() + off, Math.min(chunk, b.remaining() - off)));
            }
        }
        AtomicLong sink = new AtomicLong();
        long t0 = System.nanoTime();
        Parallelism.forEach(parts.size(), i -> {
            // 512-bit (or the widest) vector loads straight from the mapping: as fast as Java reads memory.
            java.lang.foreign.MemorySegment seg = java.lang.foreign.MemorySegment.ofBuffer(parts.get(i));
            var species = jdk.incubator.vector.LongVector.SPECIES_PREFERRED;
            long step = species.vectorByteSize();
            long n = seg.byteSize() / step * step;
            var acc0 = jdk.incubator.vector.LongVector.zero(species);
            var acc1 = jdk.incubator.vector.LongVector.zero(species);
            long off = 0;
            for (; off + 2 * step <= n; off += 2 * step) {
                acc0 = acc0.add(jdk.incubator.vector.LongVector.fromMemorySegment(species, seg, off,
                        ByteOrder.LITTLE_ENDIAN));
                acc1 = acc1.add(jdk.incubator.vector.LongVector.fromMemorySegment(species, seg, off + step,
                        ByteOrder.LITTLE_ENDIAN));
            }
            long sum = acc0.add(acc1).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
            for (; off < seg.byteSize(); off++) {
                sum += seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, off);
            }
            sink.addAndGet(sum);
        });
        double s = (System.nanoTime() - t0) / 1e9;
        if (sink.get() == 42) {
            System.out.print("");
        }
        return s;
    }
}
