package dev.squeeze.engine.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlanTranslationTest {
    /** Two blocks of a Llama model: 14 linears plus the embedding. */
    private static List<LayerInfo> layers() {
        List<LayerInfo> out = new ArrayList<>();
        out.add(new LayerInfo(LlamaLayers.EMBEDDING, dev.squeeze.engine.model.LayerRole.EMBEDDING,
                new long[]{32, 8}, 256, 1024));
        for (int b = 0; b < 2; b++) {
            for (String n : List.of(LlamaLayers.q(b), LlamaLayers.k(b), LlamaLayers.v(b), LlamaLayers.o(b),
                    LlamaLayers.gate(b), LlamaLayers.up(b), LlamaLayers.down(b))) {
                out.add(new LayerInfo(n, LlamaLayers.roleOf(n).orElseThrow(), new long[]{64, 64}, 4096, 16384));
            }
        }
        return out;
    }

    private static Map<String, MethodSettings> plan() {
        Map<String, MethodSettings> s = new LinkedHashMap<>();
        for (LayerInfo l : layers()) {
            if (l.name().startsWith("model.layers.")) {
                s.put(l.name(), new RtnSettings(4, 32, true));
            }
        }
        s.put(LlamaLayers.down(0), new RtnSettings(8, 32, true));
        s.put(LlamaLayers.down(1), new RtnSettings(8, 32, true));
        s.put(LlamaLayers.v(1), GptqSettings.of(3, 128));
        s.put(LlamaLayers.o(1), new MagnitudeSettings(Sparsity.nOfM(2, 4), 16));
        s.remove(LlamaLayers.q(0));
        return s;
    }

    @Test
    void llamaQuantizeGetsOneTypePerTensorAndListsWhatItCannotSay() {
        PlanTranslation.Translation t = PlanTranslation.llamaCpp(layers(), plan(), "f32");
        String cmd = t.text();
        assertTrue(cmd.startsWith("llama-quantize --pure"), cmd);
        assertTrue(cmd.endsWith(" MODEL-F32.gguf OUT.gguf Q4_0"), cmd);
        // ffn_down is 8-bit in every block: one pattern for the role.
        assertTrue(cmd.contains("--tensor-type '\\.ffn_down\\.weight$=q8_0'"), cmd);
        // The dense q of block 0 and the 2:4 o of block 1 stay f32, by block.
        Map<String, String> types = typesOf(cmd, List.of("blk.0.attn_q.weight", "blk.1.attn_q.weight",
                "blk.1.attn_output.weight", "blk.0.attn_output.weight", "blk.1.attn_v.weight", "blk.0.ffn_down.weight"));
        assertEquals("f32", types.get("blk.0.attn_q.weight"));
        assertEquals("Q4_0", types.get("blk.1.attn_q.weight"));
        assertEquals("f32", types.get("blk.1.attn_output.weight"));
        assertEquals("Q4_0", types.get("blk.0.attn_output.weight"));
        assertEquals("q3_k", types.get("blk.1.attn_v.weight"));
        assertEquals("q8_0", types.get("blk.0.ffn_down.weight"));
        List<String> u = t.unexpressed();
        assertTrue(u.stream().anyMatch(x -> x.startsWith(LlamaLayers.o(1)) && x.contains("no llama.cpp type")), u.toString());
        assertTrue(u.stream().anyMatch(x -> x.startsWith(LlamaLayers.v(1)) && x.contains("nearest q3_k")), u.toString());
        assertTrue(u.stream().anyMatch(x -> x.startsWith(LlamaLayers.v(1)) && x.contains("method gptq")), u.toString());
        assertEquals(3, u.size(), u.toString());
    }

    /** What llama-quantize would pick for each tensor: the last matching --tensor-type (regex search), else the base. */
    private static Map<String, String> typesOf(String cmd, List<String> tensors) {
        String base = cmd.substring(cmd.lastIndexOf(' ') + 1);
        var args = Pattern.compile("--tensor-type '([^']+)=([^'=]+)'").matcher(cmd).results().toList();
        Map<String, String> out = new LinkedHashMap<>();
        for (String tensor : tensors) {
            String type = base;
            for (var a : args) {
                if (Pattern.compile(a.group(1)).matcher(tensor).find()) {
                    type = a.group(2);
                }
            }
            out.put(tensor, type);
        }
        return out;
    }

    @Test
    void gptqModelGetsABaseConfigOverridesAndSkips() throws Exception {
        PlanTranslation.Translation t = PlanTranslation.gptqModel(layers(), plan());
        JsonNode root = new ObjectMapper().readTree(t.text());
        assertEquals(4, root.get("bits").asInt());
        assertEquals(32, root.get("group_size").asInt());
        assertTrue(root.get("sym").asBoolean());
        JsonNode dynamic = root.get("dynamic");
        JsonNode down = dynamic.get("+:model\\.layers\\.0\\.mlp\\.down_proj$");
        assertEquals(8, down.get("bits").asInt());
        assertEquals(1, down.size(), "only what differs from the base");
        JsonNode v1 = dynamic.get("+:model\\.layers\\.1\\.self_attn\\.v_proj$");
        assertEquals(3, v1.get("bits").asInt());
        assertEquals(128, v1.get("group_size").asInt());
        assertFalse(v1.get("sym").asBoolean());
        assertTrue(dynamic.has("-:model\\.layers\\.0\\.self_attn\\.q_proj$"), "dense layer skipped");
        assertTrue(dynamic.has("-:model\\.layers\\.1\\.self_attn\\.o_proj$"), "2:4 layer skipped and listed");
        assertTrue(Pattern.compile("model\\.layers\\.1\\.self_attn\\.v_proj$").matcher(LlamaLayers.v(1)).matches());
        assertTrue(t.unexpressed().stream().anyMatch(x -> x.startsWith(LlamaLayers.o(1))), t.unexpressed().toString());
        assertTrue(t.unexpressed().stream().anyMatch(x -> x.contains("RTN becomes GPTQ")), t.unexpressed().toString());
    }
}
