package dev.squeeze.engine.export.gguf;

import dev.squeeze.engine.SqueezeException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Q4_K and Q6_K against ggml itself: {@code ggml-kquants.bin} holds rows of values with the bytes ggml's
 * reference quantizers made of them and the values ggml's dequantizers gave back (written by
 * {@code bench/ggml-kquants-fixture.sh} with llama.cpp's libggml-base), and a super-block built by hand from the
 * format's description.
 */
class GgmlKQuantsTest {
    private record Row(float[] x, byte[] q4k, float[] q4kValues, byte[] q6k, float[] q6kValues) {
    }

    private static Row[] fixture() throws IOException {
        try (InputStream in = GgmlKQuantsTest.class.getResourceAsStream("ggml-kquants.bin")) {
            assertNotNull(in, "ggml-kquants.bin is a test resource");
            ByteBuffer b = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            int rows = b.getInt();
            int cols = b.getInt();
            Row[] out = new Row[rows];
            for (int r = 0; r < rows; r++) {
                float[] x = floats(b, cols);
                byte[] q4 = bytes(b, cols / 256 * 144);
                float[] v4 = floats(b, cols);
                byte[] q6 = bytes(b, cols / 256 * 210);
                float[] v6 = floats(b, cols);
                out[r] = new Row(x, q4, v4, q6, v6);
            }
            assertEquals(0, b.remaining());
            return out;
        }
    }

    private static float[] floats(ByteBuffer b, int n) {
        float[] f = new float[n];
        b.asFloatBuffer().get(f);
        b.position(b.position() + 4 * n);
        return f;
    }

    private static byte[] bytes(ByteBuffer b, int n) {
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    @Test
    void q4kBytesAreGgmlsReferenceQuantizers() throws IOException {
        Row[] rows = fixture();
        for (int r = 0; r < rows.length; r++) {
            ByteBuffer out = ByteBuffer.allocate(rows[r].q4k.length);
            GgmlBlocks.encode(GgmlType.Q4_K, rows[r].x, out);
            assertArrayEquals(rows[r].q4k, out.array(), "Q4_K bytes of fixture row " + r);
        }
    }

    @Test
    void q6kBytesAreGgmlsReferenceQuantizers() throws IOException {
        Row[] rows = fixture();
        for (int r = 0; r < rows.length; r++) {
            ByteBuffer out = ByteBuffer.allocate(rows[r].q6k.length);
            GgmlBlocks.encode(GgmlType.Q6_K, rows[r].x, out);
            assertArrayEquals(rows[r].q6k, out.array(), "Q6_K bytes of fixture row " + r);
        }
    }

    @Test
    void q4kAndQ6kDecodeAsGgmlsDequantizers() throws IOException {
        Row[] rows = fixture();
        for (int r = 0; r < rows.length; r++) {
            float[] got = new float[rows[r].x.length];
            GgmlBlocks.decode(GgmlType.Q4_K, ByteBuffer.wrap(rows[r].q4k), got);
            assertBitsEqual(rows[r].q4kValues, got, "Q4_K row " + r);
            GgmlBlocks.decode(GgmlType.Q6_K, ByteBuffer.wrap(rows[r].q6k), got);
            assertBitsEqual(rows[r].q6kValues, got, "Q6_K row " + r);
        }
    }

    /**
     * A Q4_K super-block assembled from the layout ggml documents (fp16 d and dmin; 12 bytes: bytes 0–3 hold the
     * low 6 bits of scales 0–3 and bytes 4–7 of mins 0–3, their top 2 bits carry the high bits of scales/mins
     * 4–7, whose low 4 bits are bytes 8–11's nibbles; 128 bytes of codes, sub-blocks 2i and 2i+1 sharing 32
     * bytes as low and high nibbles). Expected values are {@code d·sc·q − dmin·m} worked out here.
     */
    @Test
    void handBuiltQ4kSuperBlockDecodesPerTheLayout() {
        int[] sc = {1, 2, 3, 63, 17, 33, 48, 5};
        int[] mn = {0, 1, 62, 7, 40, 16, 3, 63};
        float d = 0.5f;
        float dmin = 0.25f;
        ByteBuffer block = ByteBuffer.allocate(144).order(ByteOrder.LITTLE_ENDIAN);
        block.putShort(Float.floatToFloat16(d));
        block.putShort(Float.floatToFloat16(dmin));
        byte[] s = new byte[12];
        for (int j = 0; j < 4; j++) {
            s[j] = (byte) (sc[j] | (sc[j + 4] >> 4) << 6);
            s[j + 4] = (byte) (mn[j] | (mn[j + 4] >> 4) << 6);
            s[j + 8] = (byte) ((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
        }
        block.put(s);
        int[] q = new int[256];
        for (int i = 0; i < 256; i++) {
            q[i] = (i * 7 + 3) % 16;
        }
        for (int pair = 0; pair < 4; pair++) {
            for (int l = 0; l < 32; l++) {
                block.put((byte) (q[64 * pair + l] | q[64 * pair + 32 + l] << 4));
            }
        }
        float[] got = new float[256];
        GgmlBlocks.decode(GgmlType.Q4_K, block.flip(), got);
        for (int i = 0; i < 256; i++) {
            int sub = i / 32;
            assertEquals(d * sc[sub] * q[i] - dmin * mn[sub], got[i], 0f, "value " + i);
        }
        assertEquals(d * 3 * q[64] - dmin * 62, got[64], 0f);
    }

    /** A Q6_K super-block from the documented layout: value = d·sc·(q − 32), 16 sub-blocks of 16. */
    @Test
    void handBuiltQ6kSuperBlockDecodesPerTheLayout() {
        int[] q = new int[256];
        for (int i = 0; i < 256; i++) {
            q[i] = (i * 13 + 5) % 64;
        }
        byte[] sc = new byte[16];
        for (int i = 0; i < 16; i++) {
            sc[i] = (byte) (i * 9 - 70);
        }
        float d = 0.125f;
        byte[] ql = new byte[128];
        byte[] qh = new byte[64];
        // Per half of 128 values: value l (0..31) + 32k (k = 0..3) has its low 4 bits in ql[64h + l + 32(k&1)]
        // (low nibble for k < 2, high for k >= 2) and its top 2 bits at bit 2k of qh[32h + l].
        for (int h = 0; h < 2; h++) {
            for (int l = 0; l < 32; l++) {
                for (int k = 0; k < 4; k++) {
                    int v = q[128 * h + 32 * k + l];
                    int at = 64 * h + l + 32 * (k & 1);
                    ql[at] |= (byte) ((v & 15) << (k < 2 ? 0 : 4));
                    qh[32 * h + l] |= (byte) ((v >> 4) << (2 * k));
                }
            }
        }
        ByteBuffer block = ByteBuffer.allocate(210).order(ByteOrder.LITTLE_ENDIAN);
        block.put(ql).put(qh).put(sc).putShort(Float.floatToFloat16(d));
        float[] got = new float[256];
        GgmlBlocks.decode(GgmlType.Q6_K, block.flip(), got);
        for (int i = 0; i < 256; i++) {
            assertEquals(d * sc[i / 16] * (q[i] - 32), got[i], 0f, "value " + i);
        }
    }

    /** ggml's nearest_int rounds halves to even (C's lrintf in the default mode), not away from zero. */
    @Test
    void nearestIntRoundsHalvesToEven() {
        assertEquals(2, GgmlBlocks.nearestInt(2.5f));
        assertEquals(4, GgmlBlocks.nearestInt(3.5f));
        assertEquals(-2, GgmlBlocks.nearestInt(-2.5f));
        assertEquals(7, GgmlBlocks.nearestInt(6.6f));
    }

    @Test
    void q4kRoundTripErrorIsWithinItsStep() throws IOException {
        Row row = fixture()[9];
        ByteBuffer out = ByteBuffer.allocate(row.q4k.length);
        GgmlBlocks.encode(GgmlType.Q4_K, row.x, out);
        float[] back = new float[row.x.length];
        GgmlBlocks.decode(GgmlType.Q4_K, out.flip(), back);
        float amax = 0f;
        for (float v : row.x) {
            amax = Math.max(amax, Math.abs(v));
        }
        for (int i = 0; i < back.length; i++) {
            // 15 steps span at most the range 2·amax of a sub-block; 6-bit scales add a little.
            assertTrue(Math.abs(back[i] - row.x[i]) <= 2 * amax / 15 * 0.6f, "value " + i);
        }
    }

    @Test
    void rowsMustBeWholeSuperBlocks() {
        SqueezeException e = assertThrows(SqueezeException.class, () -> GgmlType.Q4_K.rowBytes(288));
        assertTrue(e.getMessage().contains("256"), e.getMessage());
        assertEquals(144, GgmlType.Q4_K.rowBytes(256));
        assertEquals(420, GgmlType.Q6_K.rowBytes(512));
        assertEquals(GgmlType.Q4_K, GgmlType.of(12, "t"));
        assertEquals(GgmlType.Q6_K, GgmlType.of(14, "t"));
        assertEquals(GgmlType.BF16, GgmlType.of(30, "t"));
        SqueezeException unknown = assertThrows(SqueezeException.class, () -> GgmlType.of(13, "blk.0.ffn_up.weight"));
        assertTrue(unknown.getMessage().contains("blk.0.ffn_up.weight") && unknown.getMessage().contains("13")
                && unknown.getMessage().contains("Q4_K"), unknown.getMessage());
    }

    private static void assertBitsEqual(float[] expected, float[] got, String what) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(got[i])) {
                throw new AssertionError(what + ": value " + i + " is " + got[i] + ", ggml gives " + expected[i]
                        + " (" + Arrays.toString(Arrays.copyOfRange(expected, Math.max(0, i - 2), i + 3)) + ")");
            }
        }
    }
}
