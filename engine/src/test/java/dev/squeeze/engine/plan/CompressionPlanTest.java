package dev.squeeze.engine.plan;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CompressionPlanTest {
    /** Three 64 × 64 linears between an embedding and a head, in this order. */
    static final List<LayerInfo> LAYERS = List.of(
            layer("embed", LayerRole.EMBEDDING), layer("blocks.0.fc", LayerRole.LINEAR),
            layer("blocks.1.fc", LayerRole.LINEAR), layer("blocks.2.fc", LayerRole.LINEAR),
            layer("head", LayerRole.HEAD));

    static LayerInfo layer(String name, LayerRole role) {
        return new LayerInfo(name, role, new long[]{64, 64}, 64 * 64, 64 * 64 * 4);
    }

    @Test
    void everySettingsRecordSurvivesAJsonRoundTrip() {
        List<MethodSettings> all = List.of(
                new RtnSettings(3, 32, true), RtnSettings.perRow(8),
                GptqSettings.of(4, 128).withActOrder(true).withPercdamp(0.05).withBlockSize(64)
                        .withGroupParams(GptqSettings.GroupParams.REFERENCE)
                        .withScalePrecision(GptqSettings.ScalePrecision.FP32).withSymmetric(true),
                GptqSettings.of(3, 0).withStaticGroups(false),
                SpqrSettings.recommended(3), SpqrSettings.recommended(4).withReferencePrecision(true),
                new SpqrSettings(4, 16, 3, 3, 16, Double.POSITIVE_INFINITY, 1.0, false, 128, false),
                SparseGptSettings.of(Sparsity.unstructured(0.5)),
                SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 4).withMode(SparseGptSettings.Mode.REFERENCE),
                MagnitudeSettings.of(Sparsity.rows(0.25)), new MagnitudeSettings(Sparsity.channels(0.125), 32),
                MagnitudeSettings.of(Sparsity.nOfM(4, 8)),
                LowRankSettings.of(LowRankVariant.LORD, 8),
                LowRankSettings.of(LowRankVariant.WHITENED, 4).withQuantization(new RtnSettings(4, 0, false), null));
        for (MethodSettings s : all) {
            MethodSettings back = SettingsJson.parse(SettingsJson.write(s), "test");
            assertEquals(s, back, "round trip of " + s);
        }
        assertNull(SettingsJson.parse(SettingsJson.write(null), "test"));
    }

    @Test
    void planRoundTripsThroughItsCanonicalJson() {
        CompressionPlan p = CompressionPlan.of(GptqSettings.of(4, 128))
                .withMatch("blocks\\.[01]\\..*", new RtnSettings(8, 0, true))
                .withLayer("blocks.2.fc", null);
        CompressionPlan back = CompressionPlan.parse(p.canonicalJson());
        assertEquals(p, back);
        assertEquals(p.hash(), back.hash());
        assertEquals(PlanResolver.resolve(p, LAYERS), PlanResolver.resolve(back, LAYERS));
        assertEquals(Map.of("blocks.0.fc", new RtnSettings(8, 0, true), "blocks.1.fc", new RtnSettings(8, 0, true)),
                PlanResolver.resolve(back, LAYERS));
    }

    @Test
    void precedenceIsDefaultsThenRegexThenExactAndLaterWins() {
        String json = """
                {"schema": 1,
                 "defaults": {"method": "rtn", "bits": 4},
                 "overrides": [
                   {"layer": "blocks.1.fc", "method": "rtn", "bits": 7},
                   {"match": "regex:blocks\\\\..*", "method": "rtn", "bits": 5},
                   {"match": "regex:blocks\\\\.[12]\\\\..*", "method": "rtn", "bits": 6},
                   {"layer": "blocks.1.fc", "method": "rtn", "bits": 3},
                   {"layer": "head", "method": "rtn", "bits": 8}]}""";
        Map<String, MethodSettings> r = PlanResolver.resolve(CompressionPlan.parse(json), LAYERS);
        // blocks.0: the first regex over the defaults; blocks.2: the later regex; blocks.1: the later exact entry
        // beats both regexes though they come after the first exact one; head: only because it is named.
        assertEquals(List.of("blocks.0.fc", "blocks.1.fc", "blocks.2.fc", "head"), List.copyOf(r.keySet()));
        assertEquals(new RtnSettings(5, 0, false), r.get("blocks.0.fc"));
        assertEquals(new RtnSettings(3, 0, false), r.get("blocks.1.fc"));
        assertEquals(new RtnSettings(6, 0, false), r.get("blocks.2.fc"));
        assertEquals(new RtnSettings(8, 0, false), r.get("head"));
    }

    @Test
    void defaultsSkipEmbeddingsAndHeadsAndNoneKeepsALayerDense() {
        CompressionPlan p = CompressionPlan.parse("""
                {"schema":1,"defaults":{"method":"gptq","bits":4,"groupSize":32},
                 "overrides":[{"layer":"blocks.1.fc","method":"none"}]}""");
        Map<String, MethodSettings> r = PlanResolver.resolve(p, LAYERS);
        assertEquals(Map.of("blocks.0.fc", GptqSettings.of(4, 32), "blocks.2.fc", GptqSettings.of(4, 32)), r);
    }

    @Test
    void planOwnEntriesBeatThePresets() {
        CompressionPlan p = CompressionPlan.parse("""
                {"schema":1,"preset":"mostly-4bit-first-last-8bit",
                 "overrides":[{"match":"regex:blocks\\\\.0\\\\.fc","method":"gptq","bits":3}]}""");
        Map<String, MethodSettings> r = PlanResolver.resolve(p, LAYERS);
        assertEquals(GptqSettings.of(3, 0), r.get("blocks.0.fc"));
        assertEquals(new RtnSettings(4, 0, true), r.get("blocks.1.fc"));
        assertEquals(new RtnSettings(8, 0, true), r.get("blocks.2.fc"));
        CompressionPlan own = CompressionPlan.parse("""
                {"schema":1,"preset":"gptq-4bit-g128","defaults":{"method":"rtn","bits":6}}""");
        assertEquals(new RtnSettings(6, 0, false), PlanResolver.resolve(own, LAYERS).get("blocks.1.fc"));
    }

    @Test
    void keyOrderAndWhitespaceDoNotChangeTheHash() throws Exception {
        CompressionPlan a = CompressionPlan.parse("{\"schema\":1,\"defaults\":{\"method\":\"gptq\",\"bits\":4,\"groupSize\":128}}");
        CompressionPlan b = CompressionPlan.parse("""
                {
                  "defaults" : { "groupSize" : 128,
                                 "bits" : 4, "method" : "gptq" },
                  "schema" : 1
                }
                """);
        String expected = "{\"defaults\":{\"bits\":4,\"groupSize\":128,\"method\":\"gptq\"},\"schema\":1}";
        assertEquals(expected, a.canonicalJson());
        assertEquals(expected, b.canonicalJson());
        assertEquals(a, b);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(expected.getBytes(StandardCharsets.UTF_8)));
        assertEquals(sha, a.hash());
        assertEquals(sha, b.hash());
        CompressionPlan c = CompressionPlan.parse("{\"schema\":1,\"defaults\":{\"method\":\"gptq\",\"bits\":3,\"groupSize\":128}}");
        assertNotEquals(a.hash(), c.hash());
        // Override order is meaningful: swapping two entries is a different plan.
        CompressionPlan x = CompressionPlan.of(RtnSettings.perRow(4)).withLayer("blocks.0.fc", RtnSettings.perRow(3))
                .withLayer("blocks.0.fc", RtnSettings.perRow(5));
        CompressionPlan y = CompressionPlan.of(RtnSettings.perRow(4)).withLayer("blocks.0.fc", RtnSettings.perRow(5))
                .withLayer("blocks.0.fc", RtnSettings.perRow(3));
        assertNotEquals(x.hash(), y.hash());
        assertTrue(new ObjectMapper().readTree(a.canonicalJson()).equals(a.tree()));
    }

    @Test
    void readingErrorsAreCollectedAndNameTheirPlace() {
        SqueezeException e = assertThrows(SqueezeException.class, () -> CompressionPlan.parse("""
                {"schema":1,"colour":"red","preset":"gptq-9bit",
                 "defaults":{"method":"gptq","bits":"4","groupsize":128},
                 "overrides":[{"layer":"fc1","method":"awq","bits":4},
                              {"layer":"fc2","method":"lowrank","variant":"svd","rank":2.5},
                              {"match":"fc.*","method":"rtn","bits":4},
                              {"match":"regex:fc(","method":"rtn","bits":4},
                              {"layer":"fc1","match":"regex:fc1","method":"none"}]}"""));
        String m = e.getMessage();
        assertTrue(m.contains("plan: unknown field 'colour'"), m);
        assertTrue(m.contains("plan: field 'preset' is 'gptq-9bit'"), m);
        assertTrue(m.contains("defaults: field 'bits' must be an integer, not the string \"4\""), m);
        assertTrue(m.contains("defaults: unknown field 'groupsize'"), m);
        assertTrue(m.contains("overrides[0] (layer fc1): field 'method' is 'awq', which is not a known method"), m);
        assertTrue(m.contains("overrides[1] (layer fc2): field 'rank' must be an integer"), m);
        assertTrue(m.contains("overrides[2] (match fc.*): field 'match'"), m);
        assertTrue(m.contains("overrides[3] (match regex:fc(): field 'match' is not a valid regular expression"), m);
        assertTrue(m.contains("overrides[4] (layer fc1): field 'layer' or 'match'"), m);
        assertTrue(m.contains("(9 problems)"), m);
    }

    @Test
    void schemaIsRequiredAndChecked() {
        assertTrue(assertThrows(SqueezeException.class, () -> CompressionPlan.parse("{\"defaults\":{\"method\":\"none\"}}"))
                .getMessage().contains("field 'schema' is missing"));
        assertTrue(assertThrows(SqueezeException.class, () -> CompressionPlan.parse("{\"schema\":2}"))
                .getMessage().contains("this version reads schema 1"));
        assertTrue(assertThrows(SqueezeException.class, () -> CompressionPlan.parse("{\"schema\":1,"))
                .getMessage().contains("not valid JSON"));
        assertTrue(assertThrows(SqueezeException.class, () -> CompressionPlan.parse("{\"schema\":1,\"schema\":1}"))
                .getMessage().contains("not valid JSON"));
    }
}
