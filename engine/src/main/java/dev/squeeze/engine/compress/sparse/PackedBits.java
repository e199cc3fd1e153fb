package dev.squeeze.engine.compress.sparse;

/**
 * Fixed-width unsigned fields (1 to 63 bits each) packed end to end in longs: the stored form of masks and
 * N:M choice ranks, so that the bits a tensor counts are the bits it holds.
 */
final class PackedBits implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final int width;
    private final long count;
    private final long[] words;

    PackedBits(int width, long count) {
        if (width < 1 || width > 63) {
            throw new IllegalArgumentException("field width " + width + " outside 1..63");
        }
        this.width = width;
        this.count = count;
        this.words = new long[Math.toIntExact((width * count + 63) / 64)];
    }

    /** Fields already packed (a file reader's); the words must hold exactly {@code count} fields of {@code width} bits. */
    PackedBits(int width, long count, long[] words) {
        this.width = width;
        this.count = count;
        this.words = words;
        if (!consistent()) {
            throw new IllegalArgumentException(inconsistency());
        }
    }

    /** Restored from a checkpoint: the words must hold exactly {@code count} fields of {@code width} bits. */
    private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
        in.defaultReadObject();
        if (!consistent()) {
            throw new java.io.InvalidObjectException(inconsistency());
        }
    }

    private boolean consistent() {
        return width >= 1 && width <= 63 && count >= 0 && count <= Long.MAX_VALUE / 64 && words != null
                && words.length == (width * count + 63) / 64;
    }

    private String inconsistency() {
        return "inconsistent packed bits: " + count + " fields of " + width + " bits in "
                + (words == null ? "no" : Integer.toString(words.length)) + " words";
    }

    int width() {
        return width;
    }

    /** The packed words (a copy): field i occupies bits {@code i·width ..} little-endian across the words. */
    long[] words() {
        return words.clone();
    }

    /** Payload bits: {@code width × count} (the last word's padding is not information). */
    long bits() {
        return width * count;
    }

    long count() {
        return count;
    }

    void set(long index, long value) {
        if (value < 0 || (value >>> width) != 0) {
            throw new IllegalArgumentException(value + " does not fit " + width + " bits");
        }
        long bit = index * width;
        int w = (int) (bit >>> 6);
        int off = (int) (bit & 63);
        long mask = (1L << width) - 1;
        words[w] = (words[w] & ~(mask << off)) | (value << off);
        int spill = off + width - 64;
        if (spill > 0) {
            long hiMask = (1L << spill) - 1;
            words[w + 1] = (words[w + 1] & ~hiMask) | (value >>> (width - spill));
        }
    }

    long get(long index) {
        long bit = index * width;
        int w = (int) (bit >>> 6);
        int off = (int) (bit & 63);
        long mask = (1L << width) - 1;
        long v = words[w] >>> off;
        int spill = off + width - 64;
        if (spill > 0) {
            v |= words[w + 1] << (width - spill);
        }
        return v & mask;
    }
}
