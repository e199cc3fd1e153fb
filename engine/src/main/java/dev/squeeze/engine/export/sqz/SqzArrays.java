package dev.squeeze.engine.export.sqz;

import dev.squeeze.engine.compress.Restored;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The arrays of a compressed tensor as a {@code .sqz} section stores them, each self-describing, little-endian:
 * <pre>
 *   u8 tag
 *   0 ABSENT                                        (a null array)
 *   1 BITS   u8 width (1..63), u64 count, ceil(width·count / 8) bytes: unsigned fields packed LSB first
 *   2 F16    u64 count, 2·count bytes               (IEEE half)
 *   3 F32    u64 count, 4·count bytes               (IEEE single)
 *   4 FINT   u8 width (1..31), u64 count, packed    (floats that are all non-negative integers, e.g. zero points)
 * </pre>
 * A float array is written in the smallest of FINT, F16 and F32 that gives back every value bit for bit, so
 * scales stored in fp16 take 16 bits and integer zero points their code width; integer arrays (codes, indices,
 * permutations) are packed at their width.
 */
final class SqzArrays {
    static final int ABSENT = 0;
    static final int BITS = 1;
    static final int F16 = 2;
    static final int F32 = 3;
    static final int FINT = 4;

    private SqzArrays() {
    }

    /** Bits needed for {@code max} (at least 1). */
    static int widthFor(long max) {
        return Math.max(1, 64 - Long.numberOfLeadingZeros(max));
    }

    // ------------------------------------------------------------------------------------------------ writing

    /** Collects one section's arrays. */
    static final class Out {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        byte[] toByteArray() {
            return bytes.toByteArray();
        }

        private void u8(int v) {
            bytes.write(v);
        }

        private void u64(long v) {
            for (int i = 0; i < 8; i++) {
                bytes.write((int) (v >>> (8 * i)));
            }
        }

        void absent() {
            u8(ABSENT);
        }

        /** Codes (unsigned bytes) at {@code width} bits each. */
        void codes(byte[] codes, int width) {
            if (codes == null) {
                absent();
                return;
            }
            packed(BITS, width, codes.length, i -> codes[i] & 0xff);
        }

        /** Non-negative ints at the width of the largest. */
        void ints(int[] values) {
            if (values == null) {
                absent();
                return;
            }
            long max = 0;
            for (int v : values) {
                if (v < 0) {
                    throw new IllegalStateException("negative index " + v + " in a stored array");
                }
                max = Math.max(max, v);
            }
            packed(BITS, widthFor(max), values.length, i -> values[i]);
        }

        void chars(char[] values) {
            if (values == null) {
                absent();
                return;
            }
            long max = 0;
            for (char v : values) {
                max = Math.max(max, v);
            }
            packed(BITS, widthFor(max), values.length, i -> values[i]);
        }

        /** Fields already packed in little-endian words, as {@code PackedBits} holds them. */
        void words(int width, long count, long[] words) {
            u8(BITS);
            u8(width);
            u64(count);
            long n = Math.ceilDiv(width * count, 8);
            for (long i = 0; i < n; i++) {
                bytes.write((int) (words[(int) (i >>> 3)] >>> (8 * (i & 7))));
            }
        }

        void halves(short[] values) {
            if (values == null) {
                absent();
                return;
            }
            u8(F16);
            u64(values.length);
            for (short v : values) {
                bytes.write(v);
                bytes.write(v >>> 8);
            }
        }

        /** Floats in the smallest exact form. */
        void floats(float[] values) {
            if (values == null) {
                absent();
                return;
            }
            boolean ints = true;
            boolean halves = true;
            long max = 0;
            for (float v : values) {
                int raw = Float.floatToRawIntBits(v);
                if (ints) {
                    if (v >= 0 && v < (1 << 30) && v == Math.rint(v) && raw == Float.floatToRawIntBits((float) (int) v)) {
                        max = Math.max(max, (long) v);
                    } else {
                        ints = false;
                    }
                }
                if (halves && raw != Float.floatToRawIntBits(Float.float16ToFloat(Float.floatToFloat16(v)))) {
                    halves = false;
                }
            }
            int width = widthFor(max);
            if (ints && width < 16) {
                packed(FINT, width, values.length, i -> (long) values[i]);
            } else if (halves) {
                u8(F16);
                u64(values.length);
                for (float v : values) {
                    short h = Float.floatToFloat16(v);
                    bytes.write(h);
                    bytes.write(h >>> 8);
                }
            } else {
                u8(F32);
                u64(values.length);
                for (float v : values) {
                    int raw = Float.floatToRawIntBits(v);
                    for (int i = 0; i < 4; i++) {
                        bytes.write(raw >>> (8 * i));
                    }
                }
            }
        }

        private interface Field {
            long at(int i);
        }

        private void packed(int tag, int width, int count, Field f) {
            u8(tag);
            u8(width);
            u64(count);
            byte[] out = new byte[Math.toIntExact(Math.ceilDiv((long) width * count, 8))];
            long bit = 0;
            for (int i = 0; i < count; i++) {
                long v = f.at(i);
                if ((v >>> width) != 0) {
                    throw new IllegalStateException("value " + v + " does not fit " + width + " bits");
                }
                for (int b = 0; b < width; ) {
                    int at = (int) (bit >>> 3);
                    int off = (int) (bit & 7);
                    int take = Math.min(8 - off, width - b);
                    out[at] |= (byte) (((v >>> b) & ((1 << take) - 1)) << off);
                    b += take;
                    bit += take;
                }
            }
            bytes.writeBytes(out);
        }
    }

    // ------------------------------------------------------------------------------------------------ reading

    /**
     * Reads one section's arrays, checking every tag, width and count against the bytes that are left before it
     * allocates; a problem is an {@link IllegalArgumentException} naming the array, which the bundle reader turns
     * into a message naming the file and the section.
     */
    static final class In {
        private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private final MemorySegment data;
        private long pos;

        In(MemorySegment data) {
            this.data = data;
        }

        long remaining() {
            return data.byteSize() - pos;
        }

        private void need(long n, String what) {
            Restored.require(n >= 0 && n <= remaining(), what + " needs " + n + " bytes at byte " + pos
                    + " of the section, which has " + remaining() + " left");
        }

        private int u8(String what) {
            need(1, what);
            return data.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
        }

        private long u64(String what) {
            need(8, what);
            long v = data.get(LONG, pos);
            pos += 8;
            return v;
        }

        /** The tag, or ABSENT; fails unless it is ABSENT or one of {@code allowed}. */
        private int tag(String what, int... allowed) {
            int t = u8(what);
            if (t == ABSENT) {
                return t;
            }
            for (int a : allowed) {
                if (t == a) {
                    return t;
                }
            }
            throw new IllegalArgumentException(what + " has encoding tag " + t + ", expected one of "
                    + java.util.Arrays.toString(allowed));
        }

        /** A count of values of {@code bitsEach} bits that the rest of the section can hold (checked before any allocation). */
        private long count(String what, int bitsEach) {
            long count = u64(what);
            Restored.require(count >= 0 && count <= Restored.MAX_ELEMENTS && count <= remaining() * 8 / bitsEach,
                    what + " claims " + count + " values of " + bitsEach + " bits with " + remaining()
                            + " bytes left in the section");
            return count;
        }

        private interface Sink {
            void put(int i, long v);
        }

        private int width(String what, int max) {
            int w = u8(what);
            Restored.require(w >= 1 && w <= max, what + " has field width " + w + ", outside 1.." + max);
            return w;
        }

        private void unpack(int width, int count, String what, Sink out) {
            long n = Math.ceilDiv((long) width * count, 8);
            need(n, what);
            long bit = pos * 8;
            for (int i = 0; i < count; i++) {
                long v = 0;
                for (int b = 0; b < width; ) {
                    long at = bit >>> 3;
                    int off = (int) (bit & 7);
                    int take = Math.min(8 - off, width - b);
                    long byteVal = data.get(ValueLayout.JAVA_BYTE, at) & 0xff;
                    v |= ((byteVal >>> off) & ((1L << take) - 1)) << b;
                    b += take;
                    bit += take;
                }
                out.put(i, v);
            }
            pos += n;
        }

        /** Codes of at most {@code maxWidth} bits (the tensor's own check bounds them to its width). */
        byte[] codes(String what) {
            if (tag(what, BITS) == ABSENT) {
                return null;
            }
            int width = width(what, 8);
            int count = (int) count(what, width);
            byte[] out = new byte[count];
            unpack(width, count, what, (i, v) -> out[i] = (byte) v);
            return out;
        }

        int[] ints(String what) {
            if (tag(what, BITS) == ABSENT) {
                return null;
            }
            int width = width(what, 31);
            int count = (int) count(what, width);
            int[] out = new int[count];
            unpack(width, count, what, (i, v) -> out[i] = (int) v);
            return out;
        }

        char[] chars(String what) {
            if (tag(what, BITS) == ABSENT) {
                return null;
            }
            int width = width(what, 16);
            int count = (int) count(what, width);
            char[] out = new char[count];
            unpack(width, count, what, (i, v) -> out[i] = (char) v);
            return out;
        }

        /** Packed fields as {@code PackedBits} words: width, count, words. */
        record Words(int width, long count, long[] words) {
        }

        Words words(String what) {
            Restored.require(tag(what, BITS) == BITS, what + " is missing");
            int width = width(what, 63);
            long count = u64(what);
            Restored.require(count >= 0 && count <= remaining() * 8 / width, what + " claims " + count + " fields of "
                    + width + " bits in " + remaining() + " bytes");
            long n = Math.ceilDiv(width * count, 8);
            need(n, what);
            long[] words = new long[Math.toIntExact((width * count + 63) / 64)];
            for (long i = 0; i < n; i++) {
                long b = data.get(ValueLayout.JAVA_BYTE, pos + i) & 0xffL;
                words[(int) (i >>> 3)] |= b << (8 * (i & 7));
            }
            pos += n;
            return new Words(width, count, words);
        }

        short[] halves(String what) {
            if (tag(what, F16) == ABSENT) {
                return null;
            }
            int count = (int) count(what, 16);
            need(2L * count, what);
            short[] out = new short[count];
            MemorySegment.copy(data, SHORT, pos, out, 0, count);
            pos += 2L * count;
            return out;
        }

        float[] floats(String what) {
            int tag = tag(what, F16, F32, FINT);
            switch (tag) {
                case ABSENT -> {
                    return null;
                }
                case FINT -> {
                    int width = width(what, 31);
                    int count = (int) count(what, width);
                    float[] out = new float[count];
                    unpack(width, count, what, (i, v) -> out[i] = v);
                    return out;
                }
                case F16 -> {
                    int count = (int) count(what, 16);
                    need(2L * count, what);
                    float[] out = new float[count];
                    for (int i = 0; i < count; i++) {
                        out[i] = Float.float16ToFloat(data.get(SHORT, pos + 2L * i));
                    }
                    pos += 2L * count;
                    return out;
                }
                default -> {
                    int count = (int) count(what, 32);
                    need(4L * count, what);
                    float[] out = new float[count];
                    for (int i = 0; i < count; i++) {
                        out[i] = Float.intBitsToFloat(data.get(INT, pos + 4L * i));
                    }
                    pos += 4L * count;
                    return out;
                }
            }
        }

        /** Fails unless every byte was read. */
        void end(String what) {
            Restored.require(remaining() == 0, what + " has " + remaining() + " bytes after its last array");
        }
    }
}
