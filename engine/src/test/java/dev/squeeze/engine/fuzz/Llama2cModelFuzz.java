package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.model.llama2c.Llama2cFiles;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.TinyLlama;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * llama2.c checkpoints (legacy, version 1, version 2 int8), along the whole path a run takes: the format is
 * recognised by content ({@link ModelFormats#open}), the inventory listed (as {@code inspect} does), the forward
 * pass built and one token run through it.
 */
public final class Llama2cModelFuzz {
    private Llama2cModelFuzz() {
    }

    public static void fuzzerInitialize() {
        FuzzFiles.warmUp(Llama2cModelFuzz::seeds, Llama2cModelFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        var file = FuzzFiles.write("model.bin", data);
        FuzzFiles.refusedOnlyCleanly(() -> ModelPaths.openAndRun(file));
    }

    static Map<String, byte[]> seeds() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (boolean tied : new boolean[]{true, false}) {
            // Small enough for the fuzzer's input sizes (a few kB), with grouped-query attention.
            LlamaConfig c = new LlamaConfig(8, 12, 1, 2, 1, 16, 4, LlamaConfig.LLAMA2C_NORM_EPS,
                    LlamaConfig.LLAMA2C_ROPE_THETA, RopeStyle.INTERLEAVED, false, tied);
            Map<String, float[]> w = TinyLlama.randomWeights(c, tied ? 1 : 2);
            String t = tied ? "tied" : "untied";
            out.put("legacy-" + t, Llama2cFiles.legacy(c, w));
            out.put("v1-" + t, Llama2cFiles.version1(c, w));
            out.put("v2-" + t, Llama2cFiles.version2(c, w, 4));
        }
        return out;
    }
}
