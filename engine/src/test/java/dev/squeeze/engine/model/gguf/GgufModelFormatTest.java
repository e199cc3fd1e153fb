package dev.squeeze.engine.model.gguf;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.EvaluationData;
import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.data.text.Tokenizer;
import dev.squeeze.engine.data.text.Tokenizers;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.export.gguf.GgmlBlocks;
import dev.squeeze.engine.export.gguf.GgmlType;
import dev.squeeze.engine.export.gguf.GgufValue;
import dev.squeeze.engine.export.gguf.GgufWriter;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.StoredSizes;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.GgufLlamaFiles;
import dev.squeeze.engine.testing.SharedData;
import dev.squeeze.engine.testing.TinyLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GgufModelFormatTest {
    private static final String STORIES260K = "models/stories260K/stories260K.bin";
    private static final String TOKENIZER = "models/stories260K/tok512.bin";

    @TempDir
    Path dir;

    private static Model llama2c() {
        return ModelFormats.open(SharedData.require(STORIES260K));
    }

    private Path write(Model model, Function<Tensor, GgmlType> types, String name) {
        Path file = dir.resolve(name);
        GgufLlamaFiles.write(model, Llama2cTokenizer.read(SharedData.require(TOKENIZER), 512), types, file);
        return file;
    }

    @Test
    void stories260kAtF32OpensWithTheLlama2cTensorsInventoryAndPerplexity() throws Exception {
        Model original = llama2c();
        Path file = write(original, t -> GgmlType.F32, "stories260K-f32.gguf");
        Model gguf = ModelFormats.open(file);
        assertEquals(GgufModelFormat.NAME, gguf.format());
        assertEquals(LlamaConfig.ARCHITECTURE, gguf.architecture());
        assertEquals(LlamaConfig.fromMetadata(original), LlamaConfig.fromMetadata(gguf));
        assertEquals(List.copyOf(original.tensors().keySet()), List.copyOf(gguf.tensors().keySet()));
        for (Tensor t : original.tensors().values()) {
            Tensor g = gguf.tensor(t.name());
            assertEquals(DType.F32, g.dtype());
            assertArrayEquals(t.shape(), g.shape(), t.name());
            assertArrayEquals(t.floats(), g.floats(), t.name());
        }
        assertEquals(original.layers(), gguf.layers());
        // The data section holds exactly the tensors' bytes plus each tensor's padding to 32 bytes.
        long padded = 0;
        for (Tensor t : gguf.tensors().values()) {
            padded += (t.storedBytes() + 31) / 32 * 32;
        }
        assertEquals(original.storedBytes(), gguf.storedBytes());
        assertTrue(Files.size(file) > padded);

        // The tokenizer comes out of the file and tokenizes the evaluation stories as tok512.bin does.
        Tokenizer fromGguf = Tokenizers.besideModel(gguf, 512).orElseThrow();
        Tokenizer fromBin = Llama2cTokenizer.read(SharedData.require(TOKENIZER), 512);
        StoryCorpus corpus = StoryCorpus.read(SharedData.require("data/" + EvaluationData.TINYSTORIES));
        StoryRange range = StoryRange.of(DataSplit.TINYSTORIES_1K.evaluation().first(),
                DataSplit.TINYSTORIES_1K.evaluation().first() + 4);
        List<int[]> expected = corpus.tokens(range, fromBin);
        List<int[]> actual = corpus.tokens(range, fromGguf);
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "story " + i);
            assertEquals(fromBin.decode(expected.get(i)), fromGguf.decode(actual.get(i)));
        }
        double pplLlama2c = Perplexity.evaluate(LlamaModel.from(original), expected).perplexity();
        double pplGguf = Perplexity.evaluate(LlamaModel.from(gguf), actual).perplexity();
        assertEquals(pplLlama2c, pplGguf, 0.0, "identical weights and tokens: identical perplexity");
        assertTrue(pplGguf > 1 && pplGguf < 10, "stories260K's perplexity is about 3.6: " + pplGguf);

        TextEvaluation eval = EvaluationData.textFor(gguf).orElseThrow();
        assertEquals(fromGguf.vocabSize(), eval.tokenizer().vocabSize());
    }

    @Test
    void stories260kAtQ8AndQ4HoldsGgmlsDequantizedRowsAndTheFilesSizes() {
        Model original = llama2c();
        for (GgmlType type : List.of(GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.F16)) {
            Path file = write(original, GgufLlamaFiles.matricesAs(type), "stories260K-" + type + ".gguf");
            Model gguf = ModelFormats.open(file);
            int quantized = 0;
            Map<String, Tensor> dequantized = new LinkedHashMap<>();
            for (Tensor t : original.tensors().values()) {
                Tensor g = gguf.tensor(t.name());
                boolean asType = t.rank() == 2 && t.dim(1) % type.blockSize() == 0;
                assertEquals(asType ? type.name() : "F32", StoredSizes.formatOf(gguf, g).split(" ")[0], t.name());
                long rows = t.rank() == 1 ? 1 : t.dim(0);
                int cols = (int) t.dim(t.rank() - 1);
                GgmlType stored = asType ? type : GgmlType.F32;
                assertEquals(rows * stored.rowBytes(cols), StoredSizes.of(gguf, g), t.name());
                float[] got = g.floats();
                float[] source = t.floats();
                for (long r = 0; r < rows; r++) {
                    float[] row = java.util.Arrays.copyOfRange(source, (int) (r * cols), (int) ((r + 1) * cols));
                    ByteBuffer enc = ByteBuffer.allocate((int) stored.rowBytes(cols));
                    GgmlBlocks.encode(stored, row, enc);
                    float[] dec = new float[cols];
                    GgmlBlocks.decode(stored, enc.flip(), dec);
                    assertArrayEquals(dec, java.util.Arrays.copyOfRange(got, (int) (r * cols), (int) ((r + 1) * cols)),
                            t.name() + " row " + r);
                    // A row read in place (the forward pass's path) is the same as the whole tensor's.
                    float[] one = new float[cols];
                    g.decode(r * cols + 0, one, 0, cols);
                    assertArrayEquals(dec, one);
                }
                quantized += asType ? 1 : 0;
                dequantized.put(t.name(), Tensor.of(t.name(), got, t.shape()));
            }
            assertTrue(quantized >= 30, type + ": most matrices are stored quantized (" + quantized + ")");
            if (type != GgmlType.F16) {
                assertTrue(gguf.storedBytes() < original.storedBytes() / 2, type + " is smaller");
            }
            // The forward pass reading the blocks in place computes what float32 copies of their values give.
            int[] tokens = {1, 403, 407, 261, 378, 430, 66, 307, 280, 261, 394, 265, 370, 46};
            Model copies = new Model("copies", "memory", "test", gguf.architecture(), "-", dequantized,
                    gguf.metadata());
            LlamaConfig c = LlamaConfig.fromMetadata(gguf);
            assertArrayEquals(LlamaModel.from(copies, c, true).logits(tokens),
                    LlamaModel.from(gguf, c, false).logits(tokens), type.name());
        }
    }

    /**
     * A model whose rows are multiples of 256, at Q4_K: the opened tensors are ggml's dequantization, the layer
     * inventory reports the blocks' bytes, and the forward pass (reading blocks in place) gives the logits of a
     * double-precision evaluation of the equations on those dequantized weights.
     */
    @Test
    void q4kModelRunsOnItsDequantizedWeights() {
        LlamaConfig c = new LlamaConfig(256, 512, 1, 4, 2, 64, 32, 1e-5, 10000, RopeStyle.INTERLEAVED, false, false);
        Map<String, float[]> weights = TinyLlama.randomWeights(c, 11);
        Model model = TinyLlama.model(c, weights);
        Path file = dir.resolve("tiny-q4k.gguf");
        GgufLlamaFiles.write(model, null, GgufLlamaFiles.matricesAs(GgmlType.Q4_K), file);
        Model gguf = ModelFormats.open(file);
        Map<String, float[]> dequantized = new LinkedHashMap<>();
        for (Tensor t : model.tensors().values()) {
            Tensor g = gguf.tensor(t.name());
            float[] expected = t.floats();
            if (t.rank() == 2) {
                assertEquals(DType.BLOCKS, g.dtype(), t.name());
                assertEquals("Q4_K", g.codec().name());
                ByteBuffer enc = ByteBuffer.allocate((int) (t.dim(0) * GgmlType.Q4_K.rowBytes(t.dim(1))));
                GgmlBlocks.encode(GgmlType.Q4_K, expected, enc); // rows are whole super-blocks: one call does all
                GgmlBlocks.decode(GgmlType.Q4_K, enc.flip(), expected);
                assertEquals(t.numel() / 256 * 144, g.storedBytes());
            }
            assertArrayEquals(expected, g.floats(), t.name());
            dequantized.put(t.name(), expected);
        }
        for (LayerInfo l : gguf.layers()) {
            assertEquals(l.parameters() / 256 * 144, l.storedBytes(), l.name());
        }
        int[] tokens = {1, 5, 9, 63, 0, 17};
        double[][] reference = TinyLlama.referenceLogits(c, dequantized, tokens);
        float[] got = LlamaModel.from(gguf, LlamaConfig.fromMetadata(gguf), false).logits(tokens);
        for (int p = 0; p < tokens.length; p++) {
            for (int v = 0; v < c.vocabSize(); v++) {
                double want = reference[p][v];
                assertEquals(want, got[p * c.vocabSize() + v], 1e-4 * Math.max(1, Math.abs(want)),
                        "position " + p + " logit " + v);
            }
        }
        // No tokenizer in the file: the model opens, evaluation finds no tokenizer.
        assertTrue(Tokenizers.besideModel(gguf, 64).isEmpty());
    }

    @Test
    void otherArchitecturesTypesAndTensorsAreRefusedByName() throws Exception {
        Path qwen = dir.resolve("qwen.gguf");
        new GgufWriter().put("general.architecture", GgufValue.str("qwen2")).write(qwen);
        assertMessage(qwen, "qwen2", "llama");

        Model original = llama2c();
        Path rope = dir.resolve("rope.gguf");
        GgufWriter w = base(LlamaConfig.fromMetadata(original));
        original.tensors().values().forEach(t -> add(w, GgufModelFormat.ggufName(t.name()), t));
        w.add(new GgufWriter.Input("rope_freqs.weight", 1, 4, 1, GgmlType.F32, r -> new float[4]));
        w.write(rope);
        assertMessage(rope, "rope_freqs.weight", "RoPE frequency factors");

        Path missing = dir.resolve("missing.gguf");
        GgufWriter w2 = base(LlamaConfig.fromMetadata(original));
        original.tensors().values().stream().filter(t -> !t.name().contains("layers.3.mlp.up"))
                .forEach(t -> add(w2, GgufModelFormat.ggufName(t.name()), t));
        w2.write(missing);
        assertMessage(missing, "blk.3.ffn_up.weight", "lacks");

        Path shape = dir.resolve("shape.gguf");
        GgufWriter w3 = base(LlamaConfig.fromMetadata(original)).put("llama.attention.head_count_kv",
                GgufValue.u32(8));
        original.tensors().values().forEach(t -> add(w3, GgufModelFormat.ggufName(t.name()), t));
        w3.write(shape);
        assertMessage(shape, "blk.0.attn_k.weight", "64 × 64");

        Path noKey = dir.resolve("nokey.gguf");
        new GgufWriter().put("general.architecture", GgufValue.str("llama")).write(noKey);
        assertMessage(noKey, "llama.embedding_length");

        // An unsupported ggml type (13 = Q5_K) is refused with the tensor's name and what is read.
        Path q5k = dir.resolve("q5k.gguf");
        GgufWriter w4 = base(LlamaConfig.fromMetadata(original));
        original.tensors().values().forEach(t -> add(w4, GgufModelFormat.ggufName(t.name()), t));
        w4.write(q5k);
        byte[] bytes = Files.readAllBytes(q5k);
        int at = indexOf(bytes, "blk.0.attn_q.weight".getBytes()) + "blk.0.attn_q.weight".length() + 4 + 16;
        assertEquals(0, bytes[at], "type F32 at the patched place");
        bytes[at] = 13;
        Files.write(q5k, bytes);
        assertMessage(q5k, "blk.0.attn_q.weight", "13", "Q4_K", "Q6_K");
    }

    @Test
    void unsupportedTokenizersAreNamed() {
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", GgufValue.str("gpt2"));
        md.put("tokenizer.ggml.tokens", GgufValue.array(GgufValue.STRING, List.of("a", "b")));
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> dev.squeeze.engine.data.text.GgufTokenizers.of(md, "x.gguf", 2));
        assertTrue(e.getMessage().contains("gpt2"), e.getMessage());
        md.put("tokenizer.ggml.model", GgufValue.str("llama"));
        md.put("tokenizer.ggml.scores", GgufValue.array(GgufValue.FLOAT32, List.of(0f)));
        e = assertThrows(SqueezeException.class, () -> dev.squeeze.engine.data.text.GgufTokenizers.of(md, "x.gguf", 2));
        assertTrue(e.getMessage().contains("1 scores for 2 tokens"), e.getMessage());
    }

    private static GgufWriter base(LlamaConfig c) {
        return new GgufWriter()
                .put("general.architecture", GgufValue.str("llama"))
                .put("llama.context_length", GgufValue.u32(c.maxSeqLen()))
                .put("llama.embedding_length", GgufValue.u32(c.dim()))
                .put("llama.feed_forward_length", GgufValue.u32(c.hiddenDim()))
                .put("llama.block_count", GgufValue.u32(c.nLayers()))
                .put("llama.attention.head_count", GgufValue.u32(c.nHeads()))
                .put("llama.attention.head_count_kv", GgufValue.u32(c.nKvHeads()));
    }

    private static void add(GgufWriter w, String name, Tensor t) {
        long rows = t.rank() == 1 ? 1 : t.dim(0);
        int cols = (int) t.dim(t.rank() - 1);
        float[] all = t.floats();
        w.add(new GgufWriter.Input(name, rows, cols, t.rank(), GgmlType.F32,
                r -> java.util.Arrays.copyOfRange(all, (int) r * cols, (int) (r + 1) * cols)));
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }

    private static void assertMessage(Path file, String... parts) {
        SqueezeException e = assertThrows(SqueezeException.class, () -> ModelFormats.open(file));
        List<String> missing = new ArrayList<>();
        for (String p : parts) {
            if (!e.getMessage().contains(p)) {
                missing.add(p);
            }
        }
        assertTrue(missing.isEmpty(), "message lacks " + missing + ": " + e.getMessage());
    }
}
