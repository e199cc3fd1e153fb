package dev.squeeze.engine.model.onnx;

import com.google.protobuf.ByteString;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.AttributeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.GraphProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ModelProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.NodeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorShapeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TypeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ValueInfoProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

/** Builds small ONNX models for the tests, field by field, with the generated protobuf builders. */
public final class OnnxTestModels {
    public static final int FLOAT = 1;

    private OnnxTestModels() {
    }

    public static float[] gaussian(Random rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return v;
    }

    /** A FLOAT initializer with its values in raw_data (little-endian). */
    public static TensorProto raw(String name, float[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return TensorProto.newBuilder().setName(name).setDataType(FLOAT).addAllDims(boxed(dims))
                .setRawData(ByteString.copyFrom(b.array())).build();
    }

    /** A FLOAT initializer with its values in the typed float_data field. */
    public static TensorProto typed(String name, float[] values, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(FLOAT).addAllDims(boxed(dims));
        for (float v : values) {
            t.addFloatData(v);
        }
        return t.build();
    }

    public static ValueInfoProto floatValue(String name, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number n) {
                dim.setDimValue(n.longValue());
            } else {
                dim.setDimParam(d.toString());
            }
            shape.addDim(dim);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(FLOAT).setShape(shape))).build();
    }

    public static NodeProto node(String op, String name, String[] inputs, String output, AttributeProto... attrs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addOutput(output);
        for (String in : inputs) {
            n.addInput(in);
        }
        for (AttributeProto a : attrs) {
            n.addAttribute(a);
        }
        return n.build();
    }

    public static AttributeProto intAttr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    public static AttributeProto intsAttr(String name, long... values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long v : values) {
            a.addInts(v);
        }
        return a.build();
    }

    public static ModelProto model(GraphProto graph) {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("squeeze-test").setProducerVersion("1")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(13))
                .setGraph(graph).build();
    }

    /**
     * y = x·Wᵀ + b, a Gemm with transB = 1 (W stored out × in, the way PyTorch exports nn.Linear), input
     * {@code [batch, in]} where batch is the given size or symbolic when null.
     */
    public static ModelProto gemm(Long batch, float[] w, float[] b, int out, int in, boolean rawData) {
        Object batchDim = batch == null ? "N" : batch;
        GraphProto g = GraphProto.newBuilder().setName("gemm")
                .addNode(node("Gemm", "fc", new String[]{"x", "fc.weight", "fc.bias"}, "y", intAttr("transB", 1)))
                .addInitializer(rawData ? raw("fc.weight", w, out, in) : typed("fc.weight", w, out, in))
                .addInitializer(rawData ? raw("fc.bias", b, out) : typed("fc.bias", b, out))
                .addInput(floatValue("x", batchDim, in))
                .addOutput(floatValue("y", batchDim, out))
                .build();
        return model(g);
    }

    private static Iterable<Long> boxed(long[] dims) {
        return java.util.Arrays.stream(dims).boxed().toList();
    }
}
