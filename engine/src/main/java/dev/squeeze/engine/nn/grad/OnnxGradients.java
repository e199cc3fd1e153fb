package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.onnx.OnnxLayer;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.nn.Parallelism;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gradients of the classification loss of an ONNX classifier with respect to every compressible weight (each
 * Gemm, MatMul and Conv weight of {@link OnnxModel#onnxLayers()}), through {@link OnnxGraphNet}.
 * <p>
 * The loss is the softmax cross-entropy of the graph's first output (the logits), averaged over the images for
 * {@link #compute}; {@link #fisher} sums the squared gradient of each image's own loss (one sample = one image).
 * Results are keyed by layer name (the weight initializer's name, as in the inventory and in
 * {@code ClassifierSubject.weights()}) and laid out as that weight's {@code rows × cols} matrix there: the
 * {@code out × in} of a linear (transposed from the stored {@code in × out} of MatMul and of Gemm without
 * transB, as {@link OnnxModel#logicalWeight} does), the stored {@code M × (C/group·kH·kW)} filters of a convolution.
 * <p>
 * Images are processed in a fixed number of chunks (independent of the thread count) whose sums are added in
 * order, so results do not depend on {@code squeeze.threads}.
 */
public final class OnnxGradients {
    /** The most float64 accumulator values all chunks together may hold (256 MiB). */
    private static final long MAX_ACCUMULATOR_VALUES = 32L << 20;
    private static final int MAX_CHUNKS = 8;

    /**
     * The loss of a batch and its gradient.
     *
     * @param loss    mean softmax cross-entropy over the images (nats)
     * @param images  how many images
     * @param weights layer name → {@code ∂loss/∂W} as {@code rows × cols}, in inventory order
     */
    public record Gradients(double loss, int images, Map<String, float[]> weights) {
    }

    /**
     * Empirical Fisher diagonals of a batch.
     *
     * @param lossSum sum over the images of each one's cross-entropy (nats)
     * @param images  how many images (samples) were summed
     * @param weights layer name → {@code Σ_images (∂loss_image/∂W)²} as {@code rows × cols}, in inventory order
     */
    public record Fisher(double lossSum, int images, Map<String, float[]> weights) {
    }

    private final OnnxModel model;
    private final OnnxGraphNet net;

    private OnnxGradients(OnnxModel model, OnnxGraphNet net) {
        this.model = model;
        this.net = net;
    }

    /** Gradients of the model as read, fed raw inputs as they come (as {@code ClassifierSubject} evaluates it). */
    public static OnnxGradients of(OnnxModel model) {
        return of(model, Map.of(), 1f);
    }

    /**
     * @param replacements initializer name → values in its stored layout (see {@link OnnxModel#serializedWith})
     * @param inputScale   factor applied to each raw input value
     * @throws SqueezeException when the model has no compressible weight, or an operator the interpreter cannot
     *                          differentiate (naming it and its node)
     */
    public static OnnxGradients of(OnnxModel model, Map<String, float[]> replacements, float inputScale) {
        if (model.onnxLayers().isEmpty()) {
            throw new SqueezeException("ONNX model " + model.model().source() + " has no Gemm, MatMul or Conv weight"
                    + " to compute gradients for", "open a classifier with compressible layers");
        }
        Set<String> trainable = new LinkedHashSet<>();
        model.onnxLayers().forEach(l -> trainable.add(l.weight()));
        return new OnnxGradients(model, OnnxGraphNet.of(model, trainable, replacements, inputScale));
    }

    /** The interpreter the gradients run on (also an {@link dev.squeeze.engine.nn.ImageClassifier}). */
    public OnnxGraphNet net() {
        return net;
    }

    public List<OnnxLayer> layers() {
        return model.onnxLayers();
    }

    /** {@link #compute(float[], int[], int)} on images {@code [from, from + n)} of a labelled set. */
    public Gradients compute(ImageSet images, int from, int n) {
        return compute(batch(images, from, n), MlpGradients.labels(images, from, n), n);
    }

    /** {@link #fisher(float[], int[], int)} on images {@code [from, from + n)} of a labelled set. */
    public Fisher fisher(ImageSet images, int from, int n) {
        return fisher(batch(images, from, n), MlpGradients.labels(images, from, n), n);
    }

    /**
     * Mean loss of a batch and its gradient.
     *
     * @param rawInputs {@code count × inputSize} raw values, row-major
     * @param labels    one class index per image
     */
    public Gradients compute(float[] rawInputs, int[] labels, int count) {
        Sums s = run(rawInputs, labels, count, false);
        return new Gradients(s.loss / count, count, logical(s.values, 1.0 / count));
    }

    /** Empirical Fisher diagonals: per weight, the sum over images of the squared gradient of that image's loss. */
    public Fisher fisher(float[] rawInputs, int[] labels, int count) {
        Sums s = run(rawInputs, labels, count, true);
        return new Fisher(s.loss, count, logical(s.values, 1));
    }

    private record Sums(double loss, Map<String, double[]> values) {
    }

    private Sums run(float[] rawInputs, int[] labels, int count, boolean squared) {
        if (count < 1 || rawInputs.length != (long) count * net.inputSize() || labels.length < count) {
            throw new IllegalArgumentException(rawInputs.length + " input values and " + labels.length + " labels for "
                    + count + " images of " + net.inputSize());
        }
        long weights = 0;
        for (OnnxLayer l : model.onnxLayers()) {
            weights += model.model().tensor(l.weight()).numel();
        }
        int chunks = (int) Math.max(1, Math.min(Math.min(MAX_CHUNKS, count),
                MAX_ACCUMULATOR_VALUES / Math.max(1, weights)));
        double[] losses = new double[chunks];
        @SuppressWarnings("unchecked")
        Map<String, double[]>[] sums = new Map[chunks];
        Parallelism.forEach(chunks, chunk -> {
            int from = (int) ((long) count * chunk / chunks);
            int to = (int) ((long) count * (chunk + 1) / chunks);
            Map<String, double[]> acc = new LinkedHashMap<>();
            for (String t : net.trainable()) {
                acc.put(t, new double[(int) model.model().tensor(t).numel()]);
            }
            double loss = 0;
            for (int i = from; i < to; i++) {
                OnnxGraphNet.ImagePass p = net.backward(rawInputs, i, labels[i]);
                loss += p.loss();
                for (Map.Entry<String, double[]> e : p.gradients().entrySet()) {
                    double[] a = acc.get(e.getKey());
                    double[] g = e.getValue();
                    for (int q = 0; q < a.length; q++) {
                        a[q] += squared ? g[q] * g[q] : g[q];
                    }
                }
            }
            losses[chunk] = loss;
            sums[chunk] = acc;
        });
        double loss = 0;
        Map<String, double[]> total = sums[0];
        loss += losses[0];
        for (int c = 1; c < chunks; c++) {
            loss += losses[c];
            for (Map.Entry<String, double[]> e : sums[c].entrySet()) {
                double[] t = total.get(e.getKey());
                double[] v = e.getValue();
                for (int q = 0; q < t.length; q++) {
                    t[q] += v[q];
                }
            }
        }
        return new Sums(loss, total);
    }

    /** Stored-layout sums to each layer's {@code rows × cols} matrix, scaled, as float32. */
    private Map<String, float[]> logical(Map<String, double[]> stored, double scale) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (OnnxLayer l : model.onnxLayers()) {
            double[] g = stored.get(l.weight());
            float[] f = new float[g.length];
            if (l.transposed()) {
                // The bytes hold in × out; the layer's matrix is out × in (info().shape()).
                long[] s = l.info().shape();
                int rows = (int) s[0];
                int cols = (int) s[1];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        f[r * cols + c] = (float) (g[c * rows + r] * scale);
                    }
                }
            } else {
                for (int q = 0; q < f.length; q++) {
                    f[q] = (float) (g[q] * scale);
                }
            }
            out.put(l.info().name(), f);
        }
        return Collections.unmodifiableMap(out);
    }

    private float[] batch(ImageSet images, int from, int n) {
        if (images.imageSize() != net.inputSize()) {
            throw new SqueezeException("Image set " + images.name() + " has images of " + images.rows() + " × "
                    + images.cols() + " = " + images.imageSize() + " values, but " + model.model().source()
                    + " takes " + net.inputSize(), "use images of the size the model was trained on");
        }
        if (from < 0 || n < 1 || from + n > images.count()) {
            throw new IllegalArgumentException("images [" + from + ", " + (from + n) + ") of a set of "
                    + images.count());
        }
        return images.batch(from, n);
    }
}
