package dev.squeeze.engine.eval;

import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The evaluation-split figures for stories260K: perplexity of fp32 and of the third-party q8 file on stories
 * 501–1000 of valid-1k.txt, and KL(fp32 ‖ q8). Too slow for every build (several minutes on one busy core), so
 * it runs only on request:
 * <pre>
 * ./mvnw -B -o test -pl engine -Dtest=Stories260KEvaluationReport -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dsqueeze.report=true
 * </pre>
 * It prints both counting policies of {@link Perplexity}: TRUNCATE (the default, as the golden 40-story figure
 * is made: each story's first 512 tokens) and SPLIT (whole stories in 512-token spans).
 */
@EnabledIfSystemProperty(named = "squeeze.report", matches = "true")
class Stories260KEvaluationReport {
    @Test
    void evaluationSplitPerplexity() {
        Llama2cFormat format = new Llama2cFormat();
        LlamaModel fp32 = LlamaModel.from(format.read(SharedData.require("models/stories260K/stories260K.bin")));
        LlamaModel q8 = LlamaModel.from(format.read(SharedData.require("models/stories260K/stories260K_q8.bin")));
        Llama2cTokenizer tok = Llama2cTokenizer.read(SharedData.require("models/stories260K/tok512.bin"), 512);
        StoryCorpus corpus = StoryCorpus.read(SharedData.require("data/tinystories/valid-1k.txt"));
        List<int[]> stories = corpus.tokens(DataSplit.TINYSTORIES_1K.evaluation(), tok);
        assertEquals(500, stories.size());
        for (Perplexity.Overflow overflow : Perplexity.Overflow.values()) {
            long t0 = System.nanoTime();
            KlDivergence.Result r = KlDivergence.evaluate(fp32, q8, stories, 512, overflow);
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("stories260K, %s, %s, %d predicted tokens: perplexity fp32 %.4f, q8 %.4f; "
                            + "KL(fp32 || q8) mean %.6f max %.6f nats; %.1f s for both models%n",
                    DataSplit.TINYSTORIES_1K.evaluation(), overflow, r.positions(), r.dense().perplexity(),
                    r.compared().perplexity(), r.meanKl(), r.maxKl(), seconds);
            assertEquals(Perplexity.predictions(stories, 512, overflow), r.positions());
            assertTrue(r.dense().perplexity() > 1 && r.dense().perplexity() < 10);
        }
    }
}
