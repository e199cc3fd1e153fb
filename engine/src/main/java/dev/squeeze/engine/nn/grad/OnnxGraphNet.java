package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.AttributeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.GraphProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.NodeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorShapeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ValueInfoProto;
import dev.squeeze.engine.nn.ImageClassifier;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small interpreter for ONNX image classifiers, with a backward pass: ONNX Runtime's Java API runs graphs but
 * cannot differentiate them, so the gradients of the classification loss with respect to a graph's weights are
 * computed here, from the graph and initializers {@link OnnxModel} read.
 * <p>
 * It runs one image at a time (batch dimension 1), in float64, the operators {@value #SUPPORTED_TEXT} of the
 * default domain (2-D convolution and pooling; {@code MatMul} with a 2-D right-hand side). Any other operator is
 * refused when the interpreter is built, naming the operator and its node. The loss of an image is the softmax
 * cross-entropy of the graph's first output taken as logits.
 * <p>
 * Gradients are computed for the initializers named as trainable, in their stored layout (row-major in the
 * initializer's dims). Instances are immutable; {@link #logits} and {@link #backward} may run on several threads at
 * once.
 */
public final class OnnxGraphNet implements ImageClassifier {
    static final String SUPPORTED_TEXT = "Conv, MaxPool, Relu, Add, Sub, Mul, MatMul, Gemm, Reshape, Flatten, "
            + "Identity, Dropout, Constant";
    private static final Set<String> SUPPORTED = Set.of("Conv", "MaxPool", "Relu", "Add", "Sub", "Mul", "MatMul",
            "Gemm", "Reshape", "Flatten", "Identity", "Dropout", "Constant");
    private static final int FLOAT = 1;
    /** The convolutions' matrix products (exact and deterministic, see {@link Blas}). */
    private static final Blas BLAS = Blas.java();
    private static final int INT64 = 7;

    /** A value of the graph: float64 data, or int64 data for shapes. {@code argmax} holds MaxPool's choices. */
    private record Value(int[] shape, double[] data, long[] ints, int[] argmax) {
        static Value of(int[] shape, double[] data) {
            return new Value(shape, data, null, null);
        }

        int numel() {
            return data != null ? data.length : ints.length;
        }
    }

    private final String source;
    private final List<NodeProto> nodes;
    private final List<String> nodeNames;
    private final Map<String, Value> initial;
    private final Set<String> trainable;
    /** The values whose gradient the backward pass needs: trainable initializers and what depends on them. */
    private final Set<String> needsGrad;
    private final String inputName;
    private final int[] inputShape;
    private final String outputName;
    private final int inputSize;
    private final int classes;
    private final float inputScale;
    private final List<String> classNames;

    private OnnxGraphNet(String source, List<NodeProto> nodes, List<String> nodeNames, Map<String, Value> initial,
                         Set<String> trainable, String inputName, int[] inputShape, String outputName,
                         float inputScale, int classes) {
        this.source = source;
        this.nodes = nodes;
        this.nodeNames = nodeNames;
        this.initial = initial;
        this.trainable = trainable;
        this.inputName = inputName;
        this.inputShape = inputShape;
        this.outputName = outputName;
        this.inputScale = inputScale;
        int n = 1;
        for (int d : inputShape) {
            n *= d;
        }
        this.inputSize = n;
        this.classes = classes;
        List<String> names = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            names.add(Integer.toString(c));
        }
        this.classNames = List.copyOf(names);
        Set<String> need = new HashSet<>(trainable);
        for (NodeProto node : nodes) {
            for (String in : node.getInputList()) {
                if (need.contains(in)) {
                    need.addAll(node.getOutputList());
                    break;
                }
            }
        }
        this.needsGrad = need;
    }

    /**
     * The interpreter for an ONNX classifier.
     *
     * @param trainable    the float initializers whose gradients {@link #backward} computes
     * @param replacements initializer name → values in its stored layout (e.g. a compressed weight), as
     *                     {@link OnnxModel#serializedWith} takes them
     * @param inputScale   factor applied to each raw input value (1 for models that take 0–255 pixels, as
     *                     {@code ClassifierSubject} evaluates ONNX models)
     * @throws SqueezeException naming the first operator the interpreter cannot run or differentiate, or an input or
     *                          output that is not an image classifier's
     */
    public static OnnxGraphNet of(OnnxModel model, Set<String> trainable, Map<String, float[]> replacements,
                                  float inputScale) {
        String where = model.model().source();
        GraphProto graph = model.proto().getGraph();
        List<NodeProto> nodes = graph.getNodeList();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto n = nodes.get(i);
            String name = n.getName().isEmpty() ? n.getOpType() + "#" + i : n.getName();
            names.add(name);
            boolean defaultDomain = n.getDomain().isEmpty() || n.getDomain().equals("ai.onnx");
            if (!defaultDomain || !SUPPORTED.contains(n.getOpType())) {
                throw unsupported(where, (defaultDomain ? "" : n.getDomain() + ".") + n.getOpType(), name);
            }
            if (n.getOpType().equals("MaxPool") && n.getOutputCount() > 1 && !n.getOutput(1).isEmpty()) {
                throw new SqueezeException("Gradients of ONNX op MaxPool with an Indices output (node '" + name
                        + "' of " + where + ") are not supported",
                        "Fisher-based features need a graph of " + SUPPORTED_TEXT + "; use the KL-based sensitivity"
                                + " for this model");
            }
            for (AttributeProto a : n.getAttributeList()) {
                if ((n.getOpType().equals("Add") || n.getOpType().equals("Sub") || n.getOpType().equals("Mul"))
                        && a.getName().equals("axis")) {
                    throw new SqueezeException("ONNX node '" + name + "' of " + where + " (" + n.getOpType()
                            + ") uses the legacy broadcast 'axis' attribute (opset < 7), which the gradient"
                            + " interpreter does not run", "convert the model to opset 7 or later");
                }
            }
        }
        Map<String, Value> initial = new HashMap<>();
        for (TensorProto t : graph.getInitializerList()) {
            if (t.getDataType() == INT64) {
                initial.put(t.getName(), new Value(dims(t), null, int64Values(t), null));
            }
        }
        for (Map.Entry<String, Tensor> e : model.model().tensors().entrySet()) {
            Tensor t = e.getValue();
            float[] f = replacements.containsKey(e.getKey()) ? replacements.get(e.getKey()) : t.floats();
            if (f.length != t.numel()) {
                throw new SqueezeException("Replacement for initializer '" + e.getKey() + "' of " + where + " has "
                        + f.length + " values but its dims " + Arrays.toString(t.shape()) + " hold " + t.numel(),
                        "give one value per element, row-major in the stored layout");
            }
            int[] shape = new int[t.rank()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = (int) t.dim(i);
            }
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            initial.put(e.getKey(), Value.of(shape, d));
        }
        for (String name : replacements.keySet()) {
            if (!model.model().tensors().containsKey(name)) {
                throw new SqueezeException("Model " + where + " has no floating-point initializer named '" + name + "'",
                        "use the names of the model's tensors (see the layer inventory)");
            }
        }
        for (String name : trainable) {
            if (!model.model().tensors().containsKey(name)) {
                throw new IllegalArgumentException("no float initializer named " + name + " in " + where);
            }
        }
        List<ValueInfoProto> inputs = model.inputs();
        if (inputs.size() != 1) {
            throw notClassifier(where, "it has " + inputs.size() + " inputs; an image classifier has one");
        }
        ValueInfoProto in = inputs.getFirst();
        int[] inShape = fixedShape(in, where);
        if (model.outputs().isEmpty()) {
            throw notClassifier(where, "it has no output");
        }
        ValueInfoProto out = model.outputs().getFirst();
        int[] outShape = fixedShape(out, where);
        int classes = 1;
        for (int i = 1; i < outShape.length; i++) {
            classes *= outShape[i];
        }
        if (outShape.length < 2 || classes < 2) {
            throw notClassifier(where, "output '" + out.getName() + "' has shape " + Arrays.toString(outShape)
                    + "; expected batch × classes");
        }
        inShape[0] = 1;
        return new OnnxGraphNet(where, nodes, List.copyOf(names), Collections.unmodifiableMap(initial),
                Collections.unmodifiableSet(new LinkedHashSet<>(trainable)), in.getName(), inShape, out.getName(),
                inputScale, classes);
    }

    /** A graph value's shape with the batch dimension (first) 1 or symbolic and every other one fixed. */
    private static int[] fixedShape(ValueInfoProto v, String where) {
        if (!v.getType().hasTensorType() || v.getType().getTensorType().getElemType() != FLOAT) {
            throw notClassifier(where, "'" + v.getName() + "' is not a float tensor");
        }
        List<TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
        if (dims.size() < 2) {
            throw notClassifier(where, "'" + v.getName() + "' has " + dims.size() + " dimensions; expected a batch"
                    + " dimension followed by the others");
        }
        int[] shape = new int[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            TensorShapeProto.Dimension d = dims.get(i);
            if (i == 0) {
                if (d.hasDimValue() && d.getDimValue() != 1) {
                    throw notClassifier(where, "'" + v.getName() + "' has a fixed batch of " + d.getDimValue()
                            + "; the gradient interpreter runs one image at a time (batch 1 or symbolic)");
                }
                shape[i] = 1;
            } else {
                if (!d.hasDimValue() || d.getDimValue() < 1 || d.getDimValue() > 1 << 24) {
                    throw notClassifier(where, "'" + v.getName() + "' has dimension " + i + " = "
                            + (d.hasDimValue() ? Long.toString(d.getDimValue()) : "'" + d.getDimParam() + "'")
                            + "; every dimension after the batch must be a fixed size");
                }
                shape[i] = (int) d.getDimValue();
            }
        }
        return shape;
    }

    @Override
    public int inputSize() {
        return inputSize;
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    /** The initializers whose gradients {@link #backward} computes, in the order given. */
    public Set<String> trainable() {
        return trainable;
    }

    /** Logits, {@code count × classes} row-major, of raw inputs {@code count × inputSize}. */
    @Override
    public float[] logits(float[] rawInputs, int count) {
        if (rawInputs.length != (long) count * inputSize) {
            throw new IllegalArgumentException(rawInputs.length + " input values for " + count + " images of "
                    + inputSize);
        }
        float[] out = new float[count * classes];
        for (int i = 0; i < count; i++) {
            double[] l = forward(image(rawInputs, i, null), initial).get(outputName).data;
            for (int c = 0; c < classes; c++) {
                out[i * classes + c] = (float) l[c];
            }
        }
        return out;
    }

    /**
     * The loss of one image and its gradient with respect to every trainable initializer.
     *
     * @param loss      the softmax cross-entropy of the image's logits against its label (nats)
     * @param gradients initializer name → {@code ∂loss/∂initializer}, row-major in its stored dims
     */
    public record ImagePass(double loss, Map<String, double[]> gradients) {
    }

    /** Forward and backward pass of image {@code image} of {@code rawInputs} ({@code inputSize} values each). */
    public ImagePass backward(float[] rawInputs, int image, int label) {
        checkLabel(label);
        Map<String, Value> env = forward(image(rawInputs, image, null), initial);
        double[] logits = env.get(outputName).data;
        double[] dOut = new double[classes];
        double loss = MlpGradients.crossEntropy(logits, label, dOut);
        Map<String, double[]> grads = new HashMap<>();
        grads.put(outputName, dOut);
        for (int i = nodes.size() - 1; i >= 0; i--) {
            backwardNode(i, env, grads);
        }
        Map<String, double[]> result = new LinkedHashMap<>();
        for (String t : trainable) {
            double[] g = grads.get(t);
            result.put(t, g != null ? g : new double[initial.get(t).numel()]);
        }
        return new ImagePass(loss, result);
    }

    /**
     * The loss of one image with one initializer value moved by {@code delta}, in float64 (for finite-difference
     * checks of {@link #backward}).
     */
    double lossWith(float[] rawInputs, int image, int label, String initializer, int index, double delta) {
        Map<String, Value> values = new HashMap<>(initial);
        Value v = initial.get(initializer);
        double[] d = v.data.clone();
        d[index] += delta;
        values.put(initializer, Value.of(v.shape, d));
        return crossEntropy(forward(image(rawInputs, image, null), values).get(outputName).data, label);
    }

    private double[] image(float[] rawInputs, int image, double[] into) {
        if (image < 0 || (long) (image + 1) * inputSize > rawInputs.length) {
            throw new IllegalArgumentException("image " + image + " of " + rawInputs.length / inputSize);
        }
        double[] x = into != null ? into : new double[inputSize];
        for (int i = 0; i < inputSize; i++) {
            x[i] = (double) rawInputs[image * inputSize + i] * inputScale;
        }
        return x;
    }

    private void checkLabel(int label) {
        if (label < 0 || label >= classes) {
            throw new SqueezeException("Label " + label + " is not a class of " + source + " (" + classes
                    + " classes, 0–" + (classes - 1) + ")", "use a labelled image set made for this model");
        }
    }

    static double crossEntropy(double[] logits, int label) {
        return MlpGradients.crossEntropy(logits, label, null);
    }

    // ------------------------------------------------------------------------------------------------ forward

    private Map<String, Value> forward(double[] input, Map<String, Value> init) {
        Map<String, Value> env = new HashMap<>(init);
        env.put(inputName, Value.of(inputShape, input));
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto n = nodes.get(i);
            Value out = switch (n.getOpType()) {
                case "Identity", "Dropout" -> in(env, n, 0, i);
                case "Constant" -> constant(n, i);
                case "Relu" -> relu(in(env, n, 0, i));
                case "Add", "Sub", "Mul" -> elementwise(n.getOpType(), in(env, n, 0, i), in(env, n, 1, i), i);
                case "Reshape" -> reshape(n, in(env, n, 0, i), env, i);
                case "Flatten" -> flatten(n, in(env, n, 0, i), i);
                case "MatMul" -> matMul(in(env, n, 0, i), in(env, n, 1, i), i);
                case "Gemm" -> gemm(n, env, i);
                case "Conv" -> conv(n, env, i);
                case "MaxPool" -> maxPool(n, in(env, n, 0, i), i);
                default -> throw unsupported(source, n.getOpType(), nodeNames.get(i));
            };
            env.put(n.getOutput(0), out);
        }
        if (!env.containsKey(outputName) || env.get(outputName).data == null
                || env.get(outputName).data.length != classes) {
            throw bad(-1, "graph output '" + outputName + "' does not hold " + classes + " float values");
        }
        return env;
    }

    private Value in(Map<String, Value> env, NodeProto n, int k, int node) {
        if (n.getInputCount() <= k || n.getInput(k).isEmpty()) {
            throw bad(node, "input " + k + " is missing");
        }
        Value v = env.get(n.getInput(k));
        if (v == null) {
            throw bad(node, "reads '" + n.getInput(k) + "', which no earlier node, input or initializer provides");
        }
        return v;
    }

    private Value floatIn(Map<String, Value> env, NodeProto n, int k, int node) {
        Value v = in(env, n, k, node);
        if (v.data == null) {
            throw bad(node, "input '" + n.getInput(k) + "' is an integer tensor where a float one is expected");
        }
        return v;
    }

    private Value constant(NodeProto n, int node) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals("value") && a.hasT()) {
                TensorProto t = a.getT();
                if (t.getDataType() == INT64) {
                    return new Value(dims(t), null, int64Values(t), null);
                }
                if (t.getDataType() == FLOAT) {
                    return Value.of(dims(t), floatValues(t));
                }
                throw bad(node, "its value has data type " + t.getDataType() + "; the interpreter reads FLOAT and"
                        + " INT64 constants");
            }
        }
        throw bad(node, "it has no tensor 'value' attribute (the interpreter reads tensor constants only)");
    }

    private static Value relu(Value x) {
        double[] y = new double[x.data.length];
        for (int i = 0; i < y.length; i++) {
            y[i] = Math.max(0, x.data[i]);
        }
        return Value.of(x.shape, y);
    }

    /** Multidirectional (numpy) broadcasting: for each output element, the index of the input element it reads. */
    private int[] broadcastShape(int[] a, int[] b, int node) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            int db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw bad(node, "shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + " do not broadcast");
            }
            out[i] = Math.max(da, db);
        }
        return out;
    }

    private static int[] broadcastIndex(int[] out, int[] in) {
        int rank = out.length;
        int[] strides = new int[rank];
        int s = 1;
        for (int i = rank - 1; i >= 0; i--) {
            int j = i - (rank - in.length);
            int d = j >= 0 ? in[j] : 1;
            strides[i] = d == 1 ? 0 : s;
            s *= d;
        }
        int total = numel(out);
        int[] idx = new int[total];
        int[] counter = new int[rank];
        int offset = 0;
        for (int k = 0; k < total; k++) {
            idx[k] = offset;
            for (int i = rank - 1; i >= 0; i--) {
                counter[i]++;
                offset += strides[i];
                if (counter[i] < out[i]) {
                    break;
                }
                offset -= strides[i] * counter[i];
                counter[i] = 0;
            }
        }
        return idx;
    }

    private Value elementwise(String op, Value a, Value b, int node) {
        if (a.data == null || b.data == null) {
            throw bad(node, "an input is an integer tensor; " + op + " runs on floats here");
        }
        int[] shape = broadcastShape(a.shape, b.shape, node);
        int[] ia = broadcastIndex(shape, a.shape);
        int[] ib = broadcastIndex(shape, b.shape);
        double[] y = new double[ia.length];
        for (int k = 0; k < y.length; k++) {
            double x1 = a.data[ia[k]];
            double x2 = b.data[ib[k]];
            y[k] = switch (op) {
                case "Add" -> x1 + x2;
                case "Sub" -> x1 - x2;
                default -> x1 * x2;
            };
        }
        return Value.of(shape, y);
    }

    private Value reshape(NodeProto n, Value x, Map<String, Value> env, int node) {
        long[] target;
        if (n.getInputCount() > 1) {
            Value s = in(env, n, 1, node);
            if (s.ints == null) {
                throw bad(node, "its shape input '" + n.getInput(1) + "' is not an INT64 tensor");
            }
            target = s.ints.clone();
        } else {
            AttributeProto a = attribute(n, "shape");
            if (a == null) {
                throw bad(node, "it has neither a shape input nor a shape attribute");
            }
            target = a.getIntsList().stream().mapToLong(Long::longValue).toArray();
        }
        boolean allowZero = intAttribute(n, "allowzero", 0) != 0;
        int[] shape = new int[target.length];
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < target.length; i++) {
            long d = target[i];
            if (d == 0 && !allowZero) {
                if (i >= x.shape.length) {
                    throw bad(node, "target " + Arrays.toString(target) + " copies dimension " + i + " of an input"
                            + " of shape " + Arrays.toString(x.shape));
                }
                d = x.shape[i];
            }
            if (d == -1 && inferred < 0) {
                inferred = i;
                continue;
            }
            if (d < 0) {
                throw bad(node, "target shape " + Arrays.toString(target) + " is invalid");
            }
            shape[i] = (int) d;
            known *= d;
        }
        int numel = x.numel();
        if (inferred >= 0) {
            if (known == 0 || numel % known != 0) {
                throw bad(node, "cannot reshape " + Arrays.toString(x.shape) + " to " + Arrays.toString(target));
            }
            shape[inferred] = (int) (numel / known);
        } else if (known != numel) {
            throw bad(node, "cannot reshape " + Arrays.toString(x.shape) + " to " + Arrays.toString(target)
                    + " (with a batch of one image)");
        }
        return new Value(shape, x.data, x.ints, null);
    }

    private Value flatten(NodeProto n, Value x, int node) {
        long axis = intAttribute(n, "axis", 1);
        if (axis < 0) {
            axis += x.shape.length;
        }
        if (axis < 0 || axis > x.shape.length) {
            throw bad(node, "axis " + intAttribute(n, "axis", 1) + " for a tensor of rank " + x.shape.length);
        }
        int rows = 1;
        for (int i = 0; i < axis; i++) {
            rows *= x.shape[i];
        }
        return new Value(new int[]{rows, x.numel() / Math.max(rows, 1)}, x.data, x.ints, null);
    }

    /** {@code A (… × K) · B (K × N)}: the leading dimensions of A are rows. */
    private Value matMul(Value a, Value b, int node) {
        if (a.data == null || b.data == null || b.shape.length != 2 || a.shape.length < 1
                || a.shape[a.shape.length - 1] != b.shape[0]) {
            throw bad(node, "MatMul of " + Arrays.toString(a.shape) + " by " + Arrays.toString(b.shape)
                    + " (the interpreter runs A (… × K) by a 2-D B (K × N))");
        }
        int k = b.shape[0];
        int nCols = b.shape[1];
        int m = a.numel() / k;
        double[] y = new double[m * nCols];
        for (int r = 0; r < m; r++) {
            for (int p = 0; p < k; p++) {
                double av = a.data[r * k + p];
                if (av == 0) {
                    continue;
                }
                for (int c = 0; c < nCols; c++) {
                    y[r * nCols + c] += av * b.data[p * nCols + c];
                }
            }
        }
        int[] shape = a.shape.clone();
        shape[shape.length - 1] = nCols;
        return Value.of(shape, y);
    }

    private Value gemm(NodeProto n, Map<String, Value> env, int node) {
        Value a = floatIn(env, n, 0, node);
        Value b = floatIn(env, n, 1, node);
        if (a.shape.length != 2 || b.shape.length != 2) {
            throw bad(node, "Gemm takes 2-D A and B, got " + Arrays.toString(a.shape) + " and "
                    + Arrays.toString(b.shape));
        }
        boolean ta = intAttribute(n, "transA", 0) != 0;
        boolean tb = intAttribute(n, "transB", 0) != 0;
        double alpha = floatAttribute(n, "alpha", 1f);
        double beta = floatAttribute(n, "beta", 1f);
        int m = ta ? a.shape[1] : a.shape[0];
        int k = ta ? a.shape[0] : a.shape[1];
        int kb = tb ? b.shape[1] : b.shape[0];
        int nn = tb ? b.shape[0] : b.shape[1];
        if (k != kb) {
            throw bad(node, "Gemm of " + Arrays.toString(a.shape) + (ta ? "ᵀ" : "") + " by "
                    + Arrays.toString(b.shape) + (tb ? "ᵀ" : ""));
        }
        double[] y = new double[m * nn];
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < nn; c++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += a.data[ta ? p * m + r : r * k + p] * b.data[tb ? c * k + p : p * nn + c];
                }
                y[r * nn + c] = alpha * s;
            }
        }
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty() && beta != 0) {
            Value cIn = floatIn(env, n, 2, node);
            int[] shape = {m, nn};
            if (!Arrays.equals(broadcastShape(shape, cIn.shape, node), shape)) {
                throw bad(node, "C of shape " + Arrays.toString(cIn.shape) + " does not broadcast to " + m + " × "
                        + nn);
            }
            int[] ic = broadcastIndex(shape, cIn.shape);
            for (int q = 0; q < y.length; q++) {
                y[q] += beta * cIn.data[ic[q]];
            }
        }
        return Value.of(new int[]{m, nn}, y);
    }

    /** The geometry of a 2-D convolution or pooling window along one spatial axis. */
    private record Axis(int in, int out, int kernel, int stride, int dilation, int padBegin) {
        /** The first output position whose window's tap {@code k} falls inside the input. */
        int firstOut(int k) {
            int off = k * dilation - padBegin;
            return off >= 0 ? 0 : Math.min(out, Math.ceilDiv(-off, stride));
        }

        /** One past the last output position whose window's tap {@code k} falls inside the input. */
        int endOut(int k) {
            int off = k * dilation - padBegin;
            if (off > in - 1) {
                return 0;
            }
            return Math.min(out, Math.floorDiv(in - 1 - off, stride) + 1);
        }
    }

    private Axis[] windows(NodeProto n, int[] xShape, int[] kernel, boolean ceil, int node) {
        if (xShape.length != 4) {
            throw bad(node, "input of shape " + Arrays.toString(xShape) + "; the interpreter runs 2-D " + n.getOpType()
                    + " (N × C × H × W)");
        }
        long[] strides = ints(n, "strides", new long[]{1, 1});
        long[] dilations = ints(n, "dilations", new long[]{1, 1});
        long[] pads = ints(n, "pads", new long[]{0, 0, 0, 0});
        AttributeProto ap = attribute(n, "auto_pad");
        String autoPad = ap == null ? "NOTSET" : ap.getS().toStringUtf8();
        if (strides.length != 2 || dilations.length != 2 || pads.length != 4) {
            throw bad(node, "strides, dilations and pads must describe two spatial axes");
        }
        Axis[] axes = new Axis[2];
        for (int i = 0; i < 2; i++) {
            int in = xShape[2 + i];
            int k = kernel[i];
            int s = (int) strides[i];
            int d = (int) dilations[i];
            if (k < 1 || s < 1 || d < 1) {
                throw bad(node, "kernel, stride and dilation must be positive");
            }
            int span = (k - 1) * d + 1;
            int out;
            int pb;
            switch (autoPad) {
                case "NOTSET", "" -> {
                    pb = (int) pads[i];
                    int pe = (int) pads[i + 2];
                    int room = in + pb + pe - span;
                    out = (ceil ? Math.ceilDiv(room, s) : Math.floorDiv(room, s)) + 1;
                    if (ceil && (out - 1) * s >= in + pb) {
                        out--;
                    }
                }
                case "VALID" -> {
                    pb = 0;
                    out = Math.floorDiv(in - span, s) + 1;
                }
                case "SAME_UPPER", "SAME_LOWER" -> {
                    out = Math.ceilDiv(in, s);
                    int total = Math.max(0, (out - 1) * s + span - in);
                    pb = autoPad.equals("SAME_UPPER") ? total / 2 : total - total / 2;
                }
                default -> throw bad(node, "auto_pad '" + autoPad + "' is not an ONNX value");
            }
            if (out < 1) {
                throw bad(node, "the window does not fit the input " + Arrays.toString(xShape));
            }
            axes[i] = new Axis(in, out, k, s, d, pb);
        }
        return axes;
    }

    private Value conv(NodeProto n, Map<String, Value> env, int node) {
        Value x = floatIn(env, n, 0, node);
        Value w = floatIn(env, n, 1, node);
        if (w.shape.length != 4 || x.shape.length != 4) {
            throw bad(node, "Conv of " + Arrays.toString(x.shape) + " by weight " + Arrays.toString(w.shape)
                    + "; the interpreter runs 2-D convolutions");
        }
        int group = (int) intAttribute(n, "group", 1);
        int batch = x.shape[0];
        int c = x.shape[1];
        int m = w.shape[0];
        int cg = w.shape[1];
        if (group < 1 || c != cg * group || m % group != 0) {
            throw bad(node, "input of " + c + " channels, weight " + Arrays.toString(w.shape) + ", group " + group);
        }
        Axis[] ax = windows(n, x.shape, new int[]{w.shape[2], w.shape[3]}, false, node);
        double[] bias = null;
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty()) {
            bias = floatIn(env, n, 2, node).data;
            if (bias.length != m) {
                throw bad(node, "bias of " + bias.length + " values for " + m + " output channels");
            }
        }
        Axis h = ax[0];
        Axis wd = ax[1];
        double[] y = new double[batch * m * h.out * wd.out];
        int plane = h.out * wd.out;
        int mg = m / group;
        int taps = cg * h.kernel * wd.kernel;
        // im2col: row (ci, kh, kw) of the column matrix holds, for every output position, the input value that tap
        // reads (0 in the padding); then Y (mg × plane) = W (mg × taps) · columns (taps × plane) per group.
        double[] columns = new double[taps * plane];
        for (int b = 0; b < batch; b++) {
            for (int g = 0; g < group; g++) {
                Arrays.fill(columns, 0);
                for (int ci = 0; ci < cg; ci++) {
                    int xOff = (b * c + g * cg + ci) * h.in * wd.in;
                    for (int kh = 0; kh < h.kernel; kh++) {
                        int ohLo = h.firstOut(kh);
                        int ohHi = h.endOut(kh);
                        for (int kw = 0; kw < wd.kernel; kw++) {
                            int rowOff = ((ci * h.kernel + kh) * wd.kernel + kw) * plane;
                            int owLo = wd.firstOut(kw);
                            int owHi = wd.endOut(kw);
                            int shift = kw * wd.dilation - wd.padBegin;
                            for (int oh = ohLo; oh < ohHi; oh++) {
                                int src = xOff + (oh * h.stride - h.padBegin + kh * h.dilation) * wd.in + shift;
                                int dst = rowOff + oh * wd.out;
                                for (int ow = owLo; ow < owHi; ow++) {
                                    columns[dst + ow] = x.data[src + ow * wd.stride];
                                }
                            }
                        }
                    }
                }
                int yOff = (b * m + g * mg) * plane;
                if (bias != null) {
                    for (int o = 0; o < mg; o++) {
                        Arrays.fill(y, yOff + o * plane, yOff + (o + 1) * plane, bias[g * mg + o]);
                    }
                }
                BLAS.dgemm(false, false, mg, plane, taps, 1.0, w.data, g * mg * taps, taps, columns, 0, plane,
                        bias != null ? 1.0 : 0.0, y, yOff, plane);
            }
        }
        return Value.of(new int[]{batch, m, h.out, wd.out}, y);
    }

    private Value maxPool(NodeProto n, Value x, int node) {
        long[] kernel = ints(n, "kernel_shape", null);
        if (kernel == null || kernel.length != 2) {
            throw bad(node, "MaxPool needs a 2-D kernel_shape");
        }
        Axis[] ax = windows(n, x.shape, new int[]{(int) kernel[0], (int) kernel[1]},
                intAttribute(n, "ceil_mode", 0) != 0, node);
        Axis h = ax[0];
        Axis wd = ax[1];
        int planes = x.shape[0] * x.shape[1];
        double[] y = new double[planes * h.out * wd.out];
        int[] arg = new int[y.length];
        for (int p = 0; p < planes; p++) {
            int xOff = p * h.in * wd.in;
            for (int oh = 0; oh < h.out; oh++) {
                for (int ow = 0; ow < wd.out; ow++) {
                    double best = Double.NEGATIVE_INFINITY;
                    int where = -1;
                    for (int kh = 0; kh < h.kernel; kh++) {
                        int ih = oh * h.stride - h.padBegin + kh * h.dilation;
                        if (ih < 0 || ih >= h.in) {
                            continue;
                        }
                        for (int kw = 0; kw < wd.kernel; kw++) {
                            int iw = ow * wd.stride - wd.padBegin + kw * wd.dilation;
                            if (iw < 0 || iw >= wd.in) {
                                continue;
                            }
                            int idx = xOff + ih * wd.in + iw;
                            // The first largest value wins, as in ONNX Runtime.
                            if (where < 0 || x.data[idx] > best) {
                                best = x.data[idx];
                                where = idx;
                            }
                        }
                    }
                    int k = (p * h.out + oh) * wd.out + ow;
                    y[k] = best;
                    arg[k] = where;
                }
            }
        }
        return new Value(new int[]{x.shape[0], x.shape[1], h.out, wd.out}, y, null, arg);
    }

    // ------------------------------------------------------------------------------------------------ backward

    private void backwardNode(int i, Map<String, Value> env, Map<String, double[]> grads) {
        NodeProto n = nodes.get(i);
        double[] dy = grads.get(n.getOutput(0));
        if (dy == null) {
            return;
        }
        switch (n.getOpType()) {
            case "Identity", "Dropout", "Reshape", "Flatten" -> add(grads, n, 0, dy);
            case "Constant" -> {
                // nothing upstream
            }
            case "Relu" -> {
                if (needs(n, 0)) {
                    double[] y = env.get(n.getOutput(0)).data;
                    double[] dx = new double[dy.length];
                    for (int k = 0; k < dx.length; k++) {
                        dx[k] = y[k] > 0 ? dy[k] : 0;
                    }
                    add(grads, n, 0, dx);
                }
            }
            case "Add", "Sub", "Mul" -> {
                Value a = env.get(n.getInput(0));
                Value b = env.get(n.getInput(1));
                int[] shape = env.get(n.getOutput(0)).shape;
                String op = n.getOpType();
                for (int side = 0; side < 2; side++) {
                    if (!needs(n, side)) {
                        continue;
                    }
                    Value self = side == 0 ? a : b;
                    Value other = side == 0 ? b : a;
                    int[] is = broadcastIndex(shape, self.shape);
                    int[] io = op.equals("Mul") ? broadcastIndex(shape, other.shape) : null;
                    double sign = op.equals("Sub") && side == 1 ? -1 : 1;
                    double[] dx = new double[self.numel()];
                    for (int k = 0; k < dy.length; k++) {
                        dx[is[k]] += op.equals("Mul") ? dy[k] * other.data[io[k]] : sign * dy[k];
                    }
                    add(grads, n, side, dx);
                }
            }
            case "MatMul" -> {
                Value a = env.get(n.getInput(0));
                Value b = env.get(n.getInput(1));
                int k = b.shape[0];
                int cols = b.shape[1];
                int m = a.numel() / k;
                if (needs(n, 0)) {
                    double[] da = new double[a.numel()];
                    for (int r = 0; r < m; r++) {
                        for (int p = 0; p < k; p++) {
                            double s = 0;
                            for (int c = 0; c < cols; c++) {
                                s += dy[r * cols + c] * b.data[p * cols + c];
                            }
                            da[r * k + p] = s;
                        }
                    }
                    add(grads, n, 0, da);
                }
                if (needs(n, 1)) {
                    double[] db = new double[b.numel()];
                    for (int r = 0; r < m; r++) {
                        for (int p = 0; p < k; p++) {
                            double av = a.data[r * k + p];
                            for (int c = 0; c < cols; c++) {
                                db[p * cols + c] += av * dy[r * cols + c];
                            }
                        }
                    }
                    add(grads, n, 1, db);
                }
            }
            case "Gemm" -> gemmBackward(n, env, grads, dy);
            case "Conv" -> convBackward(n, i, env, grads, dy);
            case "MaxPool" -> {
                if (needs(n, 0)) {
                    int[] arg = env.get(n.getOutput(0)).argmax;
                    double[] dx = new double[env.get(n.getInput(0)).numel()];
                    for (int k = 0; k < dy.length; k++) {
                        if (arg[k] >= 0) {
                            dx[arg[k]] += dy[k];
                        }
                    }
                    add(grads, n, 0, dx);
                }
            }
            default -> throw unsupported(source, n.getOpType(), nodeNames.get(i));
        }
    }

    private void gemmBackward(NodeProto n, Map<String, Value> env, Map<String, double[]> grads, double[] dy) {
        Value a = env.get(n.getInput(0));
        Value b = env.get(n.getInput(1));
        boolean ta = intAttribute(n, "transA", 0) != 0;
        boolean tb = intAttribute(n, "transB", 0) != 0;
        double alpha = floatAttribute(n, "alpha", 1f);
        double beta = floatAttribute(n, "beta", 1f);
        int m = ta ? a.shape[1] : a.shape[0];
        int k = ta ? a.shape[0] : a.shape[1];
        int nn = tb ? b.shape[0] : b.shape[1];
        if (needs(n, 0)) {
            double[] da = new double[a.numel()];
            for (int r = 0; r < m; r++) {
                for (int p = 0; p < k; p++) {
                    double s = 0;
                    for (int c = 0; c < nn; c++) {
                        s += dy[r * nn + c] * b.data[tb ? c * k + p : p * nn + c];
                    }
                    da[ta ? p * m + r : r * k + p] = alpha * s;
                }
            }
            add(grads, n, 0, da);
        }
        if (needs(n, 1)) {
            double[] db = new double[b.numel()];
            for (int p = 0; p < k; p++) {
                for (int c = 0; c < nn; c++) {
                    double s = 0;
                    for (int r = 0; r < m; r++) {
                        s += a.data[ta ? p * m + r : r * k + p] * dy[r * nn + c];
                    }
                    db[tb ? c * k + p : p * nn + c] = alpha * s;
                }
            }
            add(grads, n, 1, db);
        }
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty() && beta != 0 && needs(n, 2)) {
            Value cIn = env.get(n.getInput(2));
            int[] ic = broadcastIndex(new int[]{m, nn}, cIn.shape);
            double[] dc = new double[cIn.numel()];
            for (int q = 0; q < dy.length; q++) {
                dc[ic[q]] += beta * dy[q];
            }
            add(grads, n, 2, dc);
        }
    }

    private void convBackward(NodeProto n, int node, Map<String, Value> env, Map<String, double[]> grads,
                              double[] dy) {
        Value x = env.get(n.getInput(0));
        Value w = env.get(n.getInput(1));
        int group = (int) intAttribute(n, "group", 1);
        int batch = x.shape[0];
        int c = x.shape[1];
        int m = w.shape[0];
        int cg = w.shape[1];
        Axis[] ax = windows(n, x.shape, new int[]{w.shape[2], w.shape[3]}, false, node);
        Axis h = ax[0];
        Axis wd = ax[1];
        int plane = h.out * wd.out;
        int mg = m / group;
        boolean wantX = needs(n, 0);
        boolean wantW = needs(n, 1);
        double[] dx = wantX ? new double[x.numel()] : null;
        double[] dw = wantW ? new double[w.numel()] : null;
        // Output by output, skipping zero gradients: behind a ReLU and a max pool most of them are zero.
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < m; o++) {
                int g = o / mg;
                for (int oh = 0; oh < h.out; oh++) {
                    for (int ow = 0; ow < wd.out; ow++) {
                        double gy = dy[((b * m + o) * h.out + oh) * wd.out + ow];
                        if (gy == 0) {
                            continue;
                        }
                        for (int ci = 0; ci < cg; ci++) {
                            int xOff = (b * c + g * cg + ci) * h.in * wd.in;
                            int wOff = (o * cg + ci) * h.kernel * wd.kernel;
                            for (int kh = 0; kh < h.kernel; kh++) {
                                int ih = oh * h.stride - h.padBegin + kh * h.dilation;
                                if (ih < 0 || ih >= h.in) {
                                    continue;
                                }
                                for (int kw = 0; kw < wd.kernel; kw++) {
                                    int iw = ow * wd.stride - wd.padBegin + kw * wd.dilation;
                                    if (iw < 0 || iw >= wd.in) {
                                        continue;
                                    }
                                    int xi = xOff + ih * wd.in + iw;
                                    int wi = wOff + kh * wd.kernel + kw;
                                    if (wantW) {
                                        dw[wi] += gy * x.data[xi];
                                    }
                                    if (wantX) {
                                        dx[xi] += gy * w.data[wi];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if (wantX) {
            add(grads, n, 0, dx);
        }
        if (wantW) {
            add(grads, n, 1, dw);
        }
        if (n.getInputCount() > 2 && !n.getInput(2).isEmpty() && needs(n, 2)) {
            double[] db = new double[m];
            for (int b = 0; b < batch; b++) {
                for (int o = 0; o < m; o++) {
                    for (int q = 0; q < plane; q++) {
                        db[o] += dy[(b * m + o) * plane + q];
                    }
                }
            }
            add(grads, n, 2, db);
        }
    }

    private boolean needs(NodeProto n, int k) {
        return n.getInputCount() > k && needsGrad.contains(n.getInput(k));
    }

    /** Adds {@code g} to the gradient of input {@code k} of {@code n}, when that input needs one. */
    private void add(Map<String, double[]> grads, NodeProto n, int k, double[] g) {
        if (!needs(n, k)) {
            return;
        }
        String name = n.getInput(k);
        double[] have = grads.get(name);
        if (have == null) {
            grads.put(name, g.clone());
        } else {
            for (int q = 0; q < have.length; q++) {
                have[q] += g[q];
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private static int numel(int[] shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    private static int[] dims(TensorProto t) {
        int[] d = new int[t.getDimsCount()];
        for (int i = 0; i < d.length; i++) {
            d[i] = (int) t.getDims(i);
        }
        return d;
    }

    private static long[] int64Values(TensorProto t) {
        if (t.hasRawData()) {
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            long[] out = new long[b.remaining() / 8];
            b.asLongBuffer().get(out);
            return out;
        }
        return t.getInt64DataList().stream().mapToLong(Long::longValue).toArray();
    }

    private static double[] floatValues(TensorProto t) {
        if (t.hasRawData()) {
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            double[] out = new double[b.remaining() / 4];
            for (int i = 0; i < out.length; i++) {
                out[i] = b.getFloat(4 * i);
            }
            return out;
        }
        double[] out = new double[t.getFloatDataCount()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.getFloatData(i);
        }
        return out;
    }

    private static AttributeProto attribute(NodeProto n, String name) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a;
            }
        }
        return null;
    }

    private static long intAttribute(NodeProto n, String name, long fallback) {
        AttributeProto a = attribute(n, name);
        return a == null ? fallback : a.getI();
    }

    private static float floatAttribute(NodeProto n, String name, float fallback) {
        AttributeProto a = attribute(n, name);
        return a == null ? fallback : a.getF();
    }

    private static long[] ints(NodeProto n, String name, long[] fallback) {
        AttributeProto a = attribute(n, name);
        return a == null ? fallback : a.getIntsList().stream().mapToLong(Long::longValue).toArray();
    }

    private SqueezeException bad(int node, String what) {
        String at = node < 0 ? "" : " node '" + nodeNames.get(node) + "' (" + nodes.get(node).getOpType() + "):";
        return new SqueezeException("The gradient interpreter cannot run ONNX model " + source + ":" + at + " " + what,
                "check that the model runs in ONNX Runtime; Fisher-based features need a graph the interpreter can"
                        + " run (" + SUPPORTED_TEXT + ")");
    }

    static SqueezeException unsupported(String where, String op, String node) {
        return new SqueezeException("Gradients of ONNX op " + op + " (node '" + node + "' of " + where
                + ") are not supported: Squeeze's gradient interpreter runs " + SUPPORTED_TEXT,
                "Fisher-based features (Fisher sensitivity, Fisher-weighted SVD) need a classifier built from those"
                        + " ops; use the KL-based sensitivity for this model");
    }

    private static SqueezeException notClassifier(String where, String what) {
        return new SqueezeException("ONNX model " + where + " is not an image classifier the gradient interpreter"
                + " runs: " + what, "use a classifier with one float image input and a batch × classes float output");
    }
}
