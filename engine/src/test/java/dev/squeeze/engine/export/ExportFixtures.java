package dev.squeeze.engine.export;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.RopeStyle;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/** Tiny Llama models and runs over them, for the export tests. */
public final class ExportFixtures {
    private ExportFixtures() {
    }

    /**
     * A one-block Llama with random weights in canonical names; {@code interleaved} makes it a llama2.c-style model
     * (q/k rows in Meta's order, tied embeddings).
     */
    public static Model llama(int dim, int heads, int kvHeads, int hidden, int vocab, boolean interleaved, long seed) {
        LlamaConfig c = new LlamaConfig(dim, hidden, 1, heads, kvHeads, vocab, 64, 1e-5, 10000,
                interleaved ? RopeStyle.INTERLEAVED : RopeStyle.ROTATE_HALF, false, interleaved);
        Random rng = new Random(seed);
        Map<String, Tensor> t = new LinkedHashMap<>();
        int kv = kvHeads * (dim / heads);
        put(t, rng, "model.embed_tokens.weight", vocab, dim);
        String p = "model.layers.0.";
        put(t, rng, p + "input_layernorm.weight", dim);
        put(t, rng, p + "self_attn.q_proj.weight", dim, dim);
        put(t, rng, p + "self_attn.k_proj.weight", kv, dim);
        put(t, rng, p + "self_attn.v_proj.weight", kv, dim);
        put(t, rng, p + "self_attn.o_proj.weight", dim, dim);
        put(t, rng, p + "post_attention_layernorm.weight", dim);
        put(t, rng, p + "mlp.gate_proj.weight", hidden, dim);
        put(t, rng, p + "mlp.up_proj.weight", hidden, dim);
        put(t, rng, p + "mlp.down_proj.weight", dim, hidden);
        put(t, rng, "model.norm.weight", dim);
        if (!interleaved) {
            put(t, rng, "lm_head.weight", vocab, dim);
        }
        return new Model("tiny", "memory:tiny", "test", "llama", "0", t, c.toMetadata());
    }

    private static void put(Map<String, Tensor> t, Random rng, String name, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rng.nextGaussian() * 0.1);
        }
        t.put(name, Tensor.of(name, v, shape));
    }

    /** The seven linear layers of block 0. */
    public static final String[] LINEARS = {"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj",
            "model.layers.0.self_attn.v_proj", "model.layers.0.self_attn.o_proj", "model.layers.0.mlp.gate_proj",
            "model.layers.0.mlp.up_proj", "model.layers.0.mlp.down_proj"};

    /** Compresses the given layers, each with the settings {@code settings} gives it (null: left dense). */
    public static CompressedModel run(Model m, Function<String, MethodSettings> settings, String... layers) {
        Map<String, CompressedTensor> compressed = new LinkedHashMap<>();
        Map<String, MethodSettings> used = new LinkedHashMap<>();
        for (String layer : layers) {
            MethodSettings s = settings.apply(layer);
            if (s == null) {
                continue;
            }
            Tensor w = m.tensor(layer + ".weight");
            int rows = (int) w.dim(0);
            int cols = (int) w.dim(1);
            compressed.put(layer, Methods.compress(new LayerInput(layer, w.floats(), rows, cols,
                    hessian(cols, layer.hashCode())), s));
            used.put(layer, s);
        }
        return new CompressedModel(m, compressed, used, "test run", 7L);
    }

    /** {@code XᵀX} of random activations with a few dominant columns (so act-order reorders), plus a ridge. */
    public static float[] hessian(int cols, long seed) {
        Random rng = new Random(seed);
        int n = 2 * cols + 8;
        float[][] x = new float[n][cols];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < cols; c++) {
                x[i][c] = (float) (rng.nextGaussian() * (c % 7 == 0 ? 3 : 1));
            }
        }
        float[] h = new float[cols * cols];
        for (int a = 0; a < cols; a++) {
            for (int b = 0; b < cols; b++) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    s += x[i][a] * x[i][b];
                }
                h[a * cols + b] = (float) (2 * s / n) + (a == b ? 0.01f : 0);
            }
        }
        return h;
    }
}
