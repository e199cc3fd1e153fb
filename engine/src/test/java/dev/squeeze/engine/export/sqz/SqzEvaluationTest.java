package dev.squeeze.engine.export.sqz;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.data.text.CalibrationWindows;
import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.runs.ClassifierRuns;
import dev.squeeze.engine.runs.LanguageModelCompression;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.StoredRun;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
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
 * A bundle re-evaluated with its compressed layers gives exactly the metrics of the in-process run it was made
 * from: the sample classifier's accuracy and stories260K's perplexity.
 */
class SqzEvaluationTest {
    @TempDir
    Path dir;

    /** Collects each compressed layer as the run saves its checkpoint. */
    static final class Capture implements RunHooks {
        final Map<String, CompressedTensor> tensors = new LinkedHashMap<>();

        @Override
        public void save(int index, String layer, CompressedTensor tensor, RunRecord.LayerResult result) {
            tensors.put(layer, tensor);
        }
    }

    private static Path sampleResource(String name) {
        return Path.of("").toAbsolutePath().getParent()
                .resolve("sample-models/src/main/resources/dev/squeeze/samples/fashion-mlp").resolve(name);
    }

    @Test
    void theSampleClassifierBundleGivesTheRunsAccuracyExactly() throws IOException {
        Model model = new SafetensorsFormat().read(ByteBuffer.wrap(Files.readAllBytes(sampleResource("model.safetensors"))),
                "builtin:fashion-mlp", "fashion-mlp");
        ImageSet eval = IdxReader.readImages("fashion-mlp eval subset",
                Files.readAllBytes(sampleResource("eval-images-idx3-ubyte.gz")),
                Files.readAllBytes(sampleResource("eval-labels-idx1-ubyte.gz")));
        try (ResultsStore store = ResultsStore.inMemory()) {
            Capture capture = new Capture();
            RtnSettings rtn = new RtnSettings(3, 32, false);
            Map<String, MethodSettings> perLayer = new LinkedHashMap<>();
            model.layers().forEach(l -> perLayer.put(l.name(), rtn));
            long id = new ClassifierRuns(store::recordRun, capture).run(model, eval, perLayer,
                    "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":3,\"groupSize\":32}}", "rtn3", "rtn 3-bit g32");
            StoredRun run = store.run(id).orElseThrow();
            CompressedModel cm = new CompressedModel(model, capture.tensors, perLayer, "run " + id + ": rtn3", id);
            Path file = dir.resolve("sample.sqz");
            Sqz.write(SqzContents.of(cm, run, store.metrics(id), store.layerResults(id)), file);

            SqzBundle b = Sqz.read(file);
            assertEquals(run.planJson(), b.planJson().orElseThrow());
            assertEquals(store.metrics(id), b.metrics());
            assertEquals(store.layerResults(id), b.layerResults());
            assertEquals(run.summary(), b.run().orElseThrow().summary());
            assertEquals(run.provenance(), b.run().orElseThrow().provenance());
            assertEquals(run.evaluation(), b.run().orElseThrow().evaluation());
            assertEquals(run.startedAt(), b.run().orElseThrow().startedAt());
            SqzEvaluation e = SqzEvaluation.evaluate(b, eval);
            assertTrue(e.identical(), e.differences().toString());
            double top1 = store.metrics(id).stream().filter(m -> m.name().equals("top1")).findFirst().orElseThrow().value();
            assertEquals(top1, e.measured().getFirst().value());
            assertTrue(e.measured().size() > 1, "per-class accuracies are compared too");
            // Other images are not the run's: refused, not silently compared.
            var other = assertThrows(dev.squeeze.engine.SqueezeException.class,
                    () -> SqzEvaluation.evaluate(b, eval.head(50)));
            assertTrue(other.getMessage().contains("not those the run"), other.getMessage());
        }
    }

    @Test
    void stories260kGptqBundleGivesTheRunsPerplexityExactly() throws IOException {
        Path bin = SharedData.require("models/stories260K/stories260K.bin");
        Path text = SharedData.require("data/tinystories/valid-1k.txt");
        Model model = ModelFormats.open(bin);
        StoryCorpus corpus = StoryCorpus.read(text);
        var tokenizer = Llama2cTokenizer.read(bin.resolveSibling("tok512.bin"), 512);
        TextEvaluation eval = new TextEvaluation(corpus, StoryRange.of(501, 506), tokenizer);
        var calibration = CalibrationWindows.sample(corpus.tokens(DataSplit.TINYSTORIES_1K.calibration(), tokenizer),
                16, 128, 0);
        GptqSettings gptq = GptqSettings.of(4, 32).withSymmetric(true);
        try (ResultsStore store = ResultsStore.inMemory()) {
            Capture capture = new Capture();
            var outcome = new LanguageModelCompression(store::recordRun, capture).run(model, eval, calibration,
                    layer -> gptq, "gptq 4-bit g32 sym", "{\"schema\":1,\"defaults\":{\"method\":\"gptq\",\"bits\":4}}", 0);
            StoredRun run = store.run(outcome.runId()).orElseThrow();
            Map<String, MethodSettings> settings = new LinkedHashMap<>();
            capture.tensors.keySet().forEach(l -> settings.put(l, gptq));
            CompressedModel cm = new CompressedModel(model, capture.tensors, settings, "run " + outcome.runId(),
                    outcome.runId());
            Path file = dir.resolve("stories260K-gptq4.sqz");
            ExportReport report = Sqz.write(SqzContents.of(cm, run, store.metrics(outcome.runId()),
                    store.layerResults(outcome.runId())), file);

            SqzBundle b = Sqz.read(file);
            assertEquals(Map.of("tok512.bin", Files.readAllBytes(bin.resolveSibling("tok512.bin"))).keySet(),
                    b.tokenizerFiles().keySet());
            assertArrayEquals(Files.readAllBytes(bin.resolveSibling("tok512.bin")), b.tokenizerFiles().get("tok512.bin"));
            // The bundle evaluates alone: its own tokenizer, the stored story range, the corpus from the data folder.
            SqzEvaluation e = SqzEvaluation.evaluate(b, corpus);
            assertTrue(e.identical(), e.differences().toString());
            assertEquals(outcome.perplexity(), e.measured().getFirst().value());
            var otherStories = assertThrows(dev.squeeze.engine.SqueezeException.class, () -> SqzEvaluation.evaluate(b,
                    new TextEvaluation(corpus, StoryRange.of(501, 505), SqzEvaluation.tokenizer(b))));
            assertTrue(otherStories.getMessage().contains("is not the text the run"), otherStories.getMessage());
            // A bundle made from the bundle keeps the tokenizer and evaluates the same.
            Path again = dir.resolve("again.sqz");
            Model view = b.model();
            Map<String, CompressedTensor> layers = b.compressed();
            Map<String, MethodSettings> layerSettings = new LinkedHashMap<>();
            layers.keySet().forEach(l -> layerSettings.put(l, b.settings(l)));
            Sqz.write(SqzContents.of(new CompressedModel(view, layers, layerSettings, "again", outcome.runId()),
                    run, b.metrics(), b.layerResults()), again);
            assertTrue(SqzEvaluation.evaluate(Sqz.read(again), corpus).identical());

            long storedBits = capture.tensors.values().stream().mapToLong(CompressedTensor::storedBits).sum();
            long denseRest = model.tensors().values().stream()
                    .filter(t -> !capture.tensors.containsKey(t.name().replace(".weight", "")))
                    .mapToLong(t -> t.storedBytes()).sum();
            System.out.printf("stories260K GPTQ 4-bit g32 sym bundle: %d bytes; base model stored %d bytes;"
                            + " compressed layers %d bits = %d bytes + uncompressed tensors %d bytes = %d; run size %d%n",
                    report.bytes(), model.storedBytes(), storedBits, storedBits / 8, denseRest,
                    storedBits / 8 + denseRest, outcome.sizeBytes());
            long layerBytes = b.layerEntries().values().stream().mapToLong(l -> l.payload().byteSize()).sum();
            long tok = b.tokenizerFiles().values().stream().mapToLong(x -> x.length).sum();
            System.out.printf("bundle sections: packed layers %d bytes (stored bits / 8 = %d), uncompressed tensors %d,"
                    + " tokenizer %d, JSON (model, plan, run, manifest) + alignment + header/footer %d%n",
                    layerBytes, storedBits / 8, denseRest, tok, report.bytes() - layerBytes - denseRest - tok);
            assertTrue(report.bytes() < model.storedBytes());
            // Packing costs only the few bytes of each array's tag, width and count over the counted bits.
            assertTrue(layerBytes - storedBits / 8 < 40L * capture.tensors.size(), layerBytes + " vs " + storedBits / 8);
            assertEquals(LlamaLayers.q(0), b.compressedLayers().getFirst());
        }
    }
}
