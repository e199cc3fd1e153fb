package dev.squeeze.engine.bench;

import dev.squeeze.engine.export.gguf.GgmlBlocks;
import dev.squeeze.engine.export.gguf.GgmlType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.StoredSizes;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.GgufLlamaFiles;
import dev.squeeze.engine.testing.TinyLlama;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * The GGUF reader on files llama.cpp itself quantized ({@code bench/ggml-quantize-check.sh}): {@code write F}
 * writes a float32 GGUF of a synthetic Llama whose rows are multiples of 256; {@code check F Q...} opens each
 * quantized file llama.cpp's {@code llama_model_quantize} made of it and compares every tensor with Squeeze's own
 * quantize-then-dequantize of the float32 rows in the type llama.cpp chose (without an importance matrix
 * llama.cpp uses ggml's reference quantizers), then prints the types and the largest difference.
 */
public final class GgufQuantizedCheck {
    private GgufQuantizedCheck() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 2 && args[0].equals("write")) {
            LlamaConfig c = new LlamaConfig(256, 512, 2, 4, 2, 64, 64, 1e-5, 10000, RopeStyle.INTERLEAVED, false,
                    false);
            GgufLlamaFiles.write(TinyLlama.model(c, TinyLlama.randomWeights(c, 5)), null, t -> GgmlType.F32,
                    Path.of(args[1]));
            return;
        }
        if (args.length < 3 || !args[0].equals("check")) {
            System.err.println("usage: GgufQuantizedCheck write F32.gguf | check F32.gguf QUANTIZED.gguf...");
            System.exit(2);
        }
        Model source = ModelFormats.open(Path.of(args[1]));
        int[] tokens = {1, 7, 19, 40, 63, 2, 11};
        float[] reference = LlamaModel.from(source).logits(tokens);
        boolean allExact = true;
        for (int i = 2; i < args.length; i++) {
            Path file = Path.of(args[i]);
            Model q = ModelFormats.open(file);
            Map<String, Integer> types = new TreeMap<>();
            long mismatched = 0;
            for (Tensor t : source.tensors().values()) {
                Tensor g = q.tensor(t.name());
                GgmlType type = GgmlType.valueOf(StoredSizes.formatOf(q, g));
                types.merge(type.name(), 1, Integer::sum);
                float[] want = t.floats();
                int cols = (int) t.dim(t.rank() - 1);
                for (int r = 0; r < want.length / cols; r++) {
                    float[] row = java.util.Arrays.copyOfRange(want, r * cols, (r + 1) * cols);
                    ByteBuffer enc = ByteBuffer.allocate((int) type.rowBytes(cols));
                    GgmlBlocks.encode(type, row, enc);
                    GgmlBlocks.decode(type, enc.flip(), row);
                    System.arraycopy(row, 0, want, r * cols, cols);
                }
                float[] got = g.floats();
                for (int j = 0; j < want.length; j++) {
                    if (Float.floatToIntBits(want[j]) != Float.floatToIntBits(got[j])) {
                        mismatched++;
                    }
                }
            }
            float[] logits = LlamaModel.from(q).logits(tokens);
            double worst = 0;
            double largest = 0;
            for (int j = 0; j < logits.length; j++) {
                worst = Math.max(worst, Math.abs(logits[j] - reference[j]));
                largest = Math.max(largest, Math.abs(reference[j]));
            }
            allExact &= mismatched == 0;
            System.out.printf("%-28s %9d bytes  tensors %s  values differing from Squeeze's quantizer: %d"
                    + "  max |Δlogit| vs f32: %.3f of max |logit| %.1f%n", file.getFileName(), Files.size(file), types,
                    mismatched, worst, largest);
        }
        System.exit(allExact ? 0 : 1);
    }
}
