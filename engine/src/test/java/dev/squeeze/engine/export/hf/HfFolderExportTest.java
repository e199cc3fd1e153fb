package dev.squeeze.engine.export.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.data.text.HfTokenizer;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportFixtures;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.nn.llama.RopePermutation;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A compressed run exported as a Hugging Face folder: reopened by Squeeze's HF reader it holds exactly the
 * dequantized weights at the chosen type's rounding (q/k rows in rotate-half order), and stories260K exported
 * this way evaluates to the compressed run's own perplexity with the converted tokenizer giving llama2.c's ids.
 */
class HfFolderExportTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F16", "BF16"})
    void everyMethodsWeightsComeBackAtTheTypesRounding(DType dtype) throws Exception {
        Model base = ExportFixtures.llama(64, 2, 1, 96, 40, true, 4);
        // Methods GPTQ checkpoints cannot hold are welcome here: the folder stores plain weights.
        CompressedModel run = ExportFixtures.run(base, l -> switch (l.substring(l.lastIndexOf('.') + 1)) {
            case "q_proj" -> GptqSettings.of(3, 32).withActOrder(true);
            case "k_proj" -> new RtnSettings(5, 16, false);
            case "v_proj" -> MagnitudeSettings.of(Sparsity.unstructured(0.5));
            case "o_proj" -> LowRankSettings.of(LowRankVariant.SVD, 8);
            case "gate_proj" -> GptqSettings.of(4, 32);
            default -> null;
        }, ExportFixtures.LINEARS);
        Path out = dir.resolve(dtype.name());
        ExportReport report = HfFolderExport.write(run, out, dtype);
        assertEquals("hf", report.format());
        long onDisk;
        try (var files = Files.list(out)) {
            onDisk = files.mapToLong(f -> f.toFile().length()).sum();
        }
        assertEquals(onDisk, report.bytes());

        Model reread = ModelFormats.open(out);
        assertEquals(RopeStyle.ROTATE_HALF, LlamaConfig.fromMetadata(reread).ropeStyle());
        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals(Map.of(DType.F32, "float32", DType.F16, "float16", DType.BF16, "bfloat16").get(dtype),
                config.get("torch_dtype").asText());
        for (Tensor t : base.tensors().values()) {
            String layer = t.name().substring(0, t.name().length() - ".weight".length());
            CompressedTensor c = run.compressed().get(layer);
            float[] expected = c != null ? c.dequantize() : t.floats();
            if (layer.endsWith("q_proj")) {
                expected = RopePermutation.toRotateHalf(expected, 2, 32, 64);
            } else if (layer.endsWith("k_proj")) {
                expected = RopePermutation.toRotateHalf(expected, 1, 32, 64);
            }
            float[] got = reread.tensor(t.name()).floats();
            for (int i = 0; i < expected.length; i++) {
                expected[i] = rounded(expected[i], dtype);
            }
            assertArrayEquals(expected, got, t.name());
        }
        // Every compressed layer is named in the notes with its method; F32 keeps them exact.
        for (String layer : run.compressed().keySet()) {
            var note = report.notes().stream().filter(n -> n.tensor().equals(layer + ".weight")).findFirst()
                    .orElseThrow();
            assertTrue(note.reason().contains(run.compressed().get(layer).describe()), note.reason());
            if (dtype == DType.F32) {
                assertTrue(note.exact());
            }
        }
        assertTrue(report.notes().stream().anyMatch(n -> n.tensor().equals("tokenizer")));
    }

    /** Round to nearest even at the type's width, worked out here on the bits rather than through DType. */
    private static float rounded(float v, DType dtype) {
        return switch (dtype) {
            case F32 -> v;
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            default -> {
                int bits = Float.floatToRawIntBits(v);
                int lower = bits & 0xffff;
                int upper = bits >>> 16;
                if (lower > 0x8000 || (lower == 0x8000 && (upper & 1) == 1)) {
                    upper++;
                }
                yield Float.intBitsToFloat(upper << 16);
            }
        };
    }

    @Test
    void badRequestsAreRefusedBeforeWriting() throws Exception {
        Model base = ExportFixtures.llama(64, 2, 1, 96, 40, false, 4);
        CompressedModel run = ExportFixtures.run(base, l -> GptqSettings.of(4, 32), ExportFixtures.LINEARS);
        assertThrows(SqueezeException.class, () -> HfFolderExport.write(run, dir.resolve("i8"), DType.I8_GROUPS));
        assertFalse(Files.exists(dir.resolve("i8")));
        // A stale shard beside the new file would be mixed in by transformers.
        Path stale = Files.createDirectories(dir.resolve("stale"));
        Files.writeString(stale.resolve("model-00001-of-00002.safetensors"), "old");
        SqueezeException e = assertThrows(SqueezeException.class, () -> HfFolderExport.write(run, stale, DType.F16));
        assertTrue(e.getMessage().contains("model-00001-of-00002.safetensors"), e.getMessage());
        assertFalse(Files.exists(stale.resolve("config.json")));
        // A model that is not Llama-shaped.
        Map<String, Tensor> t = new LinkedHashMap<>(base.tensors());
        t.remove("model.norm.weight");
        Model broken = new Model("b", "memory:b", "test", "llama", "0", t, base.metadata());
        assertThrows(SqueezeException.class, () -> HfFolderExport.write(CompressedModel.dense(broken),
                dir.resolve("b"), DType.F16));
        // A value F16 cannot hold.
        Map<String, Tensor> big = new LinkedHashMap<>(base.tensors());
        big.put("model.norm.weight", Tensor.of("model.norm.weight", filled(64, 1e6f), 64));
        Model huge = new Model("h", "memory:h", "test", "llama", "0", big, base.metadata());
        SqueezeException range = assertThrows(SqueezeException.class, () -> HfFolderExport.write(
                CompressedModel.dense(huge), dir.resolve("h"), DType.F16));
        assertTrue(range.getMessage().contains("model.norm.weight"), range.getMessage());
        assertFalse(Files.exists(dir.resolve("h").resolve("config.json")));
    }

    /**
     * A run on a model read from a Hugging Face folder: both exports copy its tokenizer files unchanged, and
     * exporting into the folder the model is read from is refused.
     */
    @Test
    void aHuggingFaceSourcesTokenizerFilesAreCopied() throws Exception {
        Model tiny = ExportFixtures.llama(64, 2, 1, 96, 40, false, 6);
        Path src = dir.resolve("src");
        dev.squeeze.engine.model.hf.HfExporter.write(tiny, src, DType.F32);
        Files.writeString(src.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\"}}");
        Files.writeString(src.resolve("tokenizer_config.json"), "{\"add_bos_token\": true}");
        Model base = ModelFormats.open(src);
        CompressedModel run = ExportFixtures.run(base, l -> GptqSettings.of(4, 32).withSymmetric(true),
                ExportFixtures.LINEARS);
        Path hf = dir.resolve("hf");
        HfFolderExport.write(run, hf, DType.BF16);
        Path gptq = dir.resolve("gptq");
        dev.squeeze.engine.export.gptq.GptqExporter.write(run, gptq);
        for (Path out : List.of(hf, gptq)) {
            for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
                assertEquals(Files.readString(src.resolve(f)), Files.readString(out.resolve(f)), out + "/" + f);
            }
        }
        SqueezeException same = assertThrows(SqueezeException.class, () -> HfFolderExport.write(run, src, DType.F16));
        assertTrue(same.getMessage().contains("read from"), same.getMessage());
    }

    private static JsonNode readJson(Path f) {
        try {
            return JSON.readTree(f.toFile());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    /**
     * stories260K, every linear RTN 4-bit g32 asymmetric: the compressed run evaluated through its own LinearOps
     * (the int4 kernel) and the exported F32 folder reopened by the HF reader, each with its own tokenizer (the
     * converted tokenizer.json must give llama2.c's ids), on stories 1–20 of the evaluation text. The weights are
     * the same; only float32 summation order differs (the q/k permutation reorders q·k within each head, the int4
     * kernel sums differently from the dense one): perplexities agree to 1e-4 relative. F16 is stated beside it.
     */
    @Test
    void stories260KExportedHasTheCompressedRunsPerplexity() {
        Path bin = SharedData.require("models/stories260K/stories260K.bin");
        Model base = ModelFormats.open(bin);
        LlamaConfig cfg = LlamaConfig.fromMetadata(base);
        List<String> linears = LlamaLayers.linearNames(cfg.nLayers()).stream()
                .filter(n -> base.tensors().containsKey(n + ".weight") && !n.equals(LlamaLayers.HEAD)).toList();
        CompressedModel run = ExportFixtures.run(base, l -> new RtnSettings(4, 32, false), linears.toArray(String[]::new));
        Map<String, LinearOp> ops = new LinkedHashMap<>();
        run.compressed().forEach((layer, t) -> ops.put(layer, t.asLinearOp()));
        LlamaModel compressed = LlamaModel.from(base).withLinears(ops);

        StoryCorpus corpus = StoryCorpus.read(SharedData.require("data/tinystories/valid-1k.txt"));
        StoryRange range = StoryRange.of(1, 20);
        Llama2cTokenizer llama2c = Llama2cTokenizer.read(bin.resolveSibling("tok512.bin"), cfg.vocabSize());
        List<int[]> ids = corpus.tokens(range, llama2c);
        Perplexity.Result ours = Perplexity.evaluate(compressed, ids);

        Path f32 = dir.resolve("stories-f32");
        HfFolderExport.write(run, f32, DType.F32);
        Model reread = ModelFormats.open(f32);
        com.fasterxml.jackson.databind.JsonNode config = readJson(f32.resolve("config.json"));
        assertEquals(1, config.get("bos_token_id").asInt());
        assertEquals(2, config.get("eos_token_id").asInt());
        assertEquals("<s>", readJson(f32.resolve("tokenizer_config.json")).get("bos_token").asText());
        HfTokenizer hfTok = HfTokenizer.load(f32);
        List<int[]> hfIds = corpus.tokens(range, hfTok);
        for (int i = 0; i < ids.size(); i++) {
            assertArrayEquals(ids.get(i), hfIds.get(i), "story " + (i + 1));
        }
        Perplexity.Result exported = Perplexity.evaluate(LlamaModel.from(reread), hfIds);
        assertEquals(ours.tokens(), exported.tokens());
        double rel = Math.abs(exported.perplexity() - ours.perplexity()) / ours.perplexity();
        Path f16 = dir.resolve("stories-f16");
        HfFolderExport.write(run, f16, DType.F16);
        Perplexity.Result half = Perplexity.evaluate(LlamaModel.from(ModelFormats.open(f16)), hfIds);
        System.out.printf("stories260K RTN4 g32 asym, stories 1-20 (%d tokens): run %.6f, HF F32 %.6f (rel %.2e),"
                        + " HF F16 %.6f (rel %.2e)%n", ours.tokens(), ours.perplexity(), exported.perplexity(), rel,
                half.perplexity(), Math.abs(half.perplexity() - ours.perplexity()) / ours.perplexity());
        assertTrue(rel < 1e-4, "relative perplexity difference " + rel);
        // F16 rounds every weight by up to 2^-11 relative; the perplexity moves by far less than the quantization did.
        assertTrue(Math.abs(half.perplexity() - ours.perplexity()) / ours.perplexity() < 1e-2);
    }
}
