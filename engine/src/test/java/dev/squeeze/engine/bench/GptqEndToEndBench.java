package dev.squeeze.engine.bench;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.jobs.checkpoint.CheckpointStore;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.hf.HfModelFormat;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.runs.BlockStreamedCompression;
import dev.squeeze.engine.runs.LanguageModelCompression;
import dev.squeeze.engine.runs.RunHooks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * End-to-end GPTQ of a whole (synthetic) Llama model, layer-streamed, against its GEMM floor measured in the same
 * run (a program, not a test; {@code bench/gptq-e2e.sh} runs it). Issue #12, "End to end".
 *
 * <p>It opens a Hugging Face folder (memory-mapped), draws {@code --windows} calibration windows of {@code --seq}
 * random token ids (BOS first; the synthetic model has no text of its own), compresses every linear of the first
 * {@code --blocks} blocks (default all) with GPTQ {@code --bits}-bit groups of {@code --group} through
 * {@link BlockStreamedCompression}, and keeps the finished tensors either in memory as a run does
 * ({@code --keep memory}: the compressed tensors and the operators the compressed network computes with) or as a
 * job does, in checkpoint files ({@code --keep checkpoints}, under {@code --checkpoints <dir>}), holding only each
 * layer's result.
 *
 * <p>The floor is the time of the matrix products the job cannot avoid, each timed through {@link Blas} at the
 * job's own shapes in this run: every linear of every forward pass ({@code tokens × in} by {@code in × out}), the
 * causal half of attention's two products per head, the Hessians' {@code XᵀX} (lower triangle, as
 * {@code HessianAccumulator} computes it; one per distinct input: q/k/v, o, gate/up, down), and GPTQ's lazy block
 * updates ({@code rows × 128 × (cols − i2)} per block of columns). Memory: heap in use and anonymous resident memory
 * ({@code RssAnon} of {@code /proc/self/status}), both sampled every 10 ms, and {@code VmHWM}.
 *
 * <p>Forward and Hessian work grow with the calibration tokens, the GPTQ solves and the weight loading do not:
 * the program prints the measured figures and, labelled as such, their extrapolation to 128 windows of 2048 tokens
 * (and to every block, when {@code --blocks} limits the run).
 */
public final class GptqEndToEndBench {
    private static final long MIB = 1L << 20;

    private GptqEndToEndBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args[0].startsWith("--")) {
            System.err.println("usage: GptqEndToEndBench <hf model dir> [--windows 4] [--seq 2048] [--bits 4]"
                    + " [--group 128] [--blocks N] [--keep memory|checkpoints] [--checkpoints <dir>] [--seed 1]"
                    + " [--true-sequential true|false]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        int windowsN = intOpt(args, "--windows", 4);
        int seq = intOpt(args, "--seq", 2048);
        int bits = intOpt(args, "--bits", 4);
        int group = intOpt(args, "--group", 128);
        long seed = intOpt(args, "--seed", 1);
        String keep = opt(args, "--keep", "memory");
        boolean trueSequential = Boolean.parseBoolean(opt(args, "--true-sequential", "false"));
        if (!keep.equals("memory") && !keep.equals("checkpoints")) {
            throw new IllegalArgumentException("--keep must be memory or checkpoints, not " + keep);
        }

        Sampler sampler = Sampler.start();
        System.out.printf(Locale.ROOT, "cpu=%s  processors=%d  java=%s  max_heap_mib=%d  blas=%s%n", cpuModel(),
                Runtime.getRuntime().availableProcessors(), Runtime.version(), Runtime.getRuntime().maxMemory() / MIB,
                Blas.get().name());
        long t0 = System.nanoTime();
        Model model = new HfModelFormat().read(dir);
        LlamaConfig cfg = LlamaConfig.fromMetadata(model);
        long t1 = System.nanoTime();
        int blocks = Math.min(cfg.nLayers(), intOpt(args, "--blocks", cfg.nLayers()));
        System.out.printf(Locale.ROOT, "model %s: %,d parameters, dim %d, hidden %d, %d layers (%d compressed), %d heads,"
                        + " %d kv heads; opened (mapped, hashed) in %.1f s%n", dir, model.parameterCount(), cfg.dim(),
                cfg.hiddenDim(), cfg.nLayers(), blocks, cfg.nHeads(), cfg.nKvHeads(), (t1 - t0) / 1e9);

        SplittableRandom rng = new SplittableRandom(seed);
        List<int[]> windows = new ArrayList<>();
        for (int w = 0; w < windowsN; w++) {
            int[] tokens = new int[seq];
            tokens[0] = 1;
            for (int t = 1; t < seq; t++) {
                tokens[t] = rng.nextInt(3, cfg.vocabSize());
            }
            windows.add(tokens);
        }
        GptqSettings gptq = GptqSettings.of(bits, group);
        Map<String, MethodSettings> settings = LanguageModelCompression.settings(model,
                n -> LlamaLayers.layerIndexOf(n) < blocks ? gptq : null);

        Map<String, CompressedTensor> tensors = new LinkedHashMap<>();
        Map<String, LinearOp> ops = new LinkedHashMap<>();
        long[] storedBits = {0};
        long[] weights = {0};
        double[] errSum = {0};
        CheckpointStore checkpoints = keep.equals("checkpoints")
                ? new CheckpointStore(Path.of(opt(args, "--checkpoints", dir.resolve("checkpoints").toString())),
                "gptq-e2e-bench") : null;
        RunHooks hooks = new RunHooks() {
            @Override
            public void phase(Phase phase, String detail) {
                System.out.printf(Locale.ROOT, "  [%6.1f s] %s %s%n", (System.nanoTime() - t1) / 1e9, phase.word(),
                        detail);
            }
        };
        System.out.printf(Locale.ROOT, "%s on %d windows × %d tokens, %s, keep=%s%n", gptq.describe(), windowsN,
                seq, trueSequential ? "true-sequential" : "all seven linears of a block calibrated at once", keep);
        BlockStreamedCompression.Stats st = new BlockStreamedCompression(hooks).compress(model, windows, settings,
                trueSequential, "gptq-e2e", layer -> {
                    storedBits[0] += layer.compressed().storedBits();
                    weights[0] += (long) layer.compressed().rows() * layer.compressed().cols();
                    errSum[0] += layer.result().reconError();
                    if (checkpoints != null) {
                        checkpoints.save(layer.index(), layer.name(), layer.compressed(), layer.result());
                    } else {
                        tensors.put(layer.tensor(), layer.compressed());
                        ops.put(layer.name(), layer.op());
                    }
                });
        long t2 = System.nanoTime();
        long heapPeak = sampler.heapPeak();
        long anonPeak = sampler.anonPeak();
        System.out.printf(Locale.ROOT, "compressed %d linears, %,d weights at %.4f bits per weight, mean relative"
                        + " error %.5f; kept %d tensors in memory%n", settings.size(), weights[0],
                (double) storedBits[0] / weights[0], errSum[0] / settings.size(), tensors.size());

        double sec = 1e9;
        double total = st.total() / sec;
        double tokenWork = (st.embed() + st.forward() + st.hessian() + st.propagate()) / sec;
        double fixed = total - tokenWork;
        System.out.printf(Locale.ROOT, "measured: total %.1f s = forward (calibration passes) %.1f + Hessians %.1f +"
                        + " forward (compressed outputs) %.1f + embed %.2f + GPTQ solves %.1f + weight decoding %.1f +"
                        + " other %.1f%n", total, st.forward() / sec, st.hessian() / sec, st.propagate() / sec,
                st.embed() / sec, st.compress() / sec, st.load() / sec,
                total - (st.forward() + st.hessian() + st.propagate() + st.embed() + st.compress() + st.load()) / sec);

        Floor f = floor(cfg, seq, trueSequential ? 4 : 1, group);
        double calibrated = (double) windowsN * blocks;
        double floorToken = calibrated * (f.calibrationPasses * f.forward + f.hessian) + windowsN * (blocks - 1.0) * f.forward;
        double floorFixed = blocks * f.lazy;
        double floor = floorToken + floorFixed;
        System.out.printf(Locale.ROOT, "floor (sgemm at the job's shapes, this run): one block on one window: forward"
                        + " %.3f s (%.1f GFLOP at %.1f GFLOP/s), Hessians %.3f s (%.1f GFLOP at %.1f GFLOP/s); one block's"
                        + " lazy updates %.3f s (%.1f GFLOP at %.1f GFLOP/s)%n", f.forward, f.forwardFlops / 1e9,
                f.forwardFlops / f.forward / 1e9, f.hessian, f.hessianFlops / 1e9, f.hessianFlops / f.hessian / 1e9,
                f.lazy, f.lazyFlops / 1e9, f.lazyFlops / f.lazy / 1e9);
        System.out.printf(Locale.ROOT, "measured: %d windows × %d tokens, %d blocks: total %.1f s, floor %.1f s"
                        + " (token-proportional %.1f + per-block %.1f), ratio total/floor %.2f%n", windowsN, seq, blocks,
                total, floor, floorToken, floorFixed, total / floor);

        double scaleTokens = 128.0 * 2048 / ((double) windowsN * seq);
        double scaleBlocks = (double) cfg.nLayers() / blocks;
        double exTotal = (tokenWork * scaleTokens + fixed) * scaleBlocks;
        double exFloor = (floorToken * scaleTokens + floorFixed) * scaleBlocks;
        System.out.printf(Locale.ROOT, "EXTRAPOLATED (not measured) to 128 windows × 2048 tokens%s: total %.0f s"
                        + " (%.2f h), floor %.0f s, ratio %.2f  [token-proportional work × %.1f%s]%n",
                blocks < cfg.nLayers() ? ", all " + cfg.nLayers() + " blocks" : "", exTotal, exTotal / 3600, exFloor,
                exTotal / exFloor, scaleTokens, blocks < cfg.nLayers() ? ", every block × " + String.format(Locale.ROOT,
                        "%.1f", scaleBlocks) : "");
        if (blocks < cfg.nLayers()) {
            double allBlocks = (tokenWork + fixed) * scaleBlocks;
            System.out.printf(Locale.ROOT, "EXTRAPOLATED (not measured) to all %d blocks at %d windows × %d tokens:"
                    + " total %.0f s (%.2f h)%n", cfg.nLayers(), windowsN, seq, allBlocks, allBlocks / 3600);
        }
        sampler.stop();
        Map<String, Long> status = procStatus();
        System.out.printf(Locale.ROOT, "memory during compression: heap in use peak %d MiB (sampled every 10 ms),"
                        + " anonymous RSS peak %d MiB (RssAnon sampled every 10 ms), VmHWM %d MiB; calibration hidden"
                        + " states %d MiB%n", heapPeak / MIB, anonPeak / 1024, status.getOrDefault("VmHWM", -1L) / 1024,
                st.activationBytes() / MIB);
        System.out.printf(Locale.ROOT, "gptq_e2e.total_s=%.1f gptq_e2e.floor_s=%.1f gptq_e2e.ratio=%.2f"
                        + " gptq_e2e.heap_peak_mib=%d gptq_e2e.anon_peak_mib=%d gptq_e2e.extrapolated_128x2048_s=%.0f%n",
                total, floor, total / floor, heapPeak / MIB, anonPeak / 1024, exTotal);
        if (checkpoints != null) {
            checkpoints.deleteAll();
        }
    }

    /** Seconds of the unavoidable products of one block: per window pass, per window's Hessians, per block's lazy updates. */
    record Floor(double forward, double forwardFlops, double hessian, double hessianFlops, double lazy,
                 double lazyFlops, int calibrationPasses) {
    }

    static Floor floor(LlamaConfig c, int tokens, int calibrationPasses, int groupBlock) {
        Blas blas = Blas.get();
        int dim = c.dim();
        int kv = c.kvDim();
        int hidden = c.hiddenDim();
        int hd = c.headDim();
        SplittableRandom r = new SplittableRandom(3);
        // Forward: the seven linears (y = x·Wᵀ), then per head the causal half of Q·Kᵀ and P·V.
        int[][] linears = {{dim, dim}, {kv, dim}, {kv, dim}, {dim, dim}, {hidden, dim}, {hidden, dim}, {dim, hidden}};
        float[] x = random(r, (long) tokens * Math.max(dim, hidden));
        float[] y = new float[tokens * Math.max(dim, hidden)];
        double fwd = 0;
        double fwdFlops = 0;
        Map<String, Double> timed = new LinkedHashMap<>();
        for (int[] l : linears) {
            int out = l[0];
            int in = l[1];
            float[] w = random(r, (long) out * in);
            double t = timed.computeIfAbsent(out + "x" + in, k -> time(() -> blas.sgemm(false, true, tokens, out, in, 1f,
                    x, 0, in, w, 0, in, 0f, y, 0, out)));
            fwd += t;
            fwdFlops += 2.0 * tokens * out * in;
        }
        float[] q = random(r, (long) tokens * hd);
        float[] k = random(r, (long) tokens * hd);
        float[] s = new float[tokens * tokens];
        double qk = time(() -> blas.sgemm(false, true, tokens, tokens, hd, 1f, q, 0, hd, k, 0, hd, 0f, s, 0, tokens));
        double pv = time(() -> blas.sgemm(false, false, tokens, hd, tokens, 1f, s, 0, tokens, k, 0, hd, 0f, q, 0, hd));
        fwd += c.nHeads() * 0.5 * (qk + pv);
        fwdFlops += c.nHeads() * 0.5 * 2 * (2.0 * tokens * tokens * hd);
        // Hessians: one XᵀX per window and distinct input (q/k/v, o and gate/up see dim columns, down hidden).
        double hDim = time(() -> lowerXtX(blas, x, tokens, dim));
        double hHidden = time(() -> lowerXtX(blas, x, tokens, hidden));
        double hess = 3 * hDim + hHidden;
        double hessFlops = 3 * xtxFlops(tokens, dim) + xtxFlops(tokens, hidden);
        // GPTQ's lazy updates for each linear's shape (rows × cols = out × in).
        double lazy = 0;
        double lazyFlops = 0;
        Map<String, Double> lazyTimed = new LinkedHashMap<>();
        for (int[] l : linears) {
            int rows = l[0];
            int cols = l[1];
            lazy += lazyTimed.computeIfAbsent(rows + "x" + cols, key -> {
                float[] u = random(r, (long) cols * cols);
                float[] wk = random(r, (long) rows * cols);
                float[] err = random(r, (long) rows * groupBlock);
                return time(() -> {
                    for (int i1 = 0; i1 < cols; i1 += groupBlock) {
                        int i2 = Math.min(cols, i1 + groupBlock);
                        if (i2 < cols) {
                            blas.sgemm(false, false, rows, cols - i2, i2 - i1, -1f, err, 0, i2 - i1, u, i1 * cols + i2,
                                    cols, 1f, wk, i2, cols);
                        }
                    }
                });
            });
            for (int i1 = 0; i1 < cols; i1 += groupBlock) {
                int i2 = Math.min(cols, i1 + groupBlock);
                lazyFlops += 2.0 * rows * (i2 - i1) * (cols - i2);
            }
        }
        return new Floor(fwd, fwdFlops, hess, hessFlops, lazy, lazyFlops, calibrationPasses);
    }

    private static void lowerXtX(Blas blas, float[] x, int tokens, int cols) {
        float[] h = new float[cols * cols];
        for (int r0 = 0; r0 < cols; r0 += 256) {
            int rb = Math.min(256, cols - r0);
            blas.sgemm(true, false, rb, r0 + rb, tokens, 1f, x, r0, cols, x, 0, cols, 1f, h, r0 * cols, cols);
        }
    }

    private static double xtxFlops(int tokens, int cols) {
        double f = 0;
        for (int r0 = 0; r0 < cols; r0 += 256) {
            int rb = Math.min(256, cols - r0);
            f += 2.0 * rb * (r0 + rb) * tokens;
        }
        return f;
    }

    /**
     * Seconds of one run of {@code r} (the code is compiled by then: the floor is measured after the compression);
     * a product under half a second is repeated and the fastest of three taken.
     */
    private static double time(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        double best = (System.nanoTime() - t0) / 1e9;
        for (int i = 0; i < 2 && best < 0.5; i++) {
            long t1 = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - t1) / 1e9);
        }
        return best;
    }

    private static float[] random(SplittableRandom r, long n) {
        float[] a = new float[Math.toIntExact(n)];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() - 0.5);
        }
        return a;
    }

    private static String cpuModel() throws IOException {
        return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("unknown");
    }

    /** The kB figures of /proc/self/status. */
    static Map<String, Long> procStatus() {
        Map<String, Long> m = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.US_ASCII)) {
                String[] parts = line.split(":\\s+");
                if (parts.length == 2 && parts[1].endsWith(" kB")) {
                    m.put(parts[0], Long.parseLong(parts[1].substring(0, parts[1].length() - 3).trim()));
                }
            }
        } catch (IOException e) {
            return m;
        }
        return m;
    }

    private static String opt(String[] args, String name, String dflt) {
        for (int i = 1; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return dflt;
    }

    private static int intOpt(String[] args, String name, int dflt) {
        return Integer.parseInt(opt(args, name, String.valueOf(dflt)));
    }

    /** Samples heap in use and RssAnon every 10 ms. */
    private static final class Sampler implements Runnable {
        private final AtomicLong heap = new AtomicLong();
        private final AtomicLong anonKb = new AtomicLong();
        private volatile boolean running = true;
        private Thread thread;

        static Sampler start() {
            Sampler s = new Sampler();
            s.thread = Thread.ofPlatform().daemon().name("memory-sampler").start(s);
            return s;
        }

        @Override
        public void run() {
            var memory = ManagementFactory.getMemoryMXBean();
            Path status = Path.of("/proc/self/status");
            while (running) {
                heap.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
                try {
                    for (String line : Files.readAllLines(status, StandardCharsets.US_ASCII)) {
                        if (line.startsWith("RssAnon:")) {
                            long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                            anonKb.accumulateAndGet(kb, Math::max);
                        }
                    }
                    Thread.sleep(10);
                } catch (IOException | InterruptedException e) {
                    return;
                }
            }
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join();
        }

        long heapPeak() {
            return heap.get();
        }

        long anonPeak() {
            return anonKb.get();
        }
    }
}
