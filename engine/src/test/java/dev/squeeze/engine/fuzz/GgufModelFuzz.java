package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.Tokenizer;
import dev.squeeze.engine.data.text.Tokenizers;
import dev.squeeze.engine.export.gguf.GgmlType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.GgufLlamaFiles;
import dev.squeeze.engine.testing.TinyLlama;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * GGUF files opened as models ({@link dev.squeeze.engine.model.gguf.GgufModelFormat}): recognised by content,
 * the inventory listed, the forward pass built (which decodes every tensor: F32, F16, BF16, Q8_0, Q4_0, Q4_K,
 * Q6_K) and one token run, and the tokenizer taken from {@code tokenizer.ggml.*} encoding and decoding a text.
 */
public final class GgufModelFuzz {
    private static final String TEXT = "Once upon a time, a cat sat.\n \u00e9\u4e2d \uD83D\uDE00 <s>";

    private GgufModelFuzz() {
    }

    public static void fuzzerInitialize() {
        FuzzFiles.warmUp(GgufModelFuzz::seeds, GgufModelFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        Path file = FuzzFiles.write("model.gguf", data);
        FuzzFiles.refusedOnlyCleanly(() -> {
            Model model = ModelFormats.open(file);
            ModelPaths.run(model, file);
            if (LlamaConfig.ARCHITECTURE.equals(model.architecture())) {
                int vocab = LlamaConfig.fromMetadata(model).vocabSize();
                Optional<Tokenizer> tok = Tokenizers.besideModel(model, vocab);
                if (tok.isPresent()) {
                    Tokenizer t = tok.get();
                    int[] ids = t.encode(TEXT, t.bosId() >= 0, t.eosId() >= 0);
                    t.decode(ids);
                    int prev = -1;
                    for (int id : ids) {
                        t.decode(prev, id);
                        prev = id;
                    }
                }
            }
        });
    }

    static Map<String, byte[]> seeds() throws Exception {
        Map<String, byte[]> out = new LinkedHashMap<>();
        Path dir = Files.createTempDirectory(FuzzFiles.scratch(), "gguf-model");
        String[] pieces = {"<unk>", "\n<s>\n", "\n</s>\n", " ", "a", " a", "t", "at", " cat", "<0x0A>", "<0xC3>",
                "<0xA9>", "e", "c", " c", "ca"};
        float[] scores = new float[pieces.length];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = -i;
        }
        Llama2cTokenizer tok = Llama2cTokenizer.of("seed", pieces, scores, 0, 1, 2, true);
        // Rows of 32 for the 32-value blocks; a down projection of rows of 256 for the K-quants.
        LlamaConfig small = new LlamaConfig(32, 32, 1, 2, 1, pieces.length, 16, 1e-5, 10000,
                RopeStyle.INTERLEAVED, false, false);
        LlamaConfig tied = new LlamaConfig(32, 32, 1, 2, 1, pieces.length, 16, 1e-5, 10000,
                RopeStyle.INTERLEAVED, false, true);
        LlamaConfig wide = new LlamaConfig(8, 256, 1, 2, 1, pieces.length, 16, 1e-5, 10000,
                RopeStyle.INTERLEAVED, false, true);
        seed(out, dir, "q8_0", small, tok, GgufLlamaFiles.matricesAs(GgmlType.Q8_0));
        seed(out, dir, "q4_0-tied", tied, tok, GgufLlamaFiles.matricesAs(GgmlType.Q4_0));
        seed(out, dir, "f16", small, tok, t -> t.rank() == 2 ? GgmlType.F16 : GgmlType.F32);
        seed(out, dir, "bf16-no-tokenizer", small, null, t -> t.rank() == 2 ? GgmlType.BF16 : GgmlType.F32);
        for (GgmlType k : new GgmlType[]{GgmlType.Q4_K, GgmlType.Q6_K}) {
            seed(out, dir, k.name().toLowerCase(java.util.Locale.ROOT), wide, tok,
                    t -> t.rank() == 2 && t.dim(1) % 256 == 0 ? k : t.rank() == 2 ? GgmlType.F16 : GgmlType.F32);
        }
        return out;
    }

    private static void seed(Map<String, byte[]> out, Path dir, String name, LlamaConfig c, Llama2cTokenizer tok,
                             Function<Tensor, GgmlType> types) throws Exception {
        Model model = TinyLlama.model(c, TinyLlama.randomWeights(c, name.hashCode()));
        Path f = dir.resolve(name + ".gguf");
        GgufLlamaFiles.write(model, tok, types, f);
        out.put(name, Files.readAllBytes(f));
    }
}
