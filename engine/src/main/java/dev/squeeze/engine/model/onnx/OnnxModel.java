package dev.squeeze.engine.model.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.GraphProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ModelProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorShapeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ValueInfoProto;
import dev.squeeze.engine.util.Hashing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * An ONNX model read through the generated protobuf classes of the official {@code onnx.proto}: the parsed
 * graph, the {@link Model} of its floating-point initializers, and the layer inventory, which needs the graph
 * to know which initializer is the weight of which node. Everything ONNX Runtime will later be given is checked
 * here first: every initializer's stored length against its dims and type, names unique, data inside the file.
 */
public final class OnnxModel {
    public static final String ARCHITECTURE = "onnx";
    /** Protobuf cannot parse a message of 2 GiB or more; bigger ONNX models keep their weights in external files. */
    private static final long MAX_FILE = Integer.MAX_VALUE - 8;

    private final ModelProto proto;
    private final Model model;
    private final List<OnnxLayer> layers;

    private OnnxModel(ModelProto proto, Model model, List<OnnxLayer> layers) {
        this.proto = proto;
        this.model = model;
        this.layers = List.copyOf(layers);
    }

    /** Reads and checks an ONNX file; every problem is a {@link SqueezeException} naming the file. */
    public static OnnxModel read(Path file) {
        String where = file.toAbsolutePath().toString();
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE) {
                throw new SqueezeException("ONNX model " + where + " is " + size + " bytes; Squeeze reads ONNX files"
                        + " smaller than 2 GiB (the protobuf limit)", "use a safetensors export of the model");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + where + ": " + e.getMessage(),
                    "check that the file exists and is readable", e);
        }
        return parse(bytes, where, displayName(file));
    }

    /**
     * Parses and checks an ONNX model held in memory.
     *
     * @param where the file or resource name used in error messages and as the model's source
     */
    public static OnnxModel parse(byte[] bytes, String where, String displayName) {
        ModelProto proto;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            // Initializer raw_data then views the file's bytes instead of copying them.
            in.enableAliasing(true);
            proto = ModelProto.parseFrom(in);
        } catch (InvalidProtocolBufferException e) {
            throw corrupt(where, "it is not a valid ONNX protobuf message (" + e.getMessage() + ")");
        } catch (IOException | RuntimeException e) {
            // Any other failure inside the protobuf runtime on damaged input is still damaged input.
            throw corrupt(where, "it cannot be parsed as an ONNX protobuf message (" + e + ")");
        }
        return of(proto, bytes, where, displayName);
    }

    private static OnnxModel of(ModelProto proto, byte[] bytes, String where, String displayName) {
        if (proto.getIrVersion() < 1) {
            throw corrupt(where, "the model has no ir_version (field 1); every ONNX model declares one");
        }
        if (!proto.hasGraph() || proto.getGraph().getNodeCount() == 0) {
            throw new SqueezeException("ONNX model " + where + " has no graph (ModelProto.graph is "
                    + (proto.hasGraph() ? "empty" : "missing") + ")",
                    "the file is damaged or not an ONNX model; export the model again");
        }
        GraphProto graph = proto.getGraph();
        if (graph.getSparseInitializerCount() > 0) {
            throw new SqueezeException("ONNX model " + where + " stores initializer '"
                    + graph.getSparseInitializer(0).getValues().getName() + "' as a sparse tensor; Squeeze reads"
                    + " dense initializers only", "export the model with dense weights");
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, TensorProto> constants = new HashMap<>();
        for (TensorProto t : graph.getInitializerList()) {
            String name = t.getName();
            if (name.isEmpty()) {
                throw corrupt(where, "an initializer has no name");
            }
            if (tensors.containsKey(name) || constants.containsKey(name)) {
                throw corrupt(where, "two initializers are named '" + name + "'");
            }
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL || t.getExternalDataCount() > 0) {
                throw new SqueezeException("ONNX model " + where + ": initializer '" + name + "' keeps its values"
                        + " in an external data file; Squeeze reads self-contained ONNX files",
                        "save the model with its weights inside the .onnx file (onnx.save with"
                                + " save_as_external_data=False)");
            }
            if (t.hasSegment()) {
                throw new SqueezeException("ONNX model " + where + ": initializer '" + name + "' is stored in"
                        + " segments, which Squeeze does not read", "save the model with whole tensors");
            }
            DType type = OnnxTensors.floatType(t.getDataType());
            int width = OnnxTensors.constantWidth(t.getDataType());
            if (type != null) {
                tensors.put(name, OnnxTensors.decodeFloat(t, type, where));
            } else if (width > 0) {
                OnnxTensors.checkConstant(t, width, where);
                constants.put(name, t);
            } else if (OnnxTensors.packed4(t.getDataType())) {
                // 4-bit codes of a quantized weight (as Squeeze's ONNX export writes them): a constant its
                // DequantizeLinear reads; the weight it computes is not a layer Squeeze compresses.
                OnnxTensors.checkPacked4(t, where);
                constants.put(name, t);
            } else {
                throw new SqueezeException("Unsupported data type in ONNX model " + where + ": initializer '" + name
                        + "' is " + OnnxTensors.typeName(t.getDataType()) + "; Squeeze reads FLOAT, FLOAT16 and"
                        + " BFLOAT16 weights and integer or boolean constants",
                        "convert the model's initializers to float32");
            }
        }
        checkReferences(graph, where);
        List<OnnxLayer> layers = OnnxLayers.find(graph, tensors, constants, where);
        Map<String, String> metadata = metadata(proto, tensors.keySet(), constants.keySet());
        Model model = new Model(displayName, where, OnnxFormat.NAME, ARCHITECTURE, Hashing.sha256(bytes),
                tensors, metadata, layers.stream().map(OnnxLayer::info).toList());
        return new OnnxModel(proto, model, layers);
    }

    /**
     * Every value the main graph's nodes read, and every graph output, must come from a graph input, an initializer
     * or a node; a damaged name is reported here, with the node that reads it, rather than by ONNX Runtime.
     * (Subgraphs of If/Loop/Scan may read outer values and are left to ONNX Runtime.)
     */
    private static void checkReferences(GraphProto graph, String where) {
        Set<String> defined = new HashSet<>();
        graph.getInputList().forEach(v -> defined.add(v.getName()));
        graph.getInitializerList().forEach(t -> defined.add(t.getName()));
        graph.getNodeList().forEach(n -> defined.addAll(n.getOutputList()));
        for (int i = 0; i < graph.getNodeCount(); i++) {
            var n = graph.getNode(i);
            for (String in : n.getInputList()) {
                // An empty name stands for an optional input that is left out.
                if (!in.isEmpty() && !defined.contains(in)) {
                    throw corrupt(where, "node " + i + " ('" + n.getName() + "', " + n.getOpType() + ") reads '" + in
                            + "', which no graph input, initializer or node provides");
                }
            }
        }
        for (ValueInfoProto out : graph.getOutputList()) {
            if (!defined.contains(out.getName())) {
                throw corrupt(where, "graph output '" + out.getName() + "' is not produced by any node");
            }
        }
    }

    public Model model() {
        return model;
    }

    /** The parsed protobuf message; immutable. */
    public ModelProto proto() {
        return proto;
    }

    /** The layer inventory: one entry per Gemm/MatMul/Conv weight, in graph order. */
    public List<LayerInfo> layers() {
        return layers.stream().map(OnnxLayer::info).toList();
    }

    /** The inventory with each weight's node, op type, bias and storage orientation. */
    public List<OnnxLayer> onnxLayers() {
        return layers;
    }

    /**
     * A layer's weight as compression methods want it: row-major {@code out × in} for a linear (transposing the
     * stored {@code in × out} of MatMul and of Gemm without transB), the stored {@code M × C/group × kH × kW} for a
     * convolution (read row-major, the {@code M × (C/group·kH·kW)} matrix of its filters).
     */
    public float[] logicalWeight(OnnxLayer layer) {
        float[] stored = model.tensor(layer.weight()).floats();
        if (!layer.transposed()) {
            return stored;
        }
        long[] s = layer.info().shape();
        return transpose(stored, (int) s[1], (int) s[0]);
    }

    /**
     * The replacement that puts a layer's new weight, given as {@link #logicalWeight} gives it, back into the
     * initializer's stored layout; pass it (merged with others) to {@link #serializedWith(Map)} or to the
     * classifier.
     */
    public Map<String, float[]> replacement(OnnxLayer layer, float[] logical) {
        long[] s = layer.info().shape();
        long numel = model.tensor(layer.weight()).numel();
        if (logical.length != numel) {
            throw new SqueezeException("Replacement for layer '" + layer.weight() + "' of " + model.source() + " has "
                    + logical.length + " values; its weight holds " + numel,
                    "give one value per element of the " + layer.info().shapeText() + " weight");
        }
        return Map.of(layer.weight(), layer.transposed() ? transpose(logical, (int) s[0], (int) s[1]) : logical);
    }

    /** The transpose of a row-major {@code rows × cols} matrix. */
    private static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = m[r * cols + c];
            }
        }
        return t;
    }

    /** The model's own inputs: graph inputs that are not initializers (older IRs list initializers as inputs too). */
    public List<ValueInfoProto> inputs() {
        Set<String> init = new HashSet<>();
        proto.getGraph().getInitializerList().forEach(t -> init.add(t.getName()));
        return proto.getGraph().getInputList().stream().filter(v -> !init.contains(v.getName())).toList();
    }

    public List<ValueInfoProto> outputs() {
        return proto.getGraph().getOutputList();
    }

    /**
     * The model serialized with some floating-point initializers replaced (e.g. by dequantized compressed weights);
     * each replacement keeps the initializer's element type and dims.
     *
     * @param replacements initializer name → values in row-major order of its stored dims
     */
    public byte[] serializedWith(Map<String, float[]> replacements) {
        if (replacements.isEmpty()) {
            return proto.toByteArray();
        }
        Map<String, float[]> todo = new HashMap<>(replacements);
        GraphProto.Builder graph = proto.getGraph().toBuilder();
        for (int i = 0; i < graph.getInitializerCount() && !todo.isEmpty(); i++) {
            TensorProto t = graph.getInitializer(i);
            float[] values = todo.remove(t.getName());
            if (values == null) {
                continue;
            }
            Tensor current = model.tensors().get(t.getName());
            if (current == null) {
                throw new SqueezeException("Cannot replace initializer '" + t.getName() + "' of " + model.source()
                        + ": it is " + OnnxTensors.typeName(t.getDataType()) + ", not a floating-point weight",
                        "replace only the model's FLOAT, FLOAT16 or BFLOAT16 tensors");
            }
            if (values.length != current.numel()) {
                throw new SqueezeException("Replacement for initializer '" + t.getName() + "' of " + model.source()
                        + " has " + values.length + " values but its dims " + OnnxTensors.dims(t) + " hold "
                        + current.numel(), "give one value per element, row-major in the stored layout");
            }
            graph.setInitializer(i, OnnxTensors.replaced(t, current.dtype(), values));
        }
        if (!todo.isEmpty()) {
            throw new SqueezeException("Model " + model.source() + " has no initializer named "
                    + String.join(", ", todo.keySet().stream().sorted().map(n -> "'" + n + "'").toList()),
                    "use the names of the model's tensors (see the layer inventory)");
        }
        return proto.toBuilder().setGraph(graph).build().toByteArray();
    }

    private static Map<String, String> metadata(ModelProto proto, Set<String> floats, Set<String> constants) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("onnx.ir_version", Long.toString(proto.getIrVersion()));
        StringJoiner opsets = new StringJoiner(",");
        for (OperatorSetIdProto o : proto.getOpsetImportList()) {
            opsets.add((o.getDomain().isEmpty() ? "ai.onnx" : o.getDomain()) + ":" + o.getVersion());
        }
        m.put("onnx.opsets", opsets.toString());
        String producer = (proto.getProducerName() + " " + proto.getProducerVersion()).strip();
        if (!producer.isEmpty()) {
            m.put("onnx.producer", producer);
        }
        GraphProto g = proto.getGraph();
        if (!g.getName().isEmpty()) {
            m.put("onnx.graph", g.getName());
        }
        Set<String> init = new HashSet<>(floats);
        init.addAll(constants);
        m.put("onnx.inputs", describe(g.getInputList().stream().filter(v -> !init.contains(v.getName())).toList()));
        m.put("onnx.outputs", describe(g.getOutputList()));
        m.put("onnx.nodes", Integer.toString(g.getNodeCount()));
        for (StringStringEntryProto e : proto.getMetadataPropsList()) {
            m.put("onnx.meta." + e.getKey(), e.getValue());
        }
        return m;
    }

    /** E.g. {@code Input3 FLOAT [1,1,28,28]}; a symbolic dimension shows its name. */
    static String describe(List<ValueInfoProto> values) {
        List<String> out = new ArrayList<>();
        for (ValueInfoProto v : values) {
            StringBuilder sb = new StringBuilder(v.getName());
            if (v.getType().hasTensorType()) {
                sb.append(' ').append(OnnxTensors.typeName(v.getType().getTensorType().getElemType())).append(" [");
                StringJoiner dims = new StringJoiner(",");
                for (TensorShapeProto.Dimension d : v.getType().getTensorType().getShape().getDimList()) {
                    dims.add(d.hasDimValue() ? Long.toString(d.getDimValue())
                            : d.getDimParam().isEmpty() ? "?" : d.getDimParam());
                }
                sb.append(dims).append(']');
            }
            out.add(sb.toString());
        }
        return String.join("; ", out);
    }

    static SqueezeException corrupt(String where, String what) {
        return new SqueezeException("Corrupt ONNX model " + where + ": " + what,
                "the file is truncated or damaged; get a fresh copy or export the model again");
    }

    private static String displayName(Path file) {
        String n = file.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }
}
