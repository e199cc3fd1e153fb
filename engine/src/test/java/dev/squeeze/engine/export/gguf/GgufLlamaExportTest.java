package dev.squeeze.engine.export.gguf;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.gptq.GptqTensor;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.data.text.HfTokenizer;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.export.ExportReport.TensorNote;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.hf.HfExporter;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.RopePermutation;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.RealTokenizers;
import dev.squeeze.engine.testing.SharedData;
import dev.squeeze.engine.testing.TinyLlama;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GgufLlamaExportTest {
    @TempDir
    Path dir;

    /** A Hugging Face-layout model (rotate-half q/k) whose matrices have rows of 64 (Q4_0-able) and 96 values. */
    private static final LlamaConfig HF = new LlamaConfig(64, 96, 1, 4, 2, 40, 32, 1e-6, 500000,
            RopeStyle.ROTATE_HALF, false, false);
    private static final String Q = LlamaLayers.q(0);
    private static final String K = LlamaLayers.k(0);
    private static final String DOWN = LlamaLayers.down(0);

    // ---------------------------------------------------------------- stories260K (llama2.c, interleaved, tied)

    @Test
    void stories260KReadsBackWithLlamaMetadataTheLlama2cVocabularyAndItsExactWeights() {
        Path bin = SharedData.require("models/stories260K/stories260K.bin");
        Model model = ModelFormats.open(bin);
        Path out = dir.resolve("s.gguf");
        ExportReport report = GgufLlamaExport.write(CompressedModel.dense(model), out, GgmlType.F32);
        assertEquals("gguf", report.format());
        assertEquals(out, report.path());
        try (GgufFile g = GgufFile.open(out)) {
            assertEquals(report.bytes(), g.size());
            Map<String, GgufValue> m = g.metadata();
            // stories260K's llama2.c header: dim 64, hidden 172, 5 layers, 8 heads, 4 kv heads, vocab 512, seq 512.
            assertEquals("llama", m.get("general.architecture").asString());
            assertEquals(0, m.get("general.file_type").asLong(), "LLAMA_FTYPE_ALL_F32");
            Map<String, Long> expected = Map.of("llama.context_length", 512L, "llama.embedding_length", 64L,
                    "llama.block_count", 5L, "llama.feed_forward_length", 172L, "llama.attention.head_count", 8L,
                    "llama.attention.head_count_kv", 4L, "llama.rope.dimension_count", 8L, "llama.vocab_size", 512L,
                    "tokenizer.ggml.bos_token_id", 1L, "tokenizer.ggml.eos_token_id", 2L);
            expected.forEach((k, v) -> {
                assertEquals(GgufValue.UINT32, m.get(k).type(), k + " is read by llama.cpp as a uint32");
                assertEquals(v, m.get(k).asLong(), k);
            });
            assertEquals(1e-5f, (Float) m.get("llama.attention.layer_norm_rms_epsilon").value());
            assertEquals(10000f, (Float) m.get("llama.rope.freq_base").value());
            assertEquals("llama", m.get("tokenizer.ggml.model").asString());
            assertEquals(true, m.get("tokenizer.ggml.add_bos_token").value());

            // The vocabulary, checked against the tokenizer file read on its own.
            Llama2cTokenizer tok = Llama2cTokenizer.read(bin.resolveSibling("tok512.bin"), 512);
            List<?> tokens = m.get("tokenizer.ggml.tokens").asList();
            List<?> scores = m.get("tokenizer.ggml.scores").asList();
            List<?> types = m.get("tokenizer.ggml.token_type").asList();
            assertEquals(GgufValue.INT32, m.get("tokenizer.ggml.token_type").elementType());
            assertEquals(512, tokens.size());
            assertEquals(List.of("<unk>", "<s>", "</s>"), tokens.subList(0, 3));
            assertEquals(List.of(2L, 3L, 3L), types.subList(0, 3), "UNKNOWN, CONTROL, CONTROL");
            for (int id = 3; id < 512; id++) {
                // The file's bytes (one char per byte here) are UTF-8 text.
                String piece = new String(tok.piece(id).getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
                boolean isByte = piece.matches("<0x[0-9A-F]{2}>");
                assertEquals(isByte ? 6L : 1L, types.get(id), "type of " + piece);
                assertEquals(piece.replace(' ', '\u2581'), tokens.get(id));
                assertEquals(tok.score(id), (Float) scores.get(id), piece);
            }
            assertEquals("<0x0A>", tokens.get(3 + 0x0A));
            assertTrue(tokens.contains("\u2581the"), "spaces are SentencePiece's ▁");

            // Tensors: llama.cpp's names, no output (tied), every value as the checkpoint has it.
            List<String> names = g.tensors().stream().map(GgufTensor::name).toList();
            assertEquals(2 + 5 * 9, names.size());
            assertEquals("token_embd.weight", names.getFirst());
            assertEquals("output_norm.weight", names.getLast());
            assertFalse(names.contains("output.weight"));
            Map<String, String> canonical = Map.of("blk.3.attn_q.weight", LlamaLayers.q(3),
                    "blk.0.ffn_down.weight", LlamaLayers.down(0), "blk.4.ffn_gate.weight", LlamaLayers.gate(4),
                    "blk.2.attn_norm.weight", LlamaLayers.attentionNorm(2), "token_embd.weight", LlamaLayers.EMBEDDING);
            canonical.forEach((gguf, layer) -> {
                GgufTensor t = g.tensor(gguf);
                assertEquals(GgmlType.F32, t.type());
                float[] all = model.tensor(layer + ".weight").floats();
                for (long r = 0; r < t.rows(); r++) {
                    int cols = (int) t.cols();
                    assertArrayEquals(Arrays.copyOfRange(all, (int) r * cols, (int) (r + 1) * cols), g.row(t, r),
                            gguf + " row " + r);
                }
            });
            GgufTensor down = g.tensor("blk.0.ffn_down.weight");
            assertEquals(64, down.rows());
            assertEquals(172, down.cols(), "GGUF lists the input dimension first");
        }
        assertTrue(report.notes().stream().allMatch(TensorNote::exact));
    }

    /** A GGUF file opened as a model (Squeeze's GGUF reader) exports again with its own vocabulary and weights. */
    @Test
    void aModelReadFromGgufExportsAgainWithTheFilesOwnTokenizer() {
        Model model = ModelFormats.open(SharedData.require("models/stories260K/stories260K.bin"));
        Path first = dir.resolve("first.gguf");
        GgufLlamaExport.write(CompressedModel.dense(model), first, GgmlType.Q8_0);
        Model fromGguf = ModelFormats.open(first);
        assertEquals("gguf", fromGguf.format());
        Path second = dir.resolve("second.gguf");
        GgufLlamaExport.write(CompressedModel.dense(fromGguf), second, GgmlType.F32);
        try (GgufFile a = GgufFile.open(first); GgufFile b = GgufFile.open(second)) {
            for (String key : List.of("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
                    "tokenizer.ggml.bos_token_id", "tokenizer.ggml.model")) {
                assertEquals(a.metadata().get(key), b.metadata().get(key), key);
            }
            // The Q8_0 weights, decoded, are what the second file holds at F32.
            for (GgufTensor t : a.tensors()) {
                GgufTensor u = b.tensor(t.name());
                assertEquals(GgmlType.F32, u.type());
                for (long r = 0; r < t.rows(); r += 7) {
                    assertArrayEquals(a.row(t, r), b.row(u, r), t.name() + " row " + r);
                }
            }
        }
    }

    @Test
    void aDenseQ4RequestFallsBackToF16WhereRowsDoNotDivideIntoBlocks() {
        Model model = ModelFormats.open(SharedData.require("models/stories260K/stories260K.bin"));
        Path out = dir.resolve("q4.gguf");
        ExportReport report = GgufLlamaExport.write(CompressedModel.dense(model), out, GgmlType.Q4_0);
        Map<String, TensorNote> notes = byName(report);
        assertEquals("F16", notes.get("blk.0.ffn_down.weight").storedAs());
        assertTrue(notes.get("blk.0.ffn_down.weight").reason().contains("172"));
        assertEquals("Q4_0", notes.get("blk.0.ffn_up.weight").storedAs());
        assertFalse(notes.get("blk.0.ffn_up.weight").exact());
        assertEquals("F32", notes.get("blk.0.attn_norm.weight").storedAs());
        try (GgufFile g = GgufFile.open(out)) {
            assertEquals(2, g.metadata().get("general.file_type").asLong(), "LLAMA_FTYPE_MOSTLY_Q4_0");
            assertEquals(2, g.metadata().get("general.quantization_version").asLong());
            // The Q4_0 rows are what ggml's reference quantizer makes of the checkpoint's rows.
            GgufTensor up = g.tensor("blk.1.ffn_up.weight");
            float[] w = model.tensor(LlamaLayers.up(1) + ".weight").floats();
            for (int r = 0; r < up.rows(); r++) {
                float[] row = Arrays.copyOfRange(w, r * 64, (r + 1) * 64);
                ByteBuffer b = ByteBuffer.allocate(36);
                GgmlBlocks.encode(GgmlType.Q4_0, row, b);
                b.flip();
                float[] expected = new float[64];
                GgmlBlocks.decode(GgmlType.Q4_0, b, expected);
                assertArrayEquals(expected, g.row(up, r));
            }
        }
    }

    // ---------------------------------------------------------------- exact Q4_0 / Q8_0 from real GPTQ tensors

    @Test
    void symmetricFourBitGptqInGroupsOf32IsWrittenAsExactQ4Blocks() {
        Model model = hfModel();
        GptqTensor q = (GptqTensor) gptq(model, Q, GptqSettings.of(4, 32).withSymmetric(true));
        GptqTensor k = (GptqTensor) gptq(model, K, GptqSettings.of(4, 32).withSymmetric(true));
        Path out = dir.resolve("gptq.gguf");
        ExportReport report = GgufLlamaExport.write(compressed(model, Map.of(Q, q, K, k)), out, GgmlType.F32);
        assertEquals(new TensorNote("blk.0.attn_q.weight", "Q4_0", true, ""), byName(report).get("blk.0.attn_q.weight"));
        try (GgufFile g = GgufFile.open(out)) {
            GgufTensor t = g.tensor("blk.0.attn_q.weight");
            assertEquals(GgmlType.Q4_0, t.type());
            // q's rows go to interleaved order; undoing that gives GPTQ's own weights, bit for bit.
            float[] rows = all(g, t);
            float[] back = RopePermutation.toRotateHalf(rows, HF.nHeads(), HF.headDim(), HF.dim());
            assertArrayEquals(bits(q.dequantize()), bits(back));
            float[] kBack = RopePermutation.toRotateHalf(all(g, g.tensor("blk.0.attn_k.weight")), HF.nKvHeads(),
                    HF.headDim(), HF.dim());
            assertArrayEquals(bits(k.dequantize()), bits(kBack));

            // The block layout itself (ggml's block_q4_0): fp16 d = GPTQ's scale, then code j in the low nibble
            // of byte j and code 16 + j in its high nibble. Written row 1 is rotate-half row headDim/2 of head 0.
            ByteBuffer raw = rawRow(out, g, t, 1);
            int src = HF.headDim() / 2;
            for (int block = 0; block < 2; block++) {
                assertEquals(Float.floatToFloat16(q.scale(block, src)), raw.getShort(), "d of block " + block);
                for (int j = 0; j < 16; j++) {
                    int b = raw.get() & 0xff;
                    assertEquals(q.code(src, block * 32 + j), b & 0x0f);
                    assertEquals(q.code(src, block * 32 + 16 + j), b >>> 4);
                }
            }
        }
    }

    @Test
    void symmetricEightBitGptqInGroupsOf32IsWrittenAsExactQ8Blocks() {
        Model model = hfModel();
        GptqTensor v = (GptqTensor) gptq(model, LlamaLayers.v(0), GptqSettings.of(8, 32).withSymmetric(true));
        Path out = dir.resolve("q8.gguf");
        ExportReport report = GgufLlamaExport.write(compressed(model, Map.of(LlamaLayers.v(0), v)), out, GgmlType.F16);
        assertEquals("Q8_0", byName(report).get("blk.0.attn_v.weight").storedAs());
        assertTrue(byName(report).get("blk.0.attn_v.weight").exact());
        try (GgufFile g = GgufFile.open(out)) {
            GgufTensor t = g.tensor("blk.0.attn_v.weight");
            assertArrayEquals(bits(v.dequantize()), bits(all(g, t)), "v is not permuted");
            ByteBuffer raw = rawRow(out, g, t, 3);
            assertEquals(Float.floatToFloat16(v.scale(0, 3)), raw.getShort());
            for (int j = 0; j < 32; j++) {
                assertEquals(v.code(3, j) - 128, raw.get(), "signed q = code − 128");
            }
        }
    }

    // ---------------------------------------------------------------- what no GGUF type holds: lossless, noted

    @Test
    void gridsNoGgufTypeHoldsAreWrittenDequantizedLosslesslyWithTheReason() {
        Model model = hfModel();
        Map<String, CompressedTensor> layers = new LinkedHashMap<>();
        layers.put(Q, gptq(model, Q, GptqSettings.of(3, 32).withSymmetric(true)));
        layers.put(K, gptq(model, K, GptqSettings.of(4, 64).withSymmetric(true)));
        layers.put(LlamaLayers.v(0), gptq(model, LlamaLayers.v(0), GptqSettings.of(4, 32)));
        layers.put(LlamaLayers.o(0), gptq(model, LlamaLayers.o(0), GptqSettings.of(4, 32).withSymmetric(true)
                .withScalePrecision(GptqSettings.ScalePrecision.FP32)));
        layers.put(LlamaLayers.up(0), gptq(model, LlamaLayers.up(0), GptqSettings.of(4, 32).withSymmetric(true)
                .withActOrder(true)));
        layers.put(LlamaLayers.gate(0), Methods.compress(input(model, LlamaLayers.gate(0), false),
                new RtnSettings(4, 32, true)));
        Path out = dir.resolve("fallback.gguf");
        ExportReport report = GgufLlamaExport.write(compressed(model, layers), out, GgmlType.Q8_0);
        Map<String, TensorNote> notes = byName(report);
        assertTrue(notes.get("blk.0.attn_q.weight").reason().contains("3-bit"));
        assertTrue(notes.get("blk.0.attn_k.weight").reason().contains("groups of 64"));
        assertTrue(notes.get("blk.0.attn_v.weight").reason().contains("zero point"));
        assertTrue(notes.get("blk.0.attn_output.weight").reason().contains("fp16"));
        assertTrue(notes.get("blk.0.ffn_up.weight").reason().contains("g_idx"));
        assertTrue(notes.get("blk.0.ffn_gate.weight").reason().contains("fp16"), "RTN keeps float32 scales");
        try (GgufFile g = GgufFile.open(out)) {
            for (Map.Entry<String, CompressedTensor> e : layers.entrySet()) {
                String name = GgufLlamaExport.names(HF).get(e.getKey()) + ".weight";
                TensorNote n = notes.get(name);
                assertTrue(n.exact(), name);
                assertTrue(n.storedAs().equals("F16") || n.storedAs().equals("F32"), name + " " + n.storedAs());
                GgufTensor t = g.tensor(name);
                assertEquals(n.storedAs(), t.type().name());
                float[] got = all(g, t);
                if (e.getKey().equals(Q)) {
                    got = RopePermutation.toRotateHalf(got, HF.nHeads(), HF.headDim(), HF.dim());
                } else if (e.getKey().equals(K)) {
                    got = RopePermutation.toRotateHalf(got, HF.nKvHeads(), HF.headDim(), HF.dim());
                }
                assertArrayEquals(bits(e.getValue().dequantize()), bits(got), name);
            }
            // Dense matrices follow the request; down's rows of 96 divide into Q8_0's blocks of 32.
            assertEquals(GgmlType.Q8_0, g.tensor("blk.0.ffn_down.weight").type());
            assertEquals(GgmlType.Q8_0, g.tensor("output.weight").type(), "the head is not tied here");
        }
    }

    // ---------------------------------------------------------------- Hugging Face tokenizer.json

    @Test
    void aSentencePieceTokenizerJsonBecomesALlamaVocabularyWithMergeRankScores() {
        Model model = hfModel();
        Path out = dir.resolve("hf.gguf");
        GgufLlamaExport.write(CompressedModel.dense(model), out, GgmlType.F32);
        try (GgufFile g = GgufFile.open(out)) {
            Map<String, GgufValue> m = g.metadata();
            List<?> tokens = m.get("tokenizer.ggml.tokens").asList();
            assertEquals(40, tokens.size(), "padded to the embedding's 40 rows");
            assertEquals(List.of("<unk>", "<s>", "</s>", "<0x0A>", "\u2581", "a", "b", "c", "\u2581a", "ab",
                    "\u2581ab", "bc", "<x>"), tokens.subList(0, 13));
            assertEquals("[PAD13]", tokens.get(13));
            assertEquals(List.of(2L, 3L, 3L, 6L, 1L, 1L, 1L, 1L, 1L, 1L, 1L, 1L, 4L, 5L),
                    m.get("tokenizer.ggml.token_type").asList().subList(0, 14));
            // Merges "▁ a", "a b", "▁a b", "b c" have ranks 0..3: their results score 0, −1, −2, −3; tokens no merge
            // makes (▁, a, b, c) score below all merges.
            List<?> scores = m.get("tokenizer.ggml.scores").asList();
            assertEquals(List.of(0f, -1f, -2f, -3f), scores.subList(8, 12));
            for (int id = 4; id < 8; id++) {
                assertTrue((Float) scores.get(id) < -3f, "score of " + tokens.get(id));
            }
            assertEquals(1, m.get("tokenizer.ggml.bos_token_id").asLong());
            assertEquals(2, m.get("tokenizer.ggml.eos_token_id").asLong());
            assertEquals(0, m.get("tokenizer.ggml.unknown_token_id").asLong());
            assertEquals(true, m.get("tokenizer.ggml.add_space_prefix").value());
            assertEquals(false, m.get("tokenizer.ggml.add_eos_token").value());
            assertEquals(500000f, (Float) m.get("llama.rope.freq_base").value());
            assertEquals(1e-6f, (Float) m.get("llama.attention.layer_norm_rms_epsilon").value());
        }
    }

    /**
     * llama.cpp's SentencePiece tokenizer merges by score (as llama2.c's run.c does); with the converted scores it
     * must give the ids the real Llama 2 tokenizer.json gives through the tokenizers library's BPE (HfTokenizer).
     * The converted vocabulary is run through {@link Llama2cTokenizer}, an implementation of that score-driven
     * algorithm, as a tok.bin image.
     */
    @Test
    void convertedLlama2ScoresTokenizeAsTheTokenizerJsonDoes() {
        Path llama2 = RealTokenizers.require("llama2");
        GgufVocab vocab = GgufVocab.huggingFace(llama2);
        HfTokenizer hf = HfTokenizer.load(llama2);
        assertEquals(32000, vocab.size());
        ByteArrayOutputStream image = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        image.write(b.putInt(0, 64).array(), 0, 4);
        for (int id = 0; id < vocab.size(); id++) {
            byte[] piece = vocab.tokens().get(id).replace("\u2581", " ").getBytes(StandardCharsets.UTF_8);
            b.clear();
            b.putFloat(vocab.scores().get(id)).putInt(piece.length);
            image.write(b.array(), 0, 8);
            image.write(piece, 0, piece.length);
        }
        Llama2cTokenizer spm = Llama2cTokenizer.parse(image.toByteArray(), "converted", 32000);
        for (String text : List.of("Once upon a time, there was a little girl named Lily.",
                "The quick brown fox jumps over the lazy dog's back; naïve café, Ünïcödé, 日本語 and emoji 🦙!",
                "  two  spaces\nnew line\tand tab", "antidisestablishmentarianism supercalifragilistic")) {
            assertArrayEquals(hf.encode(text, false, false), spm.encode(text, false, false), text);
        }
    }

    // ---------------------------------------------------------------- refusals write nothing

    @Test
    void aClassifierIsRefusedNamingOnnxAndNoFileAppears() throws Exception {
        Model mlp = ModelFormats.open(TinyModels.writeMlp(dir, 1));
        Path out = dir.resolve("mlp.gguf");
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> GgufLlamaExport.write(CompressedModel.dense(mlp), out, GgmlType.Q4_0));
        assertTrue(e.getMessage().contains("Llama"), e.getMessage());
        assertTrue(e.fix().contains("onnx"), e.fix());
        assertFalse(Files.exists(out));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().contains("mlp.gguf")), "no temporary file");
        }
    }

    @Test
    void aModelWithoutItsTokenizerIsRefusedBeforeWriting() {
        Map<String, float[]> w = TinyLlama.randomWeights(HF, 3);
        Model memory = TinyLlama.model(HF, w);
        Path out = dir.resolve("none.gguf");
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> GgufLlamaExport.write(CompressedModel.dense(memory), out, GgmlType.F16));
        assertTrue(e.getMessage().contains("tokenizer"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void aCompressedLayerOfAnotherShapeIsRefusedBeforeWriting() {
        Model model = hfModel();
        CompressedTensor wrong = gptq(model, LlamaLayers.gate(0), GptqSettings.of(4, 32).withSymmetric(true));
        Path out = dir.resolve("wrong.gguf");
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> GgufLlamaExport.write(compressed(model, Map.of(Q, wrong)), out, GgmlType.F32));
        assertTrue(e.getMessage().contains(Q), e.getMessage());
        assertFalse(Files.exists(out));
    }

    // ---------------------------------------------------------------- helpers

    /** {@link #HF} written as a Hugging Face folder with a small SentencePiece-style tokenizer.json, opened. */
    private Model hfModel() {
        Path folder = dir.resolve("hf-model");
        if (!Files.isDirectory(folder)) {
            Map<String, String> meta = new LinkedHashMap<>(HF.toMetadata());
            meta.put("squeeze.hf.bos_token_id", "1");
            meta.put("squeeze.hf.eos_token_id", "2");
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            TinyLlama.randomWeights(HF, 7).forEach((n, v) -> tensors.put(n, Tensor.of(n, v, TinyLlama.shape(HF, n))));
            HfExporter.write(new Model("tiny", "memory", "test", "llama", "0", tensors, meta), folder, DType.F32);
            String json = """
                    {"version": "1.0", "added_tokens": [
                      {"id": 0, "content": "<unk>", "special": true, "normalized": false},
                      {"id": 1, "content": "<s>", "special": true, "normalized": false},
                      {"id": 2, "content": "</s>", "special": true, "normalized": false},
                      {"id": 12, "content": "<x>", "special": false, "normalized": false}],
                     "normalizer": {"type": "Sequence", "normalizers": [
                       {"type": "Prepend", "prepend": "\u2581"}, {"type": "Replace", "pattern": {"String": " "},
                       "content": "\u2581"}]},
                     "pre_tokenizer": null,
                     "decoder": {"type": "Sequence", "decoders": [
                       {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"},
                       {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
                     "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true,
                       "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "\u2581": 4, "a": 5, "b": 6, "c": 7,
                                 "\u2581a": 8, "ab": 9, "\u2581ab": 10, "bc": 11},
                       "merges": ["\u2581 a", "a b", "\u2581a b", "b c"]}}
                    """;
            try {
                Files.writeString(folder.resolve("tokenizer.json"), json);
                Files.writeString(folder.resolve("tokenizer_config.json"),
                        "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"add_bos_token\": true}");
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
        Model m = ModelFormats.open(folder);
        assertEquals("rotate_half", m.metadata().get("squeeze.llama.rope_style"));
        return m;
    }

    /** The layer's weights and a Hessian from random activations: a real input to GPTQ. */
    private static LayerInput input(Model model, String layer, boolean hessian) {
        Tensor w = model.tensor(layer + ".weight");
        int rows = (int) w.dim(0);
        int cols = (int) w.dim(1);
        float[] h = null;
        if (hessian) {
            Random rng = new Random(layer.hashCode());
            HessianAccumulator acc = new HessianAccumulator(cols);
            for (int s = 0; s < 4; s++) {
                float[] x = new float[64 * cols];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rng.nextGaussian() * (1 + i % cols % 5);
                }
                acc.addBatch(x, 64, 1);
            }
            h = acc.hessian();
        }
        return new LayerInput(layer, w.floats(), rows, cols, h);
    }

    private static CompressedTensor gptq(Model model, String layer, GptqSettings s) {
        return Methods.compress(input(model, layer, true), s);
    }

    private static CompressedModel compressed(Model model, Map<String, CompressedTensor> layers) {
        Map<String, MethodSettings> settings = new HashMap<>();
        layers.forEach((n, t) -> settings.put(n, t instanceof GptqTensor g ? g.settings() : new RtnSettings(4, 32, true)));
        return new CompressedModel(model, layers, settings, "test", 1L);
    }

    private static Map<String, TensorNote> byName(ExportReport r) {
        Map<String, TensorNote> out = new LinkedHashMap<>();
        r.notes().forEach(n -> out.put(n.tensor(), n));
        return out;
    }

    private static float[] all(GgufFile g, GgufTensor t) {
        int cols = (int) t.cols();
        float[] out = new float[(int) (t.rows() * cols)];
        for (int r = 0; r < t.rows(); r++) {
            System.arraycopy(g.row(t, r), 0, out, r * cols, cols);
        }
        return out;
    }

    /** Row {@code r} of {@code t} as stored, read from the file at the offset the directory gives. */
    private static ByteBuffer rawRow(Path file, GgufFile g, GgufTensor t, int r) {
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            long rowBytes = t.type().rowBytes(t.cols());
            ByteBuffer b = ByteBuffer.allocate((int) rowBytes).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, g.dataStart() + t.offset() + r * rowBytes);
            return b.flip();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int[] bits(float[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Float.floatToRawIntBits(v[i]);
        }
        return out;
    }
}
