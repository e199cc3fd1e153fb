package dev.squeeze.engine.nn.llama;

/**
 * Which elements of a head RoPE rotates together. Both rotate pair {@code j} by the angle
 * {@code pos · theta^(-2j/headDim)}; they differ only in where the pair's two elements sit, which is why a
 * checkpoint must be read with the style its q/k rows were trained for (or permuted, see
 * {@link RopePermutation}).
 */
public enum RopeStyle {
    /** Meta's and llama2.c's layout: pair {@code j} is elements {@code (2j, 2j+1)} of the head. */
    INTERLEAVED,
    /** Hugging Face's layout: pair {@code j} is elements {@code (j, j + headDim/2)} of the head. */
    ROTATE_HALF
}
