package dev.squeeze.engine.plan;

import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PlanCheck on a classifier shaped like the built-in sample (256 × 784, 128 × 256, 10 × 128; no calibration). */
class PlanCheckTest {
    static Model mlp(String architecture) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (int[] l : new int[][]{{1, 256, 784}, {2, 128, 256}, {3, 10, 128}}) {
            t.put("fc" + l[0] + ".weight", Tensor.of("fc" + l[0] + ".weight", new float[l[1] * l[2]], l[1], l[2]));
            t.put("fc" + l[0] + ".bias", Tensor.of("fc" + l[0] + ".bias", new float[l[1]], l[1]));
        }
        return new Model("sample-shaped", "mem", "test", architecture, "h", t, Map.of());
    }

    @Test
    void everyProblemIsListedWithLayerAndField() {
        Model m = mlp("mlp");
        Map<String, MethodSettings> s = new LinkedHashMap<>();
        s.put("fc1", new RtnSettings(9, 0, false));                      // bits out of range
        s.put("fc2", GptqSettings.of(4, 128));                           // needs calibration; a classifier has none
        s.put("fc3", new SpqrSettings(4, 16, 3, 3, 16, 0.2, 1.0, true, 128, false)); // 10 rows, qq 16; and calibration
        List<PlanCheck.Problem> p = PlanCheck.check(s, m);
        assertEquals(3, p.size(), p.toString());
        assertEquals("fc1", p.get(0).layer());
        assertEquals("bits", p.get(0).field());
        assertTrue(p.get(0).message().contains("2 to 8"), p.get(0).message());
        assertEquals("fc2", p.get(1).layer());
        assertEquals("method", p.get(1).field());
        assertTrue(p.get(1).message().contains("calibration"), p.get(1).message());
        assertEquals("fc3", p.get(2).layer());
        assertEquals("qqGroupSize", p.get(2).field());
        assertTrue(p.get(2).message().contains("does not divide the layer's 10 output rows"), p.get(2).message());
    }

    @Test
    void aLanguageModelHasCalibrationSoGptqPasses() {
        Model m = mlp("llama");
        assertTrue(PlanCheck.hasCalibration(m));
        assertFalse(PlanCheck.hasCalibration(mlp("mlp")));
        assertEquals(List.of(), PlanCheck.check(Map.of("fc2", (MethodSettings) GptqSettings.of(4, 128)), m));
    }

    @Test
    void planEntriesThatPickNothingAndEmptyPlansAreProblems() {
        Model m = mlp("mlp");
        CompressionPlan plan = CompressionPlan.of(RtnSettings.perRow(4))
                .withLayer("fc9", RtnSettings.perRow(8))
                .withMatch("attn\\..*", RtnSettings.perRow(8))
                .withLayer("fc3", LowRankSettings.of(LowRankVariant.SVD, 200));
        List<PlanCheck.Problem> p = PlanCheck.check(plan, m);
        assertEquals(3, p.size(), p.toString());
        assertEquals(null, p.get(0).layer());
        assertEquals("layer", p.get(0).field());
        assertEquals("match", p.get(1).field());
        assertEquals("fc3", p.get(2).layer());
        assertEquals("rank", p.get(2).field());

        List<PlanCheck.Problem> empty = PlanCheck.check(Map.of(), m);
        assertEquals(1, empty.size());
        assertTrue(empty.getFirst().message().contains("compresses no layer"));
    }

    @Test
    void aValidPlanHasNoProblemAndResolvesAsAJobWould() {
        Model m = mlp("mlp");
        CompressionPlan plan = CompressionPlan.of(new RtnSettings(4, 128, false));
        assertEquals(List.of(), PlanCheck.check(plan, m));
        assertEquals(3, PlanResolver.resolve(plan, m).size());
    }
}
