package dev.squeeze.engine.model.onnx;

import com.google.protobuf.ByteString;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Shapes;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Checks one initializer against its dims and decodes the floating-point ones into {@link Tensor}s. ONNX stores
 * values either in {@code raw_data} (little-endian, fixed width) or in a typed repeated field
 * ({@code float_data}; {@code int32_data} holding the 16-bit patterns of FLOAT16 and BFLOAT16); exactly one of
 * them must hold {@code numel} elements.
 */
final class OnnxTensors {
    // ONNX TensorProto.DataType numbers; the generated enum has the same values but a tensor may carry a number
    // this copy of onnx.proto does not know, so the code works on the int.
    static final int FLOAT = 1;
    static final int UINT8 = 2;
    static final int INT8 = 3;
    static final int UINT16 = 4;
    static final int INT16 = 5;
    static final int INT32 = 6;
    static final int INT64 = 7;
    static final int BOOL = 9;
    static final int FLOAT16 = 10;
    static final int UINT32 = 12;
    static final int UINT64 = 13;
    static final int BFLOAT16 = 16;
    static final int UINT4 = 21;
    static final int INT4 = 22;

    private OnnxTensors() {
    }

    /** The ONNX name of a data type number, e.g. {@code INT64}, or {@code unknown type 99}. */
    static String typeName(int dataType) {
        TensorProto.DataType t = TensorProto.DataType.forNumber(dataType);
        return t == null ? "unknown type " + dataType : t.name();
    }

    /** The Squeeze element type of a floating-point ONNX type, or null for every other type. */
    static DType floatType(int dataType) {
        return switch (dataType) {
            case FLOAT -> DType.F32;
            case FLOAT16 -> DType.F16;
            case BFLOAT16 -> DType.BF16;
            default -> null;
        };
    }

    /** Bytes per element of the integer and boolean types kept as graph constants (shapes, indices), else 0. */
    static int constantWidth(int dataType) {
        return switch (dataType) {
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16 -> 2;
            case INT32, UINT32 -> 4;
            case INT64, UINT64 -> 8;
            default -> 0;
        };
    }

    /** Whether a type packs two 4-bit elements per byte of raw_data (UINT4, INT4: quantized weights' codes). */
    static boolean packed4(int dataType) {
        return dataType == UINT4 || dataType == INT4;
    }

    /** Checks a UINT4/INT4 constant's stored length against its dims: ceil(n/2) bytes, or n values in int32_data. */
    static void checkPacked4(TensorProto t, String where) {
        long n = numel(t, where);
        if (t.hasRawData()) {
            long expected = n / 2 + n % 2;
            if (t.getRawData().size() != expected) {
                throw OnnxModel.corrupt(where, "initializer '" + t.getName() + "' has " + t.getRawData().size()
                        + " bytes of raw_data but its dims " + dims(t) + " of " + typeName(t.getDataType())
                        + " need " + expected);
            }
            return;
        }
        checkCount(t, "int32_data", t.getInt32DataCount(), n, where);
    }

    /** The element count its dims give; every dim must be 0 or more and the product must fit a long. */
    static long numel(TensorProto t, String where) {
        return Shapes.numel(shape(t), where, t.getName());
    }

    static long[] shape(TensorProto t) {
        long[] s = new long[t.getDimsCount()];
        for (int i = 0; i < s.length; i++) {
            s[i] = t.getDims(i);
        }
        return s;
    }

    static String dims(TensorProto t) {
        return Arrays.toString(shape(t));
    }

    /** Decodes a FLOAT, FLOAT16 or BFLOAT16 initializer; its bytes alias the parsed file where raw_data holds them. */
    static Tensor decodeFloat(TensorProto t, DType type, String where) {
        long n = numel(t, where);
        String name = t.getName();
        if (t.hasRawData()) {
            if (t.getFloatDataCount() > 0 || t.getInt32DataCount() > 0) {
                throw OnnxModel.corrupt(where, "initializer '" + name + "' holds both raw_data and typed values");
            }
            long expected = Shapes.bytes(n, type.bytes(), shape(t), where, name);
            if (t.getRawData().size() != expected) {
                throw OnnxModel.corrupt(where, "initializer '" + name + "' has " + t.getRawData().size()
                        + " bytes of raw_data but its dims " + dims(t) + " of " + typeName(t.getDataType())
                        + " need " + expected);
            }
            return new Tensor(name, type, shape(t), t.getRawData().asReadOnlyByteBuffer());
        }
        if (type == DType.F32) {
            checkCount(t, "float_data", t.getFloatDataCount(), n, where);
            ByteBuffer b = ByteBuffer.allocate(4 * (int) n).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                b.putFloat(t.getFloatData(i));
            }
            return new Tensor(name, type, shape(t), b.flip());
        }
        // FLOAT16 and BFLOAT16 keep their bit patterns in the low 16 bits of int32_data.
        checkCount(t, "int32_data", t.getInt32DataCount(), n, where);
        ByteBuffer b = ByteBuffer.allocate(2 * (int) n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putShort((short) t.getInt32Data(i));
        }
        return new Tensor(name, type, shape(t), b.flip());
    }

    /** Checks an integer or boolean constant's stored length against its dims. */
    static void checkConstant(TensorProto t, int width, String where) {
        long n = numel(t, where);
        if (t.hasRawData()) {
            long expected = Shapes.bytes(n, width, shape(t), where, t.getName());
            if (t.getRawData().size() != expected) {
                throw OnnxModel.corrupt(where, "initializer '" + t.getName() + "' has " + t.getRawData().size()
                        + " bytes of raw_data but its dims " + dims(t) + " of " + typeName(t.getDataType())
                        + " need " + expected);
            }
            return;
        }
        switch (t.getDataType()) {
            case INT64 -> checkCount(t, "int64_data", t.getInt64DataCount(), n, where);
            case UINT32, UINT64 -> checkCount(t, "uint64_data", t.getUint64DataCount(), n, where);
            default -> checkCount(t, "int32_data", t.getInt32DataCount(), n, where);
        }
    }

    private static void checkCount(TensorProto t, String field, int count, long numel, String where) {
        if (count != numel) {
            throw OnnxModel.corrupt(where, "initializer '" + t.getName() + "' has " + count + " values in " + field
                    + " but its dims " + dims(t) + " need " + numel);
        }
    }

    /**
     * The initializer with its values replaced, in its own element type, as raw_data: the way every current
     * exporter writes weights, and the one ONNX Runtime reads without conversion.
     */
    static TensorProto replaced(TensorProto original, DType type, float[] values) {
        return original.toBuilder()
                .clearFloatData()
                .clearInt32Data()
                .setRawData(ByteString.copyFrom(type.encode(values)))
                .build();
    }

    /** The values of an INT64 constant (e.g. a Reshape target shape), already checked by {@link #checkConstant}. */
    static long[] int64Values(TensorProto t) {
        if (t.hasRawData()) {
            ByteBuffer b = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            long[] out = new long[b.remaining() / 8];
            b.asLongBuffer().get(out);
            return out;
        }
        long[] out = new long[t.getInt64DataCount()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.getInt64Data(i);
        }
        return out;
    }
}
