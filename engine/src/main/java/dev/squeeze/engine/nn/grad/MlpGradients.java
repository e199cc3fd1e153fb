package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.nn.MlpLayout;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Gradients of the classification loss of a Squeeze MLP ({@link MlpClassifier}: raw inputs times the input scale,
 * linears {@code z = W x + b} with ReLU between them, logits out) with respect to every linear's weight and bias.
 * <p>
 * The loss of a batch is the mean over its images of the softmax cross-entropy {@code −log softmax(logits)[label]}
 * (natural logarithm). Two paths compute the same thing:
 * <ul>
 *   <li>{@link #computeReference} / {@link #fisherReference}: readable loops, one image at a time, in float64;</li>
 *   <li>{@link #compute} / {@link #fisher}: the whole batch at once through float32 matrix products
 *       ({@link Blas#get()}): {@code Z = X Wᵀ}, {@code ∂W = ∂Zᵀ X}, {@code ∂X = ∂Z W}.</li>
 * </ul>
 * Fisher diagonals are empirical: the sum over images of the squared gradient of that image's own loss. For a
 * linear, one image's weight gradient is the outer product {@code δ xᵀ}, so the sum of its squares over a batch is
 * the product {@code (Δ∘Δ)ᵀ (X∘X)}, which the fast path computes exactly that way.
 * <p>
 * Weight gradients are {@code out × in} row-major, as the model stores the weight and as
 * {@code ClassifierSubject.weights()} gives it to compression. Instances are immutable and thread-safe.
 */
public final class MlpGradients {

    /**
     * One linear as the gradients see it.
     *
     * @param weight {@code out × in}, row-major
     * @param bias   {@code out} values, or null when the layer has none
     */
    public record Layer(String name, int out, int in, float[] weight, float[] bias) {
        public Layer {
            if (out < 1 || in < 1 || weight.length != (long) out * in) {
                throw new IllegalArgumentException("layer " + name + ": " + weight.length + " weights for " + out
                        + " × " + in);
            }
            if (bias != null && bias.length != out) {
                throw new IllegalArgumentException("layer " + name + ": bias has " + bias.length + " values, expected "
                        + out);
            }
        }
    }

    /**
     * The loss of a batch and its gradient.
     *
     * @param loss    mean softmax cross-entropy over the batch (nats)
     * @param images  the batch size
     * @param weights layer name → {@code ∂loss/∂W}, {@code out × in} row-major, in layer order
     * @param biases  layer name → {@code ∂loss/∂b} for the layers that have a bias
     */
    public record Gradients(double loss, int images, Map<String, float[]> weights, Map<String, float[]> biases) {
    }

    /**
     * Per-weight empirical Fisher diagonals of a batch.
     *
     * @param lossSum the sum over the images of each one's cross-entropy (nats)
     * @param images  how many images (samples) were summed
     * @param weights layer name → {@code Σ_images (∂loss_image/∂W)²}, {@code out × in} row-major, in layer order
     * @param biases  layer name → the same for the bias, for the layers that have one
     */
    public record Fisher(double lossSum, int images, Map<String, float[]> weights, Map<String, float[]> biases) {
    }

    private final List<Layer> layers;
    private final float inputScale;
    private final Blas blas;

    public MlpGradients(List<Layer> layers, float inputScale) {
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("an MLP has at least one layer");
        }
        for (int i = 1; i < layers.size(); i++) {
            if (layers.get(i).in() != layers.get(i - 1).out()) {
                throw new IllegalArgumentException("layer " + layers.get(i).name() + " takes " + layers.get(i).in()
                        + " inputs but " + layers.get(i - 1).name() + " gives " + layers.get(i - 1).out());
            }
        }
        this.layers = List.copyOf(layers);
        this.inputScale = inputScale;
        this.blas = Blas.get();
    }

    /** The gradients of a model of architecture {@value MlpClassifier#ARCHITECTURE} (checked by {@link MlpLayout}). */
    public static MlpGradients of(Model model) {
        MlpLayout layout = MlpLayout.of(model);
        List<Layer> layers = new ArrayList<>();
        for (MlpLayout.Layer l : layout.layers()) {
            layers.add(new Layer(l.name(), l.out(), l.in(), l.weight().floats(),
                    l.bias() == null ? null : l.bias().floats()));
        }
        return new MlpGradients(layers, layout.inputScale());
    }

    public List<Layer> layers() {
        return layers;
    }

    public int inputSize() {
        return layers.getFirst().in();
    }

    public int classes() {
        return layers.getLast().out();
    }

    /** {@link #compute(float[], int[], int)} on images {@code [from, from + n)} of a labelled set. */
    public Gradients compute(ImageSet images, int from, int n) {
        return compute(checkedBatch(images, from, n), labels(images, from, n), n);
    }

    /** {@link #fisher(float[], int[], int)} on images {@code [from, from + n)} of a labelled set. */
    public Fisher fisher(ImageSet images, int from, int n) {
        return fisher(checkedBatch(images, from, n), labels(images, from, n), n);
    }

    // ---------------------------------------------------------------- fast path: the batch through float32 GEMMs

    /**
     * Mean loss of a batch and its gradient, through float32 matrix products.
     *
     * @param rawInputs {@code batch × inputSize} raw values (e.g. 0–255 pixels), row-major
     * @param labels    one class index per image
     */
    public Gradients compute(float[] rawInputs, int[] labels, int batch) {
        Pass p = forward(rawInputs, labels, batch);
        // d(mean loss)/dlogits = (softmax − onehot) / batch
        float[] delta = p.delta;
        float inv = 1f / batch;
        for (int i = 0; i < delta.length; i++) {
            delta[i] *= inv;
        }
        Map<String, float[]> dW = new LinkedHashMap<>();
        Map<String, float[]> dB = new LinkedHashMap<>();
        for (int l = layers.size() - 1; l >= 0; l--) {
            Layer layer = layers.get(l);
            float[] x = p.inputs[l];
            float[] g = new float[layer.out * layer.in];
            // ∂W = Δᵀ X: Δ is batch × out, X batch × in.
            blas.sgemm(true, false, layer.out, layer.in, batch, 1f, delta, 0, layer.out, x, 0, layer.in, 0f, g, 0,
                    layer.in);
            dW.put(layer.name, g);
            if (layer.bias != null) {
                dB.put(layer.name, columnSums(delta, batch, layer.out));
            }
            if (l > 0) {
                delta = backThroughRelu(layer, delta, batch, x);
            }
        }
        return new Gradients(p.lossSum / batch, batch, inOrder(dW), inOrder(dB));
    }

    /**
     * Empirical Fisher diagonals of a batch through float32 matrix products: for each linear
     * {@code Σ_i (δ_i x_iᵀ)² = (Δ∘Δ)ᵀ (X∘X)}, where {@code δ_i} is the gradient of image i's own loss with respect
     * to the layer's output.
     */
    public Fisher fisher(float[] rawInputs, int[] labels, int batch) {
        Pass p = forward(rawInputs, labels, batch);
        float[] delta = p.delta;
        Map<String, float[]> fW = new LinkedHashMap<>();
        Map<String, float[]> fB = new LinkedHashMap<>();
        for (int l = layers.size() - 1; l >= 0; l--) {
            Layer layer = layers.get(l);
            float[] x = p.inputs[l];
            float[] d2 = squares(delta);
            float[] x2 = squares(x);
            float[] f = new float[layer.out * layer.in];
            blas.sgemm(true, false, layer.out, layer.in, batch, 1f, d2, 0, layer.out, x2, 0, layer.in, 0f, f, 0,
                    layer.in);
            fW.put(layer.name, f);
            if (layer.bias != null) {
                fB.put(layer.name, columnSums(d2, batch, layer.out));
            }
            if (l > 0) {
                delta = backThroughRelu(layer, delta, batch, x);
            }
        }
        return new Fisher(p.lossSum, batch, inOrder(fW), inOrder(fB));
    }

    /** Activations of a batch: the input of every layer, and the softmax − onehot of the logits. */
    private record Pass(float[][] inputs, float[] delta, double lossSum) {
    }

    private Pass forward(float[] rawInputs, int[] labels, int batch) {
        checkBatch(rawInputs, labels, batch);
        float[][] inputs = new float[layers.size()][];
        float[] x = new float[batch * inputSize()];
        for (int i = 0; i < x.length; i++) {
            x[i] = rawInputs[i] * inputScale;
        }
        for (int l = 0; l < layers.size(); l++) {
            Layer layer = layers.get(l);
            inputs[l] = x;
            float[] z = new float[batch * layer.out];
            blas.sgemm(false, true, batch, layer.out, layer.in, 1f, x, 0, layer.in, layer.weight, 0, layer.in, 0f, z, 0,
                    layer.out);
            for (int b = 0; b < batch; b++) {
                for (int o = 0; o < layer.out; o++) {
                    float v = z[b * layer.out + o] + (layer.bias == null ? 0f : layer.bias[o]);
                    z[b * layer.out + o] = l + 1 < layers.size() ? Math.max(0f, v) : v;
                }
            }
            x = z;
        }
        int classes = classes();
        double lossSum = 0;
        float[] delta = new float[batch * classes];
        for (int b = 0; b < batch; b++) {
            lossSum += softmaxMinusOneHot(x, b * classes, classes, labels[b], delta);
        }
        return new Pass(inputs, delta, lossSum);
    }

    /**
     * The gradient with respect to the layer's input, then through the ReLU that produced that input: the ReLU's
     * output {@code x} is positive exactly where its input was.
     */
    private float[] backThroughRelu(Layer layer, float[] delta, int batch, float[] x) {
        float[] dx = new float[batch * layer.in];
        blas.sgemm(false, false, batch, layer.in, layer.out, 1f, delta, 0, layer.out, layer.weight, 0, layer.in, 0f, dx,
                0, layer.in);
        for (int i = 0; i < dx.length; i++) {
            if (x[i] <= 0f) {
                dx[i] = 0f;
            }
        }
        return dx;
    }

    // ---------------------------------------------------------------- readable path: one image at a time, float64

    /** The mean loss of a batch and its gradient, image by image in float64 (the reference for {@link #compute}). */
    public Gradients computeReference(float[] rawInputs, int[] labels, int batch) {
        checkBatch(rawInputs, labels, batch);
        double[][] gw = new double[layers.size()][];
        double[][] gb = new double[layers.size()][];
        for (int l = 0; l < layers.size(); l++) {
            gw[l] = new double[layers.get(l).weight.length];
            gb[l] = new double[layers.get(l).out];
        }
        double lossSum = 0;
        for (int b = 0; b < batch; b++) {
            lossSum += backward(rawInputs, b, labels[b], gw, gb, false);
        }
        return new Gradients(lossSum / batch, batch, toFloats(gw, 1.0 / batch, false), toFloats(gb, 1.0 / batch, true));
    }

    /** Empirical Fisher diagonals of a batch, image by image in float64 (the reference for {@link #fisher}). */
    public Fisher fisherReference(float[] rawInputs, int[] labels, int batch) {
        checkBatch(rawInputs, labels, batch);
        double[][] fw = new double[layers.size()][];
        double[][] fb = new double[layers.size()][];
        for (int l = 0; l < layers.size(); l++) {
            fw[l] = new double[layers.get(l).weight.length];
            fb[l] = new double[layers.get(l).out];
        }
        double lossSum = 0;
        for (int b = 0; b < batch; b++) {
            lossSum += backward(rawInputs, b, labels[b], fw, fb, true);
        }
        return new Fisher(lossSum, batch, toFloats(fw, 1, false), toFloats(fb, 1, true));
    }

    /**
     * Forward and backward pass of one image; adds {@code ∂loss/∂W} (or its square) to {@code gw}, {@code gb}.
     *
     * @return the image's loss
     */
    private double backward(float[] rawInputs, int image, int label, double[][] gw, double[][] gb, boolean squared) {
        int n = layers.size();
        double[][] acts = new double[n + 1][];
        acts[0] = new double[inputSize()];
        for (int i = 0; i < acts[0].length; i++) {
            acts[0][i] = (double) rawInputs[image * inputSize() + i] * inputScale;
        }
        for (int l = 0; l < n; l++) {
            Layer layer = layers.get(l);
            double[] in = acts[l];
            double[] out = new double[layer.out];
            for (int o = 0; o < layer.out; o++) {
                double s = layer.bias == null ? 0 : layer.bias[o];
                for (int i = 0; i < layer.in; i++) {
                    s += (double) layer.weight[o * layer.in + i] * in[i];
                }
                out[o] = l + 1 < n ? Math.max(0, s) : s;
            }
            acts[l + 1] = out;
        }
        double[] logits = acts[n];
        // ∂loss/∂logits = softmax − onehot
        double[] delta = new double[logits.length];
        double loss = crossEntropy(logits, label, delta);
        for (int l = n - 1; l >= 0; l--) {
            Layer layer = layers.get(l);
            double[] in = acts[l];
            for (int o = 0; o < layer.out; o++) {
                for (int i = 0; i < layer.in; i++) {
                    double g = delta[o] * in[i];
                    gw[l][o * layer.in + i] += squared ? g * g : g;
                }
                gb[l][o] += squared ? delta[o] * delta[o] : delta[o];
            }
            if (l > 0) {
                double[] prev = new double[layer.in];
                for (int i = 0; i < layer.in; i++) {
                    if (in[i] > 0) {
                        double s = 0;
                        for (int o = 0; o < layer.out; o++) {
                            s += delta[o] * layer.weight[o * layer.in + i];
                        }
                        prev[i] = s;
                    }
                }
                delta = prev;
            }
        }
        return loss;
    }

    // ---------------------------------------------------------------- helpers

    /** Writes softmax − onehot of one row of logits into {@code delta}; returns that row's cross-entropy. */
    static double softmaxMinusOneHot(float[] logits, int off, int classes, int label, float[] delta) {
        double[] row = new double[classes];
        for (int c = 0; c < classes; c++) {
            row[c] = logits[off + c];
        }
        double[] d = new double[classes];
        double loss = crossEntropy(row, label, d);
        for (int c = 0; c < classes; c++) {
            delta[off + c] = (float) d[c];
        }
        return loss;
    }

    /**
     * The softmax cross-entropy {@code −log softmax(logits)[label]} and, when {@code gradient} is not null, its
     * gradient {@code softmax − onehot}, both accurate however confident the logits: the loss is
     * {@code (max − logit[label]) + log1p(Σ_{c ≠ argmax} e^{logit[c] − max})} and the label's gradient entry is
     * {@code −Σ_{c ≠ label} softmax[c]}, so that a loss of 1e-30 (logits thousands apart, as mnist-7's on raw
     * pixels) is not rounded to zero by {@code log(1 + tiny)} or {@code p − 1}.
     */
    static double crossEntropy(double[] logits, int label, double[] gradient) {
        int top = 0;
        for (int c = 1; c < logits.length; c++) {
            if (logits[c] > logits[top]) {
                top = c;
            }
        }
        double max = logits[top];
        double rest = 0;
        for (int c = 0; c < logits.length; c++) {
            if (c != top) {
                rest += Math.exp(logits[c] - max);
            }
        }
        double logSum = Math.log1p(rest);
        if (gradient != null) {
            double others = 0;
            for (int c = 0; c < logits.length; c++) {
                if (c != label) {
                    gradient[c] = Math.exp(logits[c] - max - logSum);
                    others += gradient[c];
                }
            }
            gradient[label] = -others;
        }
        return (max - logits[label]) + logSum;
    }

    private static float[] squares(float[] a) {
        float[] s = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = a[i] * a[i];
        }
        return s;
    }

    private static float[] columnSums(float[] m, int rows, int cols) {
        double[] s = new double[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                s[c] += m[r * cols + c];
            }
        }
        float[] out = new float[cols];
        for (int c = 0; c < cols; c++) {
            out[c] = (float) s[c];
        }
        return out;
    }

    private Map<String, float[]> toFloats(double[][] values, double scale, boolean biases) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (int l = 0; l < layers.size(); l++) {
            Layer layer = layers.get(l);
            if (biases && layer.bias == null) {
                continue;
            }
            float[] f = new float[values[l].length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) (values[l][i] * scale);
            }
            out.put(layer.name, f);
        }
        return Collections.unmodifiableMap(out);
    }

    /** The backward loops fill maps from the last layer to the first; results list layers in network order. */
    private Map<String, float[]> inOrder(Map<String, float[]> filled) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Layer l : layers) {
            float[] v = filled.get(l.name);
            if (v != null) {
                out.put(l.name, v);
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private void checkBatch(float[] rawInputs, int[] labels, int batch) {
        if (batch < 1) {
            throw new IllegalArgumentException("a batch has at least one image, was " + batch);
        }
        if (rawInputs.length != (long) batch * inputSize() || labels.length < batch) {
            throw new IllegalArgumentException(rawInputs.length + " input values and " + labels.length
                    + " labels for " + batch + " images of " + inputSize());
        }
        for (int b = 0; b < batch; b++) {
            if (labels[b] < 0 || labels[b] >= classes()) {
                throw new SqueezeException("Image " + b + " of the batch has label " + labels[b] + ", but the model has "
                        + classes() + " classes (0–" + (classes() - 1) + ")",
                        "use a labelled image set made for this model");
            }
        }
    }

    private float[] checkedBatch(ImageSet images, int from, int n) {
        if (images.imageSize() != inputSize()) {
            throw new SqueezeException("Image set " + images.name() + " has images of " + images.rows() + " × "
                    + images.cols() + " = " + images.imageSize() + " values, but the model takes " + inputSize(),
                    "use images of the size the model was trained on");
        }
        if (from < 0 || n < 1 || from + n > images.count()) {
            throw new IllegalArgumentException("images [" + from + ", " + (from + n) + ") of a set of "
                    + images.count());
        }
        return images.batch(from, n);
    }

    static int[] labels(ImageSet images, int from, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = images.label(from + i);
        }
        return out;
    }
}
