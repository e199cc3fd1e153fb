package dev.squeeze.engine.model.onnx;

import com.google.protobuf.ByteString;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.GraphProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ModelProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;
import dev.squeeze.engine.model.safetensors.SafetensorsWriter;
import dev.squeeze.engine.nn.onnx.OnnxClassifier;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.squeeze.engine.model.onnx.OnnxTestModels.floatValue;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.gaussian;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.intAttr;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.intsAttr;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.model;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.node;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.raw;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.typed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class OnnxModelTest {
    @TempDir
    Path dir;

    private final OnnxFormat format = new OnnxFormat();
    private static final float[] ONE_IMAGE = new float[784];

    static {
        for (int i = 0; i < ONE_IMAGE.length; i++) {
            ONE_IMAGE[i] = (i * 37) % 256;
        }
    }

    /**
     * mnist-7 (shared/README.md): Conv-Add-Relu-MaxPool twice, then MatMul-Add; 5,994 float weights. The layer
     * shapes follow from that architecture on 28 × 28 inputs: 8 and 16 5 × 5 filters, 16 × 4 × 4 = 256 features
     * into 10 classes.
     */
    @Test
    void mnist7GivesItsWeightsAndThreeLayers() throws Exception {
        Path file = SharedData.require("models/mnist-7/mnist-7.onnx");
        byte[] head = head(file);
        assertTrue(format.recognizes(head, Files.size(file)));
        assertFalse(new SafetensorsFormat().recognizes(head, Files.size(file)));
        OnnxModel onnx = OnnxModel.read(file);
        Model m = onnx.model();
        assertEquals("onnx", m.format());
        assertEquals("onnx", m.architecture());
        assertEquals("mnist-7", m.name());
        assertEquals(5994, m.parameterCount());
        assertEquals(5994 * 4, m.storedBytes());
        assertEquals("Input3 FLOAT [1,1,28,28]", m.metadata().get("onnx.inputs"));
        assertEquals("Plus214_Output_0 FLOAT [1,10]", m.metadata().get("onnx.outputs"));
        assertEquals(64, m.contentHash().length());

        List<LayerInfo> layers = onnx.layers();
        assertEquals(List.of(LayerRole.CONV, LayerRole.CONV, LayerRole.LINEAR),
                layers.stream().map(LayerInfo::role).toList());
        assertArrayEquals(new long[]{8, 1, 5, 5}, layers.get(0).shape());
        assertArrayEquals(new long[]{16, 8, 5, 5}, layers.get(1).shape());
        assertArrayEquals(new long[]{10, 256}, layers.get(2).shape());
        assertEquals(List.of(8L * 25 + 8, 16L * 8 * 25 + 16, 256L * 10 + 10),
                layers.stream().map(LayerInfo::parameters).toList());
        // Every weight belongs to a layer: the biases are found behind the Add nodes.
        assertEquals(5994, layers.stream().mapToLong(LayerInfo::parameters).sum());
        for (OnnxLayer l : onnx.onnxLayers()) {
            assertEquals(l.weight(), l.info().name());
            assertTrue(m.tensors().containsKey(l.weight()) && l.bias() != null && m.tensors().containsKey(l.bias()),
                    l.toString());
        }
        OnnxLayer fc = onnx.onnxLayers().get(2);
        assertEquals("MatMul", fc.opType());
        assertTrue(fc.transposed());
        // Stored as CNTK wrote it (16 × 4 × 4 × 10) and reshaped to 256 × 10 in the graph: in × out bytes.
        assertEquals(2560, m.tensor(fc.weight()).numel());
        assertEquals(10, m.tensor(fc.weight()).dim(m.tensor(fc.weight()).rank() - 1));
        // Through the ModelFormat interface too.
        assertEquals(m.tensors().keySet(), format.read(file).tensors().keySet());
    }

    @Test
    void rawDataAndFloatDataDecodeToTheSameValuesAndGemmOrientationIsHonoured() {
        Random rng = new Random(3);
        float[] w = gaussian(rng, 12);
        float[] b = gaussian(rng, 3);
        OnnxModel fromRaw = parse(OnnxTestModels.gemm(null, w, b, 3, 4, true), "raw.onnx");
        OnnxModel fromTyped = parse(OnnxTestModels.gemm(null, w, b, 3, 4, false), "typed.onnx");
        for (OnnxModel m : List.of(fromRaw, fromTyped)) {
            assertArrayEquals(w, m.model().tensor("fc.weight").floats(), 0f);
            assertArrayEquals(b, m.model().tensor("fc.bias").floats(), 0f);
            assertEquals(List.of(new LayerInfo("fc.weight", LayerRole.LINEAR, new long[]{3, 4}, 15, 60)), m.layers());
            assertFalse(m.onnxLayers().getFirst().transposed());
            assertEquals("fc.bias", m.onnxLayers().getFirst().bias());
        }
        // transB = 0: B is stored in × out, so the inventory shows the transpose.
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("Gemm", "g", new String[]{"x", "B"}, "y", intAttr("transB", 0)))
                .addInitializer(raw("B", w, 4, 3))
                .addInput(floatValue("x", 1, 4)).addOutput(floatValue("y", 1, 3)).build();
        OnnxModel t = parse(model(g), "t.onnx");
        assertArrayEquals(new long[]{3, 4}, t.layers().getFirst().shape());
        assertTrue(t.onnxLayers().getFirst().transposed());
        assertNull(t.onnxLayers().getFirst().bias());
    }

    @Test
    void float16WeightsAreReadFromRawDataAndFromInt32Data() {
        float[] values = {1f, -2.5f, 0.125f, 1024f};
        byte[] f16 = dev.squeeze.engine.model.DType.F16.encode(values);
        TensorProto rawT = TensorProto.newBuilder().setName("w").setDataType(10).addDims(2).addDims(2)
                .setRawData(ByteString.copyFrom(f16)).build();
        ByteBuffer bits = ByteBuffer.wrap(f16).order(ByteOrder.LITTLE_ENDIAN);
        TensorProto.Builder typedT = TensorProto.newBuilder().setName("w").setDataType(10).addDims(2).addDims(2);
        for (int i = 0; i < 4; i++) {
            typedT.addInt32Data(bits.getShort(2 * i) & 0xffff);
        }
        for (TensorProto t : List.of(rawT, typedT.build())) {
            GraphProto g = GraphProto.newBuilder().addNode(node("MatMul", "mm", new String[]{"x", "w"}, "y"))
                    .addInitializer(t).addInput(floatValue("x", 1, 2)).addOutput(floatValue("y", 1, 2)).build();
            Tensor w = parse(model(g), "f16.onnx").model().tensor("w");
            assertEquals(dev.squeeze.engine.model.DType.F16, w.dtype());
            assertArrayEquals(values, w.floats(), 0f);
        }
    }

    @Test
    void convWithItsOwnBiasAndIntegerConstantsAreKeptApart() {
        Random rng = new Random(5);
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("Conv", "c", new String[]{"x", "k", "kb"}, "h"))
                .addNode(node("Reshape", "r", new String[]{"h", "shape"}, "y"))
                .addInitializer(raw("k", gaussian(rng, 2 * 3 * 3 * 3), 2, 3, 3, 3))
                .addInitializer(typed("kb", gaussian(rng, 2), 2))
                .addInitializer(TensorProto.newBuilder().setName("shape").setDataType(7).addDims(2)
                        .addInt64Data(1).addInt64Data(-1))
                .addInput(floatValue("x", 1, 3, 5, 5)).addOutput(floatValue("y", 1, 18)).build();
        OnnxModel m = parse(model(g), "conv.onnx");
        assertEquals(List.of("k", "kb"), List.copyOf(m.model().tensors().keySet()));
        assertEquals(new LayerInfo("k", LayerRole.CONV, new long[]{2, 3, 3, 3}, 56, 224), m.layers().getFirst());
        assertEquals("kb", m.onnxLayers().getFirst().bias());
    }

    /** Weights seen through Transpose, Flatten and Reshape (with its 0 and -1) are still found, rightly oriented. */
    @Test
    void weightsBehindViewNodesAreFound() {
        Random rng = new Random(8);
        GraphProto g = GraphProto.newBuilder()
                // A: W stored out × in (3 × 4), transposed to in × out for the MatMul.
                .addNode(node("Transpose", "t", new String[]{"A"}, "At", intsAttr("perm", 1, 0)))
                .addNode(node("MatMul", "mmA", new String[]{"x", "At"}, "h1"))
                // B: 2 × 2 × 3 flattened (axis 1) to 2 × 6: in 2, out 6.
                .addNode(node("Flatten", "f", new String[]{"B"}, "Bf"))
                .addNode(node("MatMul", "mmB", new String[]{"h1x", "Bf"}, "h2"))
                // C: 6 × 1 × 5 reshaped with [0, -1] to 6 × 5: in 6, out 5.
                .addNode(node("Reshape", "r", new String[]{"C", "shapeC"}, "Cr"))
                .addNode(node("MatMul", "mmC", new String[]{"h2", "Cr"}, "y"))
                .addInitializer(raw("A", gaussian(rng, 12), 3, 4))
                .addInitializer(raw("B", gaussian(rng, 12), 2, 2, 3))
                .addInitializer(raw("C", gaussian(rng, 30), 6, 1, 5))
                .addInitializer(TensorProto.newBuilder().setName("shapeC").setDataType(7).addDims(2)
                        .addInt64Data(0).addInt64Data(-1))
                .addInput(floatValue("x", 1, 4)).addInput(floatValue("h1x", 1, 2))
                .addOutput(floatValue("y", 1, 5)).build();
        OnnxModel m = parse(model(g), "views.onnx");
        List<OnnxLayer> layers = m.onnxLayers();
        assertEquals(List.of("A", "B", "C"), layers.stream().map(OnnxLayer::weight).toList());
        assertArrayEquals(new long[]{3, 4}, layers.get(0).info().shape());
        assertFalse(layers.get(0).transposed());
        assertArrayEquals(m.model().tensor("A").floats(), m.logicalWeight(layers.get(0)), 0f);
        assertArrayEquals(new long[]{6, 2}, layers.get(1).info().shape());
        assertTrue(layers.get(1).transposed());
        assertArrayEquals(new long[]{5, 6}, layers.get(2).info().shape());
        assertTrue(layers.get(2).transposed());
    }

    @Test
    void recognisesOnnxButNotSafetensorsLlama2cOrText() throws Exception {
        byte[] onnx = OnnxTestModels.gemm(1L, new float[4], new float[1], 1, 4, true).toByteArray();
        assertTrue(format.recognizes(Arrays.copyOf(onnx, 64), onnx.length));

        // A safetensors file whose 8-byte header length starts with the byte 0x08 (264 = 0x108).
        Path st = dir.resolve("x.safetensors");
        String pad = "x".repeat(200);
        SafetensorsWriter.write(st, List.of(Tensor.of("w", new float[]{1f}, 1)), Map.of("pad", pad));
        byte[] stBytes = Files.readAllBytes(st);
        ByteBuffer header = ByteBuffer.wrap(stBytes).order(ByteOrder.LITTLE_ENDIAN);
        assertFalse(format.recognizes(Arrays.copyOf(stBytes, 64), stBytes.length),
                "safetensors header length " + header.getLong(0));
        byte[] forged = stBytes.clone();
        ByteBuffer.wrap(forged).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 264);
        assertFalse(format.recognizes(Arrays.copyOf(forged, 64), forged.length));

        // llama2.c headers: 7 little-endian int32 (dim, hidden, layers, heads, kv heads, vocab, seq).
        for (int dim : new int[]{8, 264, 288}) {
            ByteBuffer l2c = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            l2c.putInt(dim).putInt(172).putInt(5).putInt(8).putInt(4).putInt(512).putInt(512);
            assertFalse(format.recognizes(l2c.array(), 1 << 20), "llama2.c dim " + dim);
        }
        assertFalse(format.recognizes("hello, world".getBytes(), 12));
        assertFalse(format.recognizes(new byte[]{8}, 1));
    }

    @Test
    void notOnnxAndNoGraphAreClearErrors() throws Exception {
        Path text = dir.resolve("notes.onnx");
        Files.writeString(text, "this is a text file, not a model\n");
        SqueezeException e = assertThrows(SqueezeException.class, () -> OnnxModel.read(text));
        assertTrue(e.getMessage().contains("notes.onnx") && e.getMessage().contains("not a valid ONNX"),
                e.getMessage());

        Path noGraph = dir.resolve("nograph.onnx");
        Files.write(noGraph, ModelProto.newBuilder().setIrVersion(7).setProducerName("x").build().toByteArray());
        e = assertThrows(SqueezeException.class, () -> OnnxModel.read(noGraph));
        assertTrue(e.getMessage().contains("nograph.onnx") && e.getMessage().contains("no graph"), e.getMessage());

        Path missing = dir.resolve("missing.onnx");
        e = assertThrows(SqueezeException.class, () -> OnnxModel.read(missing));
        assertTrue(e.getMessage().contains("missing.onnx"), e.getMessage());
    }

    @Test
    void rawDataThatDisagreesWithTheDimsNamesTheTensor() throws Exception {
        TensorProto shortRaw = raw("fc.weight", new float[11], 3, 4);
        SqueezeException e = assertThrows(SqueezeException.class, () -> readBack(withWeight(shortRaw), "short.onnx"));
        assertTrue(e.getMessage().contains("'fc.weight'") && e.getMessage().contains("44 bytes")
                && e.getMessage().contains("need 48") && e.getMessage().contains("short.onnx"), e.getMessage());

        TensorProto fewFloats = typed("fc.weight", new float[13], 3, 4);
        e = assertThrows(SqueezeException.class, () -> readBack(withWeight(fewFloats), "typed.onnx"));
        assertTrue(e.getMessage().contains("'fc.weight'") && e.getMessage().contains("13 values in float_data"),
                e.getMessage());

        TensorProto negative = raw("fc.weight", new float[12], 3, -4);
        e = assertThrows(SqueezeException.class, () -> readBack(withWeight(negative), "neg.onnx"));
        assertTrue(e.getMessage().contains("'fc.weight'") && e.getMessage().contains("-4"), e.getMessage());
    }

    /**
     * Dims whose element count fits a long but whose byte count does not: [2^31, 2^31] of FLOAT need 2^64 bytes,
     * which wrapped to 0 and matched an empty raw_data, so the file opened and {@code inspect} reported 4.6·10^18
     * parameters. The same for an integer constant (8-byte INT64: 2^65 bytes).
     */
    @Test
    void dimsWhoseByteCountOverflowsAreRefused() throws Exception {
        long big = 1L << 31;
        TensorProto weight = TensorProto.newBuilder().setName("fc.weight").setDataType(1).addDims(big).addDims(big)
                .setRawData(ByteString.EMPTY).build();
        SqueezeException e = assertThrows(SqueezeException.class, () -> readBack(withWeight(weight), "huge.onnx"));
        assertTrue(e.getMessage().contains("huge.onnx") && e.getMessage().contains("'fc.weight'")
                && e.getMessage().contains(Long.toString(big)), e.getMessage());

        TensorProto shape = TensorProto.newBuilder().setName("shape").setDataType(7).addDims(big).addDims(big)
                .setRawData(ByteString.EMPTY).build();
        GraphProto withConstant = withWeight(raw("fc.weight", new float[12], 4, 3)).getGraph().toBuilder()
                .addInitializer(shape).build();
        e = assertThrows(SqueezeException.class, () -> readBack(model(withConstant), "hugeconst.onnx"));
        assertTrue(e.getMessage().contains("hugeconst.onnx") && e.getMessage().contains("'shape'"), e.getMessage());
    }

    /** The CLI reports such a file as bad input (exit 3) naming the file and the tensor, not as an internal error. */
    @Test
    void inspectOfAnOverflowingModelExitsWithBadInput() throws Exception {
        long big = 1L << 31;
        TensorProto weight = TensorProto.newBuilder().setName("fc.weight").setDataType(1).addDims(big).addDims(big)
                .setRawData(ByteString.EMPTY).build();
        Path file = dir.resolve("inspect-me.onnx");
        Files.write(file, withWeight(weight).toByteArray());
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        int code = dev.squeeze.engine.cli.SqueezeCli.execute(new String[]{"inspect", file.toString()},
                new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
        assertEquals(dev.squeeze.engine.cli.SqueezeCli.EXIT_INPUT, code, err.toString());
        assertTrue(err.toString().contains("inspect-me.onnx") && err.toString().contains("'fc.weight'")
                && !err.toString().contains("internal error"), err.toString());
    }

    /**
     * A weight with a zero dimension holds nothing, whatever its other dimensions claim ([0, 2^40] passes the
     * length check with 0 bytes); as a layer its huge dimension reached int casts downstream.
     */
    @Test
    void anEmptyLayerWeightIsRefusedNamingTheNode() throws Exception {
        TensorProto empty = TensorProto.newBuilder().setName("fc.weight").setDataType(1).addDims(0).addDims(1L << 40)
                .setRawData(ByteString.EMPTY).build();
        SqueezeException e = assertThrows(SqueezeException.class, () -> readBack(withWeight(empty), "empty.onnx"));
        assertTrue(e.getMessage().contains("empty.onnx") && e.getMessage().contains("'fc.weight'")
                && e.getMessage().contains("'mm'"), e.getMessage());
    }

    /**
     * A Reshape target whose product overflows is not a view of the initializer: [2^62 + 3, 4] multiplies to
     * 2^64 + 12, which wrapped to the 12 elements of a 4 × 3 weight and gave a layer of 2^62 + 3 inputs.
     */
    @Test
    void aReshapeTargetWhoseProductOverflowsIsNotAView() {
        TensorProto target = TensorProto.newBuilder().setName("shapeW").setDataType(7).addDims(2)
                .addInt64Data((1L << 62) + 3).addInt64Data(4).build();
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("Reshape", "r", new String[]{"W", "shapeW"}, "Wr"))
                .addNode(node("MatMul", "mm", new String[]{"x", "Wr"}, "y"))
                .addInitializer(raw("W", new float[12], 4, 3)).addInitializer(target)
                .addInput(floatValue("x", 1, 4)).addOutput(floatValue("y", 1, 3)).build();
        OnnxModel m = parse(model(g), "overflow-view.onnx");
        assertEquals(List.of(), m.layers());
        assertEquals(12, m.model().parameterCount());
    }

    @Test
    void unsupportedDataTypesAndExternalDataAreNamed() throws Exception {
        TensorProto dbl = TensorProto.newBuilder().setName("fc.weight").setDataType(11).addDims(3).addDims(4)
                .setRawData(ByteString.copyFrom(new byte[96])).build();
        SqueezeException e = assertThrows(SqueezeException.class, () -> readBack(withWeight(dbl), "double.onnx"));
        assertTrue(e.getMessage().contains("'fc.weight'") && e.getMessage().contains("DOUBLE"), e.getMessage());

        TensorProto unknown = dbl.toBuilder().setDataType(99).build();
        e = assertThrows(SqueezeException.class, () -> readBack(withWeight(unknown), "unknown.onnx"));
        assertTrue(e.getMessage().contains("unknown type 99"), e.getMessage());

        // An int8 weight of a MatMul is valid ONNX, but not a weight Squeeze can compress.
        TensorProto int8 = TensorProto.newBuilder().setName("fc.weight").setDataType(3).addDims(3).addDims(4)
                .setRawData(ByteString.copyFrom(new byte[12])).build();
        e = assertThrows(SqueezeException.class, () -> readBack(withWeight(int8), "int8.onnx"));
        assertTrue(e.getMessage().contains("'fc.weight'") && e.getMessage().contains("INT8"), e.getMessage());

        TensorProto external = TensorProto.newBuilder().setName("fc.weight").setDataType(1).addDims(3).addDims(4)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue("w.bin")).build();
        e = assertThrows(SqueezeException.class, () -> readBack(withWeight(external), "ext.onnx"));
        assertTrue(e.getMessage().contains("'fc.weight'") && e.getMessage().contains("external"), e.getMessage());
    }

    @Test
    void replacementsKeepTypeAndDimsAndAreChecked() {
        Random rng = new Random(9);
        float[] w = gaussian(rng, 12);
        OnnxModel m = parse(OnnxTestModels.gemm(null, w, new float[3], 3, 4, false), "r.onnx");
        float[] nw = gaussian(rng, 12);
        OnnxModel back = OnnxModel.parse(m.serializedWith(Map.of("fc.weight", nw)), "back", "back");
        assertArrayEquals(nw, back.model().tensor("fc.weight").floats(), 0f);
        assertArrayEquals(new long[]{3, 4}, back.model().tensor("fc.weight").shape());
        assertArrayEquals(new float[3], back.model().tensor("fc.bias").floats(), 0f);

        SqueezeException e = assertThrows(SqueezeException.class,
                () -> m.serializedWith(Map.of("fc.weight", new float[11])));
        assertTrue(e.getMessage().contains("'fc.weight'") && e.getMessage().contains("11 values"), e.getMessage());
        e = assertThrows(SqueezeException.class, () -> m.serializedWith(Map.of("nope", new float[1])));
        assertTrue(e.getMessage().contains("'nope'"), e.getMessage());
    }

    /**
     * Truncations and bit flips of mnist-7 at many positions give a clean error naming the file or a valid model,
     * never another exception (protobuf's InvalidProtocolBufferException included), a hang or an OOM. A model
     * that reads is also handed to ONNX Runtime and run on one image: what ONNX Runtime refuses must come back as
     * a SqueezeException naming the file as well.
     */
    @Test
    void truncatedAndBitFlippedMnist7FailsCleanly() throws Exception {
        byte[] bytes = Files.readAllBytes(SharedData.require("models/mnist-7/mnist-7.onnx"));
        Path bad = dir.resolve("damaged.onnx");
        Random rng = new Random(11);
        int clean = 0;
        int valid = 0;
        int cases = 0;
        // Every cut in the first 512 bytes (graph structure), then evenly through the weights.
        for (int cut = 0; cut < bytes.length; cut += cut < 512 ? 7 : 211) {
            Files.write(bad, Arrays.copyOf(bytes, cut));
            if (readsCleanly(bad)) {
                valid++;
            } else {
                clean++;
            }
            cases++;
        }
        for (int i = 0; i < 300; i++) {
            byte[] flipped = bytes.clone();
            // Half the flips land in the structure before the first weights, where they matter most.
            int pos = i % 2 == 0 ? rng.nextInt(Math.min(600, bytes.length)) : rng.nextInt(bytes.length);
            flipped[pos] ^= (byte) (1 << rng.nextInt(8));
            Files.write(bad, flipped);
            if (readsCleanly(bad)) {
                valid++;
            } else {
                clean++;
            }
            cases++;
        }
        assertTrue(cases >= 200, "ran " + cases + " cases");
        assertTrue(clean > 100, "most damaged files must be rejected, were " + clean);
        assertTrue(valid > 0, "flips inside weight data still give a valid model");
    }

    private boolean readsCleanly(Path file) {
        try {
            OnnxModel m = OnnxModel.read(file);
            m.model().tensors().values().forEach(Tensor::floats);
            m.layers();
            try (OnnxClassifier net = OnnxClassifier.open(m)) {
                net.logits(ONE_IMAGE, 1);
            }
            return true;
        } catch (SqueezeException expected) {
            assertTrue(expected.getMessage().contains(file.getFileName().toString()), expected.getMessage());
            return false;
        } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
            fail("damaged file gave " + e + " instead of a SqueezeException", e);
            return false;
        }
    }

    private static ModelProto withWeight(TensorProto weight) {
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("MatMul", "mm", new String[]{"x", weight.getName()}, "y"))
                .addInitializer(weight).addInput(floatValue("x", 1, 4)).addOutput(floatValue("y", 1, 3)).build();
        return model(g);
    }

    private OnnxModel readBack(ModelProto proto, String fileName) throws Exception {
        Path file = dir.resolve(fileName);
        Files.write(file, proto.toByteArray());
        return OnnxModel.read(file);
    }

    private static OnnxModel parse(ModelProto proto, String name) {
        return OnnxModel.parse(proto.toByteArray(), name, name);
    }

    private static byte[] head(Path file) throws Exception {
        try (var in = Files.newInputStream(file)) {
            return in.readNBytes(64);
        }
    }
}
