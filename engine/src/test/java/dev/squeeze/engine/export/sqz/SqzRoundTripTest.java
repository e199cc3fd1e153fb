package dev.squeeze.engine.export.sqz;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.QuantizedMatrix;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.gptq.GptqTensor;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankTensor;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.SparseTensor;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.compress.spqr.SpqrTensor;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.LinearOp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every compressed tensor kind survives a bundle bit for bit; damaged bundles are refused with the section named. */
class SqzRoundTripTest {
    static final int ROWS = 32;
    static final int COLS = 64;

    @TempDir
    Path dir;

    /** Every method and stored form the engine has, one layer each. */
    static Map<String, MethodSettings> allKinds() {
        Map<String, MethodSettings> s = new LinkedHashMap<>();
        s.put("rtn_asym_g16", new RtnSettings(4, 16, false));
        s.put("rtn_sym_row3", new RtnSettings(3, 0, true));
        s.put("rtn_8", RtnSettings.perRow(8));
        s.put("gptq_g16", GptqSettings.of(4, 16));
        s.put("gptq_actorder_dynamic", GptqSettings.reference(4, 16, false, true, false));
        s.put("gptq_sym_static_act", GptqSettings.reference(3, 16, true, true, true));
        s.put("gptq_row2", GptqSettings.of(2, 0));
        s.put("spqr", SpqrSettings.recommended(3));
        s.put("spqr_ref", SpqrSettings.recommended(4).withReferencePrecision(true));
        s.put("magnitude_unstructured", MagnitudeSettings.of(Sparsity.unstructured(0.5)));
        s.put("magnitude_rows_fp32", new MagnitudeSettings(Sparsity.rows(0.25), 32));
        s.put("magnitude_channels", MagnitudeSettings.of(Sparsity.channels(0.25)));
        s.put("sparsegpt_24", SparseGptSettings.of(Sparsity.nOfM(2, 4)));
        s.put("sparsegpt_3of8_q4", SparseGptSettings.quantized(Sparsity.nOfM(3, 8), 4));
        s.put("sparsegpt_unstructured_q3", SparseGptSettings.quantized(Sparsity.unstructured(0.6), 3));
        s.put("lowrank_fp16", LowRankSettings.of(LowRankVariant.SVD, 6));
        s.put("lowrank_q", LowRankSettings.of(LowRankVariant.ACTIVATION, 6)
                .withQuantization(new RtnSettings(4, 0, false), new RtnSettings(8, 16, true)));
        return s;
    }

    static float[] weights(Random rnd, int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (rnd.nextGaussian() * 0.1 + (i % 97 == 0 ? 2.5 : 0)); // a few large outliers
        }
        return w;
    }

    static float[] hessian(Random rnd, int cols) {
        int n = 4 * cols;
        float[] x = weights(rnd, n * cols);
        float[] h = new float[cols * cols];
        for (int s = 0; s < n; s++) {
            for (int i = 0; i < cols; i++) {
                for (int j = 0; j < cols; j++) {
                    h[i * cols + j] += 2f * x[s * cols + i] * x[s * cols + j] / n;
                }
            }
        }
        return h;
    }

    /** A small "mlp"-shaped model: one weight + bias per layer, a norm vector in fp16, and its compressed layers. */
    static CompressedModel model(Map<String, MethodSettings> settings, long seed) {
        Random rnd = new Random(seed);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, CompressedTensor> compressed = new LinkedHashMap<>();
        float[] h = hessian(rnd, COLS);
        for (Map.Entry<String, MethodSettings> e : settings.entrySet()) {
            float[] w = weights(rnd, ROWS * COLS);
            tensors.put(e.getKey() + ".weight", Tensor.of(e.getKey() + ".weight", w, ROWS, COLS));
            tensors.put(e.getKey() + ".bias", Tensor.of(e.getKey() + ".bias", weights(rnd, ROWS), ROWS));
            compressed.put(e.getKey(), Methods.compress(new LayerInput(e.getKey(), w, ROWS, COLS, h), e.getValue()));
        }
        float[] norm = weights(rnd, COLS);
        tensors.put("norm", new Tensor("norm", DType.F16, new long[]{COLS}, ByteBuffer.wrap(DType.F16.encode(norm))));
        Model base = new Model("kinds", "/nowhere/kinds.safetensors", "safetensors", "mlp", "ab".repeat(32), tensors,
                Map.of("squeeze.note", "test"));
        return new CompressedModel(base, compressed, settings, "every kind", 7L);
    }

    /** The stored form of each kind, compared array by array (and the values and the linear they compute). */
    static void assertSame(CompressedTensor expected, CompressedTensor actual) {
        assertEquals(expected.getClass(), actual.getClass());
        assertEquals(expected.rows(), actual.rows());
        assertEquals(expected.cols(), actual.cols());
        assertEquals(expected.storedBits(), actual.storedBits());
        assertEquals(expected.describe(), actual.describe());
        assertArrayEquals(expected.dequantize(), actual.dequantize());
        switch (expected) {
            case QuantizedMatrix q -> {
                var a = q.parts();
                var b = ((QuantizedMatrix) actual).parts();
                assertEquals(a.settings(), b.settings());
                assertArrayEquals(a.codes(), b.codes());
                assertArrayEquals(a.scales(), b.scales());
                assertArrayEquals(a.zeros(), b.zeros());
            }
            case GptqTensor g -> {
                var a = g.parts();
                var b = ((GptqTensor) actual).parts();
                assertEquals(a.settings(), b.settings());
                assertArrayEquals(a.codes(), b.codes());
                assertArrayEquals(a.scales(), b.scales());
                assertArrayEquals(a.zeros(), b.zeros());
                assertArrayEquals(a.gIdx(), b.gIdx());
                assertArrayEquals(a.perm(), b.perm());
            }
            case SpqrTensor s -> {
                var a = s.parts();
                var b = ((SpqrTensor) actual).parts();
                assertEquals(a.settings(), b.settings());
                assertArrayEquals(a.perm(), b.perm());
                assertArrayEquals(a.codes(), b.codes());
                assertArrayEquals(a.scaleCodes(), b.scaleCodes());
                assertArrayEquals(a.zeroCodes(), b.zeroCodes());
                assertArrayEquals(a.secondLevel(), b.secondLevel());
                assertArrayEquals(a.rowPointers(), b.rowPointers());
                assertArrayEquals(a.outlierColumns(), b.outlierColumns());
                assertArrayEquals(a.outlierValues(), b.outlierValues());
                assertEquals(a.outlierThreshold(), b.outlierThreshold());
            }
            case SparseTensor s -> {
                var a = s.parts();
                var b = ((SparseTensor) actual).parts();
                assertEquals(a.layout(), b.layout());
                assertEquals(a.indexWidth(), b.indexWidth());
                assertEquals(a.indexCount(), b.indexCount());
                assertArrayEquals(a.indexWords(), b.indexWords());
                assertEquals(a.valueKind(), b.valueKind());
                assertArrayEquals(a.half(), b.half());
                assertArrayEquals(a.single(), b.single());
                assertArrayEquals(a.codes(), b.codes());
                assertArrayEquals(a.scales(), b.scales());
                assertArrayEquals(a.zeros(), b.zeros());
            }
            case LowRankTensor l -> {
                var a = l.parts();
                var b = ((LowRankTensor) actual).parts();
                assertEquals(a.rank(), b.rank());
                assertArrayEquals(l.a(), ((LowRankTensor) actual).a());
                assertArrayEquals(l.b(), ((LowRankTensor) actual).b());
                assertEquals(a.quantA() == null, b.quantA() == null);
                assertEquals(a.quantB() == null, b.quantB() == null);
            }
            default -> throw new AssertionError(expected.getClass());
        }
        Random rnd = new Random(3);
        float[] x = weights(rnd, 2 * expected.cols());
        LinearOp ea = expected.asLinearOp();
        LinearOp ab = actual.asLinearOp();
        float[] ya = new float[2 * expected.rows()];
        float[] yb = new float[2 * expected.rows()];
        ea.forward(x, 2, ya);
        ab.forward(x, 2, yb);
        assertArrayEquals(ya, yb);
    }

    @Test
    void everyCompressedKindRoundTripsExactly() {
        Map<String, MethodSettings> settings = allKinds();
        CompressedModel cm = model(settings, 1);
        Path file = dir.resolve("kinds.sqz");
        ExportReport report = Sqz.write(new SqzContents(cm, null, List.of(), List.of(), Map.of()), file);
        assertEquals(Files.exists(file) ? file.toAbsolutePath() : null, report.path());
        assertEquals(settings.size(), report.notes().size());
        SqzBundle b = Sqz.read(file);
        assertEquals(List.copyOf(settings.keySet()), b.compressedLayers());
        for (String layer : settings.keySet()) {
            assertEquals(settings.get(layer), b.settings(layer), layer);
            assertSame(cm.compressed().get(layer), b.layer(layer));
        }
        // The uncompressed tensors come back at their stored dtype, byte for byte.
        Model view = b.model();
        assertEquals(DType.F16, view.tensor("norm").dtype());
        assertEquals(cm.base().tensor("norm").bytes(), view.tensor("norm").bytes());
        assertEquals(cm.base().tensor("rtn_8.bias").bytes(), view.tensor("rtn_8.bias").bytes());
        assertEquals("kinds", b.base().name());
        assertEquals("ab".repeat(32), b.base().contentHash());
        assertEquals("test", b.base().metadata().get("squeeze.note"));
        assertTrue(b.run().isEmpty());
        assertEquals(7L, b.runId().orElseThrow());
    }

    @Test
    void codesArePackedAtTheirWidthNotOnePerByte() {
        // 4-bit GPTQ, symmetric, fp16 scales: the layer section holds rows·cols/2 code bytes + 2 bytes per scale.
        Map<String, MethodSettings> settings = Map.of("q", GptqSettings.of(4, 16).withSymmetric(true));
        CompressedModel cm = model(settings, 2);
        Path file = dir.resolve("packed.sqz");
        Sqz.write(new SqzContents(cm, null, List.of(), List.of(), Map.of()), file);
        SqzBundle b = Sqz.read(file);
        var entry = b.layerEntries().get("q");
        long codes = ROWS * COLS / 2;
        long scales = 2L * ROWS * (COLS / 16);
        // codes: tag, width, count; fp16 scales: tag, count; zeros (implied), g_idx (implied), perm (identity): a tag each
        long arrayHeaders = (1 + 1 + 8) + (1 + 8) + 3;
        assertEquals(codes + scales + arrayHeaders, entry.payload().byteSize());
        long expectedBits = cm.compressed().get("q").storedBits();
        assertEquals(expectedBits, 8 * (codes + scales));
    }

    @Test
    void theBundleOpensAsAModelWithTheCompressedLayersAndTheirPackedSizes() {
        Map<String, MethodSettings> settings = Map.of("g", GptqSettings.of(4, 16));
        CompressedModel cm = model(settings, 4);
        Path file = dir.resolve("view.sqz");
        Sqz.write(new SqzContents(cm, null, List.of(), List.of(), Map.of()), file);
        Model m = ModelFormats.open(file);
        assertEquals("sqz", m.format());
        assertEquals("mlp", m.architecture());
        assertEquals("view", m.name());
        assertArrayEquals(cm.compressed().get("g").dequantize(), m.tensor("g.weight").floats());
        long packed = Math.ceilDiv(cm.compressed().get("g").storedBits(), 8);
        var layer = m.layers().stream().filter(l -> l.name().equals("g")).findFirst().orElseThrow();
        assertEquals(packed + ROWS * 4, layer.storedBytes()); // packed weight + its float32 bias
        assertEquals(dev.squeeze.engine.util.Hashing.sha256(readAll(file)), m.contentHash());
    }

    private static byte[] readAll(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void anUnknownTensorKindIsRefusedBeforeAnythingIsWritten() {
        CompressedModel good = model(Map.of("a", RtnSettings.perRow(4)), 5);
        CompressedTensor alien = new CompressedTensor() {
            public int rows() {
                return ROWS;
            }

            public int cols() {
                return COLS;
            }

            public long storedBits() {
                return 1;
            }

            public float[] dequantize() {
                return new float[ROWS * COLS];
            }

            public LinearOp asLinearOp() {
                throw new UnsupportedOperationException();
            }

            public String describe() {
                return "alien";
            }
        };
        CompressedModel cm = new CompressedModel(good.base(), Map.of("a", alien), good.settings(), "x", null);
        Path file = dir.resolve("alien.sqz");
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> Sqz.write(new SqzContents(cm, null, List.of(), List.of(), Map.of()), file));
        assertTrue(e.getMessage().contains("layer a") && e.getMessage().contains("no .sqz encoding"), e.getMessage());
        assertFalse(Files.exists(file));
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count(), "no temporary file left behind");
        } catch (IOException x) {
            throw new AssertionError(x);
        }
    }

    @Test
    void damageIsFoundAndNamed() throws IOException {
        CompressedModel cm = model(Map.of("a", GptqSettings.of(4, 16), "b", SpqrSettings.recommended(3)), 6);
        Path file = dir.resolve("ok.sqz");
        Sqz.write(new SqzContents(cm, null, List.of(), List.of(), Map.of()), file);
        byte[] good = Files.readAllBytes(file);

        // A flipped byte inside a layer section: its CRC32C names it.
        String manifest = new String(good, java.nio.charset.StandardCharsets.UTF_8);
        int nameAt = manifest.indexOf("\"name\":\"layer/b\"");
        int offAt = manifest.indexOf("\"offset\":", nameAt) + 9;
        long offset = Long.parseLong(manifest.substring(offAt, manifest.indexOf(',', offAt)));
        byte[] flipped = good.clone();
        flipped[(int) offset + 3] ^= 0x10;
        assertDamaged(flipped, "section 'layer/b' fails its CRC32C check");

        // Truncated: the footer is gone.
        assertDamaged(java.util.Arrays.copyOf(good, good.length - 10), "footer magic");
        // Too short to be anything.
        assertDamaged(java.util.Arrays.copyOf(good, 20), "fewer than a header and a footer");
        // Another major version.
        byte[] v2 = good.clone();
        v2[8] = 2;
        SqueezeException e = assertThrows(SqueezeException.class, () -> Sqz.read(write("v2.sqz", v2)));
        assertTrue(e.getMessage().contains("format version 2") && e.getMessage().contains("update Squeeze"),
                e.getMessage());
        // A changed manifest byte fails the manifest's checksum.
        byte[] m = good.clone();
        ByteBuffer foot = ByteBuffer.wrap(good, good.length - 32, 32).order(ByteOrder.LITTLE_ENDIAN);
        long mOff = foot.getLong();
        m[(int) mOff + 5] ^= 1;
        assertDamaged(m, "manifest's CRC32C");
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    private void assertDamaged(byte[] bytes, String expected) throws IOException {
        Path p = write("damaged.sqz", bytes);
        SqueezeException e = assertThrows(SqueezeException.class, () -> Sqz.read(p));
        assertTrue(e.getMessage().contains("Damaged .sqz bundle") && e.getMessage().contains(expected),
                e.getMessage());
        assertTrue(e.fix() != null && e.fix().contains("export"), e.getMessage());
    }

    @Test
    void squeezeInspectOpensABundleAndRefusesADamagedOneWithoutAStackTrace() throws IOException {
        CompressedModel cm = model(Map.of("fc", GptqSettings.of(4, 16)), 9);
        Path file = dir.resolve("cli.sqz");
        Sqz.write(new SqzContents(cm, null, List.of(), List.of(), Map.of()), file);
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        int code = dev.squeeze.engine.cli.SqueezeCli.execute(new String[]{"inspect", file.toString()},
                new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
        assertEquals(0, code, err.toString());
        assertTrue(out.toString().contains("fc") && out.toString().contains("sqz"), out.toString());

        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x55;
        Path bad = write("bad.sqz", bytes);
        out = new java.io.StringWriter();
        err = new java.io.StringWriter();
        code = dev.squeeze.engine.cli.SqueezeCli.execute(new String[]{"inspect", bad.toString()},
                new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
        assertEquals(dev.squeeze.engine.cli.SqueezeCli.EXIT_INPUT, code);
        assertTrue(err.toString().contains("Damaged .sqz bundle") && err.toString().contains("Fix:"), err.toString());
        assertFalse(err.toString().contains("\tat "), err.toString());
    }

    @Test
    void int8GroupTensorsOfALlama2cModelStayInTheirStoredForm() {
        Path q8 = dev.squeeze.engine.testing.SharedData.require("models/stories260K/stories260K_q8.bin");
        Model base = ModelFormats.open(q8);
        String layer = "model.layers.0.mlp.down_proj";
        Tensor w = base.tensor(layer + ".weight");
        RtnSettings rtn = new RtnSettings(4, 32, true);
        CompressedTensor t = Methods.compress(new LayerInput(layer, w.floats(), (int) w.dim(0), (int) w.dim(1), null), rtn);
        CompressedModel cm = new CompressedModel(base, Map.of(layer, t), Map.of(layer, rtn), "q8 + rtn", null);
        Path file = dir.resolve("q8.sqz");
        Sqz.write(SqzContents.of(cm, null, List.of(), List.of()), file);
        Model view = Sqz.read(file).model();
        int int8 = 0;
        for (Tensor bt : base.tensors().values()) {
            Tensor vt = view.tensor(bt.name());
            if (bt.name().equals(layer + ".weight")) {
                assertArrayEquals(t.dequantize(), vt.floats());
                continue;
            }
            assertEquals(bt.dtype(), vt.dtype(), bt.name());
            assertEquals(bt.groupSize(), vt.groupSize(), bt.name());
            assertEquals(bt.bytes(), vt.bytes(), bt.name());
            int8 += bt.dtype() == DType.I8_GROUPS ? 1 : 0;
        }
        assertTrue(int8 > 0, "the q8 checkpoint has int8-group tensors");
        assertEquals(base.storedBytes() - storedSizeOf(base, layer) + Math.ceilDiv(t.storedBits(), 8), view.storedBytes());
    }

    private static long storedSizeOf(Model m, String layer) {
        return dev.squeeze.engine.model.StoredSizes.of(m, m.tensor(layer + ".weight"));
    }

    @Test
    void aLargeBundleIsReadInPlaceFromTheMappedFile() {
        CompressedModel small = model(Map.of("a", GptqSettings.of(4, 16)), 11);
        Map<String, Tensor> tensors = new LinkedHashMap<>(small.base().tensors());
        float[] big = new float[5_000_000]; // 20 MB: above the size read into the heap
        for (int i = 0; i < big.length; i++) {
            big[i] = i * 0.25f;
        }
        tensors.put("embed.weight", Tensor.of("embed.weight", big, 5000, 1000));
        Model base = new Model("big", "/nowhere/big.safetensors", "safetensors", "mlp", "cd".repeat(32), tensors, Map.of());
        CompressedModel cm = new CompressedModel(base, small.compressed(), small.settings(), "big", null);
        Path file = dir.resolve("big.sqz");
        Sqz.write(new SqzContents(cm, null, List.of(), List.of(), Map.of()), file);
        SqzBundle b = Sqz.read(file);
        assertTrue(b.model().tensor("embed.weight").bytes().isDirect(), "a mapped file's tensor is not copied to the heap");
        assertArrayEquals(big, b.model().tensor("embed.weight").floats());
        assertSame(small.compressed().get("a"), b.layer("a"));
    }

    @Test
    void anOnnxGraphIsRefusedWithTheFormatThatHoldsIt() {
        Model onnx = ModelFormats.open(dev.squeeze.engine.testing.SharedData.require("models/mnist-7/mnist-7.onnx"));
        Path file = dir.resolve("mnist.sqz");
        SqueezeException e = assertThrows(SqueezeException.class, () -> Sqz.write(new SqzContents(
                CompressedModel.dense(onnx), null, List.of(), List.of(), Map.of()), file));
        assertTrue(e.getMessage().contains("ONNX") && e.fix().contains("--format onnx"), e.getMessage());
        assertFalse(Files.exists(file));
    }

    @Test
    void aBundleWithoutARunHasNothingToBeEvaluatedAgainst() {
        CompressedModel cm = model(Map.of("a", RtnSettings.perRow(4)), 10);
        Path file = dir.resolve("norun.sqz");
        Sqz.write(new SqzContents(cm, null, List.of(), List.of(), Map.of()), file);
        SqueezeException e = assertThrows(SqueezeException.class, () -> Sqz.evaluate(Sqz.read(file)));
        assertTrue(e.getMessage().contains("carries no run"), e.getMessage());
    }

    @Test
    void symmetricZeroPointsAreImpliedByTheWidthAndComeBack() {
        // Symmetric zero points (maxq+1)/2 are not stored; the reader gives them back.
        CompressedModel cm = model(Map.of("a", new RtnSettings(4, 0, true)), 8);
        Path file = dir.resolve("sym.sqz");
        Sqz.write(new SqzContents(cm, null, List.of(), List.of(), Map.of()), file);
        QuantizedMatrix q = (QuantizedMatrix) Sqz.read(file).layer("a");
        for (float z : q.zeros()) {
            assertEquals(8f, z);
        }
    }
}
