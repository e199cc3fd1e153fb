package dev.squeeze.engine.model.hf;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.safetensors.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HfModelFormatTest {
    @TempDir
    Path dir;

    private final HfModelFormat format = new HfModelFormat();

    private Path folder(String name, String config, Map<String, Tensor> tensors) throws Exception {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.writeString(d.resolve("config.json"), config);
        SafetensorsWriter.write(d.resolve("model.safetensors"), tensors.values(), Map.of("format", "pt"));
        return d;
    }

    private static void assertSameTensors(Map<String, Tensor> expected, Model m) {
        assertEquals(expected.keySet(), m.tensors().keySet());
        for (Tensor t : expected.values()) {
            Tensor got = m.tensor(t.name());
            assertArrayEquals(t.shape(), got.shape(), t.name());
            assertEquals(t.dtype(), got.dtype(), t.name());
            assertArrayEquals(t.floats(), got.floats(), 0f, t.name());
        }
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void readsALlamaFolderWithItsArchitectureMetadata() throws Exception {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        // Mixed storage types, as some checkpoints keep norms in F32.
        TinyLlama.tensors(1, DType.BF16, false, false).forEach((k, v) -> tensors.put(k, v));
        tensors.putAll(TinyLlama.tensors(2, DType.F32, false, false).entrySet().stream()
                .filter(e -> e.getKey().contains("norm")).collect(LinkedHashMap::new,
                        (m, e) -> m.put(e.getKey(), e.getValue()), Map::putAll));
        Path d = folder("tiny-llama", TinyLlama.config("LlamaForCausalLM", ""), tensors);
        Model m = format.read(d);

        assertEquals("hf", m.format());
        assertEquals("llama", m.architecture());
        assertEquals("tiny-llama", m.name());
        assertSameTensors(tensors, m);
        Map<String, String> expected = TinyLlama.metadata("llama", false, false);
        expected.forEach((k, v) -> assertEquals(v, m.metadata().get(k), k));
        assertEquals("LlamaForCausalLM", m.metadata().get("squeeze.hf.architecture"));
        assertNull(m.metadata().get("squeeze.llama.sliding_window"));
        assertEquals("model.embed_tokens.weight", m.tensors().keySet().iterator().next());
        assertEquals("lm_head.weight", new ArrayList<>(m.tensors().keySet()).getLast());

        // Identity: SHA-256 of "<file> <sha256>\n" lines for config.json and the weights, sorted by name.
        String manifest = "config.json " + sha256(Files.readAllBytes(d.resolve("config.json"))) + "\n"
                + "model.safetensors " + sha256(Files.readAllBytes(d.resolve("model.safetensors"))) + "\n";
        assertEquals(sha256(manifest.getBytes(StandardCharsets.UTF_8)), m.contentHash());
        // The folder, its config.json and its weights file all open the same model.
        assertEquals(m.contentHash(), format.read(d.resolve("config.json")).contentHash());
        assertEquals(m.contentHash(), format.read(d.resolve("model.safetensors")).contentHash());
    }

    @Test
    void qwen2HasQkvBiasesAndTiedEmbeddings() throws Exception {
        Map<String, Tensor> tensors = TinyLlama.tensors(3, DType.F16, true, true);
        Path d = folder("qwen", TinyLlama.config("Qwen2ForCausalLM",
                "\"tie_word_embeddings\": true, \"use_sliding_window\": false, \"sliding_window\": 4096"), tensors);
        Model m = format.read(d);
        assertSameTensors(tensors, m);
        TinyLlama.metadata("qwen2", true, true).forEach((k, v) -> assertEquals(v, m.metadata().get(k), k));
        assertNull(m.metadata().get("squeeze.llama.sliding_window"), "Qwen2 ignores the window unless it is on");

        // Without the biases the config's model is incomplete: the error names the tensor and its shape.
        Map<String, Tensor> noBias = TinyLlama.tensors(3, DType.F16, false, true);
        Path d2 = folder("qwen-nobias", TinyLlama.config("Qwen2ForCausalLM", "\"tie_word_embeddings\": true"), noBias);
        SqueezeException e = assertThrows(SqueezeException.class, () -> format.read(d2));
        assertTrue(e.getMessage().contains("'model.layers.0.self_attn.q_proj.bias'")
                && e.getMessage().contains("[8]") && e.getMessage().contains("config.json"), e.getMessage());
    }

    @Test
    void tiedModelsMayStillCarryAnLmHeadWhichIsIgnored() throws Exception {
        Map<String, Tensor> tensors = TinyLlama.tensors(4, DType.F32, false, false);
        Path d = folder("tied", TinyLlama.config("LlamaForCausalLM", "\"tie_word_embeddings\": true"), tensors);
        Model m = format.read(d);
        assertFalse(m.tensors().containsKey("lm_head.weight"));
        assertEquals("true", m.metadata().get("squeeze.llama.tied_embeddings"));
    }

    @Test
    void mistralRecordsItsSlidingWindowAndDefaultsFollowTransformers() throws Exception {
        Map<String, Tensor> tensors = TinyLlama.tensors(5, DType.F32, false, false);
        // No num_key_value_heads (defaults to the heads), no rope_theta, eps or max positions.
        String config = """
                {"architectures": ["MistralForCausalLM"], "hidden_size": 8, "intermediate_size": 12,
                 "num_hidden_layers": 2, "num_attention_heads": 2, "vocab_size": 10, "sliding_window": 4096,
                 "bos_token_id": 1, "eos_token_id": [2, 3]}
                """;
        Map<String, Tensor> mha = new LinkedHashMap<>(tensors);
        for (int i = 0; i < 2; i++) {
            for (String p : List.of("k_proj", "v_proj")) {
                String n = "model.layers." + i + ".self_attn." + p + ".weight";
                mha.put(n, Tensor.of(n, new float[64], 8, 8));
            }
        }
        Model m = format.read(folder("mistral", config, mha));
        assertEquals("mistral", m.metadata().get("squeeze.llama.family"));
        assertEquals("4096", m.metadata().get("squeeze.llama.sliding_window"));
        assertEquals("2", m.metadata().get("squeeze.llama.n_kv_heads"));
        assertEquals("10000.0", m.metadata().get("squeeze.llama.rope_theta"));
        assertEquals("1.0E-6", m.metadata().get("squeeze.llama.norm_eps"));
        assertEquals("131072", m.metadata().get("squeeze.llama.max_seq_len"));
        assertEquals("1", m.metadata().get("squeeze.hf.bos_token_id"));
        assertEquals("2,3", m.metadata().get("squeeze.hf.eos_token_id"));
    }

    @Test
    void shardedFolderMergesIntoOneModel() throws Exception {
        Map<String, Tensor> tensors = TinyLlama.tensors(6, DType.F32, false, false);
        Path d = Files.createDirectories(dir.resolve("sharded"));
        Files.writeString(d.resolve("config.json"), TinyLlama.config("LlamaForCausalLM", ""));
        List<Tensor> all = List.copyOf(tensors.values());
        List<Tensor> first = all.subList(0, 10);
        List<Tensor> second = all.subList(10, all.size());
        SafetensorsWriter.write(d.resolve("model-00001-of-00002.safetensors"), first, Map.of());
        SafetensorsWriter.write(d.resolve("model-00002-of-00002.safetensors"), second, Map.of());
        StringBuilder map = new StringBuilder();
        for (Tensor t : all) {
            map.append(map.isEmpty() ? "" : ",").append('"').append(t.name()).append("\":\"model-0000")
                    .append(first.contains(t) ? 1 : 2).append("-of-00002.safetensors\"");
        }
        Files.writeString(d.resolve("model.safetensors.index.json"),
                "{\"metadata\":{\"total_size\":1},\"weight_map\":{" + map + "}}");
        Model m = format.read(d);
        assertSameTensors(tensors, m);
        assertEquals(m.contentHash(), format.read(d.resolve("model.safetensors.index.json")).contentHash());
        assertEquals(m.contentHash(), format.read(d.resolve("model-00002-of-00002.safetensors")).contentHash(),
                "a shard opens the whole model");

        String manifest = "config.json " + sha256(Files.readAllBytes(d.resolve("config.json"))) + "\n"
                + "model-00001-of-00002.safetensors "
                + sha256(Files.readAllBytes(d.resolve("model-00001-of-00002.safetensors"))) + "\n"
                + "model-00002-of-00002.safetensors "
                + sha256(Files.readAllBytes(d.resolve("model-00002-of-00002.safetensors"))) + "\n";
        assertEquals(sha256(manifest.getBytes(StandardCharsets.UTF_8)), m.contentHash());

        // An index entry pointing at a shard that is not there names the shard and a tensor.
        String index = Files.readString(d.resolve("model.safetensors.index.json"));
        Files.writeString(d.resolve("model.safetensors.index.json"),
                index.replaceFirst("model-00002-of-00002", "model-00002-of-00003"));
        SqueezeException missing = assertThrows(SqueezeException.class, () -> format.read(d));
        assertTrue(missing.getMessage().contains("model-00002-of-00003.safetensors")
                && missing.getMessage().contains("model.layers."), missing.getMessage());

        // An entry naming a tensor its shard does not have.
        Files.writeString(d.resolve("model.safetensors.index.json"), index.replace("}}",
                ",\"model.layers.9.mlp.up_proj.weight\":\"model-00001-of-00002.safetensors\"}}"));
        SqueezeException absent = assertThrows(SqueezeException.class, () -> format.read(d));
        assertTrue(absent.getMessage().contains("'model.layers.9.mlp.up_proj.weight'")
                && absent.getMessage().contains("model-00001-of-00002.safetensors"), absent.getMessage());

        // A shard name that leaves the folder is refused before any file is touched.
        Files.writeString(d.resolve("model.safetensors.index.json"),
                index.replaceFirst("model-00001-of-00002", "../outside"));
        SqueezeException escape = assertThrows(SqueezeException.class, () -> format.read(d));
        assertTrue(escape.getMessage().contains("not a file name in the model folder"), escape.getMessage());

        // The same tensor in two shards.
        Files.writeString(d.resolve("model.safetensors.index.json"), index);
        SafetensorsWriter.write(d.resolve("model-00002-of-00002.safetensors"),
                List.of(first.getFirst(), second.getFirst()), Map.of());
        SqueezeException twice = assertThrows(SqueezeException.class, () -> format.read(d));
        assertTrue(twice.getMessage().contains("two shards")
                && twice.getMessage().contains("'" + first.getFirst().name() + "'"), twice.getMessage());
    }

    @Test
    void shapeThatDisagreesWithTheConfigNamesTensorExpectedAndFound() throws Exception {
        Map<String, Tensor> tensors = TinyLlama.tensors(7, DType.F32, false, false);
        tensors.put("model.layers.1.mlp.down_proj.weight",
                Tensor.of("model.layers.1.mlp.down_proj.weight", new float[8 * 11], 8, 11));
        Path d = folder("bad-shape", TinyLlama.config("LlamaForCausalLM", ""), tensors);
        SqueezeException e = assertThrows(SqueezeException.class, () -> format.read(d));
        assertTrue(e.getMessage().contains("'model.layers.1.mlp.down_proj.weight'")
                && e.getMessage().contains("[8, 11]") && e.getMessage().contains("[8, 12]")
                && e.getMessage().contains("model.safetensors") && e.getMessage().contains("config.json"),
                e.getMessage());
    }

    @Test
    void unexpectedTensorsAreNotDroppedSilently() throws Exception {
        Map<String, Tensor> tensors = TinyLlama.tensors(8, DType.F32, false, false);
        tensors.put("model.layers.0.self_attn.o_proj.bias", Tensor.of("model.layers.0.self_attn.o_proj.bias",
                new float[8], 8));
        tensors.put("model.layers.0.self_attn.rotary_emb.inv_freq", Tensor.of(
                "model.layers.0.self_attn.rotary_emb.inv_freq", new float[2], 2));
        SqueezeException e = assertThrows(SqueezeException.class, () -> format.read(
                folder("extra", TinyLlama.config("LlamaForCausalLM", ""), tensors)));
        assertTrue(e.getMessage().contains("'model.layers.0.self_attn.o_proj.bias'")
                && !e.getMessage().contains("more)"), "inv_freq is derived and tolerated: " + e.getMessage());
    }

    @Test
    void unknownArchitecturesAndUnsupportedFeaturesAreNamed() throws Exception {
        Map<String, Tensor> tensors = TinyLlama.tensors(9, DType.F32, false, false);
        SqueezeException gpt = assertThrows(SqueezeException.class, () -> format.read(
                folder("gpt2", TinyLlama.config("GPT2LMHeadModel", ""), tensors)));
        assertTrue(gpt.getMessage().contains("'architectures'") && gpt.getMessage().contains("GPT2LMHeadModel")
                && gpt.getMessage().contains("LlamaForCausalLM") && gpt.getMessage().contains("Qwen2ForCausalLM")
                && gpt.getMessage().contains("config.json"), gpt.getMessage());
        SqueezeException none = assertThrows(SqueezeException.class, () -> format.read(
                folder("noarch", "{\"hidden_size\": 8}", tensors)));
        assertTrue(none.getMessage().contains("'architectures' is missing"), none.getMessage());
        SqueezeException gelu = assertThrows(SqueezeException.class, () -> format.read(
                folder("gelu", TinyLlama.config("LlamaForCausalLM", "\"hidden_act\": \"gelu\""), tensors)));
        assertTrue(gelu.getMessage().contains("hidden_act") && gelu.getMessage().contains("gelu"),
                gelu.getMessage());
        SqueezeException heads = assertThrows(SqueezeException.class, () -> format.read(
                folder("heads", TinyLlama.config("LlamaForCausalLM", "\"head_dim\": 8"), tensors)));
        assertTrue(heads.getMessage().contains("head_dim"), heads.getMessage());
        SqueezeException missing = assertThrows(SqueezeException.class, () -> format.read(folder("nolayers",
                TinyLlama.config("LlamaForCausalLM", "").replace("\"num_hidden_layers\": 2,", ""), tensors)));
        assertTrue(missing.getMessage().contains("'num_hidden_layers' is missing"), missing.getMessage());
    }

    @Test
    void ropeScalingIsRecordedForTheForwardPassToDecide() throws Exception {
        Map<String, Tensor> tensors = TinyLlama.tensors(10, DType.F32, false, false);
        Model m = format.read(folder("scaled", TinyLlama.config("LlamaForCausalLM",
                "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 32.0}"), tensors));
        assertEquals("{\"rope_type\":\"llama3\",\"factor\":32.0}", m.metadata().get("squeeze.llama.rope_scaling"));
    }

    @Test
    void foldersWithoutWeightsOrConfigAreClearErrors() throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertTrue(assertThrows(SqueezeException.class, () -> format.read(empty)).getMessage()
                .contains("No config.json"));
        Files.writeString(empty.resolve("config.json"), TinyLlama.config("LlamaForCausalLM", ""));
        assertTrue(assertThrows(SqueezeException.class, () -> format.read(empty)).getMessage()
                .contains("No weights"));
        assertTrue(assertThrows(SqueezeException.class, () -> format.read(dir.resolve("nowhere"))).getMessage()
                .contains("not found"));
    }

    @Test
    void acceptsFoldersConfigsAndIndexesButNotLoneWeightFiles() throws Exception {
        Path d = folder("accept", TinyLlama.config("LlamaForCausalLM", ""),
                TinyLlama.tensors(11, DType.F32, false, false));
        assertTrue(HfModelFormat.accepts(d));
        assertTrue(HfModelFormat.accepts(d.resolve("config.json")));
        assertFalse(HfModelFormat.accepts(d.resolve("model.safetensors")));
        assertFalse(HfModelFormat.accepts(dir));
        assertFalse(format.recognizes(Files.readAllBytes(d.resolve("config.json")), 100));
    }
}
