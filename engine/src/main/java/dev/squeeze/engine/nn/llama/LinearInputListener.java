package dev.squeeze.engine.nn.llama;

/**
 * Sees the input of every linear as the forward pass runs: the calibration hook (GPTQ and friends accumulate
 * {@code XᵀX} per layer from it). q, k and v receive the same input, as do gate and up.
 */
@FunctionalInterface
public interface LinearInputListener {
    /**
     * @param layer the canonical layer name, e.g. {@code model.layers.0.self_attn.q_proj} or {@code lm_head}
     * @param x     {@code rows × cols} row-major; the array is reused after the call returns (copy what you
     *              keep) and may be longer than {@code rows × cols}
     * @param rows  tokens in this batch
     * @param cols  the layer's input features
     */
    void onInput(String layer, float[] x, int rows, int cols);
}
