package dev.squeeze.engine.model.hf;

import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.nn.llama.RopePermutation;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * stories260K written as a Hugging Face folder by Squeeze's own exporter (q/k rows permuted for HF's rotate-half
 * RoPE) and read back through the HF reader gives the logits of the llama2.c path.
 */
class Stories260KHfRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void hfExportOfStories260KReproducesTheLlama2cLogits() {
        Model original = ModelFormats.open(SharedData.require("models/stories260K/stories260K.bin"));
        LlamaConfig cfg = LlamaConfig.fromMetadata(original);
        assertEquals(RopeStyle.INTERLEAVED, cfg.ropeStyle());

        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Tensor t : original.tensors().values()) {
            String name = t.name();
            int heads = -1;
            for (int i = 0; i < cfg.nLayers(); i++) {
                if (name.equals(LlamaLayers.q(i) + ".weight")) {
                    heads = cfg.nHeads();
                } else if (name.equals(LlamaLayers.k(i) + ".weight")) {
                    heads = cfg.nKvHeads();
                }
            }
            float[] values = t.floats();
            if (heads > 0) {
                values = RopePermutation.toRotateHalf(values, heads, cfg.headDim(), (int) t.dim(1));
            }
            tensors.put(name, Tensor.of(name, values, t.shape()));
        }
        Map<String, String> meta = new LinkedHashMap<>(original.metadata());
        meta.putAll(cfg.withRopeStyle(RopeStyle.ROTATE_HALF).toMetadata());
        Model hfLayout = new Model(original.name(), original.source(), original.format(), original.architecture(),
                original.contentHash(), tensors, meta);
        HfExporter.write(hfLayout, dir.resolve("stories260K-hf"), DType.F32);

        Model reread = ModelFormats.open(dir.resolve("stories260K-hf"));
        assertEquals("hf", reread.format());
        assertEquals(RopeStyle.ROTATE_HALF, LlamaConfig.fromMetadata(reread).ropeStyle());

        int[] tokens = {1, 403, 407, 261, 378, 430, 66, 307, 280, 261, 394, 265, 370, 46};
        float[] expected = LlamaModel.from(original).logits(tokens);
        float[] actual = LlamaModel.from(reread).logits(tokens);
        assertEquals(expected.length, actual.length);
        double maxDiff = 0;
        double maxAbs = 0;
        for (int i = 0; i < expected.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
        }
        // Same weights, a permuted summation order inside each head's q·k: float32 rounding only.
        assertTrue(maxDiff < 1e-4 * Math.max(1, maxAbs), "max |Δlogit| " + maxDiff + " of max " + maxAbs);
    }
}
