package dev.squeeze.engine.model.hf;

import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Tensor;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A committed generator of tiny Llama-shaped tensor sets, written from the Hugging Face naming scheme (not from
 * the code under test): dim 8, 2 layers, 2 heads, 1 KV head (head dim 4), MLP 12, vocab 10.
 */
final class TinyLlama {
    static final int DIM = 8;
    static final int HIDDEN = 12;
    static final int LAYERS = 2;
    static final int HEADS = 2;
    static final int KV_HEADS = 1;
    static final int VOCAB = 10;

    private TinyLlama() {
    }

    /** The tensors in HF names; {@code qkvBias} adds Qwen2's biases, {@code tied} leaves out lm_head. */
    static Map<String, Tensor> tensors(long seed, DType type, boolean qkvBias, boolean tied) {
        Random rng = new Random(seed);
        Map<String, Tensor> t = new LinkedHashMap<>();
        int kv = KV_HEADS * (DIM / HEADS);
        put(t, rng, type, "model.embed_tokens.weight", VOCAB, DIM);
        for (int i = 0; i < LAYERS; i++) {
            String p = "model.layers." + i + ".";
            put(t, rng, type, p + "input_layernorm.weight", DIM);
            put(t, rng, type, p + "self_attn.q_proj.weight", DIM, DIM);
            put(t, rng, type, p + "self_attn.k_proj.weight", kv, DIM);
            put(t, rng, type, p + "self_attn.v_proj.weight", kv, DIM);
            if (qkvBias) {
                put(t, rng, type, p + "self_attn.q_proj.bias", DIM);
                put(t, rng, type, p + "self_attn.k_proj.bias", kv);
                put(t, rng, type, p + "self_attn.v_proj.bias", kv);
            }
            put(t, rng, type, p + "self_attn.o_proj.weight", DIM, DIM);
            put(t, rng, type, p + "post_attention_layernorm.weight", DIM);
            put(t, rng, type, p + "mlp.gate_proj.weight", HIDDEN, DIM);
            put(t, rng, type, p + "mlp.up_proj.weight", HIDDEN, DIM);
            put(t, rng, type, p + "mlp.down_proj.weight", DIM, HIDDEN);
        }
        put(t, rng, type, "model.norm.weight", DIM);
        if (!tied) {
            put(t, rng, type, "lm_head.weight", VOCAB, DIM);
        }
        return t;
    }

    /** A config.json as transformers writes one for this shape. */
    static String config(String architecture, String extra) {
        return """
                {
                  "architectures": ["%s"],
                  "hidden_size": 8,
                  "intermediate_size": 12,
                  "num_hidden_layers": 2,
                  "num_attention_heads": 2,
                  "num_key_value_heads": 1,
                  "vocab_size": 10,
                  "max_position_embeddings": 64,
                  "rms_norm_eps": 1e-05,
                  "rope_theta": 500000.0,
                  "hidden_act": "silu",
                  "torch_dtype": "float32"%s
                }
                """.formatted(architecture, extra.isEmpty() ? "" : ",\n  " + extra);
    }

    /** The {@code squeeze.llama.*} metadata a reader of this shape must produce. */
    static Map<String, String> metadata(String family, boolean qkvBias, boolean tied) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("squeeze.architecture", "llama");
        m.put("squeeze.llama.family", family);
        m.put("squeeze.llama.dim", "8");
        m.put("squeeze.llama.hidden_dim", "12");
        m.put("squeeze.llama.n_layers", "2");
        m.put("squeeze.llama.n_heads", "2");
        m.put("squeeze.llama.n_kv_heads", "1");
        m.put("squeeze.llama.vocab_size", "10");
        m.put("squeeze.llama.max_seq_len", "64");
        m.put("squeeze.llama.norm_eps", "1.0E-5");
        m.put("squeeze.llama.rope_theta", "500000.0");
        m.put("squeeze.llama.rope_style", "rotate_half");
        m.put("squeeze.llama.qkv_bias", Boolean.toString(qkvBias));
        m.put("squeeze.llama.tied_embeddings", Boolean.toString(tied));
        return m;
    }

    private static void put(Map<String, Tensor> t, Random rng, DType type, String name, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            // Multiples of 1/64 in [-2, 2): exact in F32, F16 and BF16, so every type round-trips bit for bit.
            v[i] = (rng.nextInt(256) - 128) / 64f;
        }
        t.put(name, new Tensor(name, type, shape, ByteBuffer.wrap(type.encode(v))));
    }
}
