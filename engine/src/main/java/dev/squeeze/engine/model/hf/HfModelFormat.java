package dev.squeeze.engine.model.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormat;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;
import dev.squeeze.engine.util.Hashing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A Hugging Face model folder: {@code config.json} plus either one {@code model.safetensors} or shards
 * ({@code model-00001-of-00002.safetensors}, ...) listed by {@code model.safetensors.index.json}. Shards are
 * memory-mapped and merged into one {@link Model} whose tensors carry the canonical Llama names; every tensor is
 * checked against the config, so a model that opens has exactly the tensors its forward pass needs.
 *
 * <p>An HF model is a folder, not a file with a signature, so {@link #recognizes} never claims bytes;
 * {@link #accepts(Path)} tells whether a path (the folder, its config.json or its index) is one.
 *
 * <p>Content hash: SHA-256 of a manifest listing {@code config.json} and each weight file (sorted by name) with
 * the SHA-256 of its bytes, one {@code <name> <sha256>} line each (as {@code sha256sum} prints it, so every
 * line can be checked by hand or against the Hub's LFS hashes). The config is part of the identity because
 * fields like {@code rope_theta} change the model; the index is not, since it only repeats the shards' content.
 */
public final class HfModelFormat implements ModelFormat {
    public static final String NAME = "hf";
    public static final String CONFIG = "config.json";
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";
    /** Index files are a few hundred kilobytes even for the largest models. */
    private static final long MAX_INDEX_BYTES = 64L << 20;
    private static final Logger LOG = LoggerFactory.getLogger(HfModelFormat.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String name() {
        return NAME;
    }

    /** Always false: an HF model is a folder of files, found by {@link #accepts(Path)}, not a byte signature. */
    @Override
    public boolean recognizes(byte[] head, long fileSize) {
        return false;
    }

    /**
     * Whether {@code path} names a Hugging Face model: a folder holding {@code config.json}, or that folder's
     * {@code config.json} or {@code model.safetensors.index.json}. A lone {@code .safetensors} file is not
     * claimed, so it keeps opening as a plain safetensors file.
     */
    public static boolean accepts(Path path) {
        if (Files.isDirectory(path)) {
            return Files.isRegularFile(path.resolve(CONFIG));
        }
        Path name = path.getFileName();
        return name != null && (name.toString().equals(CONFIG) || name.toString().equals(INDEX))
                && Files.isRegularFile(path);
    }

    /**
     * Reads the model in a folder. {@code path} may be the folder, its {@code config.json}, its
     * {@code model.safetensors}, its {@code model.safetensors.index.json} or one of the shards that index lists.
     * Given the folder or config.json, {@code model.safetensors} wins over an index when both exist, as in
     * transformers.
     */
    @Override
    public Model read(Path path) {
        Path abs = path.toAbsolutePath().normalize();
        Path dir = Files.isDirectory(abs) ? abs : abs.getParent();
        if (dir == null || !Files.exists(abs)) {
            throw new SqueezeException("Model not found: " + abs,
                    "give a Hugging Face model folder (with config.json and model.safetensors or an index)");
        }
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new SqueezeException("No config.json in " + dir + ": a Hugging Face model folder needs one",
                    "download config.json with the weights, or open the .safetensors file on its own");
        }
        byte[] configBytes = readAll(configFile);
        HfConfig config = HfConfig.parse(configBytes, configFile.toString());

        Path named = Files.isDirectory(abs) || abs.getFileName().toString().equals(CONFIG) ? null : abs;
        Path single = dir.resolve(SINGLE);
        Path index = dir.resolve(INDEX);
        Map<String, String> weightMap;
        List<Path> shards;
        if (named != null && !named.getFileName().toString().equals(INDEX)
                && !named.getFileName().toString().equals(SINGLE) && Files.isRegularFile(index)) {
            // One shard of a sharded model stands for the whole model its index lists.
            named = index;
        }
        if (named != null && !named.getFileName().toString().equals(INDEX)) {
            shards = List.of(named);
            weightMap = null;
        } else if (named == null && Files.isRegularFile(single)) {
            if (Files.exists(index)) {
                LOG.info("{} has both {} and {}; reading {} as transformers does", dir, SINGLE, INDEX, SINGLE);
            }
            shards = List.of(single);
            weightMap = null;
        } else if (Files.isRegularFile(index)) {
            weightMap = readIndex(index);
            shards = new TreeSet<>(weightMap.values()).stream().map(dir::resolve).toList();
            for (Path shard : shards) {
                if (!Files.isRegularFile(shard)) {
                    String first = weightMap.entrySet().stream()
                            .filter(e -> dir.resolve(e.getValue()).equals(shard)).findFirst().orElseThrow().getKey();
                    throw new SqueezeException("Missing shard: " + index + " maps tensor '" + first + "' to "
                            + shard.getFileName() + ", which is not in " + dir,
                            "download every model-*-of-*.safetensors file listed in the index");
                }
            }
        } else {
            throw new SqueezeException("No weights in " + dir + ": neither " + SINGLE + " nor " + INDEX,
                    "download the model's safetensors files (Squeeze does not read pytorch_model.bin)");
        }

        Map<Path, Model> parts = readShards(shards);
        Map<String, Tensor> found = new LinkedHashMap<>();
        Map<String, Path> foundIn = new LinkedHashMap<>();
        for (Map.Entry<Path, Model> part : parts.entrySet()) {
            for (Tensor t : part.getValue().tensors().values()) {
                Path before = foundIn.putIfAbsent(t.name(), part.getKey());
                if (before != null) {
                    throw new SqueezeException("Tensor '" + t.name() + "' is in two shards: " + before + " and "
                            + part.getKey(), "the shards come from different models; download them again");
                }
                found.put(t.name(), t);
            }
        }
        if (weightMap != null) {
            checkIndex(index, weightMap, foundIn);
        }
        Map<String, Tensor> tensors = checkShapes(config, configFile, shards, found, foundIn);

        Map<String, String> metadata = config.metadata();
        String hash = contentHash(configBytes, parts);
        return new Model(dir.getFileName() == null ? dir.toString() : dir.getFileName().toString(), dir.toString(),
                NAME, HfConfig.ARCHITECTURE, hash, tensors, metadata);
    }

    /** The {@code weight_map} of an index: tensor name → shard file name (validated to stay in the folder). */
    private static Map<String, String> readIndex(Path index) {
        JsonNode root;
        try {
            if (Files.size(index) > MAX_INDEX_BYTES) {
                throw corruptIndex(index, "it is " + Files.size(index) + " bytes, far more than any real index");
            }
            root = JSON.readTree(new String(Files.readAllBytes(index), StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw corruptIndex(index, "it is not valid JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + index + ": " + e.getMessage(),
                    "check that the file is readable", e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw corruptIndex(index, "it has no 'weight_map' object naming the shard of each tensor");
        }
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            String file = e.getValue().isTextual() ? e.getValue().asText() : "";
            // A shard is a plain file name beside the index: anything else could read outside the model folder.
            if (file.isEmpty() || file.contains("/") || file.contains("\\") || file.equals("..") || file.equals(".")
                    || file.indexOf('\0') >= 0) {
                throw corruptIndex(index, "tensor '" + e.getKey() + "' maps to " + e.getValue()
                        + ", which is not a file name in the model folder");
            }
            weightMap.put(e.getKey(), file);
        }
        return weightMap;
    }

    /** Maps each shard, in parallel: hashing dominates the time, and each shard hashes on its own core. */
    private static Map<Path, Model> readShards(List<Path> shards) {
        SafetensorsFormat format = new SafetensorsFormat();
        if (shards.size() == 1) {
            return Map.of(shards.getFirst(), format.read(shards.getFirst()));
        }
        int threads = Math.min(shards.size(), Runtime.getRuntime().availableProcessors());
        Map<Path, Model> parts = new LinkedHashMap<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<Model>> futures = new ArrayList<>();
            for (Path shard : shards) {
                futures.add(pool.submit(() -> format.read(shard)));
            }
            for (int i = 0; i < shards.size(); i++) {
                parts.put(shards.get(i), futures.get(i).get());
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException("reading a shard failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SqueezeException("Opening the model was interrupted", "open it again");
        }
        return parts;
    }

    private static void checkIndex(Path index, Map<String, String> weightMap, Map<String, Path> foundIn) {
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            Path actual = foundIn.get(e.getKey());
            if (actual == null) {
                throw new SqueezeException("Missing tensor: " + index + " maps tensor '" + e.getKey() + "' to "
                        + e.getValue() + ", but that shard has no such tensor",
                        "the index and the shards disagree; download them again");
            }
            if (!actual.getFileName().toString().equals(e.getValue())) {
                throw new SqueezeException("Misplaced tensor: " + index + " maps tensor '" + e.getKey() + "' to "
                        + e.getValue() + ", but it is in " + actual.getFileName(),
                        "the index and the shards disagree; download them again");
            }
        }
    }

    /**
     * The tensors in canonical order, each with the shape the config implies. Tolerated extras: rotary
     * {@code inv_freq} buffers (derived from rope_theta) and {@code lm_head.weight} of a tied model (transformers
     * replaces it by the embedding). Anything else unexpected is an error, so that no weight is silently ignored.
     */
    private static Map<String, Tensor> checkShapes(HfConfig config, Path configFile, List<Path> shards,
                                                   Map<String, Tensor> found, Map<String, Path> foundIn) {
        Map<String, long[]> expected = config.expectedShapes();
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            Tensor t = found.get(e.getKey());
            if (t == null) {
                throw new SqueezeException("Missing tensor '" + e.getKey() + "': " + configFile + " ("
                        + config.hfArchitecture() + ", " + config.nLayers() + " layers) needs it with shape "
                        + Arrays.toString(e.getValue()) + ", and none of the weight files "
                        + shards.stream().map(p -> p.getFileName().toString()).toList()
                        + " has it",
                        "check that config.json belongs to these weights and that no shard is missing");
            }
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new SqueezeException("Tensor '" + e.getKey() + "' in " + foundIn.get(e.getKey()) + " has shape "
                        + Arrays.toString(t.shape()) + ", but " + configFile + " (" + config.shapeFields()
                        + ") implies " + Arrays.toString(e.getValue()),
                        "check that config.json belongs to these weights");
            }
            out.put(e.getKey(), t);
        }
        List<String> unexpected = new ArrayList<>();
        for (String name : found.keySet()) {
            if (expected.containsKey(name)) {
                continue;
            }
            if (name.endsWith(".rotary_emb.inv_freq") || (name.equals("lm_head.weight") && config.tiedEmbeddings())) {
                LOG.debug("ignoring {}: derived from the config", name);
                continue;
            }
            unexpected.add(name);
        }
        if (!unexpected.isEmpty()) {
            String first = unexpected.getFirst();
            throw new SqueezeException("Unexpected tensor '" + first + "' in " + foundIn.get(first)
                    + (unexpected.size() > 1 ? " (and " + (unexpected.size() - 1) + " more)" : "") + ": a "
                    + config.hfArchitecture() + " with " + config.nLayers() + " layers as " + configFile
                    + " describes has no such weight",
                    "check that config.json belongs to these weights; Squeeze never drops weights silently");
        }
        return out;
    }

    private static String contentHash(byte[] config, Map<Path, Model> parts) {
        Map<String, String> lines = new TreeMap<>();
        lines.put(CONFIG, Hashing.sha256(config));
        parts.forEach((path, m) -> lines.put(path.getFileName().toString(), m.contentHash()));
        StringBuilder manifest = new StringBuilder();
        lines.forEach((file, sha) -> manifest.append(file).append(' ').append(sha).append('\n'));
        return Hashing.sha256(manifest.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] readAll(Path file) {
        try {
            if (Files.size(file) > MAX_INDEX_BYTES) {
                throw new SqueezeException("Corrupt config file " + file + ": it is " + Files.size(file)
                        + " bytes, far more than any real config.json", "get a fresh copy of config.json");
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + file + ": " + e.getMessage(),
                    "check that the file is readable", e);
        }
    }

    private static SqueezeException corruptIndex(Path index, String what) {
        return new SqueezeException("Corrupt index " + index + ": " + what,
                "get a fresh copy of model.safetensors.index.json for this model");
    }
}
