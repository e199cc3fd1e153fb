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
                typed("c.bias", DType.BF16, EXACT, 6)),
                Map.of("squeeze.architecture", "mlp", "squeeze.mlp.layers", "a,b", "note", "x"));
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
        SafetensorsWriter.write(good, List.of(Tensor.of("x.weight", values, 4, 5),
                Tensor.of("x.bias", java.util.Arrays.copyOf(EXACT, 4), 4)),
                Map.of("squeeze.architecture", "mlp", "squeeze.mlp.layers", "x"));
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
            if (m.architecture().equals("mlp")) {
                // A file that opens as an MLP must also build and run as one.
                var net = dev.squeeze.engine.nn.MlpClassifier.dense(m);
                net.logits(new float[net.inputSize()], 1);
            }
            return true;
        } catch (SqueezeException expected) {
            assertTrue(expected.getMessage().contains(file.getFileName().toString()), expected.getMessage());
            return false;
        } catch (RuntimeException e) {
            fail("damaged file gave " + e + " instead of a SqueezeException");
            return false;
        }
    }

    /**
     * A file that says it is a Squeeze MLP is checked against its own description when it is opened: every way the
     * metadata and the tensors can disagree (each once reached the network's constructors or Float.parseFloat and
     * ended as an internal error) is a SqueezeException naming the file and the key or tensor at fault.
     */
    @Test
    void anMlpWhoseMetadataDisagreesWithItsTensorsIsRefusedWhenOpened() throws Exception {
        // l1: 4 × 6, l2: 2 × 4, biases of 4 and 2.
        Tensor w1 = Tensor.of("l1.weight", new float[24], 4, 6);
        Tensor b1 = Tensor.of("l1.bias", new float[4], 4);
        Tensor w2 = Tensor.of("l2.weight", new float[8], 2, 4);
        Map<String, String> good = Map.of("squeeze.architecture", "mlp", "squeeze.mlp.layers", "l1,l2",
                "squeeze.input.scale", "0.5", "squeeze.classes", "yes,no");
        Model ok = ModelFormats.open(mlp("ok", List.of(w1, b1, w2), good));
        assertEquals(List.of("yes", "no"), dev.squeeze.engine.nn.MlpClassifier.dense(ok).classNames());

        record Case(String name, List<Tensor> tensors, Map<String, String> change, String mustName) {
        }
        List<Case> cases = List.of(
                new Case("scale-text", List.of(w1, b1, w2), Map.of("squeeze.input.scale", "0.5sq"), "squeeze.input.scale"),
                new Case("scale-nan", List.of(w1, b1, w2), Map.of("squeeze.input.scale", "NaN"), "squeeze.input.scale"),
                new Case("scale-inf", List.of(w1, b1, w2), Map.of("squeeze.input.scale", "1e60"), "squeeze.input.scale"),
                new Case("bias-length", List.of(w1, Tensor.of("l1.bias", new float[6], 6), w2), Map.of(), "l1.bias"),
                new Case("bias-rank", List.of(w1, Tensor.of("l1.bias", new float[4], 2, 2), w2), Map.of(), "l1.bias"),
                new Case("chain", List.of(w1, b1, Tensor.of("l2.weight", new float[10], 2, 5)), Map.of(), "l2.weight"),
                new Case("missing", List.of(w1, b1, w2), Map.of("squeeze.mlp.layers", "l1,l2,l3"), "l3.weight"),
                new Case("rank", List.of(w1, b1, Tensor.of("l2.weight", new float[8], 8)), Map.of(), "l2.weight"),
                new Case("empty", List.of(w1, b1, Tensor.of("l2.weight", new float[0], 0, 4)), Map.of(), "l2.weight"),
                new Case("blank-name", List.of(w1, b1, w2), Map.of("squeeze.mlp.layers", "l1,,l2"), "squeeze.mlp.layers"),
                new Case("twice", List.of(w1, b1, w2), Map.of("squeeze.mlp.layers", "l1,l1"), "squeeze.mlp.layers"),
                new Case("classes", List.of(w1, b1, w2), Map.of("squeeze.classes", "a,b,c"), "squeeze.classes"),
                new Case("no-layers", List.of(w1, b1, w2), Map.of("squeeze.mlp.layers", " "), "squeeze.mlp.layers"));
        for (Case c : cases) {
            Map<String, String> meta = new java.util.HashMap<>(good);
            meta.putAll(c.change());
            Path file = mlp(c.name(), c.tensors(), meta);
            SqueezeException e = assertThrows(SqueezeException.class, () -> ModelFormats.open(file), c.name());
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(c.mustName()),
                    c.name() + ": " + e.getMessage());
        }
    }

    /**
     * What a tensor takes in a safetensors file is its byte range, whatever the metadata claims: a stored-size
     * entry (copied from a llama2.c int8 model, or damaged) once made {@code inspect} print negative sizes.
     */
    @Test
    void storedSizeClaimsInTheMetadataAreIgnored() {
        Path file = dir.resolve("claims.safetensors");
        SafetensorsWriter.write(file, List.of(typed("a.weight", DType.F16, EXACT, 2, 3)),
                Map.of(StoredSizes.KEY_PREFIX + "a.weight", "-5", StoredSizes.FORMAT_PREFIX + "a.weight", "Q8_0"));
        Model m = ModelFormats.open(file);
        // 6 F16 values.
        assertEquals(12, m.storedBytes());
        assertEquals(12, m.layers().getFirst().storedBytes());
        assertEquals("F16", StoredSizes.formatOf(m, m.tensor("a.weight")));
    }

    private Path mlp(String name, List<Tensor> tensors, Map<String, String> meta) {
        Path file = dir.resolve(name + ".safetensors");
        SafetensorsWriter.write(file, tensors, meta);
        return file;
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
