package dev.squeeze.engine.export.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.gptq.GptqTensor;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.eval.ClassifierEvaluator;
import dev.squeeze.engine.eval.ClassifierMetrics;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.onnx.OnnxLayer;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.AttributeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.GraphProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ModelProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.NodeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TypeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ValueInfoProto;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;
import dev.squeeze.engine.nn.ImageClassifier;
import dev.squeeze.engine.nn.onnx.OnnxClassifier;
import dev.squeeze.engine.nn.onnx.OrtRuntime;
import dev.squeeze.engine.runs.ClassifierSubject;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exports compressed classifiers and runs the files in ONNX Runtime: the accuracy it measures must be the engine's
 * for the same compressed weights (same number of correct images), the files must be smaller than the dense model,
 * and the weights the file's DequantizeLinear nodes compute (decoded here from the ONNX specification, and computed
 * by ONNX Runtime) must equal the compressed tensors' own dequantization bit for bit.
 */
class OnnxExportTest {
    private static final Path SAMPLE = Path.of("..", "sample-models", "src", "main", "resources", "dev", "squeeze",
            "samples", "fashion-mlp");

    @TempDir
    Path dir;

    /** A compressed model and what the engine measured for it. */
    private record Run(CompressedModel model, Map<String, CompressedTensor> tensors, long correct, int images) {
    }

    private static Run compress(Model model, ImageSet eval, MethodSettings settings) {
        Map<String, CompressedTensor> byLayer = new LinkedHashMap<>();
        Map<String, MethodSettings> perLayer = new LinkedHashMap<>();
        try (ClassifierSubject subject = ClassifierSubject.of(model)) {
            for (ClassifierSubject.WeightMatrix w : subject.weights()) {
                byLayer.put(w.layer(), Methods.compress(
                        new LayerInput(w.layer(), w.values(), w.rows(), w.cols(), null), settings));
                perLayer.put(w.layer(), settings);
            }
            ClassifierMetrics m = ClassifierEvaluator.evaluate(subject.with(byLayer), eval);
            return new Run(new CompressedModel(model, byLayer, perLayer, settings.describe(), null), byLayer,
                    correct(m), m.images());
        }
    }

    private static long correct(ClassifierMetrics m) {
        return Math.round(m.top1() * m.images());
    }

    /** ONNX Runtime's accuracy on the exported file, raw inputs as they come. */
    private static long ortCorrect(Path file, ImageSet eval) throws Exception {
        try (OrtFile c = new OrtFile(file)) {
            return correct(ClassifierEvaluator.evaluate(c, eval));
        }
    }

    /**
     * The file as ONNX Runtime loads it, straight from its bytes (Squeeze's own ONNX reader takes float models to
     * compress, not these): one float input whose first dimension is the batch, logits as the first output.
     */
    static final class OrtFile implements ImageClassifier, AutoCloseable {
        private final OrtEnvironment env = OrtRuntime.environment();
        private final OrtSession session;
        private final String input;
        private final long[] shape;
        private final int size;
        private final int classes;

        OrtFile(Path file) throws Exception {
            session = env.createSession(Files.readAllBytes(file), new OrtSession.SessionOptions());
            input = session.getInputNames().iterator().next();
            shape = ((ai.onnxruntime.TensorInfo) session.getInputInfo().get(input).getInfo()).getShape();
            long n = 1;
            for (int i = 1; i < shape.length; i++) {
                n *= shape[i];
            }
            size = (int) n;
            long[] out = ((ai.onnxruntime.TensorInfo) session.getOutputInfo().values().iterator().next().getInfo())
                    .getShape();
            classes = (int) out[out.length - 1];
        }

        @Override
        public int inputSize() {
            return size;
        }

        @Override
        public List<String> classNames() {
            return java.util.stream.IntStream.range(0, classes).mapToObj(Integer::toString).toList();
        }

        @Override
        public float[] logits(float[] raw, int count) {
            // A fixed batch (mnist-7's is 1) runs image by image; a symbolic one takes them all at once.
            int batch = shape[0] > 0 ? (int) shape[0] : count;
            float[] out = new float[count * classes];
            try {
                for (int from = 0; from < count; from += batch) {
                    long[] s = shape.clone();
                    s[0] = batch;
                    float[] part = java.util.Arrays.copyOfRange(raw, from * size, (from + batch) * size);
                    try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(part), s);
                         OrtSession.Result r = session.run(Map.of(input, t))) {
                        FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
                        fb.get(out, from * classes, batch * classes);
                    }
                }
            } catch (ai.onnxruntime.OrtException e) {
                throw new IllegalStateException(e);
            }
            return out;
        }

        @Override
        public void close() throws Exception {
            session.close();
        }
    }

    private static ImageSet mnist(int n) {
        return IdxReader.readImages(SharedData.require("data/mnist-test/t10k-images-idx3-ubyte.gz"),
                SharedData.require("data/mnist-test/t10k-labels-idx1-ubyte.gz")).head(n);
    }

    private static Model sample() {
        return new SafetensorsFormat().read(SAMPLE.resolve("model.safetensors"));
    }

    private static ImageSet sampleImages() {
        return IdxReader.readImages(SAMPLE.resolve("eval-images-idx3-ubyte.gz"),
                SAMPLE.resolve("eval-labels-idx1-ubyte.gz"));
    }

    @Test
    void mnist7CompressedRunsInOnnxRuntimeWithTheEnginesAccuracyAndLogits() throws Exception {
        Path onnx = SharedData.require("models/mnist-7/mnist-7.onnx");
        Model model = ModelFormats.open(onnx);
        // 2000 images keep the test short; -Dsqueeze.onnxExport.images=10000 measures the whole test set.
        ImageSet eval = mnist(Integer.getInteger("squeeze.onnxExport.images", 2000));
        long dense = Files.size(onnx);
        Map<String, Long> bytes = new LinkedHashMap<>();
        for (RtnSettings s : List.of(RtnSettings.perRow(8), RtnSettings.perRow(4), new RtnSettings(4, 32, false),
                new RtnSettings(4, 32, true), new RtnSettings(3, 16, false))) {
            Run run = compress(model, eval, s);
            Path file = dir.resolve("mnist-" + s.bits() + "-" + s.groupSize() + s.symmetric() + ".onnx");
            ExportReport report = OnnxExport.write(run.model(), file);
            assertEquals(Files.size(file), report.bytes());
            assertEquals(3, report.notes().size(), report.notes().toString());
            report.notes().forEach(n -> assertTrue(n.exact() && n.storedAs().contains("DequantizeLinear"),
                    n.toString()));
            assertTrue(report.bytes() < dense, s.describe() + ": " + report.bytes() + " bytes, dense " + dense);
            bytes.put(s.describe(), report.bytes());

            // Every weight the file computes is our dequantization, in the initializer's layout.
            OnnxModel read = OnnxModel.read(onnx);
            Map<String, float[]> expected = new HashMap<>();
            for (OnnxLayer l : read.onnxLayers()) {
                expected.putAll(read.replacement(l, run.tensors().get(l.info().name()).dequantize()));
            }
            ModelProto exported = ModelProto.parseFrom(Files.readAllBytes(file));
            assertDequantizedEqual(expected, SpecDecoder.dequantized(exported), "spec decode");
            assertDequantizedEqual(expected, ortDequantized(exported), "ONNX Runtime");

            // Same accuracy as the engine. The logits agree to float32 rounding, not bit for bit: with a computed
            // weight ONNX Runtime picks another convolution algorithm than with an initializer.
            long ort = ortCorrect(file, eval);
            double worst = 0;
            try (ClassifierSubject subject = ClassifierSubject.of(model); OrtFile fromFile = new OrtFile(file)) {
                ImageClassifier engine = subject.with(run.tensors());
                float[] images = eval.batch(0, 200);
                float[] a = engine.logits(images, 200);
                float[] b = fromFile.logits(images, 200);
                float range = 0;
                for (float v : a) {
                    range = Math.max(range, Math.abs(v));
                }
                for (int i = 0; i < a.length; i++) {
                    worst = Math.max(worst, Math.abs(a[i] - b[i]) / range);
                }
            }
            System.out.printf("mnist-7 %s: ORT %d of %d correct, engine %d; %d bytes (dense %d); logits differ by"
                    + " at most %.2g of the largest logit%n", s.describe(), ort, run.images(), run.correct(), report.bytes(), dense,
                    worst);
            assertTrue(worst < 1e-5, "logits differ by " + worst);
            assertEquals(run.correct(), ort, s.describe());
        }
        assertTrue(bytes.get("RTN 4-bit asym g32") < bytes.get("RTN 8-bit asym per-row"), bytes.toString());
    }

    @Test
    void sampleMlpCompressedRunsInOnnxRuntimeWithTheEnginesAccuracy() throws Exception {
        Model model = sample();
        ImageSet eval = sampleImages();
        long dense = Files.size(SAMPLE.resolve("model.safetensors"));
        Path denseFile = dir.resolve("sample-dense.onnx");
        OnnxExport.write(CompressedModel.dense(model), denseFile);
        long denseOnnx = Files.size(denseFile);
        for (RtnSettings s : List.of(RtnSettings.perRow(8), RtnSettings.perRow(4), new RtnSettings(4, 32, false),
                new RtnSettings(4, 32, true))) {
            Run run = compress(model, eval, s);
            Path file = dir.resolve("sample-" + s.bits() + "-" + s.groupSize() + s.symmetric() + ".onnx");
            ExportReport report = OnnxExport.write(run.model(), file);
            assertTrue(report.bytes() < denseOnnx && report.bytes() < dense, s.describe() + ": " + report.bytes());
            Map<String, float[]> expected = new HashMap<>();
            run.tensors().forEach((layer, t) -> expected.put(layer + ".weight", t.dequantize()));
            ModelProto exported = ModelProto.parseFrom(Files.readAllBytes(file));
            assertDequantizedEqual(expected, SpecDecoder.dequantized(exported), "spec decode");
            assertDequantizedEqual(expected, ortDequantized(exported), "ONNX Runtime");
            long ort = ortCorrect(file, eval);
            System.out.printf("sample %s: ORT %d of %d correct, engine %d; %d bytes (dense safetensors %d, dense"
                    + " onnx %d)%n", s.describe(), ort, run.images(), run.correct(), report.bytes(), dense, denseOnnx);
            assertEquals(run.correct(), ort, s.describe());
        }
    }

    @Test
    void denseExportsRoundTrip() throws Exception {
        // The sample: a new graph whose float32 initializers are the file's weights, with the engine's accuracy.
        Model model = sample();
        ImageSet eval = sampleImages();
        Path file = dir.resolve("dense.onnx");
        ExportReport report = OnnxExport.write(CompressedModel.dense(model), file);
        assertEquals(List.of(), report.notes());
        OnnxModel back = OnnxModel.read(file);
        for (String t : List.of("fc1.weight", "fc1.bias", "fc2.weight", "fc3.bias")) {
            assertArrayEquals(model.tensor(t).floats(), back.model().tensor(t).floats(), 0f, t);
        }
        try (ClassifierSubject subject = ClassifierSubject.of(model)) {
            assertEquals(correct(ClassifierEvaluator.evaluate(subject.dense(), eval)), ortCorrect(file, eval));
        }

        // mnist-7: the graph as it was, same bytes.
        Path onnx = SharedData.require("models/mnist-7/mnist-7.onnx");
        Path copy = dir.resolve("mnist-dense.onnx");
        OnnxExport.write(CompressedModel.dense(ModelFormats.open(onnx)), copy);
        assertArrayEquals(Files.readAllBytes(onnx), Files.readAllBytes(copy));
    }

    /** Squeeze opens its own exports: the 4-bit codes are constants, the computed weights are not layers. */
    @Test
    void exportedFilesReopenInSqueezeWithTheSameAccuracy() throws Exception {
        Path onnx = SharedData.require("models/mnist-7/mnist-7.onnx");
        Model model = ModelFormats.open(onnx);
        ImageSet eval = mnist(500);
        Run run = compress(model, eval, new RtnSettings(4, 32, false));
        Path file = dir.resolve("mnist-4.onnx");
        OnnxExport.write(run.model(), file);
        Model back = ModelFormats.open(file);
        assertEquals(OnnxModel.ARCHITECTURE, back.architecture());
        assertEquals(List.of(), back.layers());
        try (OnnxClassifier c = OnnxClassifier.open(OnnxModel.read(file))) {
            assertEquals(run.correct(), correct(ClassifierEvaluator.evaluate(c, eval)));
        }

        // A packed 4-bit initializer whose raw_data does not fit its dims is damage, said as such.
        ModelProto proto = ModelProto.parseFrom(Files.readAllBytes(file));
        GraphProto.Builder g = proto.getGraph().toBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (t.getDataType() == TensorProto.DataType.UINT4_VALUE) {
                g.setInitializer(i, t.toBuilder().setRawData(t.getRawData().substring(1)));
                break;
            }
        }
        Path damaged = dir.resolve("damaged.onnx");
        Files.write(damaged, proto.toBuilder().setGraph(g).build().toByteArray());
        SqueezeException e = assertThrows(SqueezeException.class, () -> OnnxModel.read(damaged));
        assertTrue(e.getMessage().contains("Corrupt ONNX model") && e.getMessage().contains("UINT4"),
                e.getMessage());
    }

    @Test
    void languageModelsAreRefusedWithTheFormatsThatTakeThem() {
        Model llama = new Model("stories", "stories.bin", "llama2c", "llama", "00", Map.of(), Map.of());
        Path out = dir.resolve("llama.onnx");
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> OnnxExport.write(CompressedModel.dense(llama), out));
        assertTrue(e.getMessage().contains("architecture 'llama'") && e.fix().contains("gguf"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void aLayerTheModelLacksIsRefused() {
        Model model = sample();
        RtnSettings s = RtnSettings.perRow(8);
        CompressedTensor t = Methods.compress(new LayerInput("x", new float[4 * 8], 4, 8, null), s);
        Path out = dir.resolve("x.onnx");
        SqueezeException e = assertThrows(SqueezeException.class, () -> OnnxExport.write(
                new CompressedModel(model, Map.of("fc9", t), Map.of("fc9", s), "odd", null), out));
        assertTrue(e.getMessage().contains("'fc9'") && e.getMessage().contains("fc1"), e.getMessage());
        // A known layer with the wrong shape.
        e = assertThrows(SqueezeException.class, () -> OnnxExport.write(
                new CompressedModel(model, Map.of("fc3", t), Map.of("fc3", s), "odd", null), out));
        assertTrue(e.getMessage().contains("4 × 8") && e.getMessage().contains("10 × 128"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    /**
     * Sparse layers have no DequantizeLinear form: written as float32 with a note, beside quantized ones; when
     * none is left quantized the export is refused and names the format that keeps them.
     */
    @Test
    void layersWithoutAGridAreWrittenDenseWithANoteOrRefused() throws Exception {
        Model model = sample();
        ImageSet eval = sampleImages();
        Run rtn = compress(model, eval, new RtnSettings(4, 32, false));
        MagnitudeSettings half = MagnitudeSettings.of(Sparsity.unstructured(0.5));
        Run sparse = compress(model, eval, half);

        Map<String, CompressedTensor> mixed = new LinkedHashMap<>(rtn.tensors());
        mixed.put("fc2", sparse.tensors().get("fc2"));
        Map<String, MethodSettings> settings = new LinkedHashMap<>(rtn.model().settings());
        settings.put("fc2", half);
        Path file = dir.resolve("mixed.onnx");
        ExportReport report = OnnxExport.write(new CompressedModel(model, mixed, settings, "mixed", 7L), file);
        ExportReport.TensorNote fc2 = report.notes().stream().filter(n -> n.tensor().equals("fc2.weight"))
                .findFirst().orElseThrow();
        assertTrue(fc2.storedAs().startsWith("FLOAT") && fc2.exact() && !fc2.reason().isEmpty(), fc2.toString());
        try (ClassifierSubject subject = ClassifierSubject.of(model)) {
            assertEquals(correct(ClassifierEvaluator.evaluate(subject.with(mixed), eval)), ortCorrect(file, eval));
        }
        ModelProto proto = ModelProto.parseFrom(Files.readAllBytes(file));
        assertTrue(proto.getMetadataPropsList().stream()
                .anyMatch(p -> p.getKey().equals("squeeze.run") && p.getValue().equals("7")));

        Path out = dir.resolve("sparse.onnx");
        SqueezeException e = assertThrows(SqueezeException.class, () -> OnnxExport.write(sparse.model(), out));
        assertTrue(e.fix().contains("sqz"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    /** A Hessian as GPTQ accumulates it, {@code 2·XᵀX/n}, from standard normal samples. */
    private static float[] hessian(int cols, long seed) {
        java.util.Random rng = new java.util.Random(seed);
        int n = 2 * cols;
        float[][] x = new float[n][cols];
        for (float[] row : x) {
            for (int c = 0; c < cols; c++) {
                row[c] = (float) rng.nextGaussian();
            }
        }
        float[] h = new float[cols * cols];
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j <= i; j++) {
                double sum = 0;
                for (float[] row : x) {
                    sum += row[i] * row[j];
                }
                h[i * cols + j] = h[j * cols + i] = (float) (2 * sum / n);
            }
        }
        return h;
    }

    /** GPTQ grids go in as DequantizeLinear exactly; act-order's column→group index cannot, and is written dense. */
    @Test
    void gptqTensorsExportExactlyAndActOrderGroupsFallBackToFloat() throws Exception {
        Model model = sample();
        ImageSet eval = sampleImages();
        GptqSettings g32 = GptqSettings.of(4, 32);
        GptqSettings actOrder = g32.withActOrder(true);
        Map<String, CompressedTensor> byLayer = new LinkedHashMap<>();
        Map<String, MethodSettings> settings = new LinkedHashMap<>();
        long engine;
        try (ClassifierSubject subject = ClassifierSubject.of(model)) {
            for (ClassifierSubject.WeightMatrix w : subject.weights()) {
                GptqSettings s = w.layer().equals("fc2") ? actOrder : g32;
                byLayer.put(w.layer(), Methods.compress(new LayerInput(w.layer(), w.values(), w.rows(), w.cols(),
                        hessian(w.cols(), w.cols())), s));
                settings.put(w.layer(), s);
            }
            engine = correct(ClassifierEvaluator.evaluate(subject.with(byLayer), eval));
        }
        assertTrue(((GptqTensor) byLayer.get("fc2")).storesGroupIndex());
        Path file = dir.resolve("gptq.onnx");
        ExportReport report = OnnxExport.write(new CompressedModel(model, byLayer, settings, "gptq", null), file);
        Map<String, ExportReport.TensorNote> notes = new HashMap<>();
        report.notes().forEach(n -> notes.put(n.tensor(), n));
        assertTrue(notes.get("fc1.weight").storedAs().startsWith("uint4 (4-bit codes) block 32 + DequantizeLinear"));
        assertTrue(notes.get("fc2.weight").storedAs().startsWith("FLOAT")
                && notes.get("fc2.weight").reason().contains("act-order"), notes.toString());
        Map<String, float[]> expected = new HashMap<>();
        expected.put("fc1.weight", byLayer.get("fc1").dequantize());
        expected.put("fc3.weight", byLayer.get("fc3").dequantize());
        ModelProto exported = ModelProto.parseFrom(Files.readAllBytes(file));
        assertDequantizedEqual(expected, SpecDecoder.dequantized(exported), "spec decode");
        assertDequantizedEqual(expected, ortDequantized(exported), "ONNX Runtime");
        TensorProto fc2 = exported.getGraph().getInitializerList().stream()
                .filter(t -> t.getName().equals("fc2.weight")).findFirst().orElseThrow();
        FloatBuffer fc2Values = fc2.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] fc2Floats = new float[fc2Values.remaining()];
        fc2Values.get(fc2Floats);
        assertArrayEquals(byLayer.get("fc2").dequantize(), fc2Floats, 0f);
        assertEquals(engine, ortCorrect(file, eval));
    }

    /**
     * A small ONNX graph of our own, written for {@code opset}: X (batch × 64) → MatMul W1 (64 × 32, stored
     * in × out, so its blocks run along axis 0) → Add → Relu → MatMul W2 (32 × 4) → Softmax.
     */
    private Path tinyGraph(long opset) throws Exception {
        java.util.Random rng = new java.util.Random(opset);
        float[] w1 = new float[64 * 32];
        float[] b1 = new float[32];
        float[] w2 = new float[32 * 4];
        for (float[] a : List.of(w1, b1, w2)) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) rng.nextGaussian() * 0.2f;
            }
        }
        GraphProto.Builder g = GraphProto.newBuilder().setName("tiny")
                .addInput(OnnxProtos.floatValue("X", "N", -1, 64))
                .addOutput(OnnxProtos.floatValue("Y", "N", -1, 4))
                .addInitializer(OnnxProtos.floats("W1", new long[]{64, 32}, w1))
                .addInitializer(OnnxProtos.floats("B1", new long[]{32}, b1))
                .addInitializer(OnnxProtos.floats("W2", new long[]{32, 4}, w2))
                .addNode(OnnxProtos.node("MatMul", "mm1", new String[]{"X", "W1"}, "h"))
                .addNode(OnnxProtos.node("Add", "add1", new String[]{"h", "B1"}, "hb"))
                .addNode(OnnxProtos.node("Relu", "relu", new String[]{"hb"}, "r"))
                .addNode(OnnxProtos.node("MatMul", "mm2", new String[]{"r", "W2"}, "z"))
                .addNode(OnnxProtos.node("Softmax", "softmax", new String[]{"z"}, "Y")
                        .addAttribute(OnnxProtos.intAttribute("axis", 1)));
        ModelProto m = ModelProto.newBuilder().setIrVersion(7).setProducerName("test").setGraph(g)
                .addOpsetImport(dev.squeeze.engine.model.onnx.proto.OnnxProto.OperatorSetIdProto.newBuilder()
                        .setDomain("").setVersion(opset)).build();
        Path file = dir.resolve("tiny-" + opset + ".onnx");
        Files.write(file, m.toByteArray());
        return file;
    }

    @Test
    void aGraphWhoseOperatorsChangedBeforeOpset21IsNotRaisedAndIsRefused() throws Exception {
        Model old = ModelFormats.open(tinyGraph(11));
        Run run = compress(old, dev.squeeze.engine.testing.TinyModels.images(200, 3), new RtnSettings(4, 32, false));
        Path out = dir.resolve("old.onnx");
        SqueezeException e = assertThrows(SqueezeException.class, () -> OnnxExport.write(run.model(), out));
        assertTrue(e.getMessage().contains("Softmax") && e.getMessage().contains("opset 13"), e.getMessage());
        assertTrue(e.fix().contains("sqz") && e.fix().contains("opset 21"), e.fix());
        assertFalse(Files.exists(out));
    }

    /** MatMul's B stored in × out: codes in × out with blocks along axis 0, computed straight into the MatMul. */
    @Test
    void aMatMulWeightStoredInByOutIsBlockedAlongAxisZero() throws Exception {
        Path src = tinyGraph(13);
        Model model = ModelFormats.open(src);
        ImageSet eval = dev.squeeze.engine.testing.TinyModels.images(400, 5);
        Run run = compress(model, eval, new RtnSettings(4, 16, false));
        Path file = dir.resolve("tiny-export.onnx");
        ExportReport report = OnnxExport.write(run.model(), file);
        assertTrue(report.bytes() < Files.size(src));
        ModelProto exported = ModelProto.parseFrom(Files.readAllBytes(file));
        assertEquals(21, exported.getOpsetImport(0).getVersion());
        NodeProto dq = exported.getGraph().getNode(0);
        assertEquals("DequantizeLinear", dq.getOpType());
        assertEquals(0, dq.getAttributeList().stream().filter(a -> a.getName().equals("axis")).findFirst()
                .orElseThrow().getI());
        OnnxModel read = OnnxModel.read(src);
        Map<String, float[]> expected = new HashMap<>();
        for (OnnxLayer l : read.onnxLayers()) {
            expected.putAll(read.replacement(l, run.tensors().get(l.info().name()).dequantize()));
        }
        assertDequantizedEqual(expected, SpecDecoder.dequantized(exported), "spec decode");
        assertDequantizedEqual(expected, ortDequantized(exported), "ONNX Runtime");
        assertEquals(run.correct(), ortCorrect(file, eval));
        try (ClassifierSubject subject = ClassifierSubject.of(model); OrtFile fromFile = new OrtFile(file)) {
            float[] images = eval.batch(0, 100);
            assertArrayEquals(subject.with(run.tensors()).logits(images, 100), fromFile.logits(images, 100), 1e-6f);
        }
    }

    private static void assertDequantizedEqual(Map<String, float[]> expected, Map<String, float[]> actual,
                                               String by) {
        assertEquals(expected.keySet(), actual.keySet(), by);
        expected.forEach((name, values) -> {
            float[] got = actual.get(name);
            assertEquals(values.length, got.length, by + " " + name);
            for (int i = 0; i < values.length; i++) {
                if (Float.floatToRawIntBits(values[i]) != Float.floatToRawIntBits(got[i])) {
                    throw new AssertionError(by + ": " + name + "[" + i + "] is " + got[i] + ", expected " + values[i]);
                }
            }
        });
    }

    /**
     * ONNX Runtime's own dequantization: the exported graph cut down to its DequantizeLinear and Reshape nodes,
     * each computed weight made a graph output, keyed by the weight the graph reads.
     */
    private static Map<String, float[]> ortDequantized(ModelProto exported) throws Exception {
        GraphProto g = exported.getGraph();
        GraphProto.Builder cut = GraphProto.newBuilder().setName("dequantized").addAllInitializer(g.getInitializerList());
        Map<String, String> outputOf = new LinkedHashMap<>();
        for (NodeProto n : g.getNodeList()) {
            if (n.getOpType().equals("DequantizeLinear") || n.getOpType().equals("Reshape")
                    && n.getInput(0).endsWith("_dequantized")) {
                cut.addNode(n);
                if (n.getOpType().equals("DequantizeLinear")) {
                    String weight = n.getInput(0).substring(0, n.getInput(0).length() - "_quantized".length());
                    outputOf.put(n.getOutput(0), weight);
                    cut.addOutput(ValueInfoProto.newBuilder().setName(n.getOutput(0)).setType(TypeProto.newBuilder()
                            .setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))));
                }
            }
        }
        byte[] bytes = exported.toBuilder().setGraph(cut).build().toByteArray();
        OrtEnvironment env = OrtRuntime.environment();
        Map<String, float[]> out = new HashMap<>();
        try (OrtSession session = env.createSession(bytes, new OrtSession.SessionOptions());
             OrtSession.Result r = session.run(Map.<String, OnnxTensor>of())) {
            for (Map.Entry<String, String> e : outputOf.entrySet()) {
                FloatBuffer fb = ((OnnxTensor) r.get(e.getKey()).orElseThrow()).getFloatBuffer();
                float[] v = new float[fb.remaining()];
                fb.get(v);
                out.put(e.getValue(), v);
            }
        }
        return out;
    }

    /**
     * The weights a file's DequantizeLinear nodes compute, decoded as the ONNX specification defines them:
     * {@code y = (x − zero_point) · scale}, the block of element {@code i} along {@code axis} being
     * {@code i / block_size}; UINT4 elements two per byte, the first in the low nibble.
     */
    static final class SpecDecoder {
        static Map<String, float[]> dequantized(ModelProto model) {
            Map<String, TensorProto> init = new HashMap<>();
            model.getGraph().getInitializerList().forEach(t -> init.put(t.getName(), t));
            Map<String, float[]> out = new HashMap<>();
            for (NodeProto n : model.getGraph().getNodeList()) {
                if (!n.getOpType().equals("DequantizeLinear")) {
                    continue;
                }
                TensorProto x = init.get(n.getInput(0));
                TensorProto s = init.get(n.getInput(1));
                TensorProto z = init.get(n.getInput(2));
                long axis = attribute(n, "axis", 1);
                long block = attribute(n, "block_size", 0);
                int rows = (int) x.getDims(0);
                int cols = (int) x.getDims(1);
                int sCols = (int) s.getDims(1);
                int[] q = unsigned(x, rows * cols);
                int[] zp = unsigned(z, (int) (s.getDims(0) * sCols));
                ByteBuffer sb = s.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                float[] y = new float[rows * cols];
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < cols; j++) {
                        int k = axis == 1 ? i * sCols + (int) (j / block) : (int) (i / block) * sCols + j;
                        y[i * cols + j] = (q[i * cols + j] - zp[k]) * sb.getFloat(4 * k);
                    }
                }
                String weight = n.getInput(0).substring(0, n.getInput(0).length() - "_quantized".length());
                out.put(weight, y);
            }
            return out;
        }

        private static int[] unsigned(TensorProto t, int n) {
            byte[] raw = t.getRawData().toByteArray();
            int[] v = new int[n];
            for (int i = 0; i < n; i++) {
                v[i] = t.getDataType() == TensorProto.DataType.UINT4_VALUE
                        ? (raw[i / 2] >> (4 * (i % 2))) & 0x0f : raw[i] & 0xff;
            }
            return v;
        }

        private static long attribute(NodeProto n, String name, long fallback) {
            for (AttributeProto a : n.getAttributeList()) {
                if (a.getName().equals(name)) {
                    return a.getI();
                }
            }
            return fallback;
        }
    }
}
