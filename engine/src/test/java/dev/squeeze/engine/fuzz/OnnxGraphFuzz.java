package dev.squeeze.engine.fuzz;

import com.google.protobuf.ByteString;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.AttributeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.GraphProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ModelProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.NodeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorShapeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ValueInfoProto;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Structurally edited ONNX graphs. Byte mutations of a protobuf rarely survive parsing (about one input in five
 * does, and few of those are graphs ONNX Runtime accepts), so this target reads its input as an edit script
 * applied to one of {@code onnx-model}'s valid seed graphs: change a dimension, a data type, an operator, an
 * attribute, a node's inputs, the graph's input shapes, the opset. The edited model is written as a file and
 * goes the same way as in {@code onnx-model}: read and checked, walked for layers, handed to ONNX Runtime, run.
 *
 * <p>Script: byte 0 picks the seed graph; then each edit is an opcode byte and its operands (missing bytes read
 * as 0). Numbers are drawn from {@link #VALUES}, the sizes that break arithmetic, or taken as a small literal.
 */
public final class OnnxGraphFuzz {
    private static final Path DIR = FuzzFiles.folder("onnx-graph");
    private static final List<ModelProto> SEEDS = OnnxModelFuzz.seeds().values().stream().map(b -> {
        try {
            return ModelProto.parseFrom(b);
        } catch (Exception e) {
            throw new IllegalStateException("an onnx-model seed does not parse", e);
        }
    }).toList();
    /** Sizes at the edges of int and long arithmetic, and small ones. */
    static final long[] VALUES = {0, 1, 2, 3, 4, -1, -2, 8, 16, 255, 256, 65536, Integer.MAX_VALUE, 1L << 31,
            (1L << 31) + 1, 1L << 32, (1L << 32) + 1, 1L << 40, 1L << 62, (1L << 62) + 3, Long.MAX_VALUE, Long.MIN_VALUE};
    private static final String[] OPS = {"Gemm", "MatMul", "Conv", "Add", "Mul", "Relu", "Reshape", "Flatten",
            "Transpose", "Identity", "MaxPool", "AveragePool", "Softmax", "Concat", "Gather", "Slice", "Squeeze",
            "Unsqueeze", "Tile", "Expand", "Pad", "ConvTranspose", "BatchNormalization", "Split", "ReduceSum",
            "Einsum", "TopK", "Resize", "Cast", "Range", "ConstantOfShape", "Dropout", "LRN", "Upsample"};
    private static final String[] ATTRIBUTES = {"transA", "transB", "axis", "axes", "perm", "kernel_shape",
            "strides", "pads", "dilations", "group", "allowzero", "alpha", "beta", "keepdims", "to", "k", "mode",
            "auto_pad", "output_padding", "output_shape"};
    private static final int[] TYPES = {1, 2, 3, 5, 6, 7, 9, 10, 11, 16, 0, 99};

    private OnnxGraphFuzz() {
    }

    public static void fuzzerInitialize() throws Exception {
        FuzzFiles.warmUp(seeds(), OnnxGraphFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        Cursor in = new Cursor(data);
        ModelProto.Builder m = SEEDS.get(in.u8() % SEEDS.size()).toBuilder();
        int edits = 0;
        while (in.more() && edits++ < 16) {
            edit(m, in);
        }
        Path file = FuzzFiles.write(DIR, "graph.onnx", m.build().toByteArray());
        FuzzFiles.refusedOnlyCleanly(() -> ModelPaths.openAndRun(file));
    }

    private static void edit(ModelProto.Builder m, Cursor in) {
        GraphProto.Builder g = m.getGraphBuilder();
        int op = in.u8() % 16;
        switch (op) {
            case 0 -> { // a dimension of an initializer
                TensorProto.Builder t = initializer(g, in);
                if (t != null && t.getDimsCount() > 0) {
                    t.setDims(in.u8() % t.getDimsCount(), in.value());
                }
            }
            case 1 -> { // add or drop a dimension
                TensorProto.Builder t = initializer(g, in);
                if (t != null) {
                    if (in.u8() % 2 == 0 || t.getDimsCount() == 0) {
                        t.addDims(in.value());
                    } else {
                        List<Long> dims = new ArrayList<>(t.getDimsList());
                        dims.remove(dims.size() - 1);
                        t.clearDims().addAllDims(dims);
                    }
                }
            }
            case 2 -> { // the element type
                TensorProto.Builder t = initializer(g, in);
                if (t != null) {
                    t.setDataType(TYPES[in.u8() % TYPES.length]);
                }
            }
            case 3 -> { // raw_data shorter or longer
                TensorProto.Builder t = initializer(g, in);
                if (t != null && t.hasRawData()) {
                    int n = t.getRawData().size();
                    int change = in.u8() - 128;
                    t.setRawData(n + change <= 0 ? ByteString.EMPTY
                            : change < 0 ? t.getRawData().substring(0, n + change)
                            : t.getRawData().concat(ByteString.copyFrom(new byte[change])));
                }
            }
            case 4 -> { // the operator of a node
                NodeProto.Builder n = node(g, in);
                if (n != null) {
                    n.setOpType(OPS[in.u8() % OPS.length]);
                }
            }
            case 5 -> { // an int attribute
                NodeProto.Builder n = node(g, in);
                if (n != null) {
                    setAttribute(n, AttributeProto.newBuilder().setName(ATTRIBUTES[in.u8() % ATTRIBUTES.length])
                            .setType(AttributeProto.AttributeType.INT).setI(in.value()).build());
                }
            }
            case 6 -> { // an ints attribute
                NodeProto.Builder n = node(g, in);
                if (n != null) {
                    AttributeProto.Builder a = AttributeProto.newBuilder()
                            .setName(ATTRIBUTES[in.u8() % ATTRIBUTES.length]).setType(AttributeProto.AttributeType.INTS);
                    int count = in.u8() % 5;
                    for (int i = 0; i < count; i++) {
                        a.addInts(in.value());
                    }
                    setAttribute(n, a.build());
                }
            }
            case 7 -> { // rewire an input to another value of the graph (or leave it out)
                NodeProto.Builder n = node(g, in);
                List<String> names = valueNames(g);
                if (n != null && n.getInputCount() > 0) {
                    int i = in.u8() % n.getInputCount();
                    int pick = in.u8() % (names.size() + 1);
                    n.setInput(i, pick == names.size() ? "" : names.get(pick));
                }
            }
            case 8 -> { // one input more or fewer
                NodeProto.Builder n = node(g, in);
                List<String> names = valueNames(g);
                if (n != null) {
                    if (in.u8() % 2 == 0 && !names.isEmpty()) {
                        n.addInput(names.get(in.u8() % names.size()));
                    } else if (n.getInputCount() > 0) {
                        List<String> inputs = new ArrayList<>(n.getInputList());
                        inputs.remove(inputs.size() - 1);
                        n.clearInput().addAllInput(inputs);
                    }
                }
            }
            case 9, 10 -> { // a dimension of the graph's input or output
                List<ValueInfoProto.Builder> values = op == 9 ? g.getInputBuilderList() : g.getOutputBuilderList();
                if (!values.isEmpty()) {
                    TensorShapeProto.Builder shape = values.get(in.u8() % values.size()).getTypeBuilder()
                            .getTensorTypeBuilder().getShapeBuilder();
                    int which = in.u8();
                    if (shape.getDimCount() == 0 || which % 8 == 7) {
                        shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(in.value()));
                    } else if (which % 8 == 6) {
                        shape.getDimBuilder(which % shape.getDimCount()).setDimParam("N");
                    } else {
                        shape.getDimBuilder(which % shape.getDimCount()).setDimValue(in.value());
                    }
                }
            }
            case 11 -> { // the element type of the graph's input or output
                List<ValueInfoProto.Builder> values = in.u8() % 2 == 0 ? g.getInputBuilderList() : g.getOutputBuilderList();
                if (!values.isEmpty()) {
                    values.get(in.u8() % values.size()).getTypeBuilder().getTensorTypeBuilder()
                            .setElemType(TYPES[in.u8() % TYPES.length]);
                }
            }
            case 12 -> { // a node twice, or one node fewer
                if (g.getNodeCount() > 0) {
                    int i = in.u8() % g.getNodeCount();
                    if (in.u8() % 2 == 0) {
                        g.addNode(g.getNode(i));
                    } else {
                        g.removeNode(i);
                    }
                }
            }
            case 13 -> { // the opset
                m.clearOpsetImport().addOpsetImport(OperatorSetIdProto.newBuilder()
                        .setDomain(in.u8() % 8 == 0 ? "com.microsoft" : "").setVersion(in.u8() % 26));
            }
            case 14 -> { // an INT64 constant, e.g. a Reshape target or Slice bounds, under a new or existing name
                TensorProto.Builder t = TensorProto.newBuilder().setDataType(7);
                int count = in.u8() % 5;
                t.addDims(count);
                for (int i = 0; i < count; i++) {
                    t.addInt64Data(in.value());
                }
                List<String> names = valueNames(g);
                String name = in.u8() % 2 == 0 || names.isEmpty() ? "c" + g.getInitializerCount()
                        : names.get(in.u8() % names.size());
                g.addInitializer(t.setName(name));
            }
            default -> { // rename a node's output
                NodeProto.Builder n = node(g, in);
                List<String> names = valueNames(g);
                if (n != null && n.getOutputCount() > 0 && !names.isEmpty()) {
                    n.setOutput(0, names.get(in.u8() % names.size()));
                }
            }
        }
    }

    private static TensorProto.Builder initializer(GraphProto.Builder g, Cursor in) {
        int n = g.getInitializerCount();
        return n == 0 ? null : g.getInitializerBuilder(in.u8() % n);
    }

    private static NodeProto.Builder node(GraphProto.Builder g, Cursor in) {
        int n = g.getNodeCount();
        return n == 0 ? null : g.getNodeBuilder(in.u8() % n);
    }

    private static void setAttribute(NodeProto.Builder n, AttributeProto a) {
        for (int i = 0; i < n.getAttributeCount(); i++) {
            if (n.getAttribute(i).getName().equals(a.getName())) {
                n.setAttribute(i, a);
                return;
            }
        }
        n.addAttribute(a);
    }

    /** Every name a node may read: graph inputs, initializers, node outputs. */
    private static List<String> valueNames(GraphProto.Builder g) {
        List<String> out = new ArrayList<>();
        g.getInputList().forEach(v -> out.add(v.getName()));
        g.getInitializerList().forEach(t -> out.add(t.getName()));
        g.getNodeList().forEach(n -> out.addAll(n.getOutputList()));
        return out;
    }

    /** Each seed graph unedited, and a few single edits (a symbolic batch, a transposed Gemm, a new opset). */
    static Map<String, byte[]> seeds() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (int i = 0; i < SEEDS.size(); i++) {
            out.put("seed-" + i, new byte[]{(byte) i});
            // Moving a graph down to opset 17 keeps it valid only when it uses nothing newer (the export's blocked
            // DequantizeLinear is opset 21).
            boolean newer = SEEDS.get(i).getOpsetImportList().stream().anyMatch(o -> o.getVersion() > 17);
            if (!newer) {
                out.put("seed-" + i + "-opset-17", new byte[]{(byte) i, 13, 1, 17});
            }
        }
        return out;
    }

    /** Reads the script; past its end every byte is 0, so that every edit is complete. */
    private static final class Cursor {
        private final byte[] data;
        private int at;

        Cursor(byte[] data) {
            this.data = data;
        }

        boolean more() {
            return at < data.length;
        }

        int u8() {
            return at < data.length ? data[at++] & 0xff : 0;
        }

        /** One of {@link #VALUES} (a selector below their count), else a small literal. */
        long value() {
            int s = u8();
            return s < VALUES.length ? VALUES[s] : s - VALUES.length;
        }
    }
}
