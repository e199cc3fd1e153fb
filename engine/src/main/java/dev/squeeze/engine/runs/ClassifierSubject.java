package dev.squeeze.engine.runs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.onnx.OnnxLayer;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.nn.BiasedLinear;
import dev.squeeze.engine.nn.ImageClassifier;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.nn.onnx.OnnxClassifier;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A classifier as compression runs see it: its weight matrices, and a way to evaluate it dense or with some of
 * them replaced. One implementation per model family (Squeeze MLPs, ONNX graphs).
 */
public sealed interface ClassifierSubject extends AutoCloseable {

    /**
     * One compressible weight as a row-major {@code rows × cols} matrix (a convolution's filters flattened).
     *
     * @param layer  the layer's name in the inventory
     * @param tensor the name of the stored tensor it replaces (for size accounting)
     */
    record WeightMatrix(String layer, String tensor, int rows, int cols, float[] values) {
    }

    Model model();

    List<WeightMatrix> weights();

    ImageClassifier dense();

    /** The classifier with the given layers (by layer name) replaced by compressed weights. */
    ImageClassifier with(Map<String, ? extends CompressedTensor> compressed);

    @Override
    default void close() {
    }

    /** The subject for a model of a family Squeeze can evaluate as a classifier. */
    static ClassifierSubject of(Model model) {
        return switch (model.architecture()) {
            case MlpClassifier.ARCHITECTURE -> new Mlp(model);
            case OnnxModel.ARCHITECTURE -> new Onnx(OnnxModel.read(Path.of(model.source())));
            default -> throw new SqueezeException("Model " + model.source() + " (architecture '" + model.architecture()
                    + "') is not an image classifier", "classifier runs take Squeeze MLPs and ONNX classifiers");
        };
    }

    /** A Squeeze MLP: every linear layer is compressible; compressed layers keep their float32 bias. */
    final class Mlp implements ClassifierSubject {
        private final Model model;
        private final MlpClassifier dense;

        Mlp(Model model) {
            this.model = model;
            this.dense = MlpClassifier.dense(model);
        }

        @Override
        public Model model() {
            return model;
        }

        @Override
        public List<WeightMatrix> weights() {
            List<WeightMatrix> out = new ArrayList<>();
            for (LayerInfo l : model.layers()) {
                if (l.role() == LayerRole.LINEAR && dense.layers().containsKey(l.name())) {
                    var w = model.tensor(l.name() + ".weight");
                    out.add(new WeightMatrix(l.name(), w.name(), (int) w.dim(0), (int) w.dim(1), w.floats()));
                }
            }
            return out;
        }

        @Override
        public ImageClassifier dense() {
            return dense;
        }

        @Override
        public ImageClassifier with(Map<String, ? extends CompressedTensor> compressed) {
            Map<String, LinearOp> replaced = new LinkedHashMap<>();
            compressed.forEach((layer, c) -> {
                LinearOp op = c.asLinearOp();
                var bias = model.findTensor(layer + ".bias");
                replaced.put(layer, bias.isPresent() ? new BiasedLinear(op, bias.get().floats()) : op);
            });
            return dense.withLayers(replaced);
        }
    }

    /**
     * An ONNX graph evaluated by ONNX Runtime; compressed weights are written back (dequantized) into their
     * initializers, so the runtime computes with exactly the values the compressed form stands for.
     */
    final class Onnx implements ClassifierSubject {
        private final OnnxModel onnx;
        private final List<OnnxClassifier> open = new ArrayList<>();

        Onnx(OnnxModel onnx) {
            this.onnx = onnx;
        }

        @Override
        public Model model() {
            return onnx.model();
        }

        @Override
        public List<WeightMatrix> weights() {
            List<WeightMatrix> out = new ArrayList<>();
            for (OnnxLayer l : onnx.onnxLayers()) {
                long[] s = l.info().shape();
                long cols = 1;
                for (int i = 1; i < s.length; i++) {
                    cols *= s[i];
                }
                out.add(new WeightMatrix(l.info().name(), l.weight(), (int) s[0], (int) cols, onnx.logicalWeight(l)));
            }
            return out;
        }

        @Override
        public ImageClassifier dense() {
            return track(OnnxClassifier.open(onnx));
        }

        @Override
        public ImageClassifier with(Map<String, ? extends CompressedTensor> compressed) {
            Map<String, float[]> replacements = new HashMap<>();
            for (OnnxLayer l : onnx.onnxLayers()) {
                CompressedTensor c = compressed.get(l.info().name());
                if (c != null) {
                    replacements.putAll(onnx.replacement(l, c.dequantize()));
                }
            }
            return track(OnnxClassifier.open(onnx, replacements));
        }

        private OnnxClassifier track(OnnxClassifier c) {
            open.add(c);
            return c;
        }

        @Override
        public void close() {
            open.forEach(OnnxClassifier::close);
            open.clear();
        }
    }
}
