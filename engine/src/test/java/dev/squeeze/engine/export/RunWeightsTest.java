package dev.squeeze.engine.export;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.jobs.JobExecution;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.testing.SharedData;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An export recomputes a stored run's tensors: they must be the tensors the run itself computed, bit for bit, and a
 * model file that changed since the run is refused.
 */
class RunWeightsTest {
    @TempDir
    Path dir;

    /** Captures every tensor a run computes, as its checkpoints would. */
    private static final class Capture implements RunHooks {
        final Map<String, CompressedTensor> tensors = new LinkedHashMap<>();

        @Override
        public void save(int index, String layer, CompressedTensor tensor, RunRecord.LayerResult result) {
            tensors.put(layer, tensor);
        }
    }

    @Test
    void aClassifierRunsTensorsComeBackBitForBit() throws Exception {
        Path model = TinyModels.writeDeepMlp(dir, 7);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(100, 3));
        JobSpec spec = new JobSpec(model.toString(), CompressionPlan.parse(
                "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":3,\"groupSize\":16}}").canonicalJson(),
                "rtn3", 32, 0, false, 0, idx[0].toString(), idx[1].toString(), List.of());
        try (ResultsStore store = ResultsStore.inMemory()) {
            Capture original = new Capture();
            long runId = JobExecution.run(spec, store::recordRun, original);

            CompressedModel c = RunWeights.reproduce(store, runId, RunHooks.NONE);
            assertEquals(runId, c.runId());
            assertEquals(original.tensors.keySet(), c.compressed().keySet());
            assertTrue(c.compressed().size() >= 3, "every layer of the deep MLP is compressed");
            original.tensors.forEach((layer, t) -> assertArrayEquals(t.dequantize(),
                    c.compressed().get(layer).dequantize(), layer));
            assertEquals("rtn", c.settings().values().iterator().next().method());

            SqueezeException notLlama = assertThrows(SqueezeException.class, () -> PlanTranslation.ofRun(store, runId));
            assertTrue(notLlama.getMessage().contains("only for Llama-family models"), notLlama.getMessage());

            // The same path now holds another model: its weights are not the run's.
            TinyModels.writeDeepMlp(dir, 8);
            SqueezeException e = assertThrows(SqueezeException.class,
                    () -> RunWeights.reproduce(store, runId, RunHooks.NONE));
            assertTrue(e.getMessage().contains("is not the one run " + runId), e.getMessage());
        }
    }

    @Test
    void aGptqRunOnStories260KIsRecomputedWithItsCalibration() {
        Path bin = SharedData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        JobSpec spec = new JobSpec(bin.toString(), CompressionPlan.parse(
                "{\"schema\":1,\"defaults\":{\"method\":\"gptq\",\"bits\":4,\"groupSize\":32,\"symmetric\":true}}")
                .canonicalJson(), "gptq4", 3, 11, false, 2, null, null, List.of());
        try (ResultsStore store = ResultsStore.inMemory()) {
            Capture original = new Capture();
            long runId = JobExecution.run(spec, store::recordRun, original);
            CompressedModel c = RunWeights.reproduce(store, runId, RunHooks.NONE);
            assertEquals(35, c.compressed().size(), "5 blocks of 7 linears");
            // The same stored run, translated: every linear is Q4_0's grid, GPTQ's error feedback is not said.
            PlanTranslation.Translation translated = PlanTranslation.ofRun(store, runId).llamaCpp();
            assertTrue(translated.text().endsWith(" Q4_0"), translated.text());
            assertEquals(35, translated.unexpressed().stream().filter(u -> u.contains("method gptq")).count());
            original.tensors.forEach((layer, t) -> assertArrayEquals(t.dequantize(),
                    c.compressed().get(layer).dequantize(), layer));
        }
    }

    @Test
    void aRecomputedLayerThatDiffersIsRefused() {
        var stored = List.of(new RunRecord.LayerResult("fc1", "rtn", "RTN 4-bit", 1000, 4.0, 0.01, 3));
        var same = List.of(new RunRecord.LayerResult("fc1", "rtn", "RTN 4-bit", 1000, 4.0, 0.01, 9));
        RunWeights.check(1, stored, same);
        var other = List.of(new RunRecord.LayerResult("fc1", "rtn", "RTN 4-bit", 1000, 4.0, 0.010000001, 3));
        SqueezeException e = assertThrows(SqueezeException.class, () -> RunWeights.check(1, stored, other));
        assertTrue(e.getMessage().contains("layer fc1"), e.getMessage());
        assertThrows(SqueezeException.class, () -> RunWeights.check(1, stored, List.of()));
        assertTrue(Files.exists(dir));
    }
}
