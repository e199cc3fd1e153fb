package dev.squeeze.engine.model;

/** What a layer does in its network; compression presets and the inventory use it. */
public enum LayerRole {
    LINEAR, CONV, EMBEDDING, HEAD,
    ATTN_Q, ATTN_K, ATTN_V, ATTN_O,
    MLP_GATE, MLP_UP, MLP_DOWN,
    NORM;

    /** Whether compression methods for matrices apply to this layer. */
    public boolean isCompressible() {
        return this != NORM && this != EMBEDDING;
    }
}
