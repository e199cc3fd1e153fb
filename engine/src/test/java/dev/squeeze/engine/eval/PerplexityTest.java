package dev.squeeze.engine.eval;

import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.DenseLinear;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.TinyLlama;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PerplexityTest {
    private final LlamaConfig config = TinyLlama.config(RopeStyle.INTERLEAVED, false, true);
    private final Map<String, float[]> weights = TinyLlama.randomWeights(config, 21);
    private final LlamaModel model = LlamaModel.from(TinyLlama.model(config, weights));

    private static int[] sequence(int n, long seed) {
        Random r = new Random(seed);
        int[] s = new int[n];
        s[0] = 1;
        for (int i = 1; i < n; i++) {
            s[i] = r.nextInt(32);
        }
        return s;
    }

    /** −log softmax(reference logits)[next], summed over a span, from the double-precision reference. */
    private double referenceNll(int[] span) {
        double[][] logits = TinyLlama.referenceLogits(config, weights, span);
        double nll = 0;
        for (int t = 0; t + 1 < span.length; t++) {
            double max = Arrays.stream(logits[t]).max().orElseThrow();
            double sum = Arrays.stream(logits[t]).map(v -> Math.exp(v - max)).sum();
            nll += max + Math.log(sum) - logits[t][span[t + 1]];
        }
        return nll;
    }

    @Test
    void countsAndValuesFollowTheDocumentedSpans() {
        int[] a = sequence(10, 1);
        int[] b = sequence(30, 2); // longer than the model's 24-token context
        int[] single = {1}; // predicts nothing
        List<int[]> seqs = List.of(a, b, single);

        Perplexity.Result truncated = Perplexity.evaluate(model, seqs);
        assertEquals(9 + 23, truncated.tokens());
        assertEquals(truncated.tokens(), Perplexity.predictions(seqs, 24, Perplexity.Overflow.TRUNCATE));
        double expected = referenceNll(a) + referenceNll(Arrays.copyOf(b, 24));
        assertEquals(expected, truncated.nll(), 1e-3);
        assertEquals(Math.exp(expected / 32), truncated.perplexity(), 1e-4);

        Perplexity.Result split = Perplexity.evaluate(model, seqs, 8, Perplexity.Overflow.SPLIT);
        assertEquals(9 + 29, split.tokens());
        double spans = 0;
        for (int[] s : List.of(a, b)) {
            for (int start = 0; start + 1 < s.length; start += 7) {
                spans += referenceNll(Arrays.copyOfRange(s, start, Math.min(start + 8, s.length)));
            }
        }
        assertEquals(spans, split.nll(), 1e-3);
        // A window covering every sequence makes both policies the same.
        Perplexity.Result whole = Perplexity.evaluate(model, List.of(a), 24, Perplexity.Overflow.SPLIT);
        assertEquals(Perplexity.evaluate(model, List.of(a)).nll(), whole.nll(), 1e-9);
    }

    @Test
    void klIsZeroAgainstItselfAndMatchesADirectComputation() {
        List<int[]> seqs = List.of(sequence(12, 3), sequence(20, 4));
        KlDivergence.Result self = KlDivergence.evaluate(model, model, seqs);
        assertEquals(0, self.meanKl(), 1e-12);
        assertEquals(11 + 19, self.positions());
        assertEquals(self.dense().nll(), self.compared().nll(), 0);
        assertEquals(Perplexity.evaluate(model, seqs).nll(), self.dense().nll(), 1e-9);

        String down = LlamaLayers.down(1);
        float[] w = weights.get(down + ".weight").clone();
        for (int i = 0; i < w.length; i++) {
            w[i] *= 0.5f;
        }
        LinearOp halved = new DenseLinear(config.dim(), config.hiddenDim(), w, null);
        LlamaModel changed = model.withLinears(Map.of(down, halved));
        KlDivergence.Result kl = KlDivergence.evaluate(model, changed, seqs);
        assertTrue(kl.meanKl() > 1e-4, "a changed layer moves the distribution: " + kl.meanKl());
        // Direct: Σ_positions Σ_v p (log p − log q) / positions, from full-sequence logits.
        double sum = 0;
        for (int[] s : seqs) {
            float[] p = model.logits(s);
            float[] q = changed.logits(s);
            for (int t = 0; t + 1 < s.length; t++) {
                double[] lp = logSoftmax(p, t * 32);
                double[] lq = logSoftmax(q, t * 32);
                for (int v = 0; v < 32; v++) {
                    sum += Math.exp(lp[v]) * (lp[v] - lq[v]);
                }
            }
        }
        assertEquals(sum / 30, kl.meanKl(), 1e-9);
        assertTrue(kl.maxKl() >= kl.meanKl());
        assertEquals(Perplexity.evaluate(changed, seqs).nll(), kl.compared().nll(), 1e-9);
    }

    private static double[] logSoftmax(float[] x, int off) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < 32; v++) {
            max = Math.max(max, x[off + v]);
        }
        double sum = 0;
        for (int v = 0; v < 32; v++) {
            sum += Math.exp(x[off + v] - max);
        }
        double[] out = new double[32];
        for (int v = 0; v < 32; v++) {
            out[v] = x[off + v] - max - Math.log(sum);
        }
        return out;
    }
}
