package dev.squeeze.engine.nn.llama;

/**
 * Moves q/k projection rows between the two {@link RopeStyle}s. Within each head, interleaved row
 * {@code 2j + c} (pair {@code j}, component {@code c ∈ {0,1}}) becomes rotate-half row {@code c·headDim/2 + j}:
 * the permutation Hugging Face's {@code convert_llama_weights_to_hf.py} applies ({@code permute}), so a model
 * written with permuted q/k rows and read with {@link RopeStyle#ROTATE_HALF} computes exactly the same function.
 * The rows of v, o and the MLP are untouched. A q/k bias (Qwen2) is permuted as a matrix with one column.
 */
public final class RopePermutation {
    private RopePermutation() {
    }

    /**
     * @param w       {@code nHeads·headDim × cols}, row-major, rows in interleaved (llama2.c/Meta) order
     * @param nHeads  heads the rows belong to ({@code nKvHeads} for k)
     * @param headDim rows per head, even
     * @param cols    row length ({@code dim} for a weight, 1 for a bias)
     * @return a new array with the rows in rotate-half (Hugging Face) order
     */
    public static float[] toRotateHalf(float[] w, int nHeads, int headDim, int cols) {
        return permute(w, nHeads, headDim, cols, true);
    }

    /** The inverse of {@link #toRotateHalf}: rotate-half (Hugging Face) rows back to interleaved order. */
    public static float[] toInterleaved(float[] w, int nHeads, int headDim, int cols) {
        return permute(w, nHeads, headDim, cols, false);
    }

    /** Row {@code 2j + c} of each head (interleaved) is row {@code c·half + j} (rotate-half), in either direction. */
    private static float[] permute(float[] w, int nHeads, int headDim, int cols, boolean toRotateHalf) {
        check(w, nHeads, headDim, cols);
        float[] out = new float[w.length];
        int half = headDim / 2;
        for (int h = 0; h < nHeads; h++) {
            for (int j = 0; j < half; j++) {
                for (int c = 0; c < 2; c++) {
                    int interleaved = h * headDim + 2 * j + c;
                    int rotateHalf = h * headDim + c * half + j;
                    int from = toRotateHalf ? interleaved : rotateHalf;
                    int to = toRotateHalf ? rotateHalf : interleaved;
                    System.arraycopy(w, from * cols, out, to * cols, cols);
                }
            }
        }
        return out;
    }

    private static void check(float[] w, int nHeads, int headDim, int cols) {
        if (nHeads <= 0 || headDim <= 0 || headDim % 2 != 0 || cols <= 0) {
            throw new IllegalArgumentException("need positive heads and columns and an even head width, got nHeads="
                    + nHeads + " headDim=" + headDim + " cols=" + cols);
        }
        if ((long) nHeads * headDim * cols != w.length) {
            throw new IllegalArgumentException("w has " + w.length + " values, expected " + nHeads + "·" + headDim
                    + "·" + cols);
        }
    }
}
