package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.onnx.OnnxLayer;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.model.onnx.OnnxTestModels;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.AttributeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.GraphProto;
import dev.squeeze.engine.nn.onnx.OnnxClassifier;
import dev.squeeze.engine.runs.ClassifierSubject;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static dev.squeeze.engine.model.onnx.OnnxTestModels.floatValue;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.gaussian;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.intAttr;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.intsAttr;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.node;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.raw;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gradient interpreter: its forward logits against ONNX Runtime's (the independent oracle) on real MNIST test
 * images, its backward pass against central finite differences, and the layer layout of the gradients against
 * finite differences of ONNX Runtime's loss with the weight edited through {@code ClassifierSubject}'s layout.
 */
class OnnxGradientsTest {
    private static OnnxModel mnist7;
    private static ImageSet mnistTest;

    @BeforeAll
    static void load() {
        mnist7 = OnnxModel.read(SharedData.require("models/mnist-7/mnist-7.onnx"));
        mnistTest = IdxReader.readImages(SharedData.require("data/mnist-test/t10k-images-idx3-ubyte.gz"),
                SharedData.require("data/mnist-test/t10k-labels-idx1-ubyte.gz"));
    }

    /**
     * mnist-7's logits from the interpreter (float64) equal ONNX Runtime's (float32) on 500 MNIST test images to
     * within 2e-6 of the largest logit magnitude (mnist-7 takes raw 0–255 pixels, so its logits reach ~10⁴; float32
     * rounding over ~10³ products per value gives a few 1e-7 relative), and the predicted class is the same for
     * every image.
     */
    @Test
    void mnist7LogitsEqualOnnxRuntimes() {
        int n = 500;
        float[] raw = mnistTest.batch(0, n);
        float[] ours = OnnxGradients.of(mnist7).net().logits(raw, n);
        float[] ort;
        try (OnnxClassifier c = OnnxClassifier.open(mnist7)) {
            ort = c.logits(raw, n);
        }
        double maxDiff = 0;
        double maxAbs = 0;
        for (int i = 0; i < ours.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ort[i]));
            maxAbs = Math.max(maxAbs, Math.abs(ort[i]));
        }
        System.out.printf("mnist-7 interpreter vs ONNX Runtime on %d images: max |Δlogit| %.3g (max |logit| %.3g)%n",
                n, maxDiff, maxAbs);
        assertTrue(maxDiff <= 2e-6 * maxAbs, "max logit difference " + maxDiff + " for logits up to " + maxAbs);
        assertTrue(maxAbs > 1, "logits are not trivially small");
        for (int i = 0; i < n; i++) {
            assertEquals(argmax(ort, i * 10, 10), argmax(ours, i * 10, 10), "image " + i);
        }
    }

    /**
     * ∂loss/∂W of every weight tensor of mnist-7 (both convolutions and the MatMul) against float64 central
     * differences of the interpreter's loss, at the largest entry and at random ones, on the three test images of
     * the first 300 with the highest loss (mnist-7 takes raw 0–255 pixels and its logits reach ~10⁴, so on most
     * correctly classified images the softmax is exactly one-hot in float64 and every gradient is exactly zero).
     */
    @Test
    void mnist7BackwardMatchesCentralFiniteDifferences() {
        OnnxGraphNet net = OnnxGradients.of(mnist7).net();
        int[] hard = hardest(net, 300, 3);
        Random rng = new Random(3);
        int checked = 0;
        for (int img : hard) {
            float[] raw = mnistTest.batch(img, 1);
            int label = mnistTest.label(img);
            OnnxGraphNet.ImagePass pass = net.backward(raw, 0, label);
            assertTrue(pass.loss() > 1e-6, "image " + img + " has loss " + pass.loss());
            for (Map.Entry<String, double[]> e : pass.gradients().entrySet()) {
                double[] g = e.getValue();
                int largest = 0;
                double scale = 0;
                for (int i = 0; i < g.length; i++) {
                    if (Math.abs(g[i]) > Math.abs(g[largest])) {
                        largest = i;
                    }
                    scale = Math.max(scale, Math.abs(g[i]));
                }
                assertTrue(scale > 0, e.getKey() + " has a nonzero gradient");
                int[] picks = {largest, rng.nextInt(g.length), rng.nextInt(g.length), rng.nextInt(g.length),
                        rng.nextInt(g.length)};
                for (int i : picks) {
                    double h = 1e-6;
                    double fd = (net.lossWith(raw, 0, label, e.getKey(), i, h)
                            - net.lossWith(raw, 0, label, e.getKey(), i, -h)) / (2 * h);
                    assertEquals(fd, g[i], 1e-6 * scale + 1e-5 * Math.abs(fd),
                            "image " + img + ", " + e.getKey() + "[" + i + "]");
                    checked++;
                }
            }
        }
        assertEquals(3 * 3 * 5, checked);
    }

    /**
     * The gradients come in {@code ClassifierSubject.weights()}'s layout: moving the weight at the matrix position
     * of a layer's largest gradient entry, through {@link OnnxModel#replacement} (the layout compression writes
     * back), changes ONNX Runtime's mean loss by the predicted amount (on the 16 images of the first 1,000 with
     * the highest loss, where the gradient is far from zero).
     */
    @Test
    void gradientsAreInTheLayoutCompressionSeesCheckedThroughOnnxRuntime() {
        OnnxGradients grads = OnnxGradients.of(mnist7);
        int[] hard = hardest(grads.net(), 1000, 16);
        int n = hard.length;
        float[] raw = new float[n * 784];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(mnistTest.batch(hard[i], 1), 0, raw, i * 784, 784);
            labels[i] = mnistTest.label(hard[i]);
        }
        OnnxGradients.Gradients g = grads.compute(raw, labels, n);
        try (ClassifierSubject subject = ClassifierSubject.of(mnist7.model())) {
            List<ClassifierSubject.WeightMatrix> weights = subject.weights();
            assertEquals(weights.size(), g.weights().size());
            for (ClassifierSubject.WeightMatrix w : weights) {
                float[] gw = g.weights().get(w.layer());
                assertEquals(w.rows() * w.cols(), gw.length, w.layer());
                OnnxLayer layer = mnist7.onnxLayers().stream().filter(l -> l.info().name().equals(w.layer()))
                        .findFirst().orElseThrow();
                int best = 0;
                for (int i = 0; i < gw.length; i++) {
                    if (Math.abs(gw[i]) > Math.abs(gw[best])) {
                        best = i;
                    }
                }
                float h = 2e-3f;
                float[] up = w.values().clone();
                float[] down = w.values().clone();
                up[best] += h;
                down[best] -= h;
                double moved = (ortLoss(mnist7.replacement(layer, up), raw, labels, n)
                        - ortLoss(mnist7.replacement(layer, down), raw, labels, n)) / (up[best] - down[best]);
                System.out.printf("%s[%d,%d]: gradient %.6g, ONNX Runtime difference %.6g%n", w.layer(),
                        best / w.cols(), best % w.cols(), gw[best], moved);
                assertTrue(Math.abs(gw[best]) > 1e-2, w.layer() + " gradient " + gw[best]);
                assertEquals(moved, gw[best], 0.02 * Math.abs(gw[best]) + 1e-3,
                        w.layer() + " at " + best / w.cols() + "," + best % w.cols());
            }
        }
    }

    private static double ortLoss(Map<String, float[]> replacement, float[] raw, int[] labels, int n) {
        float[] logits;
        try (OnnxClassifier c = OnnxClassifier.open(mnist7, replacement)) {
            logits = c.logits(raw, n);
        }
        double s = 0;
        for (int i = 0; i < n; i++) {
            double[] l = new double[10];
            for (int c = 0; c < 10; c++) {
                l[c] = logits[i * 10 + c];
            }
            s += naiveCrossEntropy(l, labels[i]);
        }
        return s / n;
    }

    /**
     * A Gemm network (Flatten, Gemm with transB, Relu, Sub of a constant, Gemm without transB, padded strided Conv
     * and MaxPool before them): forward equal to ONNX Runtime's, backward equal to finite differences.
     */
    @Test
    void otherSupportedOpsMatchOnnxRuntimeAndFiniteDifferences() {
        Random rng = new Random(21);
        float[] conv = gaussian(rng, 3 * 2 * 3 * 3);
        float[] convB = gaussian(rng, 3);
        float[] w1 = gaussian(rng, 6 * 12);
        float[] b1 = gaussian(rng, 6);
        float[] w2 = gaussian(rng, 6 * 4);
        float[] shift = gaussian(rng, 6);
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("Conv", "conv", new String[]{"x", "cw", "cb"}, "c", intsAttr("pads", 1, 0, 0, 1),
                        intsAttr("strides", 2, 1), intsAttr("kernel_shape", 3, 3)))
                .addNode(node("MaxPool", "pool", new String[]{"c"}, "p", intsAttr("kernel_shape", 2, 2),
                        intsAttr("strides", 1, 2), intsAttr("pads", 0, 1, 0, 0)))
                .addNode(node("Flatten", "flat", new String[]{"p"}, "f"))
                .addNode(node("Gemm", "fc1", new String[]{"f", "w1", "b1"}, "h", intAttr("transB", 1)))
                .addNode(node("Relu", "relu", new String[]{"h"}, "r"))
                .addNode(node("Sub", "sub", new String[]{"r", "shift"}, "s"))
                .addNode(node("Mul", "mul", new String[]{"s", "s"}, "sq"))
                .addNode(node("Gemm", "fc2", new String[]{"sq", "w2"}, "y",
                        AttributeProto.newBuilder().setName("alpha").setType(AttributeProto.AttributeType.FLOAT)
                                .setF(0.5f).build()))
                .addInitializer(raw("cw", conv, 3, 2, 3, 3))
                .addInitializer(raw("cb", convB, 3))
                .addInitializer(raw("w1", w1, 6, 12))
                .addInitializer(raw("b1", b1, 6))
                .addInitializer(raw("w2", w2, 6, 4))
                .addInitializer(raw("shift", shift, 6))
                .addInput(floatValue("x", "N", 2, 7, 5)).addOutput(floatValue("y", "N", 4)).build();
        OnnxModel m = OnnxModel.parse(OnnxTestModels.model(g).toByteArray(), "ops.onnx", "ops");
        // conv: H (7 + 1 − 3) / 2 + 1 = 3, W (5 + 1 − 3) / 1 + 1 = 4; pool: H (3 − 2) / 1 + 1 = 2, W (4 + 1 − 2) / 2 + 1 = 2
        OnnxGradients grads = OnnxGradients.of(m, Map.of(), 1f);
        OnnxGraphNet net = grads.net();
        int n = 4;
        float[] x = gaussian(rng, n * 70);
        float[] ours = net.logits(x, n);
        float[] ort;
        try (OnnxClassifier c = OnnxClassifier.open(m)) {
            ort = c.logits(x, n);
        }
        for (int i = 0; i < ours.length; i++) {
            assertEquals(ort[i], ours[i], 1e-4 * (1 + Math.abs(ort[i])), "logit " + i);
        }
        assertEquals(Set.of("cw", "w1", "w2"), net.trainable());
        for (int img = 0; img < n; img++) {
            OnnxGraphNet.ImagePass pass = net.backward(x, img, img % 4);
            for (Map.Entry<String, double[]> e : pass.gradients().entrySet()) {
                double[] gr = e.getValue();
                for (int i = 0; i < gr.length; i++) {
                    double h = 1e-6;
                    double fd = (net.lossWith(x, img, img % 4, e.getKey(), i, h)
                            - net.lossWith(x, img, img % 4, e.getKey(), i, -h)) / (2 * h);
                    assertEquals(fd, gr[i], 1e-7 + 1e-5 * Math.abs(fd), e.getKey() + "[" + i + "] image " + img);
                }
            }
        }
    }

    @Test
    void unsupportedOpsAreNamedWithTheirNode() {
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("Gemm", "fc", new String[]{"x", "w"}, "h", intAttr("transB", 1)))
                .addNode(node("Sigmoid", "squash", new String[]{"h"}, "y"))
                .addInitializer(raw("w", new float[12], 3, 4))
                .addInput(floatValue("x", "N", 4)).addOutput(floatValue("y", "N", 3)).build();
        OnnxModel m = OnnxModel.parse(OnnxTestModels.model(g).toByteArray(), "sig.onnx", "sig");
        SqueezeException e = assertThrows(SqueezeException.class, () -> OnnxGradients.of(m));
        assertTrue(e.getMessage().contains("Gradients of ONNX op Sigmoid (node 'squash'"), e.getMessage());
        assertTrue(e.fix().contains("Fisher"), e.fix());
    }

    /** The {@code k} images among the first {@code count} with the highest loss, highest first. */
    private static int[] hardest(OnnxGraphNet net, int count, int k) {
        float[] logits = net.logits(mnistTest.batch(0, count), count);
        Integer[] order = new Integer[count];
        double[] loss = new double[count];
        for (int i = 0; i < count; i++) {
            order[i] = i;
            double[] l = new double[10];
            for (int c = 0; c < 10; c++) {
                l[c] = logits[i * 10 + c];
            }
            loss[i] = naiveCrossEntropy(l, mnistTest.label(i));
        }
        java.util.Arrays.sort(order, (a, b) -> Double.compare(loss[b], loss[a]));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = order[i];
        }
        return out;
    }

    private static int argmax(float[] v, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[off + i] > v[off + best]) {
                best = i;
            }
        }
        return best;
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
