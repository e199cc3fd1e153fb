package dev.squeeze.engine.model;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Infers a layer's role from its name, across the naming schemes of Hugging Face Llama/Mistral/Qwen2
 * ({@code self_attn.q_proj}, {@code mlp.gate_proj}, {@code embed_tokens}, {@code lm_head}), Meta/llama2.c
 * ({@code attention.wq}, {@code feed_forward.w1}, {@code tok_embeddings}, {@code output}) and GPT-2
 * ({@code wte}). The first matching rule wins; anything else of rank 4 is a convolution, of rank 2 a linear.
 */
public final class LayerRoles {
    private record Rule(Pattern pattern, LayerRole role) {
    }

    private static final List<Rule> RULES = List.of(
            rule("(^|\\.)(embed_tokens|tok_embeddings|wte|word_embeddings)$", LayerRole.EMBEDDING),
            rule("(^|\\.)(lm_head|output|classifier)$", LayerRole.HEAD),
            rule("(^|\\.)(q_proj|wq)$", LayerRole.ATTN_Q),
            rule("(^|\\.)(k_proj|wk)$", LayerRole.ATTN_K),
            rule("(^|\\.)(v_proj|wv)$", LayerRole.ATTN_V),
            rule("(^|\\.)(o_proj|wo)$", LayerRole.ATTN_O),
            rule("(^|\\.)(gate_proj|w1)$", LayerRole.MLP_GATE),
            rule("(^|\\.)(up_proj|w3)$", LayerRole.MLP_UP),
            rule("(^|\\.)(down_proj|w2)$", LayerRole.MLP_DOWN),
            rule("(norm|layernorm|ln_\\w+)$", LayerRole.NORM));

    private LayerRoles() {
    }

    private static Rule rule(String regex, LayerRole role) {
        return new Rule(Pattern.compile(regex), role);
    }

    /**
     * @param layerName the layer's name without the {@code .weight} suffix
     * @param rank      the rank of its weight tensor
     */
    public static LayerRole infer(String layerName, int rank) {
        for (Rule r : RULES) {
            if (r.pattern.matcher(layerName).find()) {
                return r.role;
            }
        }
        return rank == 4 ? LayerRole.CONV : LayerRole.LINEAR;
    }
}
