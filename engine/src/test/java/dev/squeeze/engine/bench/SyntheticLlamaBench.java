package dev.squeeze.engine.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.hf.HfConfig;
import dev.squeeze.engine.model.hf.HfModelFormat;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The scale benchmark (a program, not a test; {@code bench/scale-1b.sh} runs it):
 * <ul>
 *   <li>{@code generate <dir> [options]} writes a Llama-shaped Hugging Face folder with random weights, streaming:
 *   no tensor is ever held in the heap, so it runs in a small heap whatever the model's size. The default shape is
 *   TinyLlama-1.1B's (dim 2048, MLP 5632, 22 layers, 32 heads, 4 KV heads, vocab 32000): 1.1 B parameters,
 *   2.2 GB in F16, one model.safetensors over 2 GiB unless {@code --shard-bytes} asks for shards.</li>
 *   <li>{@code open <dir> [--forward <class>] [--tokens n]} opens it with {@link HfModelFormat}, decodes every
 *   tensor in bounded chunks, optionally runs a {@link BenchForward}, and reports times, peak heap and peak
 *   resident memory.</li>
 * </ul>
 */
public final class SyntheticLlamaBench {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final int CHUNK = 1 << 16;
    private static final long MIB = 1L << 20;

    private SyntheticLlamaBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || !(args[0].equals("generate") || args[0].equals("open") || args[0].equals("export"))) {
            System.err.println("usage: SyntheticLlamaBench generate <dir> [--dim N] [--hidden N] [--layers N] [--heads N]"
                    + " [--kv-heads N] [--vocab N] [--dtype F16|BF16|F32] [--shard-bytes N] [--seed N]\n"
                    + "       SyntheticLlamaBench open <dir> [--forward <BenchForward class>] [--tokens N]\n"
                    + "       SyntheticLlamaBench export <dir> --out <file.gguf> [--type q4_0|q8_0|f16|f32]");
            System.exit(2);
        }
        Map<String, String> opts = options(args);
        Path dir = Path.of(args[1]);
        if (args[0].equals("generate")) {
            generate(dir, opts);
        } else if (args[0].equals("export")) {
            export(dir, opts);
        } else {
            open(dir, opts);
        }
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 2; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --option value at " + args[i]);
            }
            o.put(args[i].substring(2), args[++i]);
        }
        return o;
    }

    private static int intOpt(Map<String, String> o, String key, int fallback) {
        return o.containsKey(key) ? Integer.parseInt(o.get(key)) : fallback;
    }

    // ------------------------------------------------------------------------------------------------ generate

    static void generate(Path dir, Map<String, String> o) throws IOException {
        DType dtype = DType.parse(o.getOrDefault("dtype", "F16"));
        if (dtype == null) {
            throw new IllegalArgumentException("--dtype must be F16, BF16 or F32");
        }
        String torchDtype = switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            case I8_GROUPS, BLOCKS -> throw new IllegalArgumentException("dtype must be F32, F16 or BF16");
        };
        HfConfig config = new HfConfig("LlamaForCausalLM", "llama", intOpt(o, "dim", 2048),
                intOpt(o, "hidden", 5632), intOpt(o, "layers", 22), intOpt(o, "heads", 32),
                intOpt(o, "kv-heads", 4), intOpt(o, "vocab", 32000), 2048, 1e-5, 10000.0, false, false, null, null,
                torchDtype, 1, List.of(2));
        long shardBytes = o.containsKey("shard-bytes") ? Long.parseLong(o.get("shard-bytes")) : 0;
        long seed = Long.parseLong(o.getOrDefault("seed", "1"));
        Files.createDirectories(dir);

        Map<String, long[]> shapes = config.expectedShapes();
        long params = 0;
        for (long[] s : shapes.values()) {
            params += numel(s);
        }
        List<List<String>> shards = plan(shapes, dtype, shardBytes);
        long start = System.nanoTime();
        long written = 0;
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", params * dtype.bytes());
        ObjectNode weightMap = index.putObject("weight_map");
        int tensorIndex = 0;
        for (int s = 0; s < shards.size(); s++) {
            String name = shards.size() == 1 ? HfModelFormat.SINGLE
                    : String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
            Map<String, long[]> part = new LinkedHashMap<>();
            for (String t : shards.get(s)) {
                part.put(t, shapes.get(t));
                weightMap.put(t, name);
            }
            written += writeShard(dir.resolve(name), part, dtype, seed, tensorIndex);
            tensorIndex += part.size();
        }
        if (shards.size() > 1) {
            JSON.writeValue(dir.resolve(HfModelFormat.INDEX).toFile(), index);
        }
        JSON.writeValue(dir.resolve(HfModelFormat.CONFIG).toFile(), config.toJson());
        double secs = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "generated %,d parameters (%s) in %d file(s), %,d bytes, in %.1f s (%.0f MB/s)%n",
                params, dtype, shards.size(), written, secs, written / 1e6 / secs);
        System.out.printf(Locale.ROOT, "generate.parameters=%d%ngenerate.bytes=%d%ngenerate.seconds=%.2f%n",
                params, written, secs);
        report("generate", 0);
    }

    private static List<List<String>> plan(Map<String, long[]> shapes, DType dtype, long maxBytes) {
        List<List<String>> shards = new ArrayList<>();
        List<String> current = new ArrayList<>();
        long size = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long bytes = numel(e.getValue()) * dtype.bytes();
            if (maxBytes > 0 && !current.isEmpty() && size + bytes > maxBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(e.getKey());
            size += bytes;
        }
        shards.add(current);
        return shards;
    }

    /** Writes one safetensors file tensor by tensor from a seeded generator, through one 2 MiB direct buffer. */
    private static long writeShard(Path file, Map<String, long[]> shapes, DType dtype, long seed, int firstIndex)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long bytes = numel(e.getValue()) * dtype.bytes();
            ObjectNode n = header.putObject(e.getKey());
            n.put("dtype", dtype.name());
            var shape = n.putArray("shape");
            for (long d : e.getValue()) {
                shape.add(d);
            }
            n.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = new ObjectMapper().writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer buf = ByteBuffer.allocateDirect(2 << 20).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            buf.putLong(padded).put(json);
            for (int i = json.length; i < padded; i++) {
                buf.put((byte) ' ');
            }
            int index = firstIndex;
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                long[] shape = e.getValue();
                SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + index++);
                boolean norm = shape.length == 1;
                // Uniform weights with the variance of a 1/sqrt(fan-in) initialisation; norm gains near 1.
                double amplitude = norm ? 0.01 : Math.sqrt(3.0 / shape[1]);
                long n = numel(shape);
                for (long i = 0; i < n; i++) {
                    if (buf.remaining() < 4) {
                        drain(buf, ch);
                    }
                    float v = (float) ((norm ? 1.0 : 0.0) + amplitude * (2 * rng.nextDouble() - 1));
                    switch (dtype) {
                        case F32 -> buf.putFloat(v);
                        case F16 -> buf.putShort(Float.floatToFloat16(v));
                        case BF16 -> buf.putShort((short) ((Float.floatToRawIntBits(v) + 0x8000) >>> 16));
                        case I8_GROUPS, BLOCKS -> throw new IllegalArgumentException("not a synthetic dtype");
                    }
                }
            }
            drain(buf, ch);
            return ch.size();
        }
    }

    private static void drain(ByteBuffer buf, FileChannel ch) throws IOException {
        buf.flip();
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
        buf.clear();
    }

    // ------------------------------------------------------------------------------------------------ export

    /** Opens the model and writes it as GGUF (ggml's quantizer, as llama-quantize): time, peak heap and bytes. */
    static void export(Path dir, Map<String, String> o) throws Exception {
        HeapSampler sampler = HeapSampler.start();
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            p.resetPeakUsage();
        }
        Path out = Path.of(o.getOrDefault("out", dir.resolve("model.gguf").toString()));
        var type = dev.squeeze.engine.export.gguf.GgmlType.valueOf(
                o.getOrDefault("type", "q4_0").toUpperCase(Locale.ROOT));
        long t0 = System.nanoTime();
        Model model = new HfModelFormat().read(dir);
        long t1 = System.nanoTime();
        var report = dev.squeeze.engine.export.Exports.convert(model, dev.squeeze.engine.export.Exports.Format.GGUF,
                out, new dev.squeeze.engine.export.Exports.Options(type, dev.squeeze.engine.model.DType.F16));
        long t2 = System.nanoTime();
        System.out.printf(Locale.ROOT, "cpu=%s%n", cpuModel());
        System.out.printf(Locale.ROOT, "export.open_seconds=%.2f  export.write_seconds=%.2f  (%s, %,d parameters)%n",
                (t1 - t0) / 1e9, (t2 - t1) / 1e9, type, model.parameterCount());
        System.out.printf(Locale.ROOT, "export.file_bytes=%,d  (%.3f bits per parameter)  tensors noted: %d%n",
                report.bytes(), 8.0 * report.bytes() / model.parameterCount(),
                report.notes().stream().filter(n -> !n.reason().isEmpty()).count());
        sampler.stop();
        report("export", sampler.max());
    }

    private static String cpuModel() throws IOException {
        return java.nio.file.Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim())
                .findFirst().orElse("unknown");
    }

    // ------------------------------------------------------------------------------------------------ open

    static void open(Path dir, Map<String, String> o) throws Exception {
        HeapSampler sampler = HeapSampler.start();
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            p.resetPeakUsage();
        }
        long t0 = System.nanoTime();
        Model model = new HfModelFormat().read(dir);
        long t1 = System.nanoTime();
        System.out.printf(Locale.ROOT, "opened %s: %,d tensors, %,d parameters, %,d bytes stored, sha256 %s%n",
                model.name(), model.tensors().size(), model.parameterCount(), model.storedBytes(),
                model.contentHash());
        System.out.printf(Locale.ROOT, "open.seconds=%.2f  (map, check against config.json, SHA-256 of every byte)%n",
                (t1 - t0) / 1e9);

        double sum = 0;
        double maxAbs = 0;
        for (Tensor t : model.tensors().values()) {
            ByteBuffer raw = t.bytes();
            int width = t.dtype().bytes();
            long n = t.numel();
            for (long at = 0; at < n; at += CHUNK) {
                int count = (int) Math.min(CHUNK, n - at);
                float[] v = t.dtype().decode(raw.slice((int) (at * width), count * width), count);
                for (float f : v) {
                    sum += f;
                    maxAbs = Math.max(maxAbs, Math.abs(f));
                }
            }
        }
        long t2 = System.nanoTime();
        System.out.printf(Locale.ROOT, "touch.seconds=%.2f  (decode every weight in %d-element chunks: sum %.4g,"
                + " max |w| %.4g)%n", (t2 - t1) / 1e9, CHUNK, sum, maxAbs);

        String forward = o.get("forward");
        if (forward != null) {
            BenchForward f = (BenchForward) Class.forName(forward).getDeclaredConstructor().newInstance();
            int count = intOpt(o, "tokens", 16);
            int vocab = Integer.parseInt(model.metadata().get("squeeze.llama.vocab_size"));
            SplittableRandom rng = new SplittableRandom(7);
            int[] tokens = new int[count];
            tokens[0] = 1;
            for (int i = 1; i < count; i++) {
                tokens[i] = rng.nextInt(3, vocab);
            }
            String summary = f.run(model, tokens);
            long t3 = System.nanoTime();
            System.out.printf(Locale.ROOT, "forward.seconds=%.2f  (%s over %d tokens: %s)%n", (t3 - t2) / 1e9,
                    forward, count, summary);
        } else {
            System.out.println("forward: not run (no --forward <BenchForward class> given)");
        }
        sampler.stop();
        // What the opened model itself keeps in the heap: tensors are views of the mapping, so this stays small.
        System.gc();
        long live = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        System.out.printf(Locale.ROOT, "open.heap.live_after_gc_mib=%d  (model still referenced: %s)%n", live / MIB,
                model.name());
        report("open", sampler.max());
    }

    /** Prints peak heap (sampled, and the sum of pool peaks) and peak resident memory of this JVM. */
    private static void report(String phase, long sampledHeapPeak) throws IOException {
        long poolPeaks = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                poolPeaks += p.getPeakUsage().getUsed();
            }
        }
        long gcs = 0;
        long gcMillis = 0;
        for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcs += Math.max(0, g.getCollectionCount());
            gcMillis += Math.max(0, g.getCollectionTime());
        }
        Map<String, Long> status = procStatus();
        System.out.printf(Locale.ROOT, "%s.heap.max_mib=%d%n", phase, Runtime.getRuntime().maxMemory() / MIB);
        if (sampledHeapPeak > 0) {
            System.out.printf(Locale.ROOT, "%s.heap.peak_used_sampled_mib=%d  (every 5 ms)%n", phase,
                    sampledHeapPeak / MIB);
        }
        System.out.printf(Locale.ROOT, "%s.heap.peak_pool_sum_mib=%d  (sum of each heap pool's peak: an upper"
                + " bound)%n", phase, poolPeaks / MIB);
        System.out.printf(Locale.ROOT, "%s.gc.collections=%d  %s.gc.millis=%d%n", phase, gcs, phase, gcMillis);
        System.out.printf(Locale.ROOT, "%s.rss.peak_mib=%d  (VmHWM)  %s.rss.now_mib=%d  anon=%d  file=%d"
                        + "  (RssAnon: heap and native copies; RssFile: mapped weight pages, page cache)%n",
                phase, status.getOrDefault("VmHWM", -1L) / 1024, phase, status.getOrDefault("VmRSS", -1L) / 1024,
                status.getOrDefault("RssAnon", -1L) / 1024, status.getOrDefault("RssFile", -1L) / 1024);
    }

    /** The kB figures of /proc/self/status (Linux); empty elsewhere. */
    private static Map<String, Long> procStatus() throws IOException {
        Map<String, Long> m = new LinkedHashMap<>();
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) {
            return m;
        }
        for (String line : Files.readAllLines(status, StandardCharsets.US_ASCII)) {
            String[] parts = line.split(":\\s+");
            if (parts.length == 2 && parts[1].endsWith(" kB")) {
                m.put(parts[0], Long.parseLong(parts[1].substring(0, parts[1].length() - 3).trim()));
            }
        }
        return m;
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Samples used heap every 5 ms: pool peaks alone over-count, since pools peak at different times. */
    private static final class HeapSampler implements Runnable {
        private final AtomicLong max = new AtomicLong();
        private volatile boolean running = true;
        private Thread thread;

        static HeapSampler start() {
            HeapSampler s = new HeapSampler();
            s.thread = Thread.ofPlatform().daemon().name("heap-sampler").start(s);
            return s;
        }

        @Override
        public void run() {
            var memory = ManagementFactory.getMemoryMXBean();
            while (running) {
                max.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join();
        }

        long max() {
            return max.get();
        }
    }
}
