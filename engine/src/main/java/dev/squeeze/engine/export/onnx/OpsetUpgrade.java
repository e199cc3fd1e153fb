package dev.squeeze.engine.export.onnx;

import dev.squeeze.engine.model.onnx.proto.OnnxProto.AttributeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ModelProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.NodeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.OperatorSetIdProto;

import java.util.Map;

/**
 * Block-wise {@code DequantizeLinear} with 4-bit types needs opset 21 of the default domain (and IR 10), and a
 * model imports one version of a domain for all its nodes. A graph written for an older opset is raised to 21 only
 * when every node's operator means at 21 exactly what it meant at the model's version, for every attribute and
 * input such a model can carry: {@link #SAME_SINCE} lists, per operator, the oldest opset from which that holds
 * (from the change log of each operator in the ONNX operator documentation). A graph with any other operator, a
 * subgraph or model-local functions is not raised, and its weights cannot be stored compressed.
 */
final class OpsetUpgrade {
    static final int OPSET = 21;
    static final long IR_VERSION = 10;

    /**
     * Operator → the oldest version whose meaning equals version 21's. Versions in between only added types, or
     * changes that an older model cannot use (e.g. Reshape's {@code allowzero}, default off; MaxPool's
     * {@code dilations} and {@code ceil_mode}, default 1 and off).
     */
    private static final Map<String, Integer> SAME_SINCE = Map.ofEntries(
            Map.entry("Conv", 1), Map.entry("MaxPool", 1), Map.entry("AveragePool", 7),
            Map.entry("GlobalAveragePool", 1), Map.entry("GlobalMaxPool", 1), Map.entry("LRN", 1),
            Map.entry("Relu", 6), Map.entry("LeakyRelu", 6), Map.entry("Sigmoid", 6), Map.entry("Tanh", 6),
            Map.entry("Elu", 6), Map.entry("Exp", 6), Map.entry("Log", 6), Map.entry("Sqrt", 6), Map.entry("Abs", 6),
            Map.entry("Neg", 6), Map.entry("Add", 7), Map.entry("Sub", 7), Map.entry("Mul", 7), Map.entry("Div", 7),
            Map.entry("Pow", 7), Map.entry("Max", 8), Map.entry("Min", 8), Map.entry("Sum", 8), Map.entry("Mean", 8),
            Map.entry("MatMul", 1), Map.entry("Gemm", 7), Map.entry("Reshape", 5), Map.entry("Flatten", 1),
            Map.entry("Identity", 1), Map.entry("Transpose", 1), Map.entry("Concat", 4),
            Map.entry("BatchNormalization", 9), Map.entry("Softmax", 13), Map.entry("LogSoftmax", 13),
            Map.entry("Dropout", 12), Map.entry("Squeeze", 13), Map.entry("Unsqueeze", 13), Map.entry("Clip", 11),
            Map.entry("Pad", 11), Map.entry("Shape", 1), Map.entry("Gather", 1), Map.entry("Cast", 6),
            Map.entry("Slice", 10), Map.entry("Split", 13), Map.entry("DequantizeLinear", 21),
            Map.entry("Constant", 1));

    private OpsetUpgrade() {
    }

    /** The default domain's version the model imports (1 when it imports none, as ONNX specifies). */
    static long defaultOpset(ModelProto model) {
        for (OperatorSetIdProto o : model.getOpsetImportList()) {
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                return o.getVersion();
            }
        }
        return 1;
    }

    /** Null when the model runs at opset 21 or more, or can be raised to it; else why not. */
    static String problem(ModelProto model) {
        long version = defaultOpset(model);
        if (version >= OPSET) {
            return null;
        }
        if (model.getFunctionsCount() > 0) {
            return "the model defines its own functions, whose opset imports are tied to opset " + version;
        }
        for (NodeProto n : model.getGraph().getNodeList()) {
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasG() || a.getGraphsCount() > 0) {
                    return n.getOpType() + " node '" + n.getName() + "' holds a subgraph";
                }
            }
            if (!n.getDomain().isEmpty() && !n.getDomain().equals("ai.onnx")) {
                continue;
            }
            Integer since = SAME_SINCE.get(n.getOpType());
            if (since == null || version < since) {
                return n.getOpType() + " node '" + n.getName() + "' is written for opset " + version
                        + (since == null ? ", and Squeeze does not know that operator's changes up to opset " + OPSET
                        : ", and the operator's meaning changed at opset " + since);
            }
        }
        return null;
    }

    /** The model importing opset 21 (or its own later one) and IR version 10 or later. */
    static ModelProto.Builder raised(ModelProto model) {
        ModelProto.Builder b = model.toBuilder();
        boolean found = false;
        for (int i = 0; i < b.getOpsetImportCount(); i++) {
            OperatorSetIdProto o = b.getOpsetImport(i);
            if (o.getDomain().isEmpty() || o.getDomain().equals("ai.onnx")) {
                found = true;
                if (o.getVersion() < OPSET) {
                    b.setOpsetImport(i, o.toBuilder().setVersion(OPSET));
                }
            }
        }
        if (!found) {
            b.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET));
        }
        if (b.getIrVersion() < IR_VERSION) {
            b.setIrVersion(IR_VERSION);
        }
        return b;
    }
}
