package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;
import dev.squeeze.engine.model.safetensors.SafetensorsWriter;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.testing.TinyModels;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Safetensors files along the path a Squeeze MLP takes ({@link ModelPaths#openAndRun}): header parsed, tensors
 * sliced, the inventory listed, the MLP built from its {@code squeeze.mlp.*} metadata and one image run through
 * it. The file lives in a folder of its own: a {@code config.json} beside it would make it a Hugging Face shard.
 */
public final class SafetensorsModelFuzz {
    private static final Path DIR = FuzzFiles.folder("safetensors");

    private SafetensorsModelFuzz() {
    }

    public static void fuzzerInitialize() throws Exception {
        FuzzFiles.warmUp(seeds(), SafetensorsModelFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        Path file = FuzzFiles.write(DIR, "model.safetensors", data);
        FuzzFiles.refusedOnlyCleanly(() -> ModelPaths.openAndRun(file));
    }

    static Map<String, byte[]> seeds() throws Exception {
        Map<String, byte[]> out = new LinkedHashMap<>();
        Path dir = Files.createTempDirectory(FuzzFiles.scratch(), "st");
        // The tests' 64-32-4 MLP (about 9 kB) and smaller ones in every element type, with and without biases.
        out.put("tiny-mlp", Files.readAllBytes(TinyModels.writeMlp(dir, 1)));
        out.put("mlp-f32", mlp(DType.F32, true, "a,b"));
        out.put("mlp-f16-nobias", mlp(DType.F16, false, ""));
        out.put("mlp-bf16", mlp(DType.BF16, true, "x,y"));
        return out;
    }

    /** A 6-4-2 MLP in {@code type}; {@code classes} empty leaves the class names out (they are then numbered). */
    private static byte[] mlp(DType type, boolean bias, String classes) throws Exception {
        Random rng = new Random(type.ordinal());
        List<Tensor> tensors = new java.util.ArrayList<>();
        tensors.add(tensor("l1.weight", type, rng, 4, 6));
        if (bias) {
            tensors.add(tensor("l1.bias", type, rng, 4));
        }
        tensors.add(tensor("l2.weight", type, rng, 2, 4));
        if (bias) {
            tensors.add(tensor("l2.bias", type, rng, 2));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(SafetensorsFormat.ARCH_KEY, MlpClassifier.ARCHITECTURE);
        meta.put(MlpClassifier.LAYERS_KEY, "l1,l2");
        meta.put(MlpClassifier.INPUT_SCALE_KEY, "0.5");
        if (!classes.isEmpty()) {
            meta.put(MlpClassifier.CLASSES_KEY, classes);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        SafetensorsWriter.write(bytes, tensors, meta);
        return bytes.toByteArray();
    }

    private static Tensor tensor(String name, DType type, Random rng, long... shape) {
        int n = 1;
        for (long d : shape) {
            n *= (int) d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return new Tensor(name, type, shape, ByteBuffer.wrap(type.encode(v)));
    }
}
