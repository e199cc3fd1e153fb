package dev.squeeze.engine.export.gptq;

/**
 * GPTQ's int32 packing. AutoGPTQ's {@code QuantLinear.pack} (and GPTQModel's, which keeps its layout) puts
 * {@code 32 / bits} codes into each int32 for 2, 4 and 8 bits, the first code in the lowest bits; for 3 bits it
 * packs 32 codes into 3 words, the 11th and 22nd code straddling a word boundary (2 + 1 and 1 + 2 bits). Both are
 * one rule: code {@code j} of a run occupies bits {@code [j·bits, (j+1)·bits)} of the run's words taken as one
 * little-endian bit string. Runs are 32 codes long (a multiple of 32 codes fills whole words for every width),
 * which is why both packed dimensions must be multiples of 32.
 */
final class GptqPacking {
    private GptqPacking() {
    }

    /** Words that hold {@code n} codes of {@code bits} (n a multiple of 32). */
    static int words(int n, int bits) {
        return n / 32 * bits;
    }

    /**
     * ORs code {@code value} as code {@code j} of a run into {@code words[base + k·stride]}, k = 0, 1, ...
     * (the run's k-th word).
     */
    static void put(int[] words, int base, int stride, int j, int bits, int value) {
        long bit = (long) j * bits;
        int word = (int) (bit >>> 5);
        int shift = (int) (bit & 31);
        words[base + word * stride] |= value << shift;
        if (shift + bits > 32) {
            words[base + (word + 1) * stride] |= value >>> (32 - shift);
        }
    }

    /** Code {@code j} of the run whose k-th word is {@code words[base + k·stride]}. */
    static int get(int[] words, int base, int stride, int j, int bits) {
        long bit = (long) j * bits;
        int word = (int) (bit >>> 5);
        int shift = (int) (bit & 31);
        int mask = (1 << bits) - 1;
        int v = words[base + word * stride] >>> shift;
        if (shift + bits > 32) {
            v |= words[base + (word + 1) * stride] << (32 - shift);
        }
        return v & mask;
    }
}
