package dev.squeeze.engine.export.onnx;

import com.google.protobuf.ByteString;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.AttributeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.NodeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorShapeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TypeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.ValueInfoProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Small builders for the ONNX messages the exporter writes, on the protobuf classes generated from onnx.proto.
 * Values go in {@code raw_data}, little-endian, the way current exporters write them; 4-bit values are packed two
 * per byte, the first element of each pair in the low nibble (onnx.proto, "INT4/UINT4").
 */
final class OnnxProtos {
    static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    static final int UINT8 = TensorProto.DataType.UINT8_VALUE;
    static final int INT64 = TensorProto.DataType.INT64_VALUE;
    static final int UINT4 = TensorProto.DataType.UINT4_VALUE;

    private OnnxProtos() {
    }

    /** Element {@code i} of an integer tensor being written. */
    @FunctionalInterface
    interface IntAt {
        int at(int i);
    }

    static TensorProto floats(String name, long[] dims, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return tensor(name, FLOAT, dims, b.array());
    }

    static TensorProto int64s(String name, long[] dims, long[] values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return tensor(name, INT64, dims, b.array());
    }

    /**
     * An unsigned integer tensor of {@code count} elements: UINT4 (values 0–15, two per byte) or UINT8.
     */
    static TensorProto unsigned(String name, int type, long[] dims, int count, IntAt values) {
        byte[] raw;
        if (type == UINT4) {
            raw = new byte[(count + 1) / 2];
            for (int i = 0; i < count; i++) {
                int v = values.at(i);
                raw[i >> 1] |= (byte) ((i & 1) == 0 ? v & 0x0f : (v & 0x0f) << 4);
            }
        } else if (type == UINT8) {
            raw = new byte[count];
            for (int i = 0; i < count; i++) {
                raw[i] = (byte) values.at(i);
            }
        } else {
            throw new IllegalArgumentException("type " + type + " is not UINT4 or UINT8");
        }
        return tensor(name, type, dims, raw);
    }

    static TensorProto tensor(String name, int type, long[] dims, byte[] raw) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type);
        for (long d : dims) {
            t.addDims(d);
        }
        return t.setRawData(ByteString.copyFrom(raw)).build();
    }

    static NodeProto.Builder node(String opType, String name, String[] inputs, String... outputs) {
        NodeProto.Builder n = NodeProto.newBuilder().setOpType(opType).setName(name);
        for (String in : inputs) {
            n.addInput(in);
        }
        for (String out : outputs) {
            n.addOutput(out);
        }
        return n;
    }

    static AttributeProto intAttribute(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    /** A float tensor value: fixed dimensions, or a named symbolic one where {@code dims[i]} is negative. */
    static ValueInfoProto floatValue(String name, String symbol, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam(symbol)
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name)
                .setType(TypeProto.newBuilder().setTensorType(
                        TypeProto.Tensor.newBuilder().setElemType(FLOAT).setShape(shape)))
                .build();
    }
}
