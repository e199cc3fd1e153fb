package dev.squeeze.engine.model;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.safetensors.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class SafetensorsFormatTest {
    @TempDir
    Path dir;

    /** Values exactly representable in f16 and bf16, so every type must give them back bit for bit. */
    private static final float[] EXACT = {0f, 1f, -2.25f, 0.5f, 1024f, -0.125f};

    private static Tensor typed(String name, DType type, float[] values, long... shape) {
        return new Tensor(name, type, shape, ByteBuffer.wrap(type.encode(values)));
    }

    @Test
    void writesAndReadsEveryTypeWithMetadata() {
        Path file = dir.resolve("m.safetensors");
        SafetensorsWriter.write(file, List.of(
                typed("a.weight", DType.F32, EXACT, 2, 3),
                typed("b.weight", DType.F16, EXACT, 3, 2),
                typed("c.bias", DType.BF16, EXACT, 6)), Map.of("squeeze.architecture", "mlp", "note", "x"));
        Model m = ModelFormats.open(file);
        assertEquals("safetensors", m.format());
        assertEquals("mlp", m.architecture());
        assertEquals("x", m.metadata().get("note"));
        assertEquals(List.of("a.weight", "b.weight", "c.bias"), List.copyOf(m.tensors().keySet()));
        for (Tensor t : m.tensors().values()) {
            assertArrayEquals(EXACT, t.floats(), 0f, t.name());
        }
        assertArrayEquals(new long[]{3, 2}, m.tensor("b.weight").shape());
        assertEquals(DType.F16, m.tensor("b.weight").dtype());
        assertEquals(18, m.parameterCount());
        assertEquals(6 * 4 + 6 * 2 + 6 * 2, m.storedBytes());
        assertEquals(64, m.contentHash().length());
        // Layers: rank-2 ".weight" tensors; the separate bias "c.bias" belongs to no "c.weight".
        assertEquals(List.of("a", "b"), m.layers().stream().map(LayerInfo::name).toList());
    }

    @Test
    void layerInventoryCountsTheBias() {
        Path file = dir.resolve("l.safetensors");
        SafetensorsWriter.write(file, List.of(Tensor.of("fc.weight", new float[12], 3, 4),
                Tensor.of("fc.bias", new float[3], 3)), Map.of());
        LayerInfo l = ModelFormats.open(file).layers().getFirst();
        assertEquals(new LayerInfo("fc", LayerRole.LINEAR, new long[]{3, 4}, 15, 60), l);
        assertEquals("3 × 4", l.shapeText());
    }

    @Test
    void shapeThatDisagreesWithTheByteRangeNamesTheTensor() throws Exception {
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}";
        Path file = raw(header, 24);
        SqueezeException e = assertThrows(SqueezeException.class, () -> ModelFormats.open(file));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("needs 24"), e.getMessage());
        assertTrue(e.getMessage().contains(file.getFileName().toString()), e.getMessage());
    }

    @Test
    void unsupportedTypeIsNamed() throws Exception {
        Path file = raw("{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8);
        SqueezeException e = assertThrows(SqueezeException.class, () -> ModelFormats.open(file));
        assertTrue(e.getMessage().contains("I64") && e.getMessage().contains("'w'"), e.getMessage());
    }

    @Test
    void unknownFormatAndMissingFileAreClearErrors() throws Exception {
        Path junk = dir.resolve("junk.bin");
        Files.write(junk, "hello, this is not a model".getBytes());
        assertTrue(assertThrows(SqueezeException.class, () -> ModelFormats.open(junk)).getMessage()
                .contains("Unrecognised model file"));
        assertTrue(assertThrows(SqueezeException.class, () -> ModelFormats.open(dir.resolve("none.safetensors")))
                .getMessage().contains("not found"));
    }

    /**
     * A file over 2 GiB (sparse, so it costs no disk) maps whole: the tensor after the 2 GiB mark reads back. A
     * ByteBuffer mapping could not even address it.
     */
    @Test
    void filesLargerThan2GiBOpenWithoutCopying() throws Exception {
        long gib = 1L << 30;
        String header = "{\"pad0\":{\"dtype\":\"F32\",\"shape\":[" + gib / 4 + "],\"data_offsets\":[0," + gib + "]},"
                + "\"pad1\":{\"dtype\":\"F16\",\"shape\":[" + gib / 2 + "],\"data_offsets\":[" + gib + "," + 2 * gib
                + "]},\"tail\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[" + 2 * gib + "," + (2 * gib + 12)
                + "]}}";
        Path file = sparse("large.safetensors", header, 2 * gib + 12);
        try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(raf.length() - 12);
            byte[] tail = DType.F32.encode(new float[]{1.5f, -2f, 3.25f});
            raf.write(tail);
        }
        Model m = ModelFormats.open(file);
        assertArrayEquals(new float[]{1.5f, -2f, 3.25f}, m.tensor("tail").floats(), 0f);
        assertEquals(gib / 2, m.tensor("pad1").numel());
        assertEquals(0f, m.tensor("pad1").bytes().getShort((int) (gib - 2)));
    }

    @Test
    void aSingleTensorOf2GiBIsRefusedWithAReason() throws Exception {
        long size = 1L << 31;
        String header = "{\"embed.weight\":{\"dtype\":\"F16\",\"shape\":[" + (size / 2 / 1024) + ",1024],"
                + "\"data_offsets\":[0," + size + "]}}";
        Path file = sparse("huge.safetensors", header, size);
        SqueezeException e = assertThrows(SqueezeException.class, () -> ModelFormats.open(file));
        assertTrue(e.getMessage().contains("'embed.weight'") && e.getMessage().contains("2 GiB")
                && e.getMessage().contains("huge.safetensors"), e.getMessage());
    }

    private Path sparse(String name, String header, long dataBytes) throws Exception {
        byte[] h = header.getBytes();
        Path file = dir.resolve(name);
        try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            raf.write(h);
            raf.setLength(8 + h.length + dataBytes);
        }
        return file;
    }

    /** Truncations and bit flips at many positions give a clean error or a valid model, never anything else. */
    @Test
    void truncatedAndBitFlippedFilesFailCleanly() throws Exception {
        Path good = dir.resolve("good.safetensors");
        Random rng = new Random(7);
        float[] values = new float[4 * 5];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rng.nextGaussian();
        }
        SafetensorsWriter.write(good, List.of(Tensor.of("x.weight", values, 4, 5), Tensor.of("x.bias", EXACT, 6)),
                Map.of("squeeze.architecture", "mlp"));
        byte[] bytes = Files.readAllBytes(good);
        Path bad = dir.resolve("bad.safetensors");
        int clean = 0;
        int valid = 0;
        for (int cut = 0; cut < bytes.length; cut += 3) {
            Files.write(bad, java.util.Arrays.copyOf(bytes, cut));
            if (openCleanly(bad)) {
                valid++;
            } else {
                clean++;
            }
        }
        for (int i = 0; i < 400; i++) {
            byte[] flipped = bytes.clone();
            int pos = rng.nextInt(flipped.length);
            flipped[pos] ^= (byte) (1 << rng.nextInt(8));
            Files.write(bad, flipped);
            if (openCleanly(bad)) {
                valid++;
            } else {
                clean++;
            }
        }
        assertTrue(clean > 100, "most damaged files must be rejected, were " + clean);
        assertTrue(valid > 0, "flips inside tensor data still give a valid model");
    }

    private static boolean openCleanly(Path file) {
        try {
            Model m = ModelFormats.open(file);
            m.tensors().values().forEach(Tensor::floats);
            m.layers();
            return true;
        } catch (SqueezeException expected) {
            assertTrue(expected.getMessage().contains(file.getFileName().toString()), expected.getMessage());
            return false;
        } catch (RuntimeException e) {
            fail("damaged file gave " + e + " instead of a SqueezeException");
            return false;
        }
    }

    private Path raw(String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes();
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path file = dir.resolve("raw" + header.hashCode() + ".safetensors");
        Files.write(file, b.array());
        return file;
    }
}
