package dev.squeeze.engine.eval;

import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * stories260K on the fast forward pass against the reference path ({@link LlamaModel#reference()}): perplexity
 * of the first 40 TinyStories within 1e-6 relative, logits of a whole story within a stated tolerance. Skipped
 * when ../shared is absent (a failure under CI).
 */
class Stories260KFastPathTest {
    @Test
    void fastPerplexityEqualsTheReferenceToOneInAMillion() {
        Model m = new Llama2cFormat().read(SharedData.require("models/stories260K/stories260K.bin"));
        Llama2cTokenizer tok = Llama2cTokenizer.read(SharedData.require("models/stories260K/tok512.bin"), 512);
        List<int[]> stories = StoryCorpus.read(SharedData.require("data/tinystories/valid-1k.txt"))
                .tokens(StoryRange.of(1, 40), tok);
        LlamaModel fast = LlamaModel.from(m);
        LlamaModel ref = fast.reference();
        Perplexity.Result f = Perplexity.evaluate(fast, stories);
        Perplexity.Result r = Perplexity.evaluate(ref, stories);
        assertEquals(12_802, f.tokens());
        assertEquals(r.tokens(), f.tokens());
        double rel = Math.abs(f.perplexity() - r.perplexity()) / r.perplexity();
        System.out.printf("stories260K, stories 1-40: perplexity fast %.8f, reference %.8f, relative %.2e%n",
                f.perplexity(), r.perplexity(), rel);
        assertTrue(rel <= 1e-6, "relative difference " + rel);
        // The golden figure (shared/README.md) holds on both paths.
        assertEquals(3.56, f.perplexity(), 0.01);

        // Logits of the longest of these stories (a window of several query blocks), fast against reference:
        // within 1e-5 · max|logit| (float rounding of fused products and another summation order).
        int[] longest = stories.stream().max((a, b) -> Integer.compare(a.length, b.length)).orElseThrow();
        int[] window = Arrays.copyOf(longest, Math.min(longest.length, fast.config().maxSeqLen()));
        float[] lf = fast.logits(window);
        float[] lr = ref.logits(window);
        double max = 0;
        double diff = 0;
        for (int i = 0; i < lf.length; i++) {
            max = Math.max(max, Math.abs(lr[i]));
            diff = Math.max(diff, Math.abs(lf[i] - lr[i]));
        }
        assertTrue(window.length > 128, "a story of " + window.length + " tokens");
        assertTrue(diff <= 1e-5 * max, "max |fast − reference| = " + diff + " with logits up to " + max);
    }
}
