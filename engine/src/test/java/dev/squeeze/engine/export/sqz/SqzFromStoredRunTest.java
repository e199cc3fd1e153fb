package dev.squeeze.engine.export.sqz;

import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.RunWeights;
import dev.squeeze.engine.jobs.JobExecution;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.testing.SharedData;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The path of {@code squeeze export --run ID --format sqz}: a stored job run's weights recomputed by
 * {@link RunWeights}, bundled with the run's record, re-evaluated to the run's own metrics.
 */
class SqzFromStoredRunTest {
    @TempDir
    Path dir;

    @Test
    void aStoredClassifierJobRunBundlesAndReEvaluatesExactly() throws Exception {
        Path model = TinyModels.writeDeepMlp(dir, 7);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(200, 3));
        JobSpec spec = new JobSpec(model.toString(), CompressionPlan.parse(
                "{\"schema\":1,\"defaults\":{\"method\":\"magnitude\",\"sparsity\":\"2:4\"},"
                        + "\"overrides\":[{\"layer\":\"fc1\",\"method\":\"rtn\",\"bits\":3,\"groupSize\":16}]}")
                .canonicalJson(), "mixed", 32, 0, false, 0, idx[0].toString(), idx[1].toString(), List.of());
        try (ResultsStore store = ResultsStore.inMemory()) {
            long runId = JobExecution.run(spec, store::recordRun, RunHooks.NONE);
            CompressedModel cm = RunWeights.reproduce(store, runId, RunHooks.NONE);
            Path file = dir.resolve("run.sqz");
            Sqz.write(SqzContents.of(cm, store.run(runId).orElseThrow(), store.metrics(runId),
                    store.layerResults(runId)), file);
            SqzBundle b = Sqz.read(file);
            assertEquals(runId, b.runId().orElseThrow());
            assertEquals(spec.planJson(), b.planJson().orElseThrow());
            SqzEvaluation e = SqzEvaluation.evaluate(b, IdxReader.readImages(idx[0], idx[1]));
            assertTrue(e.identical(), e.differences().toString());
        }
    }

    @Test
    void aStoredStories260kJobRunBundlesAndReEvaluatesExactly() {
        Path bin = SharedData.require("models/stories260K/stories260K.bin").toAbsolutePath();
        Path text = SharedData.require("data/tinystories/valid-1k.txt");
        JobSpec spec = new JobSpec(bin.toString(), CompressionPlan.parse(
                "{\"schema\":1,\"defaults\":{\"method\":\"gptq\",\"bits\":4,\"groupSize\":32,\"symmetric\":true}}")
                .canonicalJson(), "gptq4", 4, 11, false, 3, null, null, List.of());
        try (ResultsStore store = ResultsStore.inMemory()) {
            long runId = JobExecution.run(spec, store::recordRun, RunHooks.NONE);
            CompressedModel cm = RunWeights.reproduce(store, runId, RunHooks.NONE);
            Path file = dir.resolve("stories.sqz");
            Sqz.write(SqzContents.of(cm, store.run(runId).orElseThrow(), store.metrics(runId),
                    store.layerResults(runId)), file);
            SqzEvaluation e = SqzEvaluation.evaluate(Sqz.read(file), StoryCorpus.read(text));
            assertTrue(e.identical(), e.differences().toString());
            assertEquals("perplexity", e.measured().getFirst().name());
        }
    }
}
