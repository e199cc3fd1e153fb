package dev.squeeze.engine.model.onnx;

import dev.squeeze.engine.model.LayerInfo;

/**
 * A weight of a Gemm, MatMul or Conv node, with where it sits in the graph.
 *
 * @param info       the inventory entry; its name is the weight initializer's name, which is also its tensor's
 *                   name in the {@link dev.squeeze.engine.model.Model} and the key for replacing it
 * @param node       the node's name (or, when the node has none, its op type and index, e.g. {@code MatMul#7})
 * @param opType     {@code Gemm}, {@code MatMul} or {@code Conv}
 * @param weight     the weight initializer's name
 * @param bias       the bias initializer's name: the node's own bias input, or the constant of an {@code Add}
 *                   that alone consumes the node's output (how CNTK and TensorFlow exports add it); null if none
 * @param transposed for linears: whether the initializer's bytes, read row-major as a matrix, hold {@code in × out}
 *                   (MatMul's B, Gemm's B without transB) rather than the {@code out × in} of
 *                   {@link LayerInfo#shape()}; the initializer may have more dims than two (mnist-7's MatMul weight
 *                   is stored 16 × 4 × 4 × 10 and reshaped to 256 × 10 in the graph), the bytes are the same.
 *                   Always false for convolutions, whose shape is the stored one
 */
public record OnnxLayer(LayerInfo info, String node, String opType, String weight, String bias, boolean transposed) {
}
