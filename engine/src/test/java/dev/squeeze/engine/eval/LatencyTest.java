package dev.squeeze.engine.eval;

import dev.squeeze.engine.nn.ImageClassifier;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.TinyLlama;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LatencyTest {

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(2.0, Latency.median(new double[]{3, 1, 2, 99}, 3));
        assertEquals(2.5, Latency.median(new double[]{4, 1, 2, 3}, 4));
        assertTrue(Double.isNaN(Latency.median(new double[0], 0)));
    }

    /** A classifier that takes at least 3 ms per call: the median cannot be below that, and warm-up calls are not timed. */
    @Test
    void classifierLatencyIsTheMedianOfTimedBatchesAfterWarmUp() {
        AtomicInteger calls = new AtomicInteger();
        int[] batches = new int[1];
        ImageClassifier slow = new ImageClassifier() {
            public int inputSize() {
                return 4;
            }

            public List<String> classNames() {
                return List.of("a", "b");
            }

            public float[] logits(float[] raw, int batch) {
                calls.incrementAndGet();
                batches[0] = batch;
                long until = System.nanoTime() + 3_000_000;
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
                return new float[batch * 2];
            }
        };
        double ms = Latency.perBatch(slow, new float[100 * 4], 100);
        assertTrue(ms >= 3.0, "median " + ms);
        assertEquals(Latency.CLASSIFIER_BATCH, batches[0]);
        int timed = calls.get() - Latency.WARMUP;
        assertTrue(timed >= Latency.MIN_SAMPLES && timed <= Latency.MAX_SAMPLES, timed + " timed calls");
    }

    @Test
    void languageModelLatencyIsPositiveAndNeedsMoreThanTheWarmUp() {
        LlamaConfig c = TinyLlama.config(RopeStyle.INTERLEAVED, false, true);
        LlamaModel net = LlamaModel.from(TinyLlama.model(c, TinyLlama.randomWeights(c, 7)));
        int[] tokens = {1, 5, 9, 3, 7, 2, 8, 4};
        double ms = Latency.perToken(net, tokens);
        assertTrue(ms > 0 && Double.isFinite(ms), "ms per token " + ms);
        assertTrue(Double.isNaN(Latency.perToken(net, new int[]{1, 5})), "two tokens are only warm-up");
    }
}
