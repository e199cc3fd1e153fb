package dev.squeeze.engine.nn.llama;

import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.Parallelism;
import dev.squeeze.engine.testing.TinyLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fast forward pass (packed products, window attention as matrix products or SIMD rows, threads) against the
 * readable reference path ({@link LlamaModel#reference()}) and the double-precision reference of
 * {@link TinyLlama}; the block-level API against {@link LlamaModel#forward}; perplexity for several thread counts.
 */
class LlamaFastPathTest {
    /** TinyLlama's shape but heads of 32 (the matrix-product attention) and a window over two query blocks. */
    private static LlamaConfig wide(RopeStyle style, boolean bias, boolean tied) {
        return new LlamaConfig(128, 96, 2, 4, 2, 64, 160, 1e-5, 10000, style, bias, tied);
    }

    private static int[] tokens(int n, int vocab, long seed) {
        Random r = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = r.nextInt(vocab);
        }
        return t;
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    /**
     * Fast logits within 2e-5 · max|logit| of the reference path (both float32: the difference is rounding of
     * fused against unfused products and of another summation order), and both within 1e-4 of float64 maths.
     */
    @ParameterizedTest
    @CsvSource({"INTERLEAVED,false,true,false,12", "ROTATE_HALF,true,false,false,20", "INTERLEAVED,true,false,true,150",
            "ROTATE_HALF,false,true,true,150", "ROTATE_HALF,true,true,true,7"})
    void fastPathMatchesTheReferencePath(RopeStyle style, boolean bias, boolean tied, boolean wideHeads, int n) {
        LlamaConfig c = wideHeads ? wide(style, bias, tied) : TinyLlama.config(style, bias, tied);
        Map<String, float[]> w = TinyLlama.randomWeights(c, 11);
        LlamaModel fast = LlamaModel.from(TinyLlama.model(c, w));
        LlamaModel ref = fast.reference();
        assertTrue(ref.isReference());
        assertFalse(fast.isReference());
        int[] toks = tokens(Math.min(n, c.maxSeqLen()), c.vocabSize(), n);
        float[] f = fast.logits(toks);
        float[] r = ref.logits(toks);
        double scale = Math.max(1, maxAbs(r));
        assertTrue(maxAbsDiff(f, r) <= 2e-5 * scale, "fast vs reference: " + maxAbsDiff(f, r) + ", logits up to "
                + scale);
        double[][] exact = TinyLlama.referenceLogits(c, w, toks);
        double err = 0;
        for (int t = 0; t < toks.length; t++) {
            for (int v = 0; v < c.vocabSize(); v++) {
                err = Math.max(err, Math.abs(f[t * c.vocabSize() + v] - exact[t][v]));
            }
        }
        assertTrue(err <= 1e-4 * scale, "fast vs float64: " + err);
        // Generation (one token at a time on the KV cache) agrees with the teacher-forced window.
        LlamaModel.State s = fast.newState();
        for (int t = 0; t < toks.length; t++) {
            float[] one = fast.forward(toks[t], t, s);
            float[] row = Arrays.copyOfRange(f, t * c.vocabSize(), (t + 1) * c.vocabSize());
            assertTrue(maxAbsDiff(one, row) <= 2e-5 * scale, "position " + t + ": " + maxAbsDiff(one, row));
        }
    }

    /** Weights read in place (F32, F16, BF16): the window path gives the heap path's bits; generation agrees. */
    @ParameterizedTest
    @CsvSource({"F32", "F16", "BF16"})
    void weightsReadInPlaceMatchHeapCopiesAndTheReference(DType type) {
        LlamaConfig c = wide(RopeStyle.ROTATE_HALF, true, false);
        Map<String, float[]> w = TinyLlama.randomWeights(c, 3);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        w.forEach((name, v) -> tensors.put(name, new Tensor(name, type, TinyLlama.shape(c, name),
                ByteBuffer.wrap(type.encode(v)))));
        Model m = new Model("t", "memory:t", "memory", LlamaConfig.ARCHITECTURE, "0", tensors, c.toMetadata());
        int[] toks = tokens(100, c.vocabSize(), 5);
        LlamaModel heap = LlamaModel.from(m, c, true);
        LlamaModel inPlace = LlamaModel.from(m, c, false);
        float[] a = heap.logits(toks);
        assertArrayEquals(a, inPlace.logits(toks), 0f);
        float[] r = inPlace.reference().logits(toks);
        assertTrue(maxAbsDiff(a, r) <= 2e-5 * Math.max(1, maxAbs(r)), "in place vs its reference: "
                + maxAbsDiff(a, r));
        LlamaModel.State s = inPlace.newState();
        inPlace.forward(Arrays.copyOf(toks, 99), 0, s);
        float[] last = inPlace.forward(toks[99], 99, s);
        float[] row = Arrays.copyOfRange(a, 99 * c.vocabSize(), 100 * c.vocabSize());
        assertTrue(maxAbsDiff(last, row) <= 2e-5 * Math.max(1, maxAbs(row)), "generated token");
    }

    /** embed → block 0..L−1 → head is forward, bit for bit, with the same listener calls; and continues a cache. */
    @Test
    void blockLevelApiComposesToForward() {
        LlamaConfig c = wide(RopeStyle.INTERLEAVED, true, false);
        Map<String, float[]> w = TinyLlama.randomWeights(c, 8);
        List<String> seen = new ArrayList<>();
        List<String> seenBlocks = new ArrayList<>();
        LlamaModel model = LlamaModel.from(TinyLlama.model(c, w));
        int[] toks = tokens(90, c.vocabSize(), 9);
        float[] expected = model.withListener((layer, x, rows, cols) -> seen.add(layer + ":" + rows + "×" + cols))
                .forward(toks, 0, model.newState());
        LlamaModel listening = model.withListener((layer, x, rows, cols) -> seenBlocks.add(layer + ":" + rows + "×"
                + cols));
        LlamaModel.State s = listening.newState();
        float[] x = listening.embed(toks);
        for (int l = 0; l < c.nLayers(); l++) {
            listening.block(l, x, toks.length, 0, s);
        }
        assertArrayEquals(expected, listening.head(x, toks.length), 0f);
        assertEquals(seen, seenBlocks);
        assertEquals(toks.length, s.length());

        // Two windows on one cache (positions 0..59, then 60..89) equal one window of 90, up to rounding.
        LlamaModel.State s2 = model.newState();
        float[] x1 = model.embed(Arrays.copyOf(toks, 60));
        float[] x2 = model.embed(Arrays.copyOfRange(toks, 60, 90));
        for (int l = 0; l < c.nLayers(); l++) {
            model.block(l, x1, 60, 0, s2);
        }
        for (int l = 0; l < c.nLayers(); l++) {
            model.block(l, x2, 30, 60, s2);
        }
        float[] tail = model.head(x2, 30);
        float[] want = Arrays.copyOfRange(expected, 60 * c.vocabSize(), 90 * c.vocabSize());
        assertTrue(maxAbsDiff(want, tail) <= 2e-5 * Math.max(1, maxAbs(want)));
        float[] partial = new float[2 * c.vocabSize()];
        model.head(x2, 28, 2, partial);
        assertArrayEquals(Arrays.copyOfRange(tail, 28 * c.vocabSize(), 30 * c.vocabSize()), partial, 0f);

        LlamaModel.State fresh = model.newState();
        float[] y = model.embed(toks);
        assertThrows(IllegalArgumentException.class, () -> model.block(c.nLayers(), y, 10, 0, fresh));
        assertThrows(IllegalArgumentException.class, () -> model.block(0, y, 10, 5, fresh),
                "positions 0..4 of layer 0 are not cached");
        assertThrows(IllegalArgumentException.class, () -> model.block(0, new float[c.dim() * 3], 4, 0, fresh));
        assertThrows(dev.squeeze.engine.SqueezeException.class, () -> model.embed(new int[]{c.vocabSize()}));
        assertThrows(IllegalArgumentException.class, () -> model.head(y, 89, 2, partial));
    }

    /**
     * Perplexity is the same double for 1, 2 and 3 threads: a small model (sequences on threads) and a model
     * wide enough that its windows' products and attention run on the threads instead.
     */
    @Test
    void perplexityDoesNotDependOnTheThreadCount() {
        LlamaConfig small = wide(RopeStyle.INTERLEAVED, false, true);
        LlamaConfig large = new LlamaConfig(1024, 1024, 1, 16, 4, 256, 160, 1e-5, 10000, RopeStyle.ROTATE_HALF,
                false, false);
        for (LlamaConfig c : List.of(small, large)) {
            LlamaModel model = LlamaModel.from(TinyLlama.model(c, TinyLlama.randomWeights(c, 4)));
            assertEquals(c == small, model.prefersSequenceParallelism());
            List<int[]> seqs = new ArrayList<>();
            for (int i = 0; i < (c == small ? 7 : 3); i++) {
                int[] t = tokens(20 + 23 * i, c.vocabSize(), 100 + i);
                t[0] = 1;
                seqs.add(t);
            }
            String old = System.getProperty(Parallelism.PROPERTY);
            try {
                long[] bits = new long[3];
                for (int threads = 1; threads <= 3; threads++) {
                    System.setProperty(Parallelism.PROPERTY, Integer.toString(threads));
                    Perplexity.Result r = Perplexity.evaluate(model, seqs);
                    bits[threads - 1] = Double.doubleToRawLongBits(r.nll());
                    assertEquals(Perplexity.predictions(seqs, c.maxSeqLen(), Perplexity.Overflow.TRUNCATE),
                            r.tokens());
                }
                assertEquals(bits[0], bits[1], "1 vs 2 threads, dim " + c.dim());
                assertEquals(bits[0], bits[2], "1 vs 3 threads, dim " + c.dim());
            } finally {
                if (old == null) {
                    System.clearProperty(Parallelism.PROPERTY);
                } else {
                    System.setProperty(Parallelism.PROPERTY, old);
                }
            }
        }
    }

    @Test
    void aBadThreadCountIsAClearError() {
        String old = System.getProperty(Parallelism.PROPERTY);
        try {
            System.setProperty(Parallelism.PROPERTY, "zero");
            var e = assertThrows(dev.squeeze.engine.SqueezeException.class, Parallelism::threads);
            assertTrue(e.getMessage().contains("squeeze.threads"), e.getMessage());
            System.setProperty(Parallelism.PROPERTY, "0");
            assertThrows(dev.squeeze.engine.SqueezeException.class, Parallelism::threads);
            System.setProperty(Parallelism.PROPERTY, "2");
            assertEquals(2, Parallelism.threads());
        } finally {
            if (old == null) {
                System.clearProperty(Parallelism.PROPERTY);
            } else {
                System.setProperty(Parallelism.PROPERTY, old);
            }
        }
    }
}
