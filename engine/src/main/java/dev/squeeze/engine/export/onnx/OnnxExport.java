package dev.squeeze.engine.export.onnx;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.export.ExportReport.TensorNote;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.onnx.OnnxLayer;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.GraphProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ModelProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.NodeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ValueInfoProto;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.nn.MlpLayout;
import dev.squeeze.engine.util.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a classifier, with a run's compressed weights, as an ONNX file that ONNX Runtime runs: the weights stay
 * compressed in the file as UINT4 (up to 4 bits) or UINT8 code initializers with float32 block scales and integer
 * zero points, dequantized in the graph by {@code DequantizeLinear} (opset 21, {@code block_size} along the input
 * dimension) into the float32 weight the original MatMul, Gemm or Conv reads. ONNX Runtime computes
 * {@code (code − zero) · scale} in float32, which is bit for bit what our tensors' {@code dequantize()} gives, so
 * the exported model computes with exactly the weights the run was evaluated with.
 *
 * <p>Two kinds of classifier: an ONNX graph (rewritten: each compressed weight's initializer is replaced by the
 * nodes that compute it; the graph is raised to opset 21 when its operators allow, see {@link OpsetUpgrade}), and a
 * Squeeze MLP (a new graph: input scaling, then Gemm and Relu per layer, as {@link MlpClassifier} computes). A
 * layer that DequantizeLinear cannot express exactly (a non-integer zero point, act-order's {@code g_idx}, a sparse,
 * SpQR or low-rank tensor) is written as its dequantized float32 weight, with a note saying why; when no
 * compressed layer is left the export is refused.
 *
 * <p>ONNX Runtime's {@code com.microsoft} {@code MatMulNBits} is not written: it computes the product with its own
 * blocking and accumulation (at its lower accuracy levels on int8-quantized activations), so it does not compute
 * with our dequantized weights, and it only fits MatMul, not Gemm or Conv. The graph is held in memory as one
 * protobuf message (classifiers are small; 2 GiB is protobuf's limit and is refused).
 */
public final class OnnxExport {
    public static final String FORMAT = "onnx";
    /** ONNX Runtime's default limit on a protobuf message, and protobuf's own: 2 GiB. */
    private static final long MAX_BYTES = Integer.MAX_VALUE;

    private OnnxExport() {
    }

    /**
     * Writes {@code m} to {@code out} (through a temporary file moved into place when complete).
     *
     * @throws SqueezeException before anything is written when the model is not a classifier, a compressed layer
     *                          is not one of the model's layers, or nothing compressed can be stored
     */
    public static ExportReport write(CompressedModel m, Path out) {
        Built built = switch (m.base().architecture()) {
            case MlpClassifier.ARCHITECTURE -> mlp(m);
            case OnnxModel.ARCHITECTURE -> onnx(m);
            default -> throw new SqueezeException("ONNX export takes image classifiers (Squeeze MLPs and ONNX"
                    + " models); " + m.base().source() + " has architecture '" + m.base().architecture() + "'",
                    "export language models with --format gguf (llama.cpp), hf or gptq");
        };
        if (!m.compressed().isEmpty() && built.quantized == 0) {
            throw new SqueezeException("ONNX cannot store any of the compressed layers of " + m.label()
                    + " compressed: " + built.notes.stream().map(n -> n.tensor() + ": " + n.reason()).toList(),
                    "export the run with --format sqz, which keeps every compressed tensor as it is"
                            + (built.opsetProblem ? "; or convert the source model to opset " + OpsetUpgrade.OPSET
                            + " (e.g. with onnx.version_converter), compress it again and export that run" : ""));
        }
        ModelProto proto = built.proto;
        long size = proto.getSerializedSize();
        if (size >= MAX_BYTES) {
            throw new SqueezeException("The ONNX model of " + m.label() + " would take " + size
                    + " bytes; one protobuf message holds at most 2 GiB", "export the run with --format sqz");
        }
        AtomicFiles.write(out, proto::writeTo);
        try {
            return new ExportReport(out, FORMAT, Files.size(out), built.notes);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read the size of " + out + " after writing it: " + e,
                    "check the folder's permissions", e);
        }
    }

    private record Built(ModelProto proto, List<TensorNote> notes, int quantized, boolean opsetProblem) {
        Built(ModelProto proto, List<TensorNote> notes, int quantized) {
            this(proto, notes, quantized, false);
        }
    }

    /** The compressed tensor of each named layer, checked against the layer's {@code out × in} shape. */
    private static void requireLayers(CompressedModel m, Map<String, long[]> shapes) {
        for (Map.Entry<String, CompressedTensor> e : m.compressed().entrySet()) {
            long[] s = shapes.get(e.getKey());
            if (s == null) {
                throw new SqueezeException("Compressed layer '" + e.getKey() + "' of " + m.label() + " is not a"
                        + " layer of " + m.base().source() + " (its layers: " + shapes.keySet() + ")",
                        "export the run with the model it was made from");
            }
            CompressedTensor t = e.getValue();
            if (t.rows() != s[0] || t.cols() != s[1]) {
                throw new SqueezeException("Compressed layer '" + e.getKey() + "' of " + m.label() + " is "
                        + t.rows() + " × " + t.cols() + " but the model's layer is " + s[0] + " × " + s[1],
                        "export the run with the model it was made from");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- ONNX graphs

    private static Built onnx(CompressedModel m) {
        Model base = m.base();
        OnnxModel model = OnnxModel.read(Path.of(base.source()));
        if (!model.model().contentHash().equals(base.contentHash())) {
            throw new SqueezeException("The ONNX file " + base.source() + " changed since " + m.label()
                    + " was made from it (its content hash differs)",
                    "restore the original file, or compress the current one again");
        }
        Map<String, OnnxLayer> byName = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (OnnxLayer l : model.onnxLayers()) {
            byName.put(l.info().name(), l);
            long[] s = l.info().shape();
            long cols = 1;
            for (int i = 1; i < s.length; i++) {
                cols *= s[i];
            }
            shapes.put(l.info().name(), new long[]{s[0], cols});
        }
        requireLayers(m, shapes);
        ModelProto proto = model.proto();
        if (m.compressed().isEmpty()) {
            return new Built(proto, List.of(), 0);
        }
        String opsetProblem = OpsetUpgrade.problem(proto);
        GraphProto graph = proto.getGraph();
        Set<String> used = names(graph);
        Map<String, float[]> floatWeights = new LinkedHashMap<>();
        Map<String, QuantizedWeight.Emitted> quantized = new LinkedHashMap<>();
        List<TensorNote> notes = new ArrayList<>();
        Map<String, TensorProto> initializers = new LinkedHashMap<>();
        graph.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
        for (Map.Entry<String, CompressedTensor> e : m.compressed().entrySet()) {
            OnnxLayer layer = byName.get(e.getKey());
            TensorProto init = initializers.get(layer.weight());
            QuantGrid.Result r = QuantGrid.of(e.getValue());
            if (r instanceof QuantGrid.Grid(QuantGrid grid) && opsetProblem == null) {
                long[] dims = init.getDimsList().stream().mapToLong(Long::longValue).toArray();
                QuantizedWeight.Emitted q = QuantizedWeight.emit(grid, layer.weight(), layer.transposed(), dims,
                        init.getDataType(), used);
                quantized.put(layer.weight(), q);
                DType type = model.model().tensor(layer.weight()).dtype();
                notes.add(new TensorNote(layer.weight(), q.storedAs(), type == DType.F32,
                        type == DType.F32 ? "" : "the graph's weight is " + type + ": the float32 weight is cast to"
                                + " it, as the engine's evaluation rounds it"));
            } else {
                String reason = r instanceof QuantGrid.NoGrid(String why) ? why
                        : "DequantizeLinear with blocks needs opset " + OpsetUpgrade.OPSET + ", and " + opsetProblem;
                DType type = model.model().tensor(layer.weight()).dtype();
                floatWeights.putAll(model.replacement(layer, e.getValue().dequantize()));
                notes.add(new TensorNote(layer.weight(), type.name() + " (dequantized)", type == DType.F32, reason));
            }
        }
        if (quantized.isEmpty()) {
            return new Built(proto, notes, 0, opsetProblem != null);
        }
        ModelProto.Builder b = OpsetUpgrade.raised(proto);
        GraphProto.Builder g = b.getGraphBuilder();
        g.clearInitializer();
        for (TensorProto t : graph.getInitializerList()) {
            if (quantized.containsKey(t.getName())) {
                continue;
            }
            float[] values = floatWeights.get(t.getName());
            g.addInitializer(values == null ? t : t.toBuilder().clearFloatData().clearInt32Data()
                    .setRawData(com.google.protobuf.ByteString.copyFrom(
                            model.model().tensor(t.getName()).dtype().encode(values))).build());
        }
        quantized.values().forEach(q -> g.addAllInitializer(q.initializers()));
        // From IR 4 on, initializers are not graph inputs; a computed weight must not be one in any case.
        Set<String> allInit = new HashSet<>(initializers.keySet());
        g.clearInput();
        for (ValueInfoProto v : graph.getInputList()) {
            if (!allInit.contains(v.getName())) {
                g.addInput(v);
            }
        }
        // The new nodes read only initializers: placed first, the graph stays topologically sorted.
        g.clearNode();
        quantized.values().forEach(q -> g.addAllNode(q.nodes()));
        g.addAllNode(graph.getNodeList());
        addMetadata(b, m);
        return new Built(b.build(), notes, quantized.size());
    }

    private static Set<String> names(GraphProto g) {
        Set<String> used = new HashSet<>();
        g.getInitializerList().forEach(t -> used.add(t.getName()));
        g.getInputList().forEach(v -> used.add(v.getName()));
        g.getOutputList().forEach(v -> used.add(v.getName()));
        g.getValueInfoList().forEach(v -> used.add(v.getName()));
        for (NodeProto n : g.getNodeList()) {
            used.add(n.getName());
            used.addAll(n.getInputList());
            used.addAll(n.getOutputList());
        }
        return used;
    }

    private static void addMetadata(ModelProto.Builder b, CompressedModel m) {
        b.addMetadataProps(StringStringEntryProto.newBuilder().setKey("squeeze.export").setValue(m.label()));
        if (m.runId() != null) {
            b.addMetadataProps(StringStringEntryProto.newBuilder().setKey("squeeze.run")
                    .setValue(Long.toString(m.runId())));
        }
    }

    // ------------------------------------------------------------------------------------------------- MLPs

    /** Names of the graph an MLP becomes. */
    static final String MLP_INPUT = "input";
    static final String MLP_OUTPUT = "logits";

    private static Built mlp(CompressedModel m) {
        MlpLayout layout = MlpLayout.of(m.base());
        Map<String, long[]> shapes = new LinkedHashMap<>();
        layout.layers().forEach(l -> shapes.put(l.name(), new long[]{l.out(), l.in()}));
        requireLayers(m, shapes);
        GraphProto.Builder g = GraphProto.newBuilder().setName(m.base().name());
        Set<String> used = new HashSet<>();
        used.add(MLP_INPUT);
        used.add(MLP_OUTPUT);
        layout.layers().forEach(l -> {
            used.add(l.name() + ".weight");
            used.add(l.name() + ".bias");
        });
        int inputs = layout.layers().getFirst().in();
        g.addInput(OnnxProtos.floatValue(MLP_INPUT, "batch", -1, inputs));
        // Raw pixels times the input scale, in float32, as MlpClassifier.logits does.
        String scale = QuantizedWeight.unique("input_scale", used);
        g.addInitializer(OnnxProtos.floats(scale, new long[0], new float[]{layout.inputScale()}));
        String x = QuantizedWeight.unique("scaled_input", used);
        g.addNode(OnnxProtos.node("Mul", QuantizedWeight.unique("Scale", used), new String[]{MLP_INPUT, scale}, x));
        List<TensorNote> notes = new ArrayList<>();
        int quantized = 0;
        for (int i = 0; i < layout.layers().size(); i++) {
            MlpLayout.Layer l = layout.layers().get(i);
            boolean last = i == layout.layers().size() - 1;
            String weight = l.name() + ".weight";
            CompressedTensor c = m.compressed().get(l.name());
            if (c == null) {
                g.addInitializer(OnnxProtos.floats(weight, new long[]{l.out(), l.in()}, l.weight().floats()));
                if (l.weight().dtype() != DType.F32) {
                    notes.add(new TensorNote(weight, "FLOAT", true, "stored as " + l.weight().dtype()
                            + "; written as the float32 values the engine computes with"));
                }
            } else if (QuantGrid.of(c) instanceof QuantGrid.Grid(QuantGrid grid)) {
                QuantizedWeight.Emitted q = QuantizedWeight.emit(grid, weight, false, new long[]{l.out(), l.in()},
                        OnnxProtos.FLOAT, used);
                g.addAllInitializer(q.initializers());
                g.addAllNode(q.nodes());
                notes.add(new TensorNote(weight, q.storedAs(), true, ""));
                quantized++;
            } else {
                g.addInitializer(OnnxProtos.floats(weight, new long[]{l.out(), l.in()}, c.dequantize()));
                notes.add(new TensorNote(weight, "FLOAT (dequantized)", true,
                        ((QuantGrid.NoGrid) QuantGrid.of(c)).reason()));
            }
            List<String> in = new ArrayList<>(List.of(x, weight));
            if (l.bias() != null) {
                String bias = l.name() + ".bias";
                g.addInitializer(OnnxProtos.floats(bias, new long[]{l.out()}, l.bias().floats()));
                in.add(bias);
            }
            String y = last ? MLP_OUTPUT : QuantizedWeight.unique(l.name() + ".output", used);
            g.addNode(OnnxProtos.node("Gemm", l.name(), in.toArray(String[]::new), y)
                    .addAttribute(OnnxProtos.intAttribute("transB", 1)));
            if (!last) {
                x = QuantizedWeight.unique(l.name() + ".relu", used);
                g.addNode(OnnxProtos.node("Relu", QuantizedWeight.unique(l.name() + "_Relu", used), new String[]{y}, x));
            }
        }
        g.addOutput(OnnxProtos.floatValue(MLP_OUTPUT, "batch", -1, layout.layers().getLast().out()));
        ModelProto.Builder b = ModelProto.newBuilder()
                .setIrVersion(OpsetUpgrade.IR_VERSION)
                .setProducerName("Squeeze")
                .setGraph(g)
                .addOpsetImport(dev.squeeze.engine.model.onnx.proto.OnnxProto.OperatorSetIdProto.newBuilder()
                        .setDomain("").setVersion(OpsetUpgrade.OPSET))
                .setDocString("Image classifier exported by Squeeze from " + m.base().source() + ". Input '"
                        + MLP_INPUT + "': raw pixel values (e.g. 0-255), batch x " + inputs + ", scaled by "
                        + layout.inputScale() + " inside the graph; output '" + MLP_OUTPUT + "': batch x "
                        + layout.classNames().size() + " logits.");
        b.addMetadataProps(StringStringEntryProto.newBuilder().setKey(MlpClassifier.CLASSES_KEY)
                .setValue(String.join(",", layout.classNames())));
        addMetadata(b, m);
        return new Built(b.build(), notes, quantized);
    }
}
