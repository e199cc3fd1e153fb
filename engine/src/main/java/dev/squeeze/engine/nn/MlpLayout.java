package dev.squeeze.engine.nn;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a model of architecture {@value MlpClassifier#ARCHITECTURE} says about its network, checked against its
 * tensors: the layers its metadata lists exist as {@code out × in} weights (with an optional bias of {@code out}
 * values), each takes what the previous one gives, the input scale is a finite number and the class names, when
 * given, are one per output. Readers check it when they open such a file, so that a damaged one is refused there,
 * naming the file and the tensor, and never reaches the network's constructors.
 *
 * @param layers     in order
 * @param inputScale the factor applied to raw inputs (e.g. 1/255)
 * @param classNames one per output of the last layer
 */
public record MlpLayout(List<Layer> layers, float inputScale, List<String> classNames) {

    /** One linear: {@code weight} is {@code out × in}; {@code bias} is null or has {@code out} values. */
    public record Layer(String name, Tensor weight, Tensor bias, int out, int in) {
    }

    public MlpLayout {
        layers = List.copyOf(layers);
        classNames = List.copyOf(classNames);
    }

    /** The layout of {@code model}, or a {@link SqueezeException} naming the file, the key or the tensor. */
    public static MlpLayout of(Model model) {
        String where = model.source();
        if (!MlpClassifier.ARCHITECTURE.equals(model.architecture())) {
            throw new SqueezeException("Model " + where + " has architecture '" + model.architecture() + "', not '"
                    + MlpClassifier.ARCHITECTURE + "'", "open an MLP classifier");
        }
        String names = model.metadata().get(MlpClassifier.LAYERS_KEY);
        if (names == null || names.isBlank()) {
            throw new SqueezeException("Model " + where + " lacks the metadata key " + MlpClassifier.LAYERS_KEY
                    + " (its layers in order, comma-separated)", "write the layer order into the file's metadata");
        }
        List<Layer> layers = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String name : names.split(",", -1)) {
            if (name.isEmpty() || !seen.add(name)) {
                throw bad(where, MlpClassifier.LAYERS_KEY + " is '" + names + "', which "
                        + (name.isEmpty() ? "has an empty layer name" : "lists layer '" + name + "' twice"));
            }
            Layer layer = layer(model, name);
            if (!layers.isEmpty() && layers.getLast().out() != layer.in()) {
                Layer previous = layers.getLast();
                throw bad(where, "tensor " + layer.weight().name() + " has shape " + shape(layer.weight())
                        + ", so layer '" + name + "' takes " + layer.in() + " inputs, but the layer before it ('"
                        + previous.name() + "', " + shape(previous.weight()) + ") gives " + previous.out());
            }
            layers.add(layer);
        }
        float scale = inputScale(model, where);
        int outputs = layers.getLast().out();
        String classes = model.metadata().getOrDefault(MlpClassifier.CLASSES_KEY, "");
        List<String> classNames = new ArrayList<>();
        if (classes.isBlank()) {
            for (int i = 0; i < outputs; i++) {
                classNames.add("class " + i);
            }
        } else {
            classNames.addAll(List.of(classes.split(",", -1)));
        }
        if (classNames.size() != outputs) {
            throw bad(where, MlpClassifier.CLASSES_KEY + " names " + classNames.size() + " classes but the last layer ('"
                    + layers.getLast().name() + "', " + shape(layers.getLast().weight()) + ") has " + outputs
                    + " outputs");
        }
        return new MlpLayout(layers, scale, classNames);
    }

    private static Layer layer(Model model, String name) {
        String where = model.source();
        Tensor w = model.findTensor(name + ".weight").orElseThrow(() -> bad(where,
                MlpClassifier.LAYERS_KEY + " lists layer '" + name + "' but there is no tensor " + name + ".weight"));
        long[] s = w.shape();
        // At least 1 and within an int: the forward pass keeps each layer in arrays indexed by int.
        if (s.length != 2 || s[0] < 1 || s[1] < 1 || s[0] > Integer.MAX_VALUE || s[1] > Integer.MAX_VALUE
                || w.numel() > Integer.MAX_VALUE - 8) {
            throw bad(where, "tensor " + w.name() + " has shape " + Arrays.toString(s)
                    + "; a layer's weight is a non-empty out × in matrix");
        }
        Tensor bias = model.findTensor(name + ".bias").orElse(null);
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != s[0])) {
            throw bad(where, "tensor " + bias.name() + " has shape " + shape(bias) + " but " + w.name() + " has "
                    + s[0] + " outputs; a bias has one value per output");
        }
        return new Layer(name, w, bias, (int) s[0], (int) s[1]);
    }

    private static float inputScale(Model model, String where) {
        String text = model.metadata().getOrDefault(MlpClassifier.INPUT_SCALE_KEY, "1");
        float scale;
        try {
            scale = Float.parseFloat(text.strip());
        } catch (NumberFormatException e) {
            throw bad(where, MlpClassifier.INPUT_SCALE_KEY + " is '" + text + "', not a number");
        }
        if (!Float.isFinite(scale)) {
            throw bad(where, MlpClassifier.INPUT_SCALE_KEY + " is '" + text + "'; the input scale must be finite");
        }
        return scale;
    }

    private static String shape(Tensor t) {
        return Arrays.toString(t.shape());
    }

    private static SqueezeException bad(String where, String what) {
        return new SqueezeException("Inconsistent MLP model " + where + ": " + what,
                "the file is damaged or was written by a broken exporter; get a fresh copy or export the model again");
    }
}
