package dev.squeeze.engine.nn.llama;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.LayerRole;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.DenseLinear;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.testing.TinyLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LlamaModelTest {
    private static final int[] TOKENS = {1, 5, 17, 3, 30, 9, 9, 21, 0, 12, 31, 7};

    @ParameterizedTest
    @CsvSource({"INTERLEAVED,false,true", "INTERLEAVED,true,false", "ROTATE_HALF,false,false", "ROTATE_HALF,true,true"})
    void matchesTheDoublePrecisionReference(RopeStyle style, boolean bias, boolean tied) {
        LlamaConfig c = TinyLlama.config(style, bias, tied);
        Map<String, float[]> w = TinyLlama.randomWeights(c, 42);
        LlamaModel model = LlamaModel.from(TinyLlama.model(c, w));
        float[] logits = model.logits(TOKENS);
        double[][] ref = TinyLlama.referenceLogits(c, w, TOKENS);
        double maxErr = 0;
        for (int t = 0; t < TOKENS.length; t++) {
            for (int v = 0; v < c.vocabSize(); v++) {
                maxErr = Math.max(maxErr, Math.abs(logits[t * c.vocabSize() + v] - ref[t][v]));
            }
        }
        // float32 arithmetic against double over two small layers: errors of a few 1e-6 relative to logits ~O(1).
        assertTrue(maxErr < 1e-4, "max |logit - reference| = " + maxErr);
    }

    /**
     * The KV-cache path (one token at a time, in chunks) against one teacher-forced window: the reference path
     * runs the same operations either way (equal bits); the fast path runs the window's attention as matrix
     * products and its linears as packed products, so it agrees to float rounding.
     */
    @ParameterizedTest
    @CsvSource({"true,0", "false,2e-5"})
    void tokenByTokenChunkedAndBatchedRunsGiveTheSameLogits(boolean reference, float tolerance) {
        LlamaConfig c = TinyLlama.config(RopeStyle.INTERLEAVED, true, false);
        LlamaModel fast = LlamaModel.from(TinyLlama.model(c, TinyLlama.randomWeights(c, 1)));
        LlamaModel model = reference ? fast.reference() : fast;
        int vocab = c.vocabSize();
        float[] batched = model.logits(TOKENS);
        LlamaModel.State s = model.newState();
        for (int t = 0; t < TOKENS.length; t++) {
            float[] one = model.forward(TOKENS[t], t, s);
            assertArrayEquals(Arrays.copyOfRange(batched, t * vocab, (t + 1) * vocab), one, tolerance,
                    "position " + t);
        }
        assertEquals(TOKENS.length, s.length());
        LlamaModel.State s2 = model.newState();
        float[] first = model.forward(Arrays.copyOf(TOKENS, 5), 0, s2);
        float[] rest = model.forward(Arrays.copyOfRange(TOKENS, 5, TOKENS.length), 5, s2);
        float[] joined = Arrays.copyOf(first, batched.length);
        System.arraycopy(rest, 0, joined, first.length, rest.length);
        assertArrayEquals(batched, joined, tolerance);
        // reset() starts a new sequence on the same buffers.
        s2.reset();
        assertArrayEquals(Arrays.copyOf(batched, vocab), model.forward(TOKENS[0], 0, s2), tolerance);
    }

    @ParameterizedTest
    @CsvSource({"F32", "F16", "BF16"})
    void weightsReadInPlaceGiveTheSameLogitsAsHeapCopies(DType type) {
        LlamaConfig c = TinyLlama.config(RopeStyle.ROTATE_HALF, true, true);
        Map<String, float[]> w = TinyLlama.randomWeights(c, 3);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        w.forEach((name, v) -> tensors.put(name, new Tensor(name, type, TinyLlama.shape(c, name),
                ByteBuffer.wrap(type.encode(v)))));
        Model m = new Model("t", "memory:t", "memory", LlamaConfig.ARCHITECTURE, "0", tensors, c.toMetadata());
        float[] heap = LlamaModel.from(m, c, true).logits(TOKENS);
        float[] inPlace = LlamaModel.from(m, c, false).logits(TOKENS);
        assertArrayEquals(heap, inPlace, 0f);
    }

    @Test
    void rotateHalfWeightsWithRotateHalfRopeComputeTheSameFunction() {
        LlamaConfig c = TinyLlama.config(RopeStyle.INTERLEAVED, true, false);
        Map<String, float[]> w = TinyLlama.randomWeights(c, 9);
        Map<String, float[]> hf = new LinkedHashMap<>(w);
        for (int l = 0; l < c.nLayers(); l++) {
            permute(hf, LlamaLayers.q(l), c.nHeads(), c);
            permute(hf, LlamaLayers.k(l), c.nKvHeads(), c);
        }
        LlamaConfig hfConfig = c.withRopeStyle(RopeStyle.ROTATE_HALF);
        float[] a = LlamaModel.from(TinyLlama.model(c, w)).logits(TOKENS);
        float[] b = LlamaModel.from(TinyLlama.model(hfConfig, hf)).logits(TOKENS);
        assertArrayEquals(a, b, 1e-5f);
        // And reading permuted weights with the wrong style does change the function: the test can fail.
        float[] wrong = LlamaModel.from(TinyLlama.model(c, hf)).logits(TOKENS);
        assertFalse(maxAbsDiff(a, wrong) < 1e-3);
    }

    private static void permute(Map<String, float[]> w, String layer, int heads, LlamaConfig c) {
        w.put(layer + ".weight", RopePermutation.toRotateHalf(w.get(layer + ".weight"), heads, c.headDim(), c.dim()));
        if (w.containsKey(layer + ".bias")) {
            w.put(layer + ".bias", RopePermutation.toRotateHalf(w.get(layer + ".bias"), heads, c.headDim(), 1));
        }
    }

    @Test
    void permutationIsHuggingFacesViewTransposeAndHasAnInverse() {
        int heads = 3;
        int hd = 6;
        int cols = 4;
        float[] w = new float[heads * hd * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = i;
        }
        float[] p = RopePermutation.toRotateHalf(w, heads, hd, cols);
        // HF: w.view(heads, hd/2, 2, cols).transpose(1, 2).reshape(heads*hd, cols), i.e. out[h][c][j] = in[h][j][c].
        for (int h = 0; h < heads; h++) {
            for (int c = 0; c < 2; c++) {
                for (int j = 0; j < hd / 2; j++) {
                    for (int col = 0; col < cols; col++) {
                        int outIndex = ((h * 2 + c) * (hd / 2) + j) * cols + col;
                        int inIndex = ((h * (hd / 2) + j) * 2 + c) * cols + col;
                        assertEquals(w[inIndex], p[outIndex], 0f);
                    }
                }
            }
        }
        assertArrayEquals(w, RopePermutation.toInterleaved(p, heads, hd, cols), 0f);
        assertThrows(IllegalArgumentException.class, () -> RopePermutation.toRotateHalf(w, heads, hd, cols + 1));
    }

    @Test
    void replacedLinearsAreUsedAndCheckedForShape() {
        LlamaConfig c = TinyLlama.config(RopeStyle.INTERLEAVED, false, true);
        Map<String, float[]> w = TinyLlama.randomWeights(c, 5);
        LlamaModel model = LlamaModel.from(TinyLlama.model(c, w));
        assertEquals(LlamaLayers.linearNames(c.nLayers()), List.copyOf(model.linears().keySet()));
        String q0 = LlamaLayers.q(0);
        float[] base = model.logits(TOKENS);
        LinearOp same = new FastDenseLinear(c.dim(), c.dim(), w.get(q0 + ".weight"), null);
        assertArrayEquals(base, model.withLinears(Map.of(q0, same)).logits(TOKENS), 0f);
        LinearOp zero = new DenseLinear(c.dim(), c.dim(), new float[c.dim() * c.dim()], null);
        LlamaModel changed = model.withLinears(Map.of(q0, zero));
        assertTrue(maxAbsDiff(base, changed.logits(TOKENS)) > 1e-3);
        assertEquals(zero, changed.linears().get(q0));
        assertArrayEquals(base, model.logits(TOKENS), 0f, "the original is unchanged");
        assertThrows(IllegalArgumentException.class, () -> model.withLinears(Map.of(LlamaLayers.k(0), zero)));
        assertThrows(IllegalArgumentException.class, () -> model.withLinears(Map.of("model.layers.9.mlp.up_proj", zero)));
    }

    @Test
    void listenerSeesEveryLinearInputOncePerBatch() {
        LlamaConfig c = TinyLlama.config(RopeStyle.INTERLEAVED, false, false);
        Map<String, float[]> w = TinyLlama.randomWeights(c, 8);
        Map<String, List<float[]>> seen = new HashMap<>();
        LlamaModel model = LlamaModel.from(TinyLlama.model(c, w)).withListener((layer, x, rows, cols) -> {
            assertEquals(5, rows);
            seen.computeIfAbsent(layer, k -> new ArrayList<>()).add(Arrays.copyOf(x, rows * cols));
        });
        model.logits(Arrays.copyOf(TOKENS, 5));
        assertEquals(Set(LlamaLayers.linearNames(c.nLayers())), seen.keySet());
        seen.values().forEach(v -> assertEquals(1, v.size()));
        float[] q = seen.get(LlamaLayers.q(0)).getFirst();
        assertArrayEquals(q, seen.get(LlamaLayers.k(0)).getFirst(), 0f);
        assertArrayEquals(q, seen.get(LlamaLayers.v(0)).getFirst(), 0f);
        assertEquals(c.hiddenDim() * 5, seen.get(LlamaLayers.down(1)).getFirst().length);
        // The first layer's input is RMSNorm(embedding) · weight, computed here independently.
        float[] emb = w.get(LlamaLayers.EMBEDDING + ".weight");
        float[] g = w.get(LlamaLayers.attentionNorm(0) + ".weight");
        for (int t = 0; t < 5; t++) {
            double ss = 0;
            for (int i = 0; i < c.dim(); i++) {
                ss += Math.pow(emb[TOKENS[t] * c.dim() + i], 2);
            }
            double inv = 1 / Math.sqrt(ss / c.dim() + 1e-5);
            for (int i = 0; i < c.dim(); i++) {
                assertEquals(emb[TOKENS[t] * c.dim() + i] * inv * g[i], q[t * c.dim() + i], 1e-5);
            }
        }
    }

    private static java.util.Set<String> Set(List<String> names) {
        return new java.util.HashSet<>(names);
    }

    @Test
    void greedyGenerationFollowsArgmaxAndStops() {
        LlamaConfig c = TinyLlama.config(RopeStyle.INTERLEAVED, false, true);
        LlamaModel model = LlamaModel.from(TinyLlama.model(c, TinyLlama.randomWeights(c, 11)));
        int[] prompt = {1, 4};
        int[] gen = model.generate(prompt, 10);
        assertEquals(10, gen.length);
        // Each generated token is the argmax of the teacher-forced logits of the sequence so far.
        int[] seq = new int[prompt.length + gen.length];
        System.arraycopy(prompt, 0, seq, 0, 2);
        System.arraycopy(gen, 0, seq, 2, gen.length);
        float[] logits = model.logits(seq);
        for (int i = 0; i < gen.length; i++) {
            int row = prompt.length - 1 + i;
            float[] r = Arrays.copyOfRange(logits, row * c.vocabSize(), (row + 1) * c.vocabSize());
            assertEquals(LlamaModel.argmax(r), gen[i], "token " + i);
        }
        int[] stopped = model.generate(prompt, 10, gen[3]);
        assertArrayEquals(Arrays.copyOf(gen, indexOf(gen, gen[3])), stopped);
        // The context bounds the length: 24 positions, 2 in the prompt, so at most 23 new tokens.
        assertEquals(c.maxSeqLen() - prompt.length + 1, model.generate(prompt, 1000).length);
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void badInputsAndInconsistentModelsAreClearErrors() {
        LlamaConfig c = TinyLlama.config(RopeStyle.INTERLEAVED, false, true);
        Map<String, float[]> w = TinyLlama.randomWeights(c, 2);
        LlamaModel model = LlamaModel.from(TinyLlama.model(c, w));
        SqueezeException e = assertThrows(SqueezeException.class, () -> model.logits(new int[]{1, 32}));
        assertTrue(e.getMessage().contains("32") && e.getMessage().contains("vocabulary"), e.getMessage());
        e = assertThrows(SqueezeException.class, () -> model.logits(new int[c.maxSeqLen() + 1]));
        assertTrue(e.getMessage().contains("context of 24"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> model.forward(1, 3, model.newState()));

        Map<String, float[]> missing = new LinkedHashMap<>(w);
        missing.remove(LlamaLayers.up(1) + ".weight");
        e = assertThrows(SqueezeException.class, () -> LlamaModel.from(TinyLlama.model(c, missing)));
        assertTrue(e.getMessage().contains("model.layers.1.mlp.up_proj.weight"), e.getMessage());

        Map<String, Tensor> tensors = new LinkedHashMap<>(TinyLlama.model(c, w).tensors());
        tensors.put(LlamaLayers.k(0) + ".weight", Tensor.of(LlamaLayers.k(0) + ".weight", new float[16 * 16], 16, 16));
        Model wrongShape = new Model("t", "memory:t", "memory", "llama", "0", tensors, c.toMetadata());
        e = assertThrows(SqueezeException.class, () -> LlamaModel.from(wrongShape));
        assertTrue(e.getMessage().contains("k_proj.weight has shape [16, 16], expected [8, 16]"), e.getMessage());

        tensors = new LinkedHashMap<>(TinyLlama.model(c, w).tensors());
        tensors.put(LlamaLayers.q(0) + ".bias", Tensor.of(LlamaLayers.q(0) + ".bias", new float[16], 16));
        Model unexpectedBias = new Model("t", "memory:t", "memory", "llama", "0", tensors, c.toMetadata());
        e = assertThrows(SqueezeException.class, () -> LlamaModel.from(unexpectedBias));
        assertTrue(e.getMessage().contains("q_proj.bias"), e.getMessage());

        Model mlp = new Model("m", "memory:m", "memory", "mlp", "0", Map.of(), Map.of());
        assertTrue(assertThrows(SqueezeException.class, () -> LlamaModel.from(mlp)).getMessage().contains("'mlp'"));
    }

    @Test
    void configRoundTripsThroughMetadataAndNamesWhatIsMissing() {
        LlamaConfig c = new LlamaConfig(64, 172, 5, 8, 4, 512, 512, 1e-6, 1e6, RopeStyle.ROTATE_HALF, true, false);
        Model m = new Model("x", "memory:x", "memory", "llama", "0", Map.of(), c.toMetadata());
        assertEquals(c, LlamaConfig.fromMetadata(m));
        assertEquals("llama", c.toMetadata().get("squeeze.architecture"));
        assertEquals(8, c.headDim());
        assertEquals(32, c.kvDim());

        Map<String, String> meta = new LinkedHashMap<>(c.toMetadata());
        meta.remove("squeeze.llama.n_kv_heads");
        Model noKv = new Model("x", "memory:x", "memory", "llama", "0", Map.of(), meta);
        SqueezeException e = assertThrows(SqueezeException.class, () -> LlamaConfig.fromMetadata(noKv));
        assertTrue(e.getMessage().contains("squeeze.llama.n_kv_heads") && e.getMessage().contains("memory:x"));

        meta = new LinkedHashMap<>(c.toMetadata());
        meta.put("squeeze.llama.rope_style", "sideways");
        Model badStyle = new Model("x", "memory:x", "memory", "llama", "0", Map.of(), meta);
        assertTrue(assertThrows(SqueezeException.class, () -> LlamaConfig.fromMetadata(badStyle)).getMessage()
                .contains("sideways"));

        meta = new LinkedHashMap<>(c.toMetadata());
        meta.put("squeeze.llama.n_heads", "7");
        Model impossible = new Model("x", "memory:x", "memory", "llama", "0", Map.of(), meta);
        assertTrue(assertThrows(SqueezeException.class, () -> LlamaConfig.fromMetadata(impossible)).getMessage()
                .contains("impossible"));
    }

    @Test
    void everyCanonicalNameHasItsRole() {
        assertEquals(Optional.of(LayerRole.EMBEDDING), LlamaLayers.roleOf("model.embed_tokens.weight"));
        assertEquals(Optional.of(LayerRole.HEAD), LlamaLayers.roleOf("lm_head"));
        assertEquals(Optional.of(LayerRole.NORM), LlamaLayers.roleOf("model.norm.weight"));
        assertEquals(Optional.of(LayerRole.NORM), LlamaLayers.roleOf("model.layers.3.input_layernorm.weight"));
        assertEquals(Optional.of(LayerRole.NORM), LlamaLayers.roleOf("model.layers.3.post_attention_layernorm"));
        assertEquals(Optional.of(LayerRole.ATTN_Q), LlamaLayers.roleOf("model.layers.12.self_attn.q_proj.bias"));
        assertEquals(Optional.of(LayerRole.ATTN_K), LlamaLayers.roleOf("model.layers.0.self_attn.k_proj.weight"));
        assertEquals(Optional.of(LayerRole.ATTN_V), LlamaLayers.roleOf("model.layers.0.self_attn.v_proj"));
        assertEquals(Optional.of(LayerRole.ATTN_O), LlamaLayers.roleOf("model.layers.0.self_attn.o_proj.weight"));
        assertEquals(Optional.of(LayerRole.MLP_GATE), LlamaLayers.roleOf("model.layers.4.mlp.gate_proj.weight"));
        assertEquals(Optional.of(LayerRole.MLP_UP), LlamaLayers.roleOf("model.layers.4.mlp.up_proj.weight"));
        assertEquals(Optional.of(LayerRole.MLP_DOWN), LlamaLayers.roleOf("model.layers.4.mlp.down_proj.weight"));
        assertEquals(Optional.empty(), LlamaLayers.roleOf("model.layers.4.mlp.sideways_proj.weight"));
        assertEquals(Optional.empty(), LlamaLayers.roleOf("fc1.weight"));
        assertEquals(4, LlamaLayers.layerIndexOf("model.layers.4.mlp.up_proj.weight"));
        assertEquals(-1, LlamaLayers.layerIndexOf("lm_head.weight"));
        assertEquals(7 * 5 + 1, LlamaLayers.linearNames(5).size());
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
