package dev.squeeze.engine.nn;

import dev.squeeze.engine.model.Model;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A multi-layer perceptron classifier: linears with ReLU between them, logits out. Architecture {@code mlp}:
 * the model's metadata lists the layer names in order ({@value #LAYERS_KEY}, comma-separated), each with a
 * {@code <name>.weight} (out × in) and optional {@code <name>.bias}; {@value #INPUT_SCALE_KEY} is the factor
 * applied to raw pixels (e.g. 1/255).
 */
public final class MlpClassifier implements ImageClassifier {
    public static final String ARCHITECTURE = "mlp";
    public static final String LAYERS_KEY = "squeeze.mlp.layers";
    public static final String INPUT_SCALE_KEY = "squeeze.input.scale";
    public static final String CLASSES_KEY = "squeeze.classes";

    private final LinkedHashMap<String, LinearOp> layers;
    private final float inputScale;
    private final List<String> classNames;

    public MlpClassifier(LinkedHashMap<String, LinearOp> layers, float inputScale, List<String> classNames) {
        this.layers = new LinkedHashMap<>(layers);
        this.inputScale = inputScale;
        this.classNames = List.copyOf(classNames);
        int width = -1;
        for (Map.Entry<String, LinearOp> e : layers.entrySet()) {
            if (width >= 0 && e.getValue().inFeatures() != width) {
                throw new IllegalArgumentException("layer " + e.getKey() + " takes " + e.getValue().inFeatures()
                        + " inputs but the previous layer gives " + width);
            }
            width = e.getValue().outFeatures();
        }
    }

    /** Builds the dense network described by a model of architecture {@code mlp} (checked by {@link MlpLayout}). */
    public static MlpClassifier dense(Model model) {
        MlpLayout layout = MlpLayout.of(model);
        LinkedHashMap<String, LinearOp> layers = new LinkedHashMap<>();
        for (MlpLayout.Layer l : layout.layers()) {
            float[] bias = l.bias() == null ? null : l.bias().floats();
            layers.put(l.name(), new FastDenseLinear(l.out(), l.in(), l.weight().floats(), bias));
        }
        return new MlpClassifier(layers, layout.inputScale(), layout.classNames());
    }

    /** The same network with some layers replaced (e.g. by compressed ones). */
    public MlpClassifier withLayers(Map<String, LinearOp> replacements) {
        LinkedHashMap<String, LinearOp> copy = new LinkedHashMap<>(layers);
        replacements.forEach((k, v) -> {
            if (copy.replace(k, v) == null) {
                throw new IllegalArgumentException("no layer named " + k);
            }
        });
        return new MlpClassifier(copy, inputScale, classNames);
    }

    public Map<String, LinearOp> layers() {
        return java.util.Collections.unmodifiableMap(layers);
    }

    @Override
    public int inputSize() {
        return layers.firstEntry().getValue().inFeatures();
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    /**
     * Logits for a batch of raw inputs (e.g. 0–255 pixels), {@code batch × inputSize} row-major.
     *
     * @return {@code batch × classes} row-major
     */
    @Override
    public float[] logits(float[] rawInputs, int batch) {
        float[] x = new float[rawInputs.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = rawInputs[i] * inputScale;
        }
        int n = 0;
        for (LinearOp op : layers.values()) {
            float[] y = new float[batch * op.outFeatures()];
            op.forward(x, batch, y);
            if (++n < layers.size()) {
                for (int i = 0; i < y.length; i++) {
                    y[i] = Math.max(0f, y[i]);
                }
            }
            x = y;
        }
        return x;
    }
}
