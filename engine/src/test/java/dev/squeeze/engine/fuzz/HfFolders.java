package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.hf.HfExporter;
import dev.squeeze.engine.model.hf.HfModelFormat;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.TinyLlama;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The valid Hugging Face folders the HF fuzz targets damage one file of: tiny Llama-family models (width 8, one
 * block, vocabulary 16; 1 to 3 kB of weights) written by {@link HfExporter}, as transformers lays them out. Each
 * target gets copies of its own, so that the file it damages is not another target's.
 */
final class HfFolders {
    /** One folder: where it is and the bytes of each of its files, for restoring them. */
    record Folder(Path dir, Map<String, byte[]> files) {
        byte[] file(String name) {
            return files.get(name);
        }

        List<String> shards() {
            return files.keySet().stream().filter(n -> n.endsWith(".safetensors")).sorted().toList();
        }
    }

    private HfFolders() {
    }

    /**
     * Three variants under {@code root}: Llama F32 untied, Qwen2 (q/k/v biases) F16 tied, Mistral BF16 with a
     * sliding window; {@code shardBytes > 0} splits the weights into shards with an index.
     */
    static List<Folder> write(Path root, long shardBytes) {
        List<Folder> out = new ArrayList<>();
        out.add(write(root.resolve("llama"), "llama", false, false, DType.F32, shardBytes, Map.of()));
        out.add(write(root.resolve("qwen2"), "qwen2", true, true, DType.F16, shardBytes, Map.of()));
        out.add(write(root.resolve("mistral"), "mistral", false, false, DType.BF16, shardBytes,
                Map.of(LlamaConfig.PREFIX + "sliding_window", "3")));
        return out;
    }

    private static Folder write(Path dir, String family, boolean qkvBias, boolean tied, DType type, long shardBytes,
                                Map<String, String> extra) {
        LlamaConfig c = new LlamaConfig(8, 12, 1, 2, 1, 16, 4, 1e-5, 10000, RopeStyle.ROTATE_HALF, qkvBias, tied);
        Model base = TinyLlama.model(c, TinyLlama.randomWeights(c, family.hashCode()));
        Map<String, String> meta = new LinkedHashMap<>(base.metadata());
        meta.put(LlamaConfig.PREFIX + "family", family);
        meta.putAll(extra);
        Model m = new Model(base.name(), base.source(), base.format(), base.architecture(), base.contentHash(),
                base.tensors(), meta);
        try {
            if (Files.isDirectory(dir)) {
                try (Stream<Path> s = Files.list(dir)) {
                    for (Path p : s.toList()) {
                        Files.delete(p);
                    }
                }
            }
            HfExporter.write(m, dir, type, shardBytes);
            Map<String, byte[]> files = new LinkedHashMap<>();
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.sorted().toList()) {
                    files.put(p.getFileName().toString(), Files.readAllBytes(p));
                }
            }
            if (!files.containsKey(HfModelFormat.CONFIG)) {
                throw new IllegalStateException("the exporter wrote no config.json in " + dir);
            }
            return new Folder(dir, files);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the HF fuzz folder " + dir, e);
        }
    }

    /** {@code rest} with {@code first} in front: the first input byte picks the variant. */
    static byte[] prefixed(int first, byte[] rest) {
        byte[] out = new byte[rest.length + 1];
        out[0] = (byte) first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }
}
