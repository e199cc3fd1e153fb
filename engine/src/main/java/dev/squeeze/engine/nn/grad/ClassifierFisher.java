package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.runs.ClassifierSubject;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Per-weight empirical Fisher diagonals of a classifier over calibration images:
 * {@code F = Σ_images (∂loss_image/∂W)²}, where one sample is one image and {@code loss_image} is the softmax
 * cross-entropy of its logits against its true label. Used as a sensitivity proxy: replacing {@code W} by
 * {@code Ŵ} raises the loss by about {@link Diagonals#proxy ½ Σ F (W − Ŵ)²} (summed over images).
 * <p>
 * Keys are the layer names of {@link ClassifierSubject#weights()} and each array has that weight's
 * {@code rows × cols} layout (an MLP's {@code out × in}; an ONNX linear's {@code out × in}; a convolution's
 * {@code M × (C/group·kH·kW)} filters, as the initializer stores them).
 */
public final class ClassifierFisher {
    /** Images per batch of the MLP's matrix-product path (bounds its activation memory). */
    private static final int MLP_BATCH = 256;

    private ClassifierFisher() {
    }

    /**
     * The Fisher diagonals of one classifier.
     *
     * @param model    the model's source
     * @param images   the number of calibration images (samples) summed
     * @param meanLoss the mean cross-entropy of the dense model over them (nats)
     * @param fisher   layer name → {@code rows × cols} diagonal, in inventory order
     */
    public record Diagonals(String model, int images, double meanLoss, Map<String, float[]> fisher) {

        /** The diagonal of a layer, or a clear error naming the layers there are. */
        public float[] of(String layer) {
            float[] f = fisher.get(layer);
            if (f == null) {
                throw new SqueezeException("No Fisher diagonal for layer '" + layer + "' of " + model,
                        "use one of the model's compressible layers: " + String.join(", ", fisher.keySet()));
            }
            return f;
        }

        /**
         * The Fisher proxy of replacing a layer's weight {@code dense} by {@code compressed} (both {@code rows × cols}
         * as {@link ClassifierSubject#weights()} gives them): {@code ½ Σ F (W − Ŵ)²}, the second-order estimate of the
         * increase of the summed loss over the calibration images; divide by {@link #images()} for the mean.
         */
        public double proxy(String layer, float[] dense, float[] compressed) {
            float[] f = of(layer);
            if (dense.length != f.length || compressed.length != f.length) {
                throw new IllegalArgumentException("layer " + layer + " has " + f.length + " weights; got "
                        + dense.length + " dense and " + compressed.length + " compressed values");
            }
            double s = 0;
            for (int i = 0; i < f.length; i++) {
                double d = (double) dense[i] - compressed[i];
                s += f[i] * d * d;
            }
            return 0.5 * s;
        }
    }

    /** The Fisher diagonals of a classifier subject's dense model over {@code calibration}. */
    public static Diagonals compute(ClassifierSubject subject, ImageSet calibration) {
        return compute(subject.model(), calibration);
    }

    /**
     * The Fisher diagonals of a Squeeze MLP or an ONNX classifier (read again from its source file) over
     * {@code calibration}.
     */
    public static Diagonals compute(Model model, ImageSet calibration) {
        return switch (model.architecture()) {
            case MlpClassifier.ARCHITECTURE -> mlp(model, calibration);
            case OnnxModel.ARCHITECTURE -> onnx(OnnxModel.read(Path.of(model.source())), calibration);
            default -> throw new SqueezeException("Model " + model.source() + " (architecture '" + model.architecture()
                    + "') is not an image classifier",
                    "Fisher diagonals for classifiers take Squeeze MLPs and ONNX classifiers");
        };
    }

    /** The Fisher diagonals of a Squeeze MLP, batch by batch through its matrix-product path. */
    public static Diagonals mlp(Model model, ImageSet calibration) {
        MlpGradients g = MlpGradients.of(model);
        requireImages(model.source(), calibration);
        Map<String, double[]> sums = new LinkedHashMap<>();
        double loss = 0;
        for (int from = 0; from < calibration.count(); from += MLP_BATCH) {
            int n = Math.min(MLP_BATCH, calibration.count() - from);
            MlpGradients.Fisher f = g.fisher(calibration, from, n);
            loss += f.lossSum();
            f.weights().forEach((layer, v) -> {
                double[] s = sums.computeIfAbsent(layer, k -> new double[v.length]);
                for (int i = 0; i < v.length; i++) {
                    s[i] += v[i];
                }
            });
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        sums.forEach((layer, s) -> {
            float[] f = new float[s.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) s[i];
            }
            out.put(layer, f);
        });
        return new Diagonals(model.source(), calibration.count(), loss / calibration.count(),
                Collections.unmodifiableMap(out));
    }

    /** The Fisher diagonals of an ONNX classifier, fed raw inputs as {@code ClassifierSubject} evaluates it. */
    public static Diagonals onnx(OnnxModel model, ImageSet calibration) {
        requireImages(model.model().source(), calibration);
        OnnxGradients.Fisher f = OnnxGradients.of(model).fisher(calibration, 0, calibration.count());
        return new Diagonals(model.model().source(), f.images(), f.lossSum() / f.images(), f.weights());
    }

    private static void requireImages(String where, ImageSet calibration) {
        if (calibration.count() < 1) {
            throw new SqueezeException("The calibration image set " + calibration.name() + " for " + where
                    + " is empty", "give at least one labelled calibration image");
        }
    }
}
