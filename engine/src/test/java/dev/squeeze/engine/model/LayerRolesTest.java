package dev.squeeze.engine.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LayerRolesTest {
    @ParameterizedTest
    @CsvSource({
            "model.embed_tokens, 2, EMBEDDING", "tok_embeddings, 2, EMBEDDING", "transformer.wte, 2, EMBEDDING",
            "lm_head, 2, HEAD", "output, 2, HEAD",
            "model.layers.0.self_attn.q_proj, 2, ATTN_Q", "layers.3.attention.wk, 2, ATTN_K",
            "model.layers.1.self_attn.v_proj, 2, ATTN_V", "model.layers.1.self_attn.o_proj, 2, ATTN_O",
            "model.layers.2.mlp.gate_proj, 2, MLP_GATE", "layers.2.feed_forward.w3, 2, MLP_UP",
            "model.layers.2.mlp.down_proj, 2, MLP_DOWN",
            "model.norm, 1, NORM", "model.layers.0.input_layernorm, 1, NORM",
            "conv1, 4, CONV", "fc1, 2, LINEAR",
            // Substrings must not fool it: 'output_proj' is not the head, 'swq' not a query.
            "blocks.0.output_proj, 2, LINEAR", "swq, 2, LINEAR"})
    void infersRolesFromCommonNamingSchemes(String name, int rank, LayerRole expected) {
        assertEquals(expected, LayerRoles.infer(name, rank));
    }
}
