package dev.squeeze.engine.plan;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.TinyLlama;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlanResolverTest {
    static Model mlp;
    static Model llama;
    /** The Llama's compressible layers in model order, listed from the config (not from the code under test). */
    static List<String> llamaLinears;
    static LlamaConfig config;

    @BeforeAll
    static void models(@TempDir Path dir) throws Exception {
        mlp = ModelFormats.open(TinyModels.writeMlp(dir, 7));
        config = TinyLlama.config(RopeStyle.ROTATE_HALF, false, false);
        llama = TinyLlama.model(config, TinyLlama.randomWeights(config, 3));
        llamaLinears = new ArrayList<>();
        for (int l = 0; l < config.nLayers(); l++) {
            llamaLinears.addAll(List.of(LlamaLayers.q(l), LlamaLayers.k(l), LlamaLayers.v(l), LlamaLayers.o(l),
                    LlamaLayers.gate(l), LlamaLayers.up(l), LlamaLayers.down(l)));
        }
    }

    private static Map<String, MethodSettings> all(List<String> names, MethodSettings s) {
        Map<String, MethodSettings> m = new LinkedHashMap<>();
        names.forEach(n -> m.put(n, s));
        return m;
    }

    @Test
    void gptqPresetCoversEveryLinearButNotEmbeddingOrHead() {
        Map<String, MethodSettings> r = PlanResolver.resolve(CompressionPlan.preset("gptq-4bit-g128"), llama);
        assertEquals(all(llamaLinears, GptqSettings.of(4, 128)), r);
        assertEquals(llamaLinears, List.copyOf(r.keySet()));
        assertEquals(Map.of("fc1", GptqSettings.of(4, 128), "fc2", GptqSettings.of(4, 128)),
                PlanResolver.resolve(CompressionPlan.preset("gptq-4bit-g128"), mlp));
    }

    @Test
    void mostly4BitPresetGivesTheFirstAndLastCompressibleLayer8Bits() {
        Map<String, MethodSettings> expected = all(llamaLinears, new RtnSettings(4, 0, true));
        expected.put(LlamaLayers.q(0), new RtnSettings(8, 0, true));
        expected.put(LlamaLayers.down(config.nLayers() - 1), new RtnSettings(8, 0, true));
        CompressionPlan p = CompressionPlan.preset("mostly-4bit-first-last-8bit");
        assertEquals(expected, PlanResolver.resolve(p, llama));
        // Two layers only: both are first or last.
        assertEquals(Map.of("fc1", new RtnSettings(8, 0, true), "fc2", new RtnSettings(8, 0, true)),
                PlanResolver.resolve(p, mlp));
    }

    @Test
    void twoOfFourPresetIsSparseGptWithJoint4BitQuantization() {
        SparseGptSettings s = SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 4);
        assertEquals(Map.of("fc1", s, "fc2", s), PlanResolver.resolve(CompressionPlan.preset("2of4-plus-4bit"), mlp));
        assertEquals(all(llamaLinears, s), PlanResolver.resolve(CompressionPlan.preset("2of4-plus-4bit"), llama));
    }

    @Test
    void spqrPresetReportsEveryLayerItsStatisticsGroupsDoNotFit() {
        CompressionPlan p = CompressionPlan.preset("spqr-near-lossless");
        // qqGroupSize 16 must divide the rows: q, o (dim 16) and down (dim 16) fit; k, v (kv dim 8) and gate, up
        // (hidden 24) do not, in both blocks.
        SqueezeException e = assertThrows(SqueezeException.class, () -> PlanResolver.resolve(p, llama));
        String m = e.getMessage();
        assertTrue(m.contains("(8 problems)"), m);
        for (int l = 0; l < config.nLayers(); l++) {
            for (String bad : List.of(LlamaLayers.k(l), LlamaLayers.v(l), LlamaLayers.gate(l), LlamaLayers.up(l))) {
                assertTrue(m.contains("Layer " + bad + ": SpQR field 'qqGroupSize'"), m);
            }
            for (String good : List.of(LlamaLayers.q(l), LlamaLayers.o(l), LlamaLayers.down(l))) {
                assertFalse(m.contains("Layer " + good + ":"), m);
            }
        }
        // On layers with 16-row multiples it resolves to the recommended settings.
        assertEquals(all(List.of("blocks.0.fc", "blocks.1.fc", "blocks.2.fc"), SpqrSettings.recommended(4)),
                PlanResolver.resolve(p, CompressionPlanTest.LAYERS));
        // The MLP's fc2 has 4 rows (classes).
        String mm = assertThrows(SqueezeException.class, () -> PlanResolver.resolve(p, mlp)).getMessage();
        assertTrue(mm.contains("Layer fc2: SpQR field 'qqGroupSize'") && !mm.contains("Layer fc1"), mm);
    }

    private static String problems(String planJson, Model model) {
        CompressionPlan p = CompressionPlan.parse(planJson);
        return assertThrows(SqueezeException.class, () -> PlanResolver.resolve(p, model)).getMessage();
    }

    private static String override(String layer, String settings) {
        return "{\"schema\":1,\"overrides\":[{\"layer\":\"" + layer + "\"," + settings + "}]}";
    }

    @Test
    void oneAndNineBitsAreRejectedNamingLayerAndField() {
        String m = problems("{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":1}}", mlp);
        assertTrue(m.contains("(2 problems)") && m.contains("Layer fc1: field 'bits' is 1")
                && m.contains("Layer fc2: field 'bits' is 1"), m);
        m = problems(override("fc2", "\"method\":\"gptq\",\"bits\":9"), mlp);
        assertTrue(m.contains("Layer fc2: GPTQ field 'bits' is 9"), m);
        m = problems(override("fc1", "\"method\":\"spqr\",\"bits\":4,\"qqScaleBits\":9"), mlp);
        assertTrue(m.contains("Layer fc1: SpQR field 'qqScaleBits' is 9"), m);
    }

    @Test
    void nonPositiveGroupSizesAreRejected() {
        String m = problems(override("fc1", "\"method\":\"gptq\",\"bits\":4,\"groupSize\":-1"), mlp);
        assertTrue(m.contains("Layer fc1: GPTQ field 'groupSize' is -1"), m);
        m = problems(override("fc1", "\"method\":\"spqr\",\"bits\":4,\"groupSize\":0"), mlp);
        assertTrue(m.contains("Layer fc1: SpQR field 'groupSize' is 0"), m);
    }

    @Test
    void nNotBelowMIsRejected() {
        String m = problems(override("fc1", "\"method\":\"magnitude\",\"sparsity\":\"4:4\""), mlp);
        assertTrue(m.contains("Layer fc1: field 'n' of magnitude is 4 with m = 4"), m);
        m = problems(override("fc2", "\"method\":\"sparsegpt\",\"sparsity\":\"5:4\",\"bits\":4"), mlp);
        assertTrue(m.contains("Layer fc2: field 'n' of sparsegpt is 5"), m);
    }

    @Test
    void rankTooLargeIsRejected() {
        // fc1 is 32 × 64 (hidden × 8·8 inputs): rank 40 exceeds min(rows, cols); rank 30 saves nothing.
        String m = problems(override("fc1", "\"method\":\"lowrank\",\"variant\":\"svd\",\"rank\":40"), mlp);
        assertTrue(m.contains("Layer fc1: field 'rank' is 40"), m);
        m = problems(override("fc1", "\"method\":\"lowrank\",\"variant\":\"svd\",\"rank\":30"), mlp);
        assertTrue(m.contains("Layer fc1: field 'rank' is 30") && m.contains("save nothing"), m);
    }

    @Test
    void unknownMethodAndUnknownFieldAreRejectedOnReading() {
        String m = assertThrows(SqueezeException.class,
                () -> CompressionPlan.parse(override("fc1", "\"method\":\"awq\",\"bits\":4"))).getMessage();
        assertTrue(m.contains("overrides[0] (layer fc1): field 'method' is 'awq'"), m);
        m = assertThrows(SqueezeException.class,
                () -> CompressionPlan.parse(override("fc2", "\"method\":\"gptq\",\"bits\":4,\"bitz\":3"))).getMessage();
        assertTrue(m.contains("overrides[0] (layer fc2): unknown field 'bitz'"), m);
    }

    @Test
    void namesAndRegexesThatMatchNothingAreErrors() {
        String m = problems("""
                {"schema":1,"defaults":{"method":"rtn","bits":4},
                 "overrides":[{"match":"regex:^fc3$","method":"rtn","bits":8},
                              {"layer":"fc_1","method":"none"},
                              {"match":"regex:fc","method":"none"}]}""", mlp);
        assertTrue(m.contains("(3 problems)"), m);
        assertTrue(m.contains("overrides[0] (match regex:^fc3$): field 'match' matches no compressible layer"), m);
        assertTrue(m.contains("overrides[1] (layer fc_1): field 'layer' names no layer of the model"), m);
        // Regexes match whole names: "fc" is not "fc1".
        assertTrue(m.contains("overrides[2] (match regex:fc): field 'match' matches no compressible layer"), m);
        // A regex does not reach the embedding or the head, so one that only matches them is a typo too.
        m = problems("{\"schema\":1,\"overrides\":[{\"match\":\"regex:lm_head|model\\\\.embed_tokens\","
                + "\"method\":\"rtn\",\"bits\":8}]}", llama);
        assertTrue(m.contains("matches no compressible layer"), m);
    }

    @Test
    void problemsOfDifferentLayersAreReportedTogether() {
        String m = problems("""
                {"schema":1,"defaults":{"method":"gptq","bits":4,"groupSize":128},
                 "overrides":[{"layer":"fc1","method":"lowrank","variant":"lord","rank":64},
                              {"layer":"fc2","method":"sparsegpt","sparsity":1.5}]}""", mlp);
        assertTrue(m.contains("(2 problems)") && m.contains("Layer fc1: field 'rank' is 64")
                && m.contains("Layer fc2: field 'sparsity' of sparsegpt is 1.5"), m);
    }

    @Test
    void aPlanFileIsReadAndItsErrorsNameTheFile(@TempDir Path dir) throws Exception {
        Path ok = Files.writeString(dir.resolve("plan.json"), """
                {"schema": 1, "preset": "gptq-4bit-g128",
                 "overrides": [{"layer": "fc2", "method": "none"}]}""");
        assertEquals(Map.of("fc1", GptqSettings.of(4, 128)), PlanResolver.resolve(CompressionPlan.read(ok), mlp));
        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"schema\": 1, \"defualts\": {}}");
        String m = assertThrows(SqueezeException.class, () -> CompressionPlan.read(bad)).getMessage();
        assertTrue(m.contains(bad.toString()) && m.contains("unknown field 'defualts'"), m);
        String missing = assertThrows(SqueezeException.class, () -> CompressionPlan.read(dir.resolve("none.json")))
                .getMessage();
        assertTrue(missing.contains("none.json"), missing);
    }

    @Test
    void explicitlyNamedHeadIsCompressed() {
        Map<String, MethodSettings> r = PlanResolver.resolve(CompressionPlan.parse(
                override(LlamaLayers.HEAD, "\"method\":\"rtn\",\"bits\":8")), llama);
        assertEquals(Map.of(LlamaLayers.HEAD, new RtnSettings(8, 0, false)), r);
        List<LayerInfo> layers = llama.layers();
        assertEquals(llamaLinears.size(), layers.stream().filter(PlanResolver::compressible).count());
    }

    @Test
    void theReadmeExampleResolvesOnTheTinyLlama() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        int section = readme.indexOf("## Plans");
        int start = readme.indexOf("```json", section) + "```json".length();
        String json = readme.substring(start, readme.indexOf("```", start));
        Map<String, MethodSettings> r = PlanResolver.resolve(CompressionPlan.parse(json), llama);
        assertEquals(GptqSettings.of(8, 128), r.get(LlamaLayers.q(0)));
        assertEquals(SpqrSettings.recommended(3), r.get(LlamaLayers.down(0)));
        assertEquals(GptqSettings.of(4, 128), r.get(LlamaLayers.q(1)));
        assertFalse(r.containsKey(LlamaLayers.k(1)));
        assertEquals(llamaLinears.size() - 1, r.size());
    }
}
