package dev.squeeze.engine.runs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.data.text.CalibrationWindows;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.data.text.Tokenizer;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.eval.Latency;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.testing.TinyLlama;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LanguageModelCompressionTest {
    /** Characters to ids 2..31 (1 = BOS), enough for a 32-token test model. */
    static final Tokenizer CHARS = new Tokenizer() {
        public int vocabSize() {
            return 32;
        }

        public int bosId() {
            return 1;
        }

        public int eosId() {
            return 0;
        }

        public int[] encode(String text, boolean bos, boolean eos) {
            int[] out = new int[text.length() + (bos ? 1 : 0)];
            int i = 0;
            if (bos) {
                out[i++] = 1;
            }
            for (char c : text.toCharArray()) {
                out[i++] = 2 + c % 30;
            }
            return out;
        }

        public String decode(int prev, int token) {
            return token < 2 ? "" : String.valueOf((char) ('a' + token - 2));
        }

        public String decode(int[] tokens) {
            StringBuilder sb = new StringBuilder();
            for (int t : tokens) {
                sb.append(decode(-1, t));
            }
            return sb.toString();
        }
    };

    static final LlamaConfig CONFIG = TinyLlama.config(RopeStyle.INTERLEAVED, false, true);
    static final Model MODEL = TinyLlama.model(CONFIG, TinyLlama.randomWeights(CONFIG, 11));
    static final StoryCorpus CORPUS = StoryCorpus.of("test", String.join("\n<|endoftext|>\n",
            "once upon a time there was a cat", "the dog ran to the park and back", "a bird sang in the tree",
            "tim and sue went to the sea", "the sun was warm and the sky was blue", "a cat sat on a mat all day"));
    static final TextEvaluation EVAL = new TextEvaluation(CORPUS, StoryRange.of(5, 6), CHARS);
    static final List<int[]> CALIBRATION = CalibrationWindows.sample(CORPUS.tokens(StoryRange.of(1, 4), CHARS), 8, 12, 0);

    @Test
    void gptqPipelineStoresARunWithEveryLinearInBothCalibrationOrders() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            LanguageModelCompression pipeline = new LanguageModelCompression(store);
            MethodSettings gptq = GptqSettings.of(4, 8);
            var oneShot = pipeline.run(MODEL, EVAL, CALIBRATION, layer -> gptq, false, "gptq", "{}", 0);
            var sequential = pipeline.run(MODEL, EVAL, CALIBRATION, layer -> gptq, true, "gptq-ts", "{}", 0);
            assertEquals(2 * 7, store.layerResults(oneShot.runId()).size());
            assertTrue(Double.isFinite(oneShot.perplexity()) && oneShot.perplexity() > 1);
            // True-sequential calibrates o, gate/up and down on inputs that already went through compressed layers.
            assertNotEquals(oneShot.perplexity(), sequential.perplexity());
            assertTrue(oneShot.sizeBytes() < MODEL.storedBytes());
            assertEquals(2, store.runs(MODEL.contentHash()).size());
            double latency = store.metrics(oneShot.runId()).stream().filter(m -> m.name().equals(Latency.METRIC))
                    .mapToDouble(RunRecord.Metric::value).findFirst().orElseThrow();
            assertTrue(latency > 0 && latency < 60_000, "ms per decoded token: " + latency);
        }
    }

    @Test
    void calibrationAndEvaluationReportTheirProgressInWindowsAndTokens() {
        List<String> seen = new java.util.ArrayList<>();
        RunHooks hooks = new RunHooks() {
            @Override
            public void progress(Phase phase, long done, long total, String unit) {
                seen.add(phase.word() + " " + done + "/" + total + " " + unit);
            }
        };
        MethodSettings gptq = GptqSettings.of(4, 8);
        new LanguageModelCompression(run -> 1, hooks).run(MODEL, EVAL, CALIBRATION, layer -> gptq, false, "gptq",
                "{}", 0);
        // Two blocks, each calibrated on the 8 windows once (all seven linears at a time): 0..8 of 8; between them
        // the compressed block 0 runs once more on the 8 windows to give block 1 its inputs (0..8 of 8 again). The
        // last block's outputs feed nothing.
        List<String> expected = new java.util.ArrayList<>();
        for (int pass = 0; pass < 2 * CONFIG.nLayers() - 1; pass++) {
            for (int w = 0; w <= CALIBRATION.size(); w++) {
                expected.add("calibration " + w + "/" + CALIBRATION.size() + " windows");
            }
        }
        // Evaluation in tokens: before each story, then all of them.
        List<int[]> stories = CORPUS.tokens(StoryRange.of(5, 6), CHARS);
        long total = stories.get(0).length + stories.get(1).length;
        expected.add("evaluation 0/" + total + " tokens");
        expected.add("evaluation " + stories.get(0).length + "/" + total + " tokens");
        expected.add("evaluation " + total + "/" + total + " tokens");
        assertEquals(2, CONFIG.nLayers());
        assertEquals(expected, seen);
    }

    @Test
    void invalidSettingsAreReportedBeforeAnyWork() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            LanguageModelCompression pipeline = new LanguageModelCompression(store);
            String last = "model.layers.1.mlp.down_proj";
            SqueezeException bits = assertThrows(SqueezeException.class, () -> pipeline.run(MODEL, EVAL, CALIBRATION,
                    layer -> new RtnSettings(layer.equals(last) ? 9 : 4, 0, false), "bad", "{}", 0));
            assertTrue(bits.getMessage().contains(last) && bits.getMessage().contains("'bits'"), bits.getMessage());
            MethodSettings unknown = new MethodSettings() {
                public String method() {
                    return "quantum-magic";
                }

                public void validate(String layer, int rows, int cols) {
                }

                public String describe() {
                    return "?";
                }
            };
            SqueezeException method = assertThrows(SqueezeException.class, () -> pipeline.run(MODEL, EVAL,
                    CALIBRATION, layer -> layer.equals(last) ? unknown : new RtnSettings(4, 0, false), "bad", "{}", 0));
            assertTrue(method.getMessage().contains(last) && method.getMessage().contains("'method'")
                    && method.getMessage().contains("gptq"), method.getMessage());
            assertEquals(List.of(), store.runs(null), "nothing stored");
        }
    }
}
