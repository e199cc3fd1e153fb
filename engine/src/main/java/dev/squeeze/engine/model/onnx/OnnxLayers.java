package dev.squeeze.engine.model.onnx;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.AttributeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.GraphProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.NodeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds the compressible weights of a graph: the weight input of each Gemm, MatMul and Conv node of the main
 * graph that is a floating-point initializer, possibly seen through Identity, Reshape, Flatten or a 2-D
 * Transpose of one (CNTK's mnist-7 reshapes its 16 × 4 × 4 × 10 weight to 256 × 10 before the MatMul). Weights
 * computed by other nodes (e.g. a DequantizeLinear of an int8 initializer) are not layers Squeeze can replace,
 * so they are left out.
 */
final class OnnxLayers {
    /** How many view nodes may sit between an initializer and the node that uses it as a weight. */
    private static final int MAX_VIEW_DEPTH = 4;

    private final GraphProto graph;
    private final Map<String, Tensor> floats;
    private final Map<String, TensorProto> constants;
    private final String where;
    private final Map<String, List<NodeProto>> consumers = new HashMap<>();
    private final Map<String, NodeProto> producers = new HashMap<>();

    /**
     * A weight as a node sees it: the initializer, the shape the node sees, and whether that view is the transpose
     * of the initializer's row-major bytes (only for 2-D views).
     */
    private record View(Tensor tensor, long[] shape, boolean flipped) {
    }

    private OnnxLayers(GraphProto graph, Map<String, Tensor> floats, Map<String, TensorProto> constants,
                       String where) {
        this.graph = graph;
        this.floats = floats;
        this.constants = constants;
        this.where = where;
        for (NodeProto n : graph.getNodeList()) {
            for (String in : n.getInputList()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
            for (String out : n.getOutputList()) {
                producers.putIfAbsent(out, n);
            }
        }
    }

    static List<OnnxLayer> find(GraphProto graph, Map<String, Tensor> floats, Map<String, TensorProto> constants,
                                String where) {
        return new OnnxLayers(graph, floats, constants, where).find();
    }

    private List<OnnxLayer> find() {
        List<OnnxLayer> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < graph.getNodeCount(); i++) {
            NodeProto n = graph.getNode(i);
            if (!n.getDomain().isEmpty() && !n.getDomain().equals("ai.onnx")) {
                continue;
            }
            String nodeName = n.getName().isEmpty() ? n.getOpType() + "#" + i : n.getName();
            OnnxLayer layer = switch (n.getOpType()) {
                case "Conv" -> conv(n, nodeName);
                case "Gemm" -> gemm(n, nodeName);
                case "MatMul" -> matMul(n, nodeName);
                default -> null;
            };
            // A weight shared by several nodes (tied weights) is one layer.
            if (layer != null && seen.add(layer.weight())) {
                out.add(layer);
            }
        }
        return out;
    }

    private OnnxLayer conv(NodeProto n, String nodeName) {
        View w = weight(n, 1);
        if (w == null || w.shape.length < 3 || w.flipped) {
            return null;
        }
        long outChannels = w.shape[0];
        String bias = ownBias(n, 2, outChannels);
        if (bias == null) {
            bias = addedBias(n, outChannels);
        }
        return layer(nodeName, n.getOpType(), LayerRole.CONV, w.tensor, w.shape, bias, false);
    }

    private OnnxLayer gemm(NodeProto n, String nodeName) {
        View w = weight(n, 1);
        if (w == null || w.shape.length != 2) {
            return null;
        }
        // Y = A·B (+ C); B is K × N, or N × K with transB = 1. The inventory wants out × in = N × K.
        boolean transB = intAttribute(n, "transB", 0) != 0;
        long[] logical = transB ? w.shape : new long[]{w.shape[1], w.shape[0]};
        // The bytes hold out × in when the view is N × K (transB) and not flipped, or K × N and flipped.
        boolean transposed = transB == w.flipped;
        String bias = ownBias(n, 2, logical[0]);
        if (bias == null) {
            bias = addedBias(n, logical[0]);
        }
        return layer(nodeName, n.getOpType(), LayerRole.LINEAR, w.tensor, logical, bias, transposed);
    }

    private OnnxLayer matMul(NodeProto n, String nodeName) {
        // x·W with W (K × N) as B: the usual form. Its out × in shape is the transpose.
        View w = weight(n, 1);
        if (w == null || w.shape.length != 2) {
            return null;
        }
        long[] logical = {w.shape[1], w.shape[0]};
        String bias = addedBias(n, logical[0]);
        return layer(nodeName, n.getOpType(), LayerRole.LINEAR, w.tensor, logical, bias, !w.flipped);
    }

    /** The weight at input {@code index} when it is an initializer or a view of one, else null. */
    private View weight(NodeProto n, int index) {
        if (n.getInputCount() <= index) {
            return null;
        }
        return view(n.getInput(index), n, 0);
    }

    private View view(String value, NodeProto user, int depth) {
        Tensor t = floats.get(value);
        if (t != null) {
            return new View(t, t.shape(), false);
        }
        TensorProto other = constants.get(value);
        if (other != null && depth == 0) {
            throw new SqueezeException("Unsupported weight type in ONNX model " + where + ": initializer '" + value
                    + "', the weight of " + user.getOpType() + " node '" + user.getName() + "', is "
                    + OnnxTensors.typeName(other.getDataType()) + "; Squeeze compresses FLOAT, FLOAT16 and"
                    + " BFLOAT16 weights", "export the model with floating-point weights (not a quantized export)");
        }
        NodeProto p = producers.get(value);
        if (p == null || depth >= MAX_VIEW_DEPTH || p.getInputCount() == 0) {
            return null;
        }
        View in = view(p.getInput(0), p, depth + 1);
        if (in == null) {
            return null;
        }
        return switch (p.getOpType()) {
            case "Identity" -> in;
            case "Reshape" -> in.flipped ? null : reshaped(in, p);
            case "Flatten" -> in.flipped ? null : flattened(in, p);
            case "Transpose" -> transposed(in, p);
            default -> null;
        };
    }

    private View reshaped(View in, NodeProto reshape) {
        TensorProto target = reshape.getInputCount() > 1 ? constants.get(reshape.getInput(1)) : null;
        if (target == null || target.getDataType() != OnnxTensors.INT64) {
            return null;
        }
        long[] shape = OnnxTensors.int64Values(target);
        long known = 1;
        int inferred = -1;
        for (int i = 0; i < shape.length; i++) {
            // Reshape's 0 copies the input dimension (unless allowzero = 1); one -1 is inferred.
            if (shape[i] == 0 && intAttribute(reshape, "allowzero", 0) == 0) {
                if (i >= in.shape.length) {
                    return null;
                }
                shape[i] = in.shape[i];
            }
            if (shape[i] == -1 && inferred < 0) {
                inferred = i;
            } else if (shape[i] < 0) {
                return null;
            } else {
                try {
                    known = Math.multiplyExact(known, shape[i]);
                } catch (ArithmeticException e) {
                    // A product past 2^63 cannot equal the initializer's element count: not a view of it.
                    return null;
                }
            }
        }
        long numel = in.tensor.numel();
        if (inferred >= 0) {
            if (known == 0 || numel % known != 0) {
                return null;
            }
            shape[inferred] = numel / known;
        } else if (known != numel) {
            return null;
        }
        return new View(in.tensor, shape, false);
    }

    private View flattened(View in, NodeProto flatten) {
        long axis = intAttribute(flatten, "axis", 1);
        int rank = in.shape.length;
        if (axis < 0) {
            axis += rank;
        }
        if (axis < 0 || axis > rank) {
            return null;
        }
        long rows = 1;
        long cols = 1;
        for (int i = 0; i < rank; i++) {
            if (i < axis) {
                rows *= in.shape[i];
            } else {
                cols *= in.shape[i];
            }
        }
        return new View(in.tensor, new long[]{rows, cols}, false);
    }

    private View transposed(View in, NodeProto transpose) {
        if (in.shape.length != 2) {
            return null;
        }
        for (AttributeProto a : transpose.getAttributeList()) {
            if (a.getName().equals("perm") && !a.getIntsList().equals(List.of(1L, 0L))) {
                return null;
            }
        }
        return new View(in.tensor, new long[]{in.shape[1], in.shape[0]}, !in.flipped);
    }

    private String ownBias(NodeProto n, int index, long outFeatures) {
        if (n.getInputCount() <= index) {
            return null;
        }
        Tensor b = floats.get(n.getInput(index));
        return b != null && b.numel() == outFeatures ? b.name() : null;
    }

    /** The constant of an Add that is the only consumer of the node's output and has one value per output. */
    private String addedBias(NodeProto n, long outFeatures) {
        if (n.getOutputCount() == 0) {
            return null;
        }
        List<NodeProto> next = consumers.getOrDefault(n.getOutput(0), List.of());
        if (next.size() != 1 || !next.getFirst().getOpType().equals("Add") || next.getFirst().getInputCount() != 2) {
            return null;
        }
        NodeProto add = next.getFirst();
        String other = add.getInput(0).equals(n.getOutput(0)) ? add.getInput(1) : add.getInput(0);
        Tensor b = floats.get(other);
        return b != null && b.numel() == outFeatures ? b.name() : null;
    }

    private static long intAttribute(NodeProto n, String name, long fallback) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a.getI();
            }
        }
        return fallback;
    }

    private OnnxLayer layer(String nodeName, String opType, LayerRole role, Tensor w, long[] logical, String bias,
                            boolean transposed) {
        // Every dimension at least 1: then none exceeds the element count, which the file's length bounds, so
        // the shape fits the int rows and columns compression and evaluation work in. An empty weight (a zero
        // dimension, possibly beside a huge one) describes no layer at all.
        for (long d : logical) {
            if (d < 1) {
                throw new SqueezeException("Corrupt ONNX model " + where + ": initializer '" + w.name()
                        + "', the weight of " + opType + " node '" + nodeName + "', has shape "
                        + java.util.Arrays.toString(w.shape()) + " (seen as " + java.util.Arrays.toString(logical)
                        + "), which holds no weights", "the file is damaged; get a fresh copy or export it again");
            }
        }
        long params = w.numel();
        long bytes = w.storedBytes();
        if (bias != null && !bias.equals(w.name())) {
            params += floats.get(bias).numel();
            bytes += floats.get(bias).storedBytes();
        }
        LayerInfo info = new LayerInfo(w.name(), role, logical, params, bytes);
        return new OnnxLayer(info, nodeName, opType, w.name(), bias, transposed);
    }
}
