package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.TinyLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backward pass against central finite differences of the loss computed by {@link TinyLlama#referenceLogits}
 * (an independent double-precision transcription of the forward equations), on a tiny random model with
 * grouped-query attention (4 query heads on 2 key/value heads), for both RoPE styles, tied and untied heads, with
 * and without q/k/v biases; and the fast path against the reference path.
 */
class LlamaGradientsTest {
    private static final int[] WINDOW = {1, 7, 30, 2, 19, 5, 5, 11, 23, 8, 0, 14};

    static Stream<Arguments> configs() {
        return Stream.of(
                Arguments.of(TinyLlama.config(RopeStyle.INTERLEAVED, false, false)),
                Arguments.of(TinyLlama.config(RopeStyle.ROTATE_HALF, true, true)),
                Arguments.of(TinyLlama.config(RopeStyle.ROTATE_HALF, false, false)),
                Arguments.of(TinyLlama.config(RopeStyle.INTERLEAVED, true, true)));
    }

    /** Mean next-token cross-entropy of the window, in double, from the independent reference forward pass. */
    private static double loss(LlamaConfig c, Map<String, float[]> w, int[] window) {
        int[] in = java.util.Arrays.copyOf(window, window.length - 1);
        double[][] logits = TinyLlama.referenceLogits(c, w, in);
        double sum = 0;
        for (int t = 0; t < in.length; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (double v : logits[t]) {
                max = Math.max(max, v);
            }
            double z = 0;
            for (double v : logits[t]) {
                z += Math.exp(v - max);
            }
            sum += max + Math.log(z) - logits[t][window[t + 1]];
        }
        return sum / in.length;
    }

    @ParameterizedTest
    @MethodSource("configs")
    void referenceGradientsMatchCentralFiniteDifferences(LlamaConfig c) {
        Map<String, float[]> w = TinyLlama.randomWeights(c, 42);
        LlamaGradients.Result r = LlamaGradients.of(TinyLlama.model(c, w)).reference().compute(WINDOW);
        // The angles differ in the last bits: the model (and the gradients) take theta^(-2j/hd) in float, as run.c.
        assertEquals(loss(c, w, WINDOW), r.loss(), 1e-6, "loss");
        assertEquals(WINDOW.length - 1, r.predictions());
        assertEquals(LlamaLayers.linearNames(c.nLayers()), List.copyOf(r.gradients().keySet()));
        Random rnd = new Random(7);
        double h = 1e-3;
        for (String layer : r.gradients().keySet()) {
            // With a tied head the head's gradient is that of its use of the table; perturbing the shared table
            // also moves the embedding lookup, so it is checked on the untied configurations only.
            if (layer.equals(LlamaLayers.HEAD) && c.tiedEmbeddings()) {
                continue;
            }
            float[] m = w.get(layer + ".weight");
            float[] g = r.gradients().get(layer);
            assertEquals(m.length, g.length, layer);
            double scale = 0;
            for (float v : g) {
                scale = Math.max(scale, Math.abs(v));
            }
            assertTrue(scale > 1e-6, layer + " has an all-zero gradient");
            for (int probe = 0; probe < 8; probe++) {
                int i = rnd.nextInt(m.length);
                float orig = m[i];
                float plus = (float) (orig + h);
                float minus = (float) (orig - h);
                m[i] = plus;
                double lp = loss(c, w, WINDOW);
                m[i] = minus;
                double lm = loss(c, w, WINDOW);
                m[i] = orig;
                double fd = (lp - lm) / ((double) plus - minus);
                assertEquals(fd, g[i], 1e-4 * scale + 1e-7,
                        c.ropeStyle() + " " + layer + "[" + i + "]: finite difference " + fd + ", backward " + g[i]);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("configs")
    void fastPathAgreesWithTheReference(LlamaConfig c) {
        Map<String, float[]> w = TinyLlama.randomWeights(c, 3);
        LlamaGradients fast = LlamaGradients.of(TinyLlama.model(c, w));
        int[] window = new Random(5).ints(c.maxSeqLen() + 1, 0, c.vocabSize()).toArray();
        LlamaGradients.Result f = fast.compute(window);
        LlamaGradients.Result r = fast.reference().compute(window);
        assertEquals(r.loss(), f.loss(), 1e-5);
        for (String layer : r.gradients().keySet()) {
            float[] a = r.gradients().get(layer);
            float[] b = f.gradients().get(layer);
            double scale = 0;
            for (float v : a) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-4 * scale, layer + "[" + i + "]");
            }
        }
    }

    @Test
    void lossIsTheForwardPassCrossEntropy() {
        // The production forward (LlamaModel, float) gives the same mean cross-entropy as the gradient pass.
        LlamaConfig c = TinyLlama.config(RopeStyle.INTERLEAVED, false, false);
        Model model = TinyLlama.model(c, TinyLlama.randomWeights(c, 9));
        int[] in = java.util.Arrays.copyOf(WINDOW, WINDOW.length - 1);
        float[] logits = LlamaModel.from(model).logits(in);
        double sum = 0;
        for (int t = 0; t < in.length; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c.vocabSize(); j++) {
                max = Math.max(max, logits[t * c.vocabSize() + j]);
            }
            double z = 0;
            for (int j = 0; j < c.vocabSize(); j++) {
                z += Math.exp(logits[t * c.vocabSize() + j] - max);
            }
            sum += max + Math.log(z) - logits[t * c.vocabSize() + WINDOW[t + 1]];
        }
        assertEquals(sum / in.length, LlamaGradients.of(model).compute(WINDOW).loss(), 1e-5);
    }

    @Test
    void badWindowsAreClearErrors() {
        LlamaConfig c = TinyLlama.config(RopeStyle.INTERLEAVED, false, false);
        LlamaGradients g = LlamaGradients.of(TinyLlama.model(c, TinyLlama.randomWeights(c, 1)));
        assertThrows(IllegalArgumentException.class, () -> g.compute(new int[]{3}));
        SqueezeException e = assertThrows(SqueezeException.class, () -> g.compute(new int[]{3, 99}));
        assertTrue(e.getMessage().contains("99"), e.getMessage());
        assertThrows(SqueezeException.class, () -> g.compute(new int[c.maxSeqLen() + 2]));
    }
}
