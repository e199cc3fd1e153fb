package dev.squeeze.engine.model.llama2c;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.StoredSizes;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.SharedData;
import dev.squeeze.engine.testing.TinyLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class Llama2cFormatTest {
    private static final int GROUP = 8;
    private final Llama2cFormat format = new Llama2cFormat();

    @TempDir
    Path dir;

    private static LlamaConfig config(boolean tied) {
        return TinyLlama.config(RopeStyle.INTERLEAVED, false, tied);
    }

    private static byte[] image(int version, LlamaConfig c, Map<String, float[]> w) {
        return switch (version) {
            case 0 -> Llama2cFiles.legacy(c, w);
            case 1 -> Llama2cFiles.version1(c, w);
            default -> Llama2cFiles.version2(c, w, GROUP);
        };
    }

    @ParameterizedTest
    @CsvSource({"0,true", "0,false", "1,true", "1,false", "2,true", "2,false"})
    void readsWhatExportPyWrites(int version, boolean tied) throws Exception {
        LlamaConfig c = config(tied);
        Map<String, float[]> w = TinyLlama.randomWeights(c, 17);
        byte[] bytes = image(version, c, w);
        Path file = write("v" + version + tied + ".bin", bytes);
        assertTrue(format.recognizes(Arrays.copyOf(bytes, 64), bytes.length));
        Model m = format.read(file);
        assertEquals("llama2c", m.format());
        assertEquals("llama", m.architecture());
        assertEquals(file.toAbsolutePath().toString(), m.source());
        assertEquals(c, LlamaConfig.fromMetadata(m));
        assertEquals(Integer.toString(version), m.metadata().get(Llama2cFormat.VERSION_KEY));
        assertEquals(w.keySet(), m.tensors().keySet());
        for (Map.Entry<String, float[]> e : w.entrySet()) {
            Tensor t = m.tensor(e.getKey());
            assertArrayEquals(TinyLlama.shape(c, e.getKey()), t.shape(), e.getKey());
            boolean quantized = version == 2 && t.rank() == 2;
            float[] expected = quantized ? Llama2cFiles.q80RoundTrip(e.getValue(), GROUP) : e.getValue();
            assertArrayEquals(expected, t.floats(), 0f, e.getKey());
            long stored = quantized ? t.numel() + t.numel() / GROUP * 4 : t.numel() * 4;
            assertEquals(stored, StoredSizes.of(m, t), e.getKey());
        }
        if (version == 2) {
            assertEquals("8", m.metadata().get(Llama2cFormat.GROUP_SIZE_KEY));
            assertTrue(StoredSizes.formatOf(m, m.tensor("model.layers.0.mlp.up_proj.weight")).startsWith("Q8_0"));
            assertEquals("F32", StoredSizes.formatOf(m, m.tensor("model.norm.weight")));
        } else {
            // float32 files run exactly like the same weights built in memory
            int[] tokens = {1, 7, 3, 30, 12};
            assertArrayEquals(LlamaModel.from(TinyLlama.model(c, w)).logits(tokens), LlamaModel.from(m).logits(tokens),
                    0f);
        }
    }

    @Test
    void int8TensorsStayQuantizedAndRunInPlaceLikeTheHeapCopy() throws Exception {
        LlamaConfig c = config(false);
        Map<String, float[]> w = TinyLlama.randomWeights(c, 23);
        Model m = format.read(write("v2.bin", Llama2cFiles.version2(c, w, GROUP)));
        Tensor up = m.tensor("model.layers.0.mlp.up_proj.weight");
        // Kept as stored (codes + one float32 scale per group), not expanded to float32.
        assertEquals(dev.squeeze.engine.model.DType.I8_GROUPS, up.dtype());
        assertEquals(up.numel() + up.numel() / GROUP * 4, up.bytes().remaining());
        // Any range decodes to what export.py's quantize_q80 round trip gives (groups cut in the middle too).
        float[] expected = Llama2cFiles.q80RoundTrip(w.get("model.layers.0.mlp.up_proj.weight"), GROUP);
        float[] part = new float[13];
        up.decode(5, part, 0, 13);
        assertArrayEquals(Arrays.copyOfRange(expected, 5, 18), part);
        // The forward pass reading rows in place from the mapping equals the one on a heap copy, bit for bit.
        int[] tokens = {1, 7, 3, 30, 2};
        float[] inPlace = LlamaModel.from(m, LlamaConfig.fromMetadata(m), false).logits(tokens);
        float[] copied = LlamaModel.from(m, LlamaConfig.fromMetadata(m), true).logits(tokens);
        assertArrayEquals(copied, inPlace);
    }

    /**
     * Regression (issue #9): a 7B int8 file crashed {@code inspect} with OutOfMemoryError because the reader
     * dequantized every tensor into the heap. A sparse int8 file whose float32 expansion (≈ 430 MB) is far above
     * the heap of a child JVM (64 MB) is listed by the CLI there.
     */
    @Test
    void inspectListsAnInt8ModelLargerThanTheHeap() throws Exception {
        int dim = 1024;
        int hidden = 2816;
        int layers = 6;
        int vocab = 32000;
        int group = 64;
        ByteBuffer h = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(Llama2cFormat.MAGIC).putInt(2).putInt(dim).putInt(hidden).putInt(layers).putInt(16).putInt(16)
                .putInt(vocab).putInt(256).put((byte) 1).putInt(group);
        long q8 = (long) dim * dim * 4 + (long) hidden * dim * 3;
        // Header, float32 norms, then int8 codes + a float32 scale per group: the embedding and 7 matrices a layer.
        long size = 256 + 4L * (2L * layers * dim + dim) + (vocab * (long) dim + vocab * (long) dim / group * 4)
                + layers * (q8 + q8 / group * 4);
        Path file = dir.resolve("big-int8.bin");
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.SPARSE)) {
            ch.write(h.flip());
            ch.write(ByteBuffer.wrap(new byte[]{0}), size - 1);
        }
        long params = (long) vocab * dim + layers * (q8 + 2L * dim) + dim;
        assertTrue(params * 4 > 6 * (64L << 20), "the float32 expansion must dwarf the child's heap");
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(javaBin, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                dev.squeeze.engine.cli.SqueezeCli.class.getName(), "--db", dir.resolve("db").toString(),
                "inspect", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertFalse(out.contains("OutOfMemoryError") || out.contains("\tat "), out);
        assertTrue(out.contains("model.layers.5.mlp.down_proj"), out);
        assertTrue(out.contains(String.format(java.util.Locale.ROOT, "%,d", params)), "parameter count " + params
                + " in:\n" + out);
    }

    @Test
    void truncatedFileNamesTheTensorAndOffsets() throws Exception {
        LlamaConfig c = config(false);
        byte[] bytes = Llama2cFiles.legacy(c, TinyLlama.randomWeights(c, 1));
        Path file = write("cut.bin", Arrays.copyOf(bytes, bytes.length - 100));
        SqueezeException e = assertThrows(SqueezeException.class, () -> format.read(file));
        String msg = e.getMessage();
        assertTrue(msg.contains("Truncated") && msg.contains(file.toAbsolutePath().toString())
                && msg.contains("implies " + bytes.length + " bytes") && msg.contains("lm_head.weight")
                && msg.contains("ends at offset " + (bytes.length - 100)), msg);
        // A size that matches neither layout is not recognised as a legacy checkpoint.
        assertFalse(format.recognizes(Arrays.copyOf(bytes, 64), bytes.length - 100));
    }

    @Test
    void extraBytesAreAHeaderFileSizeMismatch() throws Exception {
        LlamaConfig c = config(true);
        byte[] bytes = Llama2cFiles.version2(c, TinyLlama.randomWeights(c, 1), GROUP);
        Path file = write("long.bin", Arrays.copyOf(bytes, bytes.length + 12));
        String msg = assertThrows(SqueezeException.class, () -> format.read(file)).getMessage();
        assertTrue(msg.contains("implies " + bytes.length) && msg.contains("12 extra bytes after offset "
                + bytes.length) && msg.contains("long.bin"), msg);
    }

    @Test
    void badMagicVersionFlagAndGroupSizeNameTheirOffsets() throws Exception {
        LlamaConfig c = config(true);
        byte[] good = Llama2cFiles.version2(c, TinyLlama.randomWeights(c, 1), GROUP);
        assertError(patchInt(good, 4, 3), "at offset 4 the version is 3, expected 1 (float32) or 2");
        byte[] flag = good.clone();
        flag[36] = 7;
        assertError(flag, "at offset 36 the shared-classifier flag is 7");
        assertError(patchInt(good, 37, 0), "at offset 37 the quantization group size is 0");
        assertError(patchInt(good, 37, 5), "not a multiple of the group size 5");
        assertError(patchInt(good, 8 + 12, 5), "n_heads=5");
        assertError(Arrays.copyOf(good, 100), "shorter than the 256-byte header");
        // Neither magic nor a plausible legacy header.
        byte[] text = "this is a text file, not a model at all........".getBytes();
        assertFalse(format.recognizes(text, text.length));
        assertError(text, "starts neither with the ak42 magic 0x616b3432 nor with a legacy header");
        assertError(new byte[10], "shorter than the 28-byte legacy header");
    }

    private void assertError(byte[] bytes, String expected) throws Exception {
        Path file = write("bad" + expected.hashCode() + ".bin", bytes);
        String msg = assertThrows(SqueezeException.class, () -> format.read(file)).getMessage();
        assertTrue(msg.contains(expected) && msg.contains(file.toAbsolutePath().toString()), msg);
    }

    private static byte[] patchInt(byte[] bytes, int offset, int value) {
        byte[] out = bytes.clone();
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return out;
    }

    /** Truncations and bit flips at many positions give a clean error or a model that runs, nothing else. */
    @ParameterizedTest
    @CsvSource({"0,false", "2,true"})
    void truncatedAndBitFlippedFilesFailCleanly(int version, boolean tied) throws Exception {
        LlamaConfig c = config(tied);
        byte[] bytes = image(version, c, TinyLlama.randomWeights(c, 5));
        Random rng = new Random(version * 7L + 1);
        int clean = 0;
        int valid = 0;
        for (int cut = 0; cut < bytes.length; cut += Math.max(1, bytes.length / 300)) {
            if (openCleanly(Arrays.copyOf(bytes, cut))) {
                valid++;
            } else {
                clean++;
            }
        }
        for (int i = 0; i < 400; i++) {
            byte[] flipped = bytes.clone();
            // Half the flips land in the header, where every field matters.
            int pos = i % 2 == 0 ? rng.nextInt(Math.min(64, bytes.length)) : rng.nextInt(bytes.length);
            flipped[pos] ^= (byte) (1 << rng.nextInt(8));
            if (openCleanly(flipped)) {
                valid++;
            } else {
                clean++;
            }
        }
        assertTrue(clean > 250, "most damaged files must be rejected, were " + clean);
        assertTrue(valid > 50, "flips inside tensor data still give a valid model, were " + valid);
    }

    /** The same on the real files: the legacy stories260K.bin and the third-party ak42 version 2 file. */
    @ParameterizedTest
    @CsvSource({"models/stories260K/stories260K.bin", "models/stories260K/stories260K_q8.bin"})
    void damagedSharedCheckpointsFailCleanly(String relative) throws Exception {
        byte[] bytes = Files.readAllBytes(SharedData.require(relative));
        Random rng = new Random(relative.length());
        int clean = 0;
        for (int i = 0; i < 40; i++) {
            clean += openCleanly(Arrays.copyOf(bytes, rng.nextInt(bytes.length))) ? 0 : 1;
        }
        assertEquals(40, clean, "every truncation is an error");
        int valid = 0;
        for (int i = 0; i < 120; i++) {
            byte[] flipped = bytes.clone();
            int pos = i % 2 == 0 ? rng.nextInt(64) : rng.nextInt(bytes.length);
            flipped[pos] ^= (byte) (1 << rng.nextInt(8));
            valid += openCleanly(flipped) ? 1 : 0;
        }
        assertTrue(valid > 30 && valid < 120, "flips in the data give models, flips in the header errors: " + valid);
    }

    private boolean openCleanly(byte[] bytes) throws Exception {
        Path file = dir.resolve("fuzz.bin");
        Files.deleteIfExists(file); // a new file, so no earlier mapping sees it change
        Files.write(file, bytes);
        try {
            Model m = format.read(file);
            m.tensors().values().forEach(Tensor::floats);
            LlamaModel.from(m).logits(new int[]{1, 2, 3});
            return true;
        } catch (SqueezeException expected) {
            assertTrue(expected.getMessage().contains(file.toAbsolutePath().toString()), expected.getMessage());
            return false;
        } catch (RuntimeException e) {
            fail("damaged file gave " + e + " instead of a SqueezeException", e);
            return false;
        }
    }

    private Path write(String name, byte[] bytes) throws Exception {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        return file;
    }
}
