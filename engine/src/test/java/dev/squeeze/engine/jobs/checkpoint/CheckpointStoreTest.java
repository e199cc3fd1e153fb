package dev.squeeze.engine.jobs.checkpoint;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.CompressionMethod;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.store.RunRecord.LayerResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class CheckpointStoreTest {
    private static final int ROWS = 32;
    private static final int COLS = 64;
    private static final String KEY = "job-7f3a";
    private static final LayerInput LAYER = layer("blk.3.mlp.up", ROWS, COLS, 200, 11);

    @TempDir
    Path tmp;

    /** Every method, several settings each, including the combinations (sparse + quantized, quantized factors). */
    static List<MethodSettings> settings() {
        RtnSettings rtn4 = RtnSettings.perRow(4);
        return List.of(
                RtnSettings.perRow(4), new RtnSettings(4, 16, false), new RtnSettings(3, 16, true),
                new RtnSettings(2, 32, false), new RtnSettings(8, 0, true),
                GptqSettings.of(4, 16), GptqSettings.of(4, 0), GptqSettings.of(3, 32).withSymmetric(true),
                GptqSettings.of(4, 16).withActOrder(true), GptqSettings.of(4, 16).withActOrder(true).withStaticGroups(true),
                GptqSettings.reference(2, 16, false, true, false),
                GptqSettings.of(8, 0).withScalePrecision(GptqSettings.ScalePrecision.FP32),
                SpqrSettings.recommended(3), SpqrSettings.recommended(4).withReferencePrecision(true),
                new SpqrSettings(2, 16, 3, 3, 16, Double.POSITIVE_INFINITY, 1.0, false, 128, false),
                SparseGptSettings.of(Sparsity.unstructured(0.5)), SparseGptSettings.of(Sparsity.nOfM(2, 4)),
                SparseGptSettings.of(Sparsity.nOfM(2, 4)).withBits(32),
                SparseGptSettings.quantized(Sparsity.unstructured(0.6), 4),
                SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 3),
                new SparseGptSettings(Sparsity.unstructured(0.5), 4, 16, 0.01, 128, SparseGptSettings.Mode.DEFAULT),
                SparseGptSettings.of(Sparsity.nOfM(1, 4)).withMode(SparseGptSettings.Mode.REFERENCE),
                MagnitudeSettings.of(Sparsity.unstructured(0.5)), MagnitudeSettings.of(Sparsity.nOfM(2, 4)),
                MagnitudeSettings.of(Sparsity.nOfM(3, 7)), new MagnitudeSettings(Sparsity.rows(0.25), 32),
                MagnitudeSettings.of(Sparsity.channels(0.3)),
                LowRankSettings.of(LowRankVariant.SVD, 8), LowRankSettings.of(LowRankVariant.ACTIVATION, 5),
                LowRankSettings.of(LowRankVariant.WHITENED, 8), LowRankSettings.of(LowRankVariant.LORD, 4),
                LowRankSettings.of(LowRankVariant.SVD, 8).withQuantization(rtn4, new RtnSettings(4, 16, true)),
                LowRankSettings.of(LowRankVariant.LORD, 6).withQuantization(null, new RtnSettings(3, 32, false)));
    }

    static Stream<Arguments> cases() {
        List<MethodSettings> all = settings();
        return java.util.stream.IntStream.range(0, all.size()).mapToObj(i -> Arguments.of(i, all.get(i)));
    }

    @Test
    void theCasesCoverEveryRegisteredMethod() {
        Set<String> covered = settings().stream().map(MethodSettings::method).collect(Collectors.toCollection(TreeSet::new));
        Set<String> registered = Methods.all().stream().map(CompressionMethod::name)
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(registered, covered, "add round-trip cases for new methods");
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("cases")
    void roundTripIsBitIdentical(int index, MethodSettings settings) throws IOException {
        CompressedTensor original = Methods.compress(LAYER, settings);
        LayerResult result = new LayerResult(LAYER.layer(), settings.method(), settings.describe(),
                original.storedBits(), original.bitsPerWeight(), index % 3 == 0 ? null : 0.125 * index + 1e-7,
                1000L + index);
        CheckpointStore store = new CheckpointStore(tmp.resolve("job"), KEY);
        store.save(index, LAYER.layer(), original, result);

        CheckpointStore.Loaded loaded = new CheckpointStore(tmp.resolve("job"), KEY).load(index, LAYER.layer());
        CheckpointStore.Loaded.Present present = assertInstanceOf(CheckpointStore.Loaded.Present.class, loaded,
                loaded.toString());
        CompressedTensor restored = present.tensor();
        assertNotSame(original, restored);
        assertEquals(original.getClass(), restored.getClass());
        assertEquals(result, present.result());
        assertEquals(original.rows(), restored.rows());
        assertEquals(original.cols(), restored.cols());
        assertEquals(original.storedBits(), restored.storedBits());
        assertEquals(Double.doubleToRawLongBits(original.bitsPerWeight()),
                Double.doubleToRawLongBits(restored.bitsPerWeight()));
        assertEquals(original.describe(), restored.describe());
        assertBitIdentical(original.dequantize(), restored.dequantize(), "dequantize");

        LinearOp a = original.asLinearOp();
        LinearOp b = restored.asLinearOp();
        assertEquals(a.describe(), b.describe());
        int batch = 3;
        float[] x = gaussian(new Random(99 + index), batch * COLS);
        float[] ya = new float[batch * ROWS];
        float[] yb = new float[batch * ROWS];
        a.forward(x, batch, ya);
        b.forward(x, batch, yb);
        assertBitIdentical(ya, yb, "forward");

        // The settings serialize too (a job spec may carry them), and come back equal.
        assertEquals(settings, javaRoundTrip(settings));
        // Nothing but the final file is left in the folder.
        try (Stream<Path> files = Files.list(tmp.resolve("job"))) {
            assertEquals(List.of(String.format("%05d.ckpt", index)),
                    files.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void missingLayerIsMissing() {
        CheckpointStore store = new CheckpointStore(tmp.resolve("never"), KEY);
        assertInstanceOf(CheckpointStore.Loaded.Missing.class, store.load(0, "a"));
        store.save(0, "a", Methods.compress(LAYER, RtnSettings.perRow(4)), result("a"));
        assertInstanceOf(CheckpointStore.Loaded.Missing.class, store.load(1, "b"));
    }

    @Test
    void everyFlippedByteIsDamaged() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp.resolve("job"), KEY);
        LayerInput small = layer("fc", 8, 16, 40, 5);
        store.save(2, "fc", Methods.compress(small, new RtnSettings(4, 8, false)), result("fc"));
        Path file = store.dir().resolve("00002.ckpt");
        byte[] good = Files.readAllBytes(file);
        assertTrue(good.length < 4000, good.length + " bytes");
        for (int pos = 0; pos < good.length; pos++) {
            for (int mask : new int[] {0x01, 0x80, 0xff}) {
                byte[] bad = good.clone();
                bad[pos] ^= (byte) mask;
                // Through the file for a sample of positions, in memory (the same parser) for the rest.
                if (pos % 61 == 0) {
                    Files.write(file, bad);
                    assertDamaged(store.load(2, "fc"), file, "byte " + pos + " ^ " + mask);
                } else {
                    assertDamaged(store.parse(file, bad, 2, "fc"), file, "byte " + pos + " ^ " + mask);
                }
            }
        }
        Files.write(file, good);
        assertInstanceOf(CheckpointStore.Loaded.Present.class, store.load(2, "fc"));
    }

    @Test
    void everyTruncationIsDamaged() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp.resolve("job"), KEY);
        store.save(0, "fc", Methods.compress(layer("fc", 8, 16, 40, 5), RtnSettings.perRow(3)), result("fc"));
        Path file = store.dir().resolve("00000.ckpt");
        byte[] good = Files.readAllBytes(file);
        for (int len = 0; len < good.length; len++) {
            if (len % 61 == 0) {
                Files.write(file, Arrays.copyOf(good, len));
                assertDamaged(store.load(0, "fc"), file, "truncated to " + len);
            } else {
                assertDamaged(store.parse(file, Arrays.copyOf(good, len), 0, "fc"), file, "truncated to " + len);
            }
        }
        // A longer file (something appended) is no better.
        Files.write(file, Arrays.copyOf(good, good.length + 1));
        assertDamaged(store.load(0, "fc"), file, "one byte appended");
    }

    @Test
    void largerFileFlippedAndTruncatedAtAStride() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp.resolve("job"), KEY);
        LayerInput big = layer("big", 128, 128, 300, 8);
        store.save(1, "big", Methods.compress(big, GptqSettings.of(4, 32).withActOrder(true)), result("big"));
        Path file = store.dir().resolve("00001.ckpt");
        byte[] good = Files.readAllBytes(file);
        for (int pos = 0; pos < good.length; pos += 97) {
            byte[] bad = good.clone();
            bad[pos] ^= 0x10;
            Files.write(file, bad);
            assertDamaged(store.load(1, "big"), file, "byte " + pos);
            Files.write(file, Arrays.copyOf(good, pos));
            assertDamaged(store.load(1, "big"), file, "truncated to " + pos);
        }
    }

    /**
     * The parser behind the checksum: damage the body and write a fresh, valid checksum, as a forger (or a bug)
     * could. Every such file must load as Damaged or Present, never throw, never hang.
     */
    @Test
    void damagedBodyWithValidChecksumNeverThrows() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp.resolve("job"), KEY);
        store.save(0, "fc", Methods.compress(layer("fc", 8, 16, 40, 5),
                SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 4)), result("fc"));
        Path file = store.dir().resolve("00000.ckpt");
        byte[] good = Files.readAllBytes(file);
        int body = good.length - 32;
        int damaged = 0;
        for (int pos = 0; pos < body; pos++) {
            for (int mask : new int[] {0x01, 0x40, 0xff}) {
                byte[] bad = Arrays.copyOf(good, body);
                bad[pos] ^= (byte) mask;
                CheckpointStore.Loaded l = store.parse(file, withChecksum(bad), 0, "fc");
                if (l instanceof CheckpointStore.Loaded.Damaged d) {
                    damaged++;
                    assertTrue(d.reason().contains(file.toString()) && !d.reason().contains("\n"), d.reason());
                }
            }
        }
        // Most of the body is structure (header, class descriptors, lengths): most flips must be caught.
        assertTrue(damaged > body, damaged + " of " + 3 * body + " re-checksummed flips caught");
        for (int len = 0; len < body; len++) {
            assertDamaged(store.parse(file, withChecksum(Arrays.copyOf(good, len)), 0, "fc"), file,
                    "re-checksummed truncation to " + len);
        }
    }

    @Test
    void anotherJobsCheckpointIsDamaged() {
        Path dir = tmp.resolve("job");
        new CheckpointStore(dir, KEY).save(0, "fc", Methods.compress(LAYER, RtnSettings.perRow(4)), result("fc"));
        CheckpointStore.Loaded l = new CheckpointStore(dir, "other-job").load(0, "fc");
        assertDamaged(l, dir.resolve("00000.ckpt"), "wrong key");
        assertTrue(((CheckpointStore.Loaded.Damaged) l).reason().contains("another job"));
    }

    @Test
    void wrongIndexOrLayerIsDamaged() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp.resolve("job"), KEY);
        store.save(0, "fc1", Methods.compress(LAYER, RtnSettings.perRow(4)), result("fc1"));
        assertDamaged(store.load(0, "fc2"), store.dir().resolve("00000.ckpt"), "wrong layer");
        Files.copy(store.dir().resolve("00000.ckpt"), store.dir().resolve("00001.ckpt"));
        assertDamaged(store.load(1, "fc1"), store.dir().resolve("00001.ckpt"), "wrong index");
        assertInstanceOf(CheckpointStore.Loaded.Present.class, store.load(0, "fc1"));
    }

    /** The documented format, written here independently of the store: a valid tensor in it loads. */
    @Test
    void independentlyWrittenFileLoads() throws IOException {
        CompressedTensor t = Methods.compress(LAYER, GptqSettings.of(4, 16));
        LayerResult r = new LayerResult("fc", "gptq", "x", 7, Double.NaN, null, 3);
        CheckpointStore store = new CheckpointStore(tmp.resolve("job"), KEY);
        Files.createDirectories(store.dir());
        Files.write(store.dir().resolve("00004.ckpt"), forge(KEY, 4, "fc", serialize(t), r));
        var present = assertInstanceOf(CheckpointStore.Loaded.Present.class, store.load(4, "fc"));
        assertEquals(r, present.result());
        assertBitIdentical(t.dequantize(), present.tensor().dequantize(), "dequantize");
    }

    @Test
    void disallowedClassesAreDamagedEvenWithAValidChecksum() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp.resolve("job"), KEY);
        Files.createDirectories(store.dir());
        Path file = store.dir().resolve("00000.ckpt");
        HashMap<String, java.net.URL> map = new HashMap<>();
        map.put("u", URI.create("http://example.invalid/").toURL());
        List<Serializable> payloads = List.of(map, URI.create("http://example.invalid/").toURL(),
                new ArrayList<>(List.of(1, 2)), new Object[] {1}, Integer.valueOf(3),
                // Allowed classes that are not a tensor, and a bare string (strings are never class-checked).
                RtnSettings.perRow(4), "not a tensor");
        for (Serializable p : payloads) {
            Files.write(file, forge(KEY, 0, "fc", serialize(p), result("fc")));
            CheckpointStore.Loaded l = store.load(0, "fc");
            assertDamaged(l, file, p.getClass().getName());
        }
        // A tensor smuggled inside an allowed-looking wrapper of a disallowed class is still rejected.
        HashMap<String, Object> wrapper = new HashMap<>();
        wrapper.put("t", Methods.compress(LAYER, RtnSettings.perRow(4)));
        Files.write(file, forge(KEY, 0, "fc", serialize(wrapper), result("fc")));
        String reason = ((CheckpointStore.Loaded.Damaged) store.load(0, "fc")).reason();
        assertTrue(reason.contains("java.util.HashMap is not allowed"), reason);
    }

    @Test
    void unwritableFolderIsAClearErrorAndLeavesNoTempFile() throws IOException {
        Path blocker = tmp.resolve("jobs");
        Files.writeString(blocker, "a regular file where the folder should be");
        CheckpointStore store = new CheckpointStore(blocker.resolve("job-1"), KEY);
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> store.save(0, "fc", Methods.compress(LAYER, RtnSettings.perRow(4)), result("fc")));
        assertTrue(e.getMessage().contains(store.dir().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("SQUEEZE_HOME"), e.getMessage());
        assertTrue(e.getMessage().contains("fc"), e.getMessage());
        try (Stream<Path> all = Files.walk(tmp)) {
            assertEquals(List.of(tmp, blocker), all.sorted().toList());
        }
        // deleteAll never removes what is not a checkpoint folder.
        new CheckpointStore(blocker, KEY).deleteAll();
        assertTrue(Files.isRegularFile(blocker));
    }

    @Test
    void staleTempFromAKilledSaveIsIgnoredAndCleanedUp() throws IOException {
        CheckpointStore store = new CheckpointStore(tmp.resolve("job"), KEY);
        Files.createDirectories(store.dir());
        Path stale = store.dir().resolve(".00000.ckpt123456.part");
        Files.write(stale, new byte[] {1, 2, 3});
        assertInstanceOf(CheckpointStore.Loaded.Missing.class, store.load(0, "fc"));
        store.save(0, "fc", Methods.compress(LAYER, RtnSettings.perRow(4)), result("fc"));
        assertFalse(Files.exists(stale));
        assertInstanceOf(CheckpointStore.Loaded.Present.class, store.load(0, "fc"));
    }

    @Test
    void saveReplacesAnEarlierCheckpoint() {
        CheckpointStore store = new CheckpointStore(tmp.resolve("job"), KEY);
        store.save(0, "fc", Methods.compress(LAYER, RtnSettings.perRow(4)), result("fc"));
        CompressedTensor second = Methods.compress(LAYER, RtnSettings.perRow(8));
        store.save(0, "fc", second, result("fc"));
        var present = assertInstanceOf(CheckpointStore.Loaded.Present.class, store.load(0, "fc"));
        assertEquals(second.describe(), present.tensor().describe());
    }

    @Test
    void deleteAllRemovesTheFolder() {
        CheckpointStore store = new CheckpointStore(tmp.resolve("job"), KEY);
        store.deleteAll(); // nothing saved yet: nothing to do
        for (int i = 0; i < 3; i++) {
            store.save(i, "l" + i, Methods.compress(LAYER, RtnSettings.perRow(4)), result("l" + i));
        }
        assertTrue(Files.isDirectory(store.dir()));
        store.deleteAll();
        assertFalse(Files.exists(store.dir()));
        assertTrue(Files.isDirectory(tmp), "only the job's folder goes");
        assertInstanceOf(CheckpointStore.Loaded.Missing.class, store.load(0, "l0"));
    }

    // ---- helpers ----

    private static void assertDamaged(CheckpointStore.Loaded l, Path file, String what) {
        if (!(l instanceof CheckpointStore.Loaded.Damaged d)) {
            fail(what + ": expected Damaged, got " + l);
            return;
        }
        assertTrue(d.reason().contains(file.toString()), what + ": " + d.reason());
        assertFalse(d.reason().contains("\n"), what + ": " + d.reason());
    }

    private static void assertBitIdentical(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(what + " differs at " + i + ": " + expected[i] + " vs " + actual[i]);
            }
        }
    }

    private static LayerResult result(String layer) {
        return new LayerResult(layer, "rtn", "RTN", 123, 4.5, 0.25, 17);
    }

    /** The format as CheckpointStore's javadoc documents it. */
    private static byte[] forge(String key, int index, String layer, byte[] tensor, LayerResult r) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write("SQCKPT01".getBytes(StandardCharsets.US_ASCII));
        out.writeInt(1);
        str(out, key);
        out.writeInt(index);
        str(out, layer);
        out.writeInt(tensor.length);
        out.write(tensor);
        str(out, r.layer());
        str(out, r.method());
        str(out, r.settings());
        out.writeLong(r.storedBits());
        out.writeLong(Double.doubleToRawLongBits(r.bitsPerWeight()));
        out.writeBoolean(r.reconError() != null);
        out.writeLong(r.reconError() == null ? 0 : Double.doubleToRawLongBits(r.reconError()));
        out.writeLong(r.millis());
        return withChecksum(bytes.toByteArray());
    }

    private static void str(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static byte[] withChecksum(byte[] body) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(body);
            byte[] out = Arrays.copyOf(body, body.length + digest.length);
            System.arraycopy(digest, 0, out, body.length, digest.length);
            return out;
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] serialize(Object o) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream oos = new ObjectOutputStream(bytes)) {
            oos.writeObject(o);
        }
        return bytes.toByteArray();
    }

    private static Object javaRoundTrip(Object o) throws IOException {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(serialize(o)))) {
            return in.readObject();
        } catch (ClassNotFoundException e) {
            throw new AssertionError(e);
        }
    }

    private static float[] gaussian(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return v;
    }

    /** Gaussian weights, and a Hessian from correlated Gaussian inputs (so GPTQ and friends have work to do). */
    private static LayerInput layer(String name, int rows, int cols, int tokens, long seed) {
        Random rnd = new Random(seed);
        float[] w = gaussian(rnd, rows * cols);
        // A few large weights so that SpQR finds outliers.
        for (int i = 0; i < w.length; i += 97) {
            w[i] *= 12;
        }
        float[] x = new float[tokens * cols];
        for (int t = 0; t < tokens; t++) {
            float prev = 0f;
            for (int c = 0; c < cols; c++) {
                float v = (float) (0.5 * prev + rnd.nextGaussian() * (1 + (c % 5)));
                x[t * cols + c] = v;
                prev = v;
            }
        }
        HessianAccumulator acc = new HessianAccumulator(cols);
        acc.addBatch(x, tokens, 1);
        return new LayerInput(name, w, rows, cols, acc.hessian());
    }
}
