package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.onnx.OnnxLayer;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.nn.Parallelism;
import dev.squeeze.engine.nn.onnx.OnnxClassifier;
import dev.squeeze.engine.runs.ClassifierSubject;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassifierFisherTest {
    private static OnnxModel mnist7;
    private static ImageSet mnistTest;

    @BeforeAll
    static void load() {
        mnist7 = OnnxModel.read(SharedData.require("models/mnist-7/mnist-7.onnx"));
        mnistTest = IdxReader.readImages(SharedData.require("data/mnist-test/t10k-images-idx3-ubyte.gz"),
                SharedData.require("data/mnist-test/t10k-labels-idx1-ubyte.gz"));
    }

    private static ImageSet slice(ImageSet s, int from, int n) {
        int size = s.imageSize();
        return new ImageSet(s.name() + "[" + from + ":" + (from + n) + "]", n, s.rows(), s.cols(),
                Arrays.copyOfRange(s.pixels(), from * size, (from + n) * size),
                Arrays.copyOfRange(s.labels(), from, from + n));
    }

    /**
     * mnist-7 over the last fifth of the MNIST test set (images 8,000–9,999, the classifier calibration split): one
     * diagonal per compressible weight in {@code ClassifierSubject.weights()}'s layout, non-negative, the mean loss
     * equal to the cross-entropy of ONNX Runtime's logits; and the same result on one thread as on all.
     */
    @Test
    void mnist7FisherOverTwoThousandCalibrationImages() {
        ImageSet calibration = slice(mnistTest, 8000, 2000);
        long t0 = System.nanoTime();
        ClassifierFisher.Diagonals d = ClassifierFisher.onnx(mnist7, calibration);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("mnist-7 Fisher diagonals over %d images: %.2f s on %d threads (mean loss %.4f)%n",
                d.images(), seconds, Parallelism.threads(), d.meanLoss());
        assertEquals(2000, d.images());
        try (ClassifierSubject subject = ClassifierSubject.of(mnist7.model())) {
            List<ClassifierSubject.WeightMatrix> weights = subject.weights();
            assertEquals(weights.stream().map(ClassifierSubject.WeightMatrix::layer).toList(),
                    List.copyOf(d.fisher().keySet()));
            for (ClassifierSubject.WeightMatrix w : weights) {
                float[] f = d.of(w.layer());
                assertEquals(w.rows() * w.cols(), f.length, w.layer());
                double sum = 0;
                for (float v : f) {
                    assertTrue(v >= 0 && Float.isFinite(v), w.layer() + ": " + v);
                    sum += v;
                }
                assertTrue(sum > 0, w.layer() + " has a nonzero Fisher diagonal");
            }
        }
        float[] logits;
        try (OnnxClassifier c = OnnxClassifier.open(mnist7)) {
            logits = c.logits(calibration.batch(0, 2000), 2000);
        }
        double ce = 0;
        for (int i = 0; i < 2000; i++) {
            double[] l = new double[10];
            for (int c = 0; c < 10; c++) {
                l[c] = logits[i * 10 + c];
            }
            ce += naiveCrossEntropy(l, calibration.label(i));
        }
        assertEquals(ce / 2000, d.meanLoss(), 1e-4 * ce / 2000 + 1e-6);

        // Same result on one thread as on all (on 400 of the images, to keep the test short).
        ImageSet part = slice(mnistTest, 9600, 400);
        ClassifierFisher.Diagonals all = ClassifierFisher.onnx(mnist7, part);
        String previous = System.getProperty(Parallelism.PROPERTY);
        ClassifierFisher.Diagonals one;
        try {
            System.setProperty(Parallelism.PROPERTY, "1");
            one = ClassifierFisher.onnx(mnist7, part);
        } finally {
            if (previous == null) {
                System.clearProperty(Parallelism.PROPERTY);
            } else {
                System.setProperty(Parallelism.PROPERTY, previous);
            }
        }
        for (String layer : all.fisher().keySet()) {
            assertArrayEquals(all.of(layer), one.of(layer), layer + ": one thread vs " + Parallelism.threads());
        }
        assertEquals(all.meanLoss(), one.meanLoss(), 0);
    }

    /**
     * The diagonal entry of each layer's largest Fisher value equals Σ over images of the squared float64 central
     * difference of that image's own loss, over the 30 images of the calibration fifth with the highest loss and 10
     * ordinary ones. (mnist-7's logits on raw pixels are thousands apart, so a confidently right image has a loss
     * near 1e-300 and a gradient whose square is far below float32's range: the Fisher diagonal of this model is
     * made by its few uncertain or wrong images, and a window of easy images has an all-zero float32 diagonal.)
     */
    @Test
    void mnist7FisherEntriesAreSumsOfSquaredPerImageDifferences() {
        ImageSet images = hardAndOrdinary(mnistTest, 8000, 2000, 30, 10);
        int n = images.count();
        ClassifierFisher.Diagonals d = ClassifierFisher.onnx(mnist7, images);
        OnnxGraphNet net = OnnxGradients.of(mnist7).net();
        float[] raw = images.batch(0, n);
        for (OnnxLayer layer : mnist7.onnxLayers()) {
            float[] f = d.of(layer.info().name());
            int best = 0;
            for (int i = 0; i < f.length; i++) {
                if (f[i] > f[best]) {
                    best = i;
                }
            }
            // The matrix position in the initializer's stored layout (MatMul's weight is stored in × out).
            int stored = best;
            if (layer.transposed()) {
                int rows = (int) layer.info().shape()[0];
                int cols = (int) layer.info().shape()[1];
                stored = (best % cols) * rows + best / cols;
            }
            double expected = 0;
            for (int i = 0; i < n; i++) {
                double h = 1e-6;
                double g = (net.lossWith(raw, i, images.label(i), layer.weight(), stored, h)
                        - net.lossWith(raw, i, images.label(i), layer.weight(), stored, -h)) / (2 * h);
                expected += g * g;
            }
            assertTrue(expected > 0, layer.weight());
            assertEquals(expected, f[best], 1e-4 * expected, layer.weight() + "[" + best + "]");
        }
    }

    /**
     * The built-in Fashion-MNIST MLP over its 1,000 evaluation images: the batched GEMM Fisher equals the readable
     * float64 one, keyed and laid out as {@code ClassifierSubject.weights()}.
     */
    @Test
    void fashionSampleFisherMatchesTheReadablePath() throws IOException {
        MlpGradientsTest.ImageSetAndModel s = MlpGradientsTest.fashionSample();
        ClassifierFisher.mlp(s.model(), slice(s.images(), 0, 64)); // warm-up for the timing below
        long t0 = System.nanoTime();
        ClassifierFisher.Diagonals d = ClassifierFisher.compute(s.model(), s.images());
        double ms = (System.nanoTime() - t0) / 1e6;
        ImageSet calibration = slice(s.images(), 800, 200);
        long t1 = System.nanoTime();
        ClassifierFisher.compute(s.model(), calibration);
        double msCal = (System.nanoTime() - t1) / 1e6;
        System.out.printf("fashion-mlp Fisher diagonals: %d images %.1f ms, %d images %.1f ms%n", d.images(), ms,
                calibration.count(), msCal);
        MlpGradients g = MlpGradients.of(s.model());
        int n = s.images().count();
        MlpGradients.Fisher ref = g.fisherReference(s.images().batch(0, n), MlpGradients.labels(s.images(), 0, n), n);
        assertEquals(ref.lossSum() / n, d.meanLoss(), 1e-4);
        try (ClassifierSubject subject = ClassifierSubject.of(s.model())) {
            for (ClassifierSubject.WeightMatrix w : subject.weights()) {
                float[] f = d.of(w.layer());
                float[] r = ref.weights().get(w.layer());
                assertEquals(w.rows() * w.cols(), f.length);
                double max = 0;
                for (float v : r) {
                    max = Math.max(max, v);
                }
                assertTrue(max > 0);
                for (int i = 0; i < f.length; i++) {
                    assertEquals(r[i], f[i], 1e-3 * r[i] + 1e-6 * max, w.layer() + "[" + i + "]");
                }
            }
        }
    }

    /** The {@code hard} highest-loss images of {@code [from, from + n)} (by ONNX Runtime) and its first {@code ordinary}. */
    private static ImageSet hardAndOrdinary(ImageSet s, int from, int n, int hard, int ordinary) {
        float[] logits;
        try (OnnxClassifier c = OnnxClassifier.open(mnist7)) {
            logits = c.logits(s.batch(from, n), n);
        }
        Integer[] order = new Integer[n];
        double[] loss = new double[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            double[] l = new double[10];
            for (int c = 0; c < 10; c++) {
                l[c] = logits[i * 10 + c];
            }
            loss[i] = naiveCrossEntropy(l, s.label(from + i));
        }
        Arrays.sort(order, (a, b) -> Double.compare(loss[b], loss[a]));
        java.util.LinkedHashSet<Integer> pick = new java.util.LinkedHashSet<>();
        for (int i = 0; i < hard; i++) {
            pick.add(from + order[i]);
        }
        for (int i = 0; pick.size() < hard + ordinary; i++) {
            pick.add(from + i);
        }
        int size = s.imageSize();
        byte[] pixels = new byte[pick.size() * size];
        byte[] labels = new byte[pick.size()];
        int k = 0;
        for (int i : pick) {
            System.arraycopy(s.pixels(), i * size, pixels, k * size, size);
            labels[k++] = s.labels()[i];
        }
        return new ImageSet(s.name() + " (hard and ordinary)", pick.size(), s.rows(), s.cols(), pixels, labels);
    }

    /** ½ Σ F (W − Ŵ)² by hand: F = (1, 2, 3), W − Ŵ = (1, −1, 0) → ½ (1 + 2) = 1.5. */
    @Test
    void proxyIsHalfTheFisherWeightedSquaredChange() {
        ClassifierFisher.Diagonals d = new ClassifierFisher.Diagonals("m", 3, 0.1,
                Map.of("fc", new float[]{1, 2, 3}));
        assertEquals(1.5, d.proxy("fc", new float[]{1, 1, 1}, new float[]{0, 2, 1}), 0);
        SqueezeException e = assertThrows(SqueezeException.class, () -> d.of("nope"));
        assertTrue(e.getMessage().contains("'nope'") && e.fix().contains("fc"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> d.proxy("fc", new float[2], new float[3]));
    }

    @Test
    void nonClassifiersAndEmptyCalibrationAreClearErrors() {
        Model llama = new Model("x", "x.gguf", "gguf", "llama", "00", Map.of(), Map.of(), List.of());
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> ClassifierFisher.compute(llama, mnistTest.head(1)));
        assertTrue(e.getMessage().contains("not an image classifier"), e.getMessage());
        ImageSet empty = slice(mnistTest, 0, 0);
        SqueezeException e2 = assertThrows(SqueezeException.class, () -> ClassifierFisher.onnx(mnist7, empty));
        assertTrue(e2.getMessage().contains("empty"), e2.getMessage());
    }

    /** log Σ exp(l) − l[label], written here from the definition (for ONNX Runtime's logits). */
    static double naiveCrossEntropy(double[] l, int label) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : l) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (double v : l) {
            sum += Math.exp(v - max);
        }
        return max + Math.log(sum) - l[label];
    }
}
