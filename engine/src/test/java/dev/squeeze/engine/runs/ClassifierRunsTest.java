package dev.squeeze.engine.runs;

import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.eval.Latency;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.RunSummary;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassifierRunsTest {
    @TempDir
    Path dir;

    @Test
    void denseAndRtnRunsAreEvaluatedSizedAndStored() throws Exception {
        Model model = ModelFormats.open(TinyModels.writeMlp(dir, 5));
        ImageSet eval = TinyModels.images(200, 9);
        try (ResultsStore store = ResultsStore.inMemory()) {
            ClassifierRuns runs = new ClassifierRuns(store);
            runs.runDense(model, eval);
            long rtn8 = runs.runRtn(model, eval, RtnSettings.perRow(8));
            runs.runRtn(model, eval, RtnSettings.perRow(4));
            runs.runRtn(model, eval, RtnSettings.perRow(2));

            List<RunSummary> all = store.runs(model.contentHash());
            assertEquals(List.of("dense f32", "RTN 8-bit asym per-row", "RTN 4-bit asym per-row",
                    "RTN 2-bit asym per-row"), all.stream().map(RunSummary::label).toList());
            RunSummary dense = all.get(0);
            // The hand-built model solves its task with a wide margin: dense and 8-bit are perfect.
            assertEquals(1.0, dense.metricValue());
            assertEquals(1.0, all.get(1).metricValue());
            assertNull(dense.bitsPerWeight());
            assertEquals(model.storedBytes(), dense.sizeBytes());
            assertEquals(model.parameterCount() * 2, dense.fp16Bytes());

            // Size: codes + fp32 scale + zero per row for the two weights; biases stay fp32.
            int w1 = 32 * 64;
            int w2 = 4 * 32;
            long bits4 = (long) (w1 + w2) * 4 + (32 + 4) * (32 + 4);
            long biasBytes = (32 + 4) * 4;
            assertEquals((bits4 + 7) / 8 + biasBytes, all.get(2).sizeBytes());
            assertEquals((double) bits4 / (w1 + w2), all.get(2).bitsPerWeight(), 1e-12);
            assertTrue(all.get(1).sizeBytes() > all.get(2).sizeBytes() && all.get(2).sizeBytes() > all.get(3).sizeBytes());
            assertTrue(all.get(3).metricValue() <= 1.0);

            List<RunRecord.LayerResult> layers = store.layerResults(rtn8);
            assertEquals(List.of("fc1", "fc2"), layers.stream().map(RunRecord.LayerResult::layer).toList());
            assertTrue(layers.getFirst().reconError() > 0 && layers.getFirst().reconError() < 0.01,
                    "8-bit error " + layers.getFirst().reconError());
            assertFalse(dense.kernelBackend().isBlank());
            assertTrue(store.metrics(rtn8).stream().anyMatch(m -> m.name().equals("accuracy.top-left")));
            // Every run stores the latency of one batch, measured on the layers it evaluated.
            for (long id : new long[]{rtn8, dense.id()}) {
                double latency = store.metrics(id).stream().filter(m -> m.name().equals(Latency.METRIC))
                        .mapToDouble(RunRecord.Metric::value).findFirst().orElseThrow();
                assertTrue(latency > 0 && latency < 60_000, "latency " + latency);
            }
        }
    }

    /** The same path on an ONNX graph: RTN weights are written back into the initializers ONNX Runtime runs. */
    @Test
    void onnxClassifierRunsThroughTheSamePath() {
        Path onnx = dev.squeeze.engine.testing.SharedData.require("models/mnist-7/mnist-7.onnx");
        Path images = dev.squeeze.engine.testing.SharedData.require("data/mnist-test/t10k-images-idx3-ubyte.gz");
        Path labels = dev.squeeze.engine.testing.SharedData.require("data/mnist-test/t10k-labels-idx1-ubyte.gz");
        Model model = ModelFormats.open(onnx);
        ImageSet eval = dev.squeeze.engine.data.IdxReader.readImages(images, labels).head(1000);
        try (ResultsStore store = ResultsStore.inMemory()) {
            ClassifierRuns runs = new ClassifierRuns(store);
            runs.runDense(model, eval);
            long rtn8 = runs.runRtn(model, eval, RtnSettings.perRow(8));
            runs.runRtn(model, eval, RtnSettings.perRow(2));
            List<RunSummary> all = store.runs(model.contentHash());
            assertEquals(3, all.size());
            double dense = all.get(0).metricValue();
            assertTrue(dense > 0.97, "mnist-7 on the first 1,000 test images: " + dense);
            assertEquals(dense, all.get(1).metricValue(), 0.003, "8-bit RTN barely moves a CNN");
            assertTrue(all.get(2).metricValue() < dense, "2-bit RTN per row must cost accuracy");
            assertEquals(3, store.layerResults(rtn8).size(), "two convolutions and one linear");
            // 5,994 weights + biases: the 8-bit run stores codes, one fp32 scale and one 8-bit zero per row.
            assertTrue(all.get(1).sizeBytes() < all.get(0).sizeBytes() / 3, "size " + all.get(1).sizeBytes());
        }
    }
}
