package dev.squeeze.engine.nn.onnx;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.eval.ClassifierEvaluator;
import dev.squeeze.engine.eval.ClassifierMetrics;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.onnx.OnnxLayer;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.model.onnx.OnnxTestModels;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.GraphProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ModelProto;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.squeeze.engine.model.onnx.OnnxTestModels.floatValue;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.gaussian;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.node;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.raw;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OnnxClassifierTest {
    @TempDir
    static Path tmp;

    private static OnnxModel mnist7;
    private static ImageSet mnistTest;

    @BeforeAll
    static void load() {
        mnist7 = OnnxModel.read(SharedData.require("models/mnist-7/mnist-7.onnx"));
        mnistTest = IdxReader.readImages(SharedData.require("data/mnist-test/t10k-images-idx3-ubyte.gz"),
                SharedData.require("data/mnist-test/t10k-labels-idx1-ubyte.gz"));
    }

    /** Golden figure from shared/README.md: 98.91 % top-1 on the 10,000 MNIST test images, raw 0–255 pixels. */
    @Test
    void mnist7Reaches9891OfTheTenThousandTestImages() {
        ClassifierMetrics m;
        try (OnnxClassifier net = OnnxClassifier.open(mnist7)) {
            assertEquals(784, net.inputSize());
            assertEquals(10, net.classNames().size());
            assertEquals(1, net.runBatch());
            m = ClassifierEvaluator.evaluate(net, mnistTest);
        }
        assertEquals(10_000, m.images());
        assertEquals(9891, Math.round(m.top1() * m.images()));
        // Per-class accuracies, weighted by each class's count in the labels, give the same total.
        long[] count = new long[10];
        for (int i = 0; i < mnistTest.count(); i++) {
            count[mnistTest.label(i)]++;
        }
        double correct = 0;
        for (int c = 0; c < 10; c++) {
            correct += m.perClass()[c] * count[c];
            assertTrue(m.perClass()[c] > 0.95, "class " + c + ": " + m.perClass()[c]);
        }
        assertEquals(9891, Math.round(correct));
    }

    @Test
    void aClassifierClosedByItsUserAndAgainByItsOwnerClosesOnce() {
        // A search's fitness closes each network it opens; the subject that tracked it closes it again at the end.
        OnnxClassifier net = OnnxClassifier.open(mnist7);
        net.close();
        org.junit.jupiter.api.Assertions.assertDoesNotThrow(net::close);
    }

    @Test
    void replacingWeightsWithTheirOwnValuesChangesNothingAndWithZerosChangesTheOutputs() {
        ImageSet few = mnistTest.head(50);
        float[] x = few.batch(0, few.count());
        float[] base;
        try (OnnxClassifier net = OnnxClassifier.open(mnist7)) {
            base = net.logits(x, few.count());
        }
        // Every float initializer, as Squeeze decoded it, written back: bit-identical logits, which also checks
        // the reader's decoding of every weight against ONNX Runtime's own.
        Map<String, float[]> same = new HashMap<>();
        mnist7.model().tensors().forEach((name, t) -> same.put(name, t.floats()));
        try (OnnxClassifier net = OnnxClassifier.open(mnist7, same)) {
            assertArrayEquals(base, net.logits(x, few.count()), 0f);
        }
        // The classifier's weight zeroed: every image's logits become the bias of the final Add.
        OnnxLayer fc = mnist7.onnxLayers().getLast();
        float[] logical = mnist7.logicalWeight(fc);
        assertEquals(10 * 256, logical.length);
        assertArrayEquals(mnist7.model().tensor(fc.weight()).floats(),
                mnist7.replacement(fc, logical).get(fc.weight()), 0f);
        Tensor w = mnist7.model().tensor(fc.weight());
        float[] bias = mnist7.model().tensor(fc.bias()).floats();
        float[] zeroed;
        try (OnnxClassifier net = OnnxClassifier.open(mnist7, Map.of(fc.weight(), new float[(int) w.numel()]))) {
            zeroed = net.logits(x, few.count());
        }
        assertFalse(Arrays.equals(base, zeroed));
        for (int i = 0; i < few.count(); i++) {
            assertArrayEquals(bias, Arrays.copyOfRange(zeroed, 10 * i, 10 * i + 10), 0f, "image " + i);
        }
    }

    /** A symbolic batch runs in chunks of 64, a fixed batch of 2 pads the last chunk; both match plain Java. */
    @Test
    void batchesMatchAPlainJavaGemm() {
        Random rng = new Random(21);
        int in = 6;
        int out = 4;
        float[] w = gaussian(rng, out * in);
        float[] b = gaussian(rng, out);
        int n = 150;
        float[] x = new float[n * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = rng.nextInt(256);
        }
        float[] expected = new float[n * out];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int k = 0; k < in; k++) {
                    s += (double) x[i * in + k] / 255.0 * w[o * in + k];
                }
                expected[i * out + o] = (float) s;
            }
        }
        for (Long batch : new Long[]{null, 2L}) {
            byte[] bytes = OnnxTestModels.gemm(batch, w, b, out, in, true).toByteArray();
            OnnxModel m = OnnxModel.parse(bytes, "gemm", "gemm");
            try (OnnxClassifier net = OnnxClassifier.open(m, Map.of(), 1f / 255f, 1)) {
                assertEquals(batch == null ? 64 : 2, net.runBatch());
                int count = batch == null ? n : 3;
                float[] got = net.logits(Arrays.copyOf(x, count * in), count);
                // Tolerance: float32 accumulation over 6 products of magnitude ≤ 4.
                assertArrayEquals(Arrays.copyOf(expected, count * out), got, 1e-5f, "batch " + batch);
            }
        }
    }

    /**
     * A MatMul stores its weight in × out. The logical out × in weight must be its transpose (checked by plain
     * loops), and a logical row zeroed and put back must silence exactly that output in ONNX Runtime.
     */
    @Test
    void logicalWeightsAreOutByInAndGoBackIntoTheStoredLayout() {
        Random rng = new Random(33);
        int in = 5;
        int out = 3;
        float[] stored = gaussian(rng, in * out);
        float[] bias = {0.5f, -1.5f, 2.5f};
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("MatMul", "mm", new String[]{"x", "W"}, "h"))
                .addNode(node("Add", "add", new String[]{"h", "b"}, "y"))
                .addInitializer(raw("W", stored, in, out))
                .addInitializer(raw("b", bias, out))
                .addInput(floatValue("x", "N", in)).addOutput(floatValue("y", "N", out)).build();
        OnnxModel m = OnnxModel.parse(OnnxTestModels.model(g).toByteArray(), "mm.onnx", "mm");
        OnnxLayer layer = m.onnxLayers().getFirst();
        assertEquals("b", layer.bias());
        assertArrayEquals(new long[]{out, in}, layer.info().shape());
        float[] logical = m.logicalWeight(layer);
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < in; k++) {
                assertEquals(stored[k * out + o], logical[o * in + k], 0f);
            }
        }
        float[] edited = logical.clone();
        Arrays.fill(edited, 1 * in, 2 * in, 0f);
        float[] x = gaussian(rng, 4 * in);
        float[] before;
        float[] after;
        try (OnnxClassifier net = OnnxClassifier.open(m)) {
            before = net.logits(x, 4);
        }
        try (OnnxClassifier net = OnnxClassifier.open(m, m.replacement(layer, edited))) {
            after = net.logits(x, 4);
        }
        for (int i = 0; i < 4; i++) {
            assertEquals(bias[1], after[i * out + 1], 0f, "output 1 is the bias alone");
            assertEquals(before[i * out], after[i * out], 0f);
            assertEquals(before[i * out + 2], after[i * out + 2], 0f);
        }
        assertThrows(SqueezeException.class, () -> m.replacement(layer, new float[4]));
    }

    @Test
    void modelsOnnxRuntimeRejectsOrThatAreNoClassifiersAreClearErrors() {
        GraphProto unknownOp = GraphProto.newBuilder()
                .addNode(node("NoSuchOperator", "bad", new String[]{"x", "w"}, "y"))
                .addInitializer(raw("w", new float[4], 4))
                .addInput(floatValue("x", 1, 4)).addOutput(floatValue("y", 1, 4)).build();
        OnnxModel bad = OnnxModel.parse(OnnxTestModels.model(unknownOp).toByteArray(), "bad-op.onnx", "bad-op");
        SqueezeException e = assertThrows(SqueezeException.class, () -> OnnxClassifier.open(bad));
        assertTrue(e.getMessage().contains("bad-op.onnx") && e.getMessage().contains("ONNX Runtime cannot load"),
                e.getMessage());

        GraphProto twoInputs = GraphProto.newBuilder()
                .addNode(node("Add", "add", new String[]{"a", "b"}, "y"))
                .addInput(floatValue("a", 1, 4)).addInput(floatValue("b", 1, 4)).addOutput(floatValue("y", 1, 4))
                .build();
        ModelProto two = OnnxTestModels.model(twoInputs);
        OnnxModel add = OnnxModel.parse(two.toByteArray(), "two-inputs.onnx", "two");
        e = assertThrows(SqueezeException.class, () -> OnnxClassifier.open(add));
        assertTrue(e.getMessage().contains("two-inputs.onnx") && e.getMessage().contains("2 inputs"), e.getMessage());

        // Replacements are checked before ONNX Runtime is asked for anything.
        e = assertThrows(SqueezeException.class,
                () -> OnnxClassifier.open(mnist7, Map.of("Parameter5", new float[3])));
        assertTrue(e.getMessage().contains("'Parameter5'"), e.getMessage());
    }

    /**
     * Input sizes come from the file: a fixed batch past 2^31 was cast to a negative int ("capacity < 0"), a
     * batch times image size past the largest buffer likewise, and image dimensions whose product overflows a
     * long escaped as an ArithmeticException. Each is a SqueezeException naming the file and the input.
     */
    @Test
    void inputShapesTooLargeForOneRunAreClearErrors() {
        Object[][] shapes = {
                {(1L << 31) + 1, 4L},            // a batch beyond an int
                {1L << 20, 1L << 10},            // 2^30 values: more than one direct float buffer holds
                {1L, 1L << 40, 1L << 40},        // an image whose size overflows a long
                {null, 1L << 30}};               // a symbolic batch of 64 such images
        for (Object[] dims : shapes) {
            Object[] in = java.util.Arrays.stream(dims).map(d -> d == null ? (Object) "N" : d).toArray();
            GraphProto g = GraphProto.newBuilder()
                    .addNode(node("Relu", "relu", new String[]{"x"}, "y"))
                    .addInput(floatValue("x", in)).addOutput(floatValue("y", in)).build();
            String name = "shape-" + java.util.Arrays.toString(dims) + ".onnx";
            OnnxModel m = OnnxModel.parse(OnnxTestModels.model(g).toByteArray(), name, "shape");
            SqueezeException e = assertThrows(SqueezeException.class, () -> OnnxClassifier.open(m).close(), name);
            assertTrue(e.getMessage().contains(name) && e.getMessage().contains("'x'"), e.getMessage());
        }
    }

    /**
     * Regression (fuzzing): a symbolic batch of large images allocated 64 of them at once (a 900 MB buffer for
     * 3.5 M-value images, out of memory). The batch now shrinks to what one run may take; the model still runs.
     */
    @Test
    void aSymbolicBatchOfLargeImagesShrinksInsteadOfRunningOutOfMemory() {
        Object[] dims = {"N", 1L << 22};
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("Relu", "relu", new String[]{"x"}, "y"))
                .addInput(floatValue("x", dims)).addOutput(floatValue("y", dims)).build();
        OnnxModel m = OnnxModel.parse(OnnxTestModels.model(g).toByteArray(), "large-images.onnx", "large");
        try (OnnxClassifier c = OnnxClassifier.open(m)) {
            // 4 images of 2^22 values: the 64 MB a run may take, not 64 images (1 GB).
            assertEquals(4, c.batchSize());
            float[] image = new float[c.inputSize()];
            image[7] = 3f;
            image[8] = -2f;
            float[] out = c.logits(image, 1);
            assertEquals(1 << 22, out.length);
            assertEquals(3f, out[7]);
            assertEquals(0f, out[8]);
        }
    }

    /**
     * In a child JVM pointed at an empty folder for ONNX Runtime's native libraries, loading fails: the failure
     * must be a SqueezeException saying so, the first time and every time after.
     */
    @Test
    void aNativeLibraryThatCannotLoadIsAClearError() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("no-natives"));
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Donnxruntime.native.path=" + empty);
        command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=off");
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), OrtLoadProbe.class.getName()));
        Path err = tmp.resolve("probe.err");
        Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe JVM did not finish");
        assertEquals(0, p.exitValue(), () -> "probe failed: " + out + readQuietly(err));
        List<String> lines = out.lines().toList();
        assertEquals(2, lines.size(), out);
        for (String line : lines) {
            assertTrue(line.startsWith("SqueezeException: ONNX Runtime's native library cannot be loaded"), line);
            assertTrue(line.contains("onnxruntime.native.path"), line);
        }
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
