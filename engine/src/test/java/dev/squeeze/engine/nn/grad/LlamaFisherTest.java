package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.lowrank.LowRankFactors;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.runs.LanguageModelCompression;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.testing.TinyLlama;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LlamaFisherTest {
    private static final LlamaConfig CONFIG = TinyLlama.config(RopeStyle.ROTATE_HALF, false, false);
    private static final Map<String, float[]> WEIGHTS = TinyLlama.randomWeights(CONFIG, 21);
    private static final Model MODEL = TinyLlama.model(CONFIG, WEIGHTS);

    private static List<int[]> windows(int count, int length, long seed) {
        Random rnd = new Random(seed);
        return java.util.stream.IntStream.range(0, count)
                .mapToObj(i -> rnd.ints(length, 0, CONFIG.vocabSize()).toArray()).toList();
    }

    @Test
    void fisherIsTheSumOverWindowsOfSquaredGradients() {
        List<int[]> windows = windows(5, 14, 1);
        FisherDiagonals f = LlamaFisher.compute(MODEL, windows);
        assertEquals(5, f.samples());
        assertEquals(LlamaLayers.linearNames(CONFIG.nLayers()), List.copyOf(f.sums().keySet()));
        // Expected: each window's gradient on the reference path, squared and summed here.
        LlamaGradients ref = LlamaGradients.of(MODEL).reference();
        double loss = 0;
        Map<String, double[]> expected = new java.util.LinkedHashMap<>();
        for (int[] w : windows) {
            LlamaGradients.Result r = ref.compute(w);
            loss += r.loss();
            r.gradients().forEach((name, g) -> {
                double[] e = expected.computeIfAbsent(name, k -> new double[g.length]);
                for (int i = 0; i < g.length; i++) {
                    e[i] += (double) g[i] * g[i];
                }
            });
        }
        assertEquals(loss / 5, f.meanLoss(), 1e-5);
        expected.forEach((name, e) -> {
            float[] got = f.of(name);
            double max = java.util.Arrays.stream(e).max().orElseThrow();
            assertTrue(max > 0, name);
            for (int i = 0; i < e.length; i++) {
                assertEquals(e[i], got[i], 2e-4 * max, name + "[" + i + "]");
                assertEquals(got[i] / 5, f.mean(name)[i], 1e-6 * max);
            }
        });
    }

    @Test
    void noWindowsIsAClearError() {
        SqueezeException e = assertThrows(SqueezeException.class, () -> LlamaFisher.compute(MODEL, List.of()));
        assertTrue(e.getMessage().contains("calibration"), e.getMessage());
    }

    @Test
    void proxyIsHalfTheFisherWeightedSquaredChangePerSample() {
        // ½ (2·1² + 0·0² + 4·2² + 1·0²) / 2 = ½ · 18 / 2
        float[] fisher = {2, 0, 4, 1};
        assertEquals(4.5, FisherProxy.lossIncrease("l", fisher, 2, new float[]{1, 1, 1, 1},
                new float[]{0, 1, 3, 1}), 1e-12);
        FisherDiagonals d = new FisherDiagonals(Map.of("l", fisher), 2, 0);
        assertEquals(4.5, FisherProxy.lossIncrease(d, "l", new float[]{1, 1, 1, 1}, new float[]{0, 1, 3, 1}), 1e-12);
        assertThrows(SqueezeException.class, () -> FisherProxy.lossIncrease(d, "other", new float[4], new float[4]));
    }

    @Test
    void compressionComputesTheFisherOfTheDenseModelForFwsvdLayers() {
        LlamaConfig c = TinyLlama.config(RopeStyle.INTERLEAVED, false, true);
        Model model = TinyLlama.model(c, TinyLlama.randomWeights(c, 11));
        List<int[]> calibration = windows(6, 12, 4);
        LowRankSettings fw = LowRankSettings.of(LowRankVariant.FISHER, 4);
        String q0 = LlamaLayers.q(0);
        LanguageModelCompression pipeline = new LanguageModelCompression(run -> 1, RunHooks.NONE);
        var out = pipeline.compress(model, calibration, layer -> layer.equals(q0) || layer.equals(LlamaLayers.down(1))
                ? fw : null, false, "fwsvd");
        // The stored q_proj is the FWSVD of the dense weights with the dense model's Fisher (rounded to fp16).
        FisherDiagonals f = LlamaFisher.compute(model, calibration);
        float[] w = model.tensor(q0 + ".weight").floats();
        double[] exact = LowRankFactors.compute(q0, w, 16, 16, null, f.of(q0), LowRankVariant.FISHER, 4, 0.01)
                .product();
        float[] stored = out.byTensor().get(q0 + ".weight").dequantize();
        for (int i = 0; i < exact.length; i++) {
            assertEquals(exact[i], stored[i], 1e-2 * Math.abs(exact[i]) + 1e-3, "q0[" + i + "]");
        }
        // Without calibration data the method says what it needs.
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> pipeline.compress(model, List.of(), layer -> layer.equals(q0) ? fw : null, false, "fwsvd"));
        assertTrue(e.getMessage().contains("Fisher"), e.getMessage());
    }
}
