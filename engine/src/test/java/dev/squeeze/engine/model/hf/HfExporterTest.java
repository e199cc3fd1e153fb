package dev.squeeze.engine.model.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HfExporterTest {
    @TempDir
    Path dir;

    private static final ObjectMapper JSON = new ObjectMapper();

    private static Model model(String family, boolean bias, boolean tied, DType type) {
        Map<String, String> meta = TinyLlama.metadata(family, bias, tied);
        if (family.equals("mistral")) {
            meta.put("squeeze.llama.sliding_window", "32");
        }
        meta.put("squeeze.hf.bos_token_id", "1");
        meta.put("squeeze.hf.eos_token_id", "2");
        return new Model("tiny", "memory", "test", "llama", "0", TinyLlama.tensors(21, type, bias, tied), meta);
    }

    private static void assertSameTensors(Model expected, Model got) {
        assertEquals(expected.tensors().keySet(), got.tensors().keySet());
        for (Tensor t : expected.tensors().values()) {
            assertArrayEquals(t.shape(), got.tensor(t.name()).shape(), t.name());
            assertArrayEquals(t.floats(), got.tensor(t.name()).floats(), 0f, t.name());
        }
    }

    @Test
    void writesAFolderThatReadsBackToTheSameModel() throws Exception {
        Model m = model("llama", false, false, DType.F32);
        Path out = dir.resolve("llama");
        HfExporter.write(m, out, DType.F32);
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of("config.json", "model.safetensors"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        Model back = new HfModelFormat().read(out);
        assertSameTensors(m, back);
        m.metadata().forEach((k, v) -> assertEquals(v, back.metadata().get(k), k));

        // The config a transformers user reads, field by field.
        JsonNode c = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals("LlamaForCausalLM", c.get("architectures").get(0).asText());
        assertEquals("llama", c.get("model_type").asText());
        assertEquals(8, c.get("hidden_size").asInt());
        assertEquals(12, c.get("intermediate_size").asInt());
        assertEquals(2, c.get("num_hidden_layers").asInt());
        assertEquals(2, c.get("num_attention_heads").asInt());
        assertEquals(1, c.get("num_key_value_heads").asInt());
        assertEquals(10, c.get("vocab_size").asInt());
        assertEquals(64, c.get("max_position_embeddings").asInt());
        assertEquals(1e-5, c.get("rms_norm_eps").asDouble());
        assertEquals(500000.0, c.get("rope_theta").asDouble());
        assertFalse(c.get("tie_word_embeddings").asBoolean());
        assertEquals("float32", c.get("torch_dtype").asText());
        assertEquals("silu", c.get("hidden_act").asText());
        assertEquals(1, c.get("bos_token_id").asInt());
        assertEquals(2, c.get("eos_token_id").asInt());
    }

    @Test
    void f16ExportRoundsEachWeightOnce() throws Exception {
        Map<String, Tensor> tensors = new LinkedHashMap<>(TinyLlama.tensors(22, DType.F32, false, true));
        // Values F16 cannot hold exactly: the file must hold their nearest F16 neighbours.
        String name = "model.layers.0.mlp.up_proj.weight";
        float[] odd = new float[12 * 8];
        for (int i = 0; i < odd.length; i++) {
            odd[i] = 1f + i / 3000f + 1e-7f * i;
        }
        tensors.put(name, Tensor.of(name, odd, 12, 8));
        Model m = new Model("odd", "memory", "test", "llama", "0", tensors, TinyLlama.metadata("llama", false, true));
        Path out = dir.resolve("f16");
        HfExporter.write(m, out, DType.F16);
        Model back = new HfModelFormat().read(out);
        assertEquals(DType.F16, back.tensor(name).dtype());
        float[] got = back.tensor(name).floats();
        for (int i = 0; i < odd.length; i++) {
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(odd[i])), got[i], 0f, "element " + i);
        }
        assertEquals("float16", JSON.readTree(out.resolve("config.json").toFile()).get("torch_dtype").asText());
        assertEquals("true", back.metadata().get("squeeze.llama.tied_embeddings"));
    }

    @Test
    void f16OverflowIsRefusedRatherThanWrittenAsInfinity() {
        Map<String, Tensor> tensors = new LinkedHashMap<>(TinyLlama.tensors(23, DType.F32, false, false));
        float[] big = new float[8];
        big[3] = 70000f;
        tensors.put("model.norm.weight", Tensor.of("model.norm.weight", big, 8));
        Model m = new Model("big", "memory", "test", "llama", "0", tensors, TinyLlama.metadata("llama", false, false));
        SqueezeException e = assertThrows(SqueezeException.class, () -> HfExporter.write(m, dir.resolve("x"),
                DType.F16));
        assertTrue(e.getMessage().contains("'model.norm.weight'") && e.getMessage().contains("element 3"),
                e.getMessage());
    }

    @Test
    void shardedExportWritesAnIndexAndReadsBack() throws Exception {
        Model m = model("qwen2", true, true, DType.F32);
        Path out = dir.resolve("sharded");
        // 400 bytes per shard: each layer's tensors spread over several shards.
        HfExporter.write(m, out, DType.F32, 400);
        JsonNode index = JSON.readTree(out.resolve("model.safetensors.index.json").toFile());
        long total = m.tensors().values().stream().mapToLong(Tensor::storedBytes).sum();
        assertEquals(total, index.get("metadata").get("total_size").asLong());
        assertEquals(m.tensors().size(), index.get("weight_map").size());
        long shards;
        try (Stream<Path> files = Files.list(out)) {
            shards = files.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors"))
                    .count();
        }
        assertTrue(shards > 3, "expected several shards, got " + shards);
        assertTrue(Files.notExists(out.resolve("model.safetensors")));
        for (var e : index.get("weight_map").properties()) {
            long bytes = m.tensor(e.getKey()).storedBytes();
            assertTrue(e.getValue().asText().endsWith(String.format("-of-%05d.safetensors", shards)),
                    e.getValue().asText());
            assertTrue(bytes > 400 || Files.size(out.resolve(e.getValue().asText())) <= 400 + 2048,
                    e.getKey() + " in an oversized shard");
        }
        Model back = new HfModelFormat().read(out);
        assertSameTensors(m, back);
        assertEquals("Qwen2ForCausalLM", back.metadata().get("squeeze.hf.architecture"));

        // Writing again as one file over the shards would leave two models in one folder: refused, named.
        SqueezeException stale = assertThrows(SqueezeException.class, () -> HfExporter.write(m, out, DType.F32));
        assertTrue(stale.getMessage().contains(String.format("model-00001-of-%05d.safetensors", shards)),
                stale.getMessage());
        // Writing the same sharding again replaces the files.
        HfExporter.write(m, out, DType.F32, 400);
        assertSameTensors(m, new HfModelFormat().read(out));
    }

    @Test
    void mistralKeepsItsWindow() throws Exception {
        Model m = model("mistral", false, false, DType.BF16);
        Path out = dir.resolve("mistral");
        HfExporter.write(m, out, DType.BF16);
        JsonNode c = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals("MistralForCausalLM", c.get("architectures").get(0).asText());
        assertEquals(32, c.get("sliding_window").asInt());
        assertEquals("32", new HfModelFormat().read(out).metadata().get("squeeze.llama.sliding_window"));
    }

    @Test
    void modelsThatAreNotCanonicalLlamasAreRefused() {
        Map<String, Tensor> tensors = new LinkedHashMap<>(TinyLlama.tensors(24, DType.F32, false, false));
        tensors.remove("model.layers.1.mlp.gate_proj.weight");
        Model missing = new Model("m", "memory", "test", "llama", "0", tensors,
                TinyLlama.metadata("llama", false, false));
        assertTrue(assertThrows(SqueezeException.class, () -> HfExporter.write(missing, dir.resolve("a"),
                DType.F32)).getMessage().contains("'model.layers.1.mlp.gate_proj.weight'"));

        Map<String, String> noDim = TinyLlama.metadata("llama", false, false);
        noDim.remove("squeeze.llama.dim");
        Model noMeta = new Model("m", "memory", "test", "llama", "0", TinyLlama.tensors(24, DType.F32, false, false),
                noDim);
        assertTrue(assertThrows(SqueezeException.class, () -> HfExporter.write(noMeta, dir.resolve("b"),
                DType.F32)).getMessage().contains("squeeze.llama.dim"));

        Map<String, String> interleaved = TinyLlama.metadata("llama", false, false);
        interleaved.put("squeeze.llama.rope_style", "interleaved");
        Model llama2c = new Model("m", "memory", "test", "llama", "0", TinyLlama.tensors(24, DType.F32, false, false),
                interleaved);
        assertTrue(assertThrows(SqueezeException.class, () -> HfExporter.write(llama2c, dir.resolve("d"),
                DType.F32)).getMessage().contains("rotate-half"));

        Model mlp = new Model("m", "memory", "test", "mlp", "0", Map.of(), Map.of("squeeze.architecture", "mlp"));
        assertTrue(assertThrows(SqueezeException.class, () -> HfExporter.write(mlp, dir.resolve("c"),
                DType.F32)).getMessage().contains("not a Llama-family model"));
    }
}
