package dev.squeeze.engine.model.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.safetensors.SafetensorsWriter;
import dev.squeeze.engine.util.AtomicFiles;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Writes a Llama-family {@link Model} as a Hugging Face folder that transformers and {@link HfModelFormat} read:
 * {@code config.json} and either one {@code model.safetensors} or shards with {@code model.safetensors.index.json}.
 *
 * <p>The model must carry the canonical tensor names and its {@code squeeze.llama.*} metadata, and its q/k rows
 * must already be in Hugging Face's rotate-half order (a llama2.c model needs the q/k permutation first). Weights
 * are converted to the requested type in chunks, so a mapped model larger than the heap can be written.
 * config.json is written last: a folder interrupted half-way has no config and is not taken for a model.
 */
public final class HfExporter {
    /** Shard names as transformers writes them: model-00001-of-00003.safetensors. */
    private static final Pattern WEIGHT_FILE = Pattern.compile(
            "model\\.safetensors|model\\.safetensors\\.index\\.json|model-\\d+-of-\\d+\\.safetensors");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private HfExporter() {
    }

    /** Writes one {@code model.safetensors}. */
    public static void write(Model model, Path dir, DType dtype) {
        write(model, dir, dtype, 0);
    }

    /**
     * Writes the model, in shards of at most {@code maxShardBytes} (a larger tensor gets a shard of its own, as
     * in transformers) when the weights exceed it; {@code maxShardBytes <= 0} always writes one file.
     *
     * @param dtype F32, F16 or BF16: the type every tensor is stored in
     */
    public static void write(Model model, Path dir, DType dtype, long maxShardBytes) {
        String ropeStyle = model.metadata().getOrDefault(HfConfig.PREFIX + "rope_style", "rotate_half");
        if (!ropeStyle.equals("rotate_half")) {
            // Written as they are, q/k rows in another order would give transformers a different model.
            throw new SqueezeException("Model " + model.name() + " has rope_style '" + ropeStyle + "', but Hugging"
                    + " Face layout needs q/k rows in rotate-half order",
                    "permute the q/k rows to rotate-half order (and set rope_style) before writing it");
        }
        HfConfig config = HfConfig.fromMetadata(model.metadata(), model.name(), torchDtype(dtype));
        List<Tensor> tensors = canonicalTensors(model, config);
        long total = tensors.stream().mapToLong(t -> t.numel() * dtype.bytes()).sum();

        List<List<Tensor>> shards = new ArrayList<>();
        if (maxShardBytes <= 0 || total <= maxShardBytes) {
            shards.add(tensors);
        } else {
            List<Tensor> current = new ArrayList<>();
            long size = 0;
            for (Tensor t : tensors) {
                long bytes = t.numel() * dtype.bytes();
                if (!current.isEmpty() && size + bytes > maxShardBytes) {
                    shards.add(current);
                    current = new ArrayList<>();
                    size = 0;
                }
                current.add(t);
                size += bytes;
            }
            shards.add(current);
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < shards.size(); i++) {
            names.add(shards.size() == 1 ? HfModelFormat.SINGLE
                    : String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size()));
        }
        Path abs = dir.toAbsolutePath();
        refuseStaleWeights(abs, names);

        Map<String, String> fileMetadata = Map.of("format", "pt");
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode weightMap = index.putObject("weight_map");
        for (int i = 0; i < shards.size(); i++) {
            SafetensorsWriter.write(abs.resolve(names.get(i)), shards.get(i), fileMetadata, dtype);
            for (Tensor t : shards.get(i)) {
                weightMap.put(t.name(), names.get(i));
            }
        }
        if (shards.size() > 1) {
            AtomicFiles.write(abs.resolve(HfModelFormat.INDEX), out -> JSON.writeValue(out, index));
        }
        ObjectNode json = config.toJson();
        AtomicFiles.write(abs.resolve(HfModelFormat.CONFIG), out -> JSON.writeValue(out, json));
    }

    private static String torchDtype(DType dtype) {
        return switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            case I8_GROUPS, BLOCKS -> throw new SqueezeException("Hugging Face folders hold F32, F16 or BF16 weights,"
                    + " not quantized " + dtype, "write the folder as F32, F16 or BF16");
        };
    }

    /** The model's tensors in canonical order, each checked against the config its metadata describes. */
    private static List<Tensor> canonicalTensors(Model model, HfConfig config) {
        Map<String, long[]> expected = config.expectedShapes();
        List<Tensor> out = new ArrayList<>();
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            Tensor t = model.tensors().get(e.getKey());
            if (t == null) {
                throw new SqueezeException("Model " + model.name() + " has no tensor '" + e.getKey()
                        + "', which a " + config.hfArchitecture() + " needs with shape "
                        + Arrays.toString(e.getValue()), "only models with the canonical Llama tensor names can be"
                        + " written in Hugging Face layout");
            }
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new SqueezeException("Tensor '" + e.getKey() + "' of model " + model.name() + " has shape "
                        + Arrays.toString(t.shape()) + " but its metadata (" + config.shapeFields() + ") implies "
                        + Arrays.toString(e.getValue()), "check the model's squeeze.llama.* metadata");
            }
            out.add(t);
        }
        Set<String> extra = new HashSet<>(model.tensors().keySet());
        extra.removeAll(expected.keySet());
        if (!extra.isEmpty()) {
            throw new SqueezeException("Model " + model.name() + " has tensors a " + config.hfArchitecture()
                    + " does not: " + extra.stream().sorted().limit(5).toList(),
                    "only the canonical Llama tensors can be written in Hugging Face layout");
        }
        return out;
    }

    /**
     * Refuses to write next to weight files this export would not replace: readers would mix them up (a stale
     * model.safetensors wins over a new index in transformers). Deleting them is left to the user.
     */
    private static void refuseStaleWeights(Path dir, List<String> names) {
        Set<String> mine = new HashSet<>(names);
        if (names.size() > 1) {
            mine.add(HfModelFormat.INDEX);
        }
        refuseStaleWeights(dir, n -> WEIGHT_FILE.matcher(n).matches() && !mine.contains(n));
    }

    /**
     * Refuses to write into {@code dir} when it holds a file whose name {@code stale} accepts (a weight file the
     * export would not replace), naming them all.
     */
    public static void refuseStaleWeights(Path dir, java.util.function.Predicate<String> stale) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        List<String> found = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String n = f.getFileName().toString();
                if (stale.test(n)) {
                    found.add(n);
                }
            }
        } catch (IOException e) {
            throw new SqueezeException("Cannot list " + dir + ": " + e.getMessage(),
                    "check that the folder is readable", e);
        }
        if (!found.isEmpty()) {
            found.sort(null);
            throw new SqueezeException("Folder " + dir + " already holds weight files this export would not replace: "
                    + found, "choose an empty folder, or delete those files first");
        }
    }
}
