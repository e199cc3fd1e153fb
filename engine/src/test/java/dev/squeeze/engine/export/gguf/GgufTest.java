package dev.squeeze.engine.export.gguf;

import dev.squeeze.engine.SqueezeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GgufTest {
    @TempDir
    Path dir;

    /** Q4_0 of −16, −15, …, 15, worked out by hand from ggml's reference quantizer. */
    @Test
    void q4BlockAsGgmlsReferenceQuantizerWritesIt() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) {
            x[j] = j - 16;
        }
        ByteBuffer b = ByteBuffer.allocate(18);
        GgmlBlocks.encode(GgmlType.Q4_0, x, b);
        b.flip().order(ByteOrder.LITTLE_ENDIAN);
        // The value of largest magnitude is −16: d = −16 / −8 = 2 (fp16 0x4000), q = min(15, trunc(x / 2 + 8.5)).
        assertEquals(0x4000, b.getShort() & 0xffff);
        // Byte 0: x[0] = −16 → 0 (low nibble), x[16] = 0 → 8 (high nibble). Byte 15: x[15] = −1 → 8, x[31] = 15 → 15.
        assertEquals(0x80, b.get(2) & 0xff);
        assertEquals(0xF8, b.get(17) & 0xff);
        float[] back = new float[32];
        GgmlBlocks.decode(GgmlType.Q4_0, ByteBuffer.wrap(b.array()), back);
        assertEquals(-16f, back[0]);
        assertEquals(14f, back[31], "15 clips to the largest code: (15 − 8) · 2");
        assertEquals(0f, back[16]);
    }

    /** Q8_0 rounds halves away from zero, as C's roundf does (Java's Math.round would give −2 for −2.5). */
    @Test
    void q8BlockRoundsHalvesAwayFromZero() {
        float[] x = new float[32];
        x[0] = -127f; // d = 127 / 127 = 1
        x[1] = -2.5f;
        x[2] = 2.5f;
        x[3] = 0.4f;
        ByteBuffer b = ByteBuffer.allocate(34);
        GgmlBlocks.encode(GgmlType.Q8_0, x, b);
        b.flip().order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x3C00, b.getShort() & 0xffff, "d = 1.0 in fp16");
        assertEquals(List.of(-127, -3, 3, 0, 0), List.of((int) b.get(), (int) b.get(), (int) b.get(), (int) b.get(),
                (int) b.get()));
    }

    @Test
    void writtenFileReadsBackWithItsMetadataLayoutAndValues() throws Exception {
        Random rnd = new Random(7);
        float[][] w = new float[3][64];
        for (float[] row : w) {
            for (int j = 0; j < row.length; j++) {
                row[j] = (float) rnd.nextGaussian();
            }
        }
        float[] norm = {1f, 0.5f, 0.25f, 2f};
        Path file = dir.resolve("m.gguf");
        new GgufWriter()
                .put("general.architecture", GgufValue.str("llama"))
                .put("llama.context_length", GgufValue.u32(512))
                .put("llama.rope.freq_base", GgufValue.f32(10000f))
                .put("general.flag", GgufValue.bool(true))
                .put("tokenizer.ggml.tokens", GgufValue.array(GgufValue.STRING, List.of("<unk>", "▁a", "é")))
                .put("tokenizer.ggml.scores", GgufValue.array(GgufValue.FLOAT32, List.of(0f, -1.5f, -2f)))
                .put("tokenizer.ggml.token_type", GgufValue.array(GgufValue.INT32, List.of(2L, 1L, 1L)))
                .add(new GgufWriter.Input("norm.weight", 1, 4, 1, GgmlType.F32, r -> norm))
                .add(new GgufWriter.Input("w.f32", 3, 64, 2, GgmlType.F32, r -> w[(int) r]))
                .add(new GgufWriter.Input("w.f16", 3, 64, 2, GgmlType.F16, r -> w[(int) r]))
                .add(new GgufWriter.Input("w.q8", 3, 64, 2, GgmlType.Q8_0, r -> w[(int) r]))
                .add(new GgufWriter.Input("w.q4", 3, 64, 2, GgmlType.Q4_0, r -> w[(int) r]))
                .write(file);

        byte[] raw = Files.readAllBytes(file);
        assertEquals("GGUF", new String(raw, 0, 4, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(3, ByteBuffer.wrap(raw, 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals("llama", g.metadata().get("general.architecture").asString());
            assertEquals(GgufValue.UINT32, g.metadata().get("llama.context_length").type());
            assertEquals(512L, g.metadata().get("llama.context_length").asLong());
            assertEquals(10000f, g.metadata().get("llama.rope.freq_base").value());
            assertEquals(true, g.metadata().get("general.flag").value());
            assertEquals(List.of("<unk>", "▁a", "é"), g.metadata().get("tokenizer.ggml.tokens").asList());
            assertEquals(List.of(0f, -1.5f, -2f), g.metadata().get("tokenizer.ggml.scores").asList());
            assertEquals(List.of(2L, 1L, 1L), g.metadata().get("tokenizer.ggml.token_type").asList());
            assertEquals(List.of("norm.weight", "w.f32", "w.f16", "w.q8", "w.q4"),
                    g.tensors().stream().map(GgufTensor::name).toList());
            for (GgufTensor t : g.tensors()) {
                assertEquals(0, t.offset() % GgufWriter.ALIGNMENT, t.name() + " aligned");
            }
            GgufTensor q4 = g.tensor("w.q4");
            assertEquals(3 * 2 * 18, q4.bytes(), "3 rows of 2 blocks of 18 bytes");
            assertEquals(g.size(), GgufWriter.align(raw.length), "the file ends at an aligned tensor end");
            assertArrayEquals(norm, g.row(g.tensor("norm.weight"), 0));
            for (int r = 0; r < 3; r++) {
                assertArrayEquals(w[r], g.row(g.tensor("w.f32"), r), "F32 is exact");
                float[] f16 = g.row(g.tensor("w.f16"), r);
                float[] q8 = g.row(g.tensor("w.q8"), r);
                float[] q4r = g.row(q4, r);
                for (int j = 0; j < 64; j++) {
                    assertEquals(Float.float16ToFloat(Float.floatToFloat16(w[r][j])), f16[j], "F16 rounds once");
                    // Q8_0's error is at most half a step (d / 2 = amax / 254) plus fp16 rounding of d.
                    assertTrue(Math.abs(q8[j] - w[r][j]) <= maxAbs(w[r], j) / 254 * 1.01 + 1e-6, "q8 " + j);
                    assertTrue(Math.abs(q4r[j] - w[r][j]) <= maxAbs(w[r], j) / 8 * 1.01 + 1e-6, "q4 " + j);
                }
            }
        }
    }

    private static float maxAbs(float[] row, int j) {
        int b = j / 32 * 32;
        float m = 0;
        for (int i = b; i < b + 32; i++) {
            m = Math.max(m, Math.abs(row[i]));
        }
        return m;
    }

    @Test
    void aRowThatDoesNotDivideIntoBlocksIsRefusedBeforeWriting() {
        GgufWriter w = new GgufWriter();
        SqueezeException e = assertThrows(SqueezeException.class, () -> w.add(new GgufWriter.Input("head", 10, 48, 2,
                GgmlType.Q4_0, r -> new float[48])));
        assertTrue(e.getMessage().contains("'head' (10 × 48)") && e.getMessage().contains("blocks of 32"),
                e.getMessage());
        assertTrue(e.fix().contains("F16"), e.fix());
    }

    @Test
    void everyTruncationAndABadMagicAreRefusedInWords() throws Exception {
        Path file = dir.resolve("t.gguf");
        new GgufWriter().put("general.architecture", GgufValue.str("llama"))
                .put("tokenizer.ggml.tokens", GgufValue.array(GgufValue.STRING, List.of("a", "b")))
                .add(new GgufWriter.Input("w", 2, 32, 2, GgmlType.Q8_0, r -> new float[32]))
                .write(file);
        byte[] whole = Files.readAllBytes(file);
        long end;
        try (GgufFile g = GgufFile.open(file)) {
            GgufTensor w = g.tensor("w");
            end = g.dataStart() + w.offset() + w.bytes();
        }
        assertTrue(end < whole.length, "the writer pads the last tensor to the alignment");
        // Cut anywhere before the end of the last tensor's data (its trailing padding is not needed).
        for (int n = 0; n < end; n++) {
            Path cut = dir.resolve("cut.gguf");
            Files.write(cut, Arrays.copyOf(whole, n));
            SqueezeException e = assertThrows(SqueezeException.class, () -> GgufFile.open(cut).close(),
                    "cut at " + n);
            assertTrue(e.getMessage().contains("cut.gguf"), e.getMessage());
        }
        byte[] wrong = whole.clone();
        wrong[0] = 'X';
        Path bad = dir.resolve("bad.gguf");
        Files.write(bad, wrong);
        SqueezeException e = assertThrows(SqueezeException.class, () -> GgufFile.open(bad).close());
        assertTrue(e.getMessage().contains("GGUF magic"), e.getMessage());
        // A tensor count larger than the file can hold is refused, not allocated.
        byte[] huge = whole.clone();
        ByteBuffer.wrap(huge, 8, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE / 2);
        Files.write(bad, huge);
        e = assertThrows(SqueezeException.class, () -> GgufFile.open(bad).close());
        assertTrue(e.getMessage().contains("tensor count"), e.getMessage());
    }
}
