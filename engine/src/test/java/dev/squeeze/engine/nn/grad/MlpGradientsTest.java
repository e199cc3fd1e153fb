package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;
import dev.squeeze.engine.nn.MlpClassifier;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The MLP's gradients against central finite differences of a float64 forward pass written here from the
 * definition (scale, linears, ReLU between, softmax cross-entropy), and the matrix-product path against the readable
 * one; on a small random network and on the built-in Fashion-MNIST sample.
 */
class MlpGradientsTest {

    /** The built-in sample, read from the sample-models module's resources (the engine does not depend on it). */
    static ImageSetAndModel fashionSample() throws IOException {
        Path dir = Path.of("").toAbsolutePath().getParent()
                .resolve("sample-models/src/main/resources/dev/squeeze/samples/fashion-mlp");
        Model model = new SafetensorsFormat().read(dir.resolve("model.safetensors"));
        ImageSet eval = IdxReader.readImages("fashion-mlp eval", Files.readAllBytes(dir.resolve(
                "eval-images-idx3-ubyte.gz")), Files.readAllBytes(dir.resolve("eval-labels-idx1-ubyte.gz")));
        return new ImageSetAndModel(model, eval);
    }

    record ImageSetAndModel(Model model, ImageSet images) {
    }

    /** Mean cross-entropy of a batch, in float64, straight from the definition of the network. */
    static double loss(List<double[]> w, List<double[]> b, List<int[]> shapes, double scale, float[] raw, int[] labels,
                       int batch) {
        int inSize = shapes.getFirst()[1];
        double total = 0;
        for (int img = 0; img < batch; img++) {
            double[] x = new double[inSize];
            for (int i = 0; i < inSize; i++) {
                x[i] = raw[img * inSize + i] * scale;
            }
            for (int l = 0; l < w.size(); l++) {
                int out = shapes.get(l)[0];
                int in = shapes.get(l)[1];
                double[] y = new double[out];
                for (int o = 0; o < out; o++) {
                    double s = b.get(l) == null ? 0 : b.get(l)[o];
                    for (int i = 0; i < in; i++) {
                        s += w.get(l)[o * in + i] * x[i];
                    }
                    y[o] = l + 1 < w.size() ? Math.max(0, s) : s;
                }
                x = y;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (double v : x) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (double v : x) {
                sum += Math.exp(v - max);
            }
            total += max + Math.log(sum) - x[labels[img]];
        }
        return total / batch;
    }

    /** The network's parameters in float64, so that finite differences move them by any amount. */
    private record Params(List<double[]> w, List<double[]> b, List<int[]> shapes, double scale) {
        static Params of(MlpGradients g, float scale) {
            List<double[]> w = new ArrayList<>();
            List<double[]> b = new ArrayList<>();
            List<int[]> s = new ArrayList<>();
            for (MlpGradients.Layer l : g.layers()) {
                w.add(toDouble(l.weight()));
                b.add(l.bias() == null ? null : toDouble(l.bias()));
                s.add(new int[]{l.out(), l.in()});
            }
            return new Params(w, b, s, scale);
        }

        double loss(float[] raw, int[] labels, int batch) {
            return MlpGradientsTest.loss(w, b, shapes, scale, raw, labels, batch);
        }

        /** Central difference of the loss along one parameter (bias when {@code bias}). */
        double difference(int layer, boolean bias, int index, double h, float[] raw, int[] labels, int batch) {
            double[] p = bias ? b.get(layer) : w.get(layer);
            double keep = p[index];
            p[index] = keep + h;
            double up = loss(raw, labels, batch);
            p[index] = keep - h;
            double down = loss(raw, labels, batch);
            p[index] = keep;
            return (up - down) / (2 * h);
        }
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static MlpGradients randomNet(Random rng, float scale) {
        int[] widths = {12, 9, 7, 5};
        List<MlpGradients.Layer> layers = new ArrayList<>();
        for (int l = 0; l + 1 < widths.length; l++) {
            int in = widths[l];
            int out = widths[l + 1];
            float[] w = new float[out * in];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (rng.nextGaussian() / Math.sqrt(in) * 1.5);
            }
            float[] b = null;
            if (l != 1) { // the middle layer has no bias
                b = new float[out];
                for (int i = 0; i < out; i++) {
                    b[i] = (float) (0.3 * rng.nextGaussian());
                }
            }
            layers.add(new MlpGradients.Layer("fc" + (l + 1), out, in, w, b));
        }
        return new MlpGradients(layers, scale);
    }

    private static float[] pixels(Random rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextInt(256);
        }
        return x;
    }

    @Test
    void everyWeightAndBiasGradientMatchesCentralFiniteDifferences() {
        Random rng = new Random(7);
        float scale = 1f / 255;
        MlpGradients g = randomNet(rng, scale);
        int batch = 6;
        float[] raw = pixels(rng, batch * 12);
        int[] labels = new int[batch];
        for (int i = 0; i < batch; i++) {
            labels[i] = rng.nextInt(5);
        }
        Params p = Params.of(g, scale);
        MlpGradients.Gradients ref = g.computeReference(raw, labels, batch);
        MlpGradients.Gradients fast = g.compute(raw, labels, batch);
        assertEquals(p.loss(raw, labels, batch), ref.loss(), 1e-12);
        assertEquals(ref.loss(), fast.loss(), 1e-5);
        double h = 1e-6;
        int checked = 0;
        for (int l = 0; l < g.layers().size(); l++) {
            MlpGradients.Layer layer = g.layers().get(l);
            float[] gw = ref.weights().get(layer.name());
            float[] fw = fast.weights().get(layer.name());
            for (int i = 0; i < gw.length; i++) {
                double fd = p.difference(l, false, i, h, raw, labels, batch);
                // float64 loss: the central difference is good to ~1e-9; the gradient is rounded to float32.
                assertEquals(fd, gw[i], 1e-7 + 1e-6 * Math.abs(fd), layer.name() + " weight " + i);
                assertEquals(fd, fw[i], 2e-6 + 1e-4 * Math.abs(fd), layer.name() + " weight " + i + " (GEMM path)");
                checked++;
            }
            if (layer.bias() != null) {
                float[] gb = ref.biases().get(layer.name());
                float[] fb = fast.biases().get(layer.name());
                for (int i = 0; i < gb.length; i++) {
                    double fd = p.difference(l, true, i, h, raw, labels, batch);
                    assertEquals(fd, gb[i], 1e-7 + 1e-6 * Math.abs(fd), layer.name() + " bias " + i);
                    assertEquals(fd, fb[i], 2e-6 + 1e-4 * Math.abs(fd), layer.name() + " bias " + i);
                    checked++;
                }
            } else {
                assertTrue(!ref.biases().containsKey(layer.name()) && !fast.biases().containsKey(layer.name()));
            }
        }
        assertEquals(12 * 9 + 9 + 9 * 7 + 7 * 5 + 5, checked);
    }

    /** Fisher diagonal = Σ over images of the squared finite-difference gradient of that image's loss alone. */
    @Test
    void fisherDiagonalsAreSumsOfSquaredPerImageGradients() {
        Random rng = new Random(11);
        float scale = 1f / 255;
        MlpGradients g = randomNet(rng, scale);
        int batch = 5;
        float[] raw = pixels(rng, batch * 12);
        int[] labels = {0, 4, 2, 2, 1};
        Params p = Params.of(g, scale);
        MlpGradients.Fisher ref = g.fisherReference(raw, labels, batch);
        MlpGradients.Fisher fast = g.fisher(raw, labels, batch);
        assertEquals(batch, fast.images());
        assertEquals(p.loss(raw, labels, batch) * batch, fast.lossSum(), 1e-5);
        for (int l = 0; l < g.layers().size(); l++) {
            MlpGradients.Layer layer = g.layers().get(l);
            for (int i = 0; i < layer.weight().length; i++) {
                double expected = 0;
                for (int img = 0; img < batch; img++) {
                    float[] one = java.util.Arrays.copyOfRange(raw, img * 12, (img + 1) * 12);
                    double d = p.difference(l, false, i, 1e-6, one, new int[]{labels[img]}, 1);
                    expected += d * d;
                }
                float r = ref.weights().get(layer.name())[i];
                float f = fast.weights().get(layer.name())[i];
                assertEquals(expected, r, 1e-9 + 1e-5 * expected, layer.name() + " weight " + i);
                assertEquals(expected, f, 1e-8 + 1e-4 * expected, layer.name() + " weight " + i + " (GEMM path)");
            }
            if (layer.bias() != null) {
                for (int i = 0; i < layer.out(); i++) {
                    double expected = 0;
                    for (int img = 0; img < batch; img++) {
                        float[] one = java.util.Arrays.copyOfRange(raw, img * 12, (img + 1) * 12);
                        double d = p.difference(l, true, i, 1e-6, one, new int[]{labels[img]}, 1);
                        expected += d * d;
                    }
                    assertEquals(expected, fast.biases().get(layer.name())[i], 1e-8 + 1e-4 * expected);
                }
            }
        }
    }

    /**
     * On the built-in Fashion-MNIST MLP (784 → 256 → … → 10): the loss equals the cross-entropy of the logits of
     * the engine's own forward pass ({@link MlpClassifier}), the GEMM path agrees with the readable one, and spot
     * weights of every layer match central differences of the float64 definition.
     */
    @Test
    void fashionSampleGradientsMatchTheReadablePathAndFiniteDifferences() throws IOException {
        ImageSetAndModel s = fashionSample();
        MlpGradients g = MlpGradients.of(s.model());
        int batch = 32;
        float[] raw = s.images().batch(0, batch);
        int[] labels = MlpGradients.labels(s.images(), 0, batch);
        MlpGradients.Gradients fast = g.compute(raw, labels, batch);
        MlpGradients.Gradients ref = g.computeReference(raw, labels, batch);

        float[] logits = MlpClassifier.dense(s.model()).logits(raw, batch);
        double ce = 0;
        for (int b = 0; b < batch; b++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < 10; c++) {
                max = Math.max(max, logits[b * 10 + c]);
            }
            double sum = 0;
            for (int c = 0; c < 10; c++) {
                sum += Math.exp(logits[b * 10 + c] - max);
            }
            ce += max + Math.log(sum) - logits[b * 10 + labels[b]];
        }
        assertEquals(ce / batch, fast.loss(), 1e-4);
        assertEquals(ce / batch, ref.loss(), 1e-4);

        Params p = Params.of(g, Float.parseFloat(s.model().metadata().get(MlpClassifier.INPUT_SCALE_KEY)));
        Random rng = new Random(5);
        for (int l = 0; l < g.layers().size(); l++) {
            MlpGradients.Layer layer = g.layers().get(l);
            float[] gf = fast.weights().get(layer.name());
            float[] gr = ref.weights().get(layer.name());
            double scale = 0;
            for (int i = 0; i < gr.length; i++) {
                scale = Math.max(scale, Math.abs(gr[i]));
                assertEquals(gr[i], gf[i], 1e-4 * Math.abs(gr[i]) + 1e-6, layer.name() + " weight " + i);
            }
            assertTrue(scale > 0, layer.name() + " has a nonzero gradient");
            // the largest gradient entry and a few random ones
            int largest = 0;
            for (int i = 0; i < gr.length; i++) {
                if (Math.abs(gr[i]) > Math.abs(gr[largest])) {
                    largest = i;
                }
            }
            int[] picks = {largest, rng.nextInt(gr.length), rng.nextInt(gr.length), rng.nextInt(gr.length)};
            for (int i : picks) {
                double fd = p.difference(l, false, i, 1e-5, raw, labels, batch);
                assertEquals(fd, gr[i], 1e-6 * scale + 1e-5 * Math.abs(fd), layer.name() + " weight " + i);
            }
        }
    }

    @Test
    void labelsOutsideTheClassesAreClearErrors() {
        MlpGradients g = randomNet(new Random(1), 1f);
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> g.compute(new float[12], new int[]{5}, 1));
        assertTrue(e.getMessage().contains("label 5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> g.compute(new float[11], new int[]{0}, 1));
    }
}
