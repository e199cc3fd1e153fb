package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.model.onnx.OnnxTestModels;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.GraphProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static dev.squeeze.engine.model.onnx.OnnxTestModels.floatValue;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.gaussian;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.intAttr;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.intsAttr;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.node;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.raw;
import static dev.squeeze.engine.model.onnx.OnnxTestModels.typed;

/**
 * ONNX files along the path an ONNX classifier takes ({@link ModelPaths#openAndRun}): the protobuf parsed, every
 * initializer checked, the graph walked for its layers, the model handed to ONNX Runtime and one image run
 * through it. A native crash inside ONNX Runtime kills the fuzzing JVM and is a finding like any other: whatever
 * can crash it must be refused by our own checks before a session is created.
 */
public final class OnnxModelFuzz {
    private static final Path DIR = FuzzFiles.folder("onnx");

    private OnnxModelFuzz() {
    }

    public static void fuzzerInitialize() throws Exception {
        FuzzFiles.warmUp(seeds(), OnnxModelFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        Path file = FuzzFiles.write(DIR, "model.onnx", data);
        FuzzFiles.refusedOnlyCleanly(() -> ModelPaths.openAndRun(file));
    }

    /** Small graphs (a few hundred bytes each) with the node kinds and storage forms the reader handles. */
    static Map<String, byte[]> seeds() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        Random rng = new Random(17);
        out.put("gemm-raw", OnnxTestModels.gemm(1L, gaussian(rng, 12), gaussian(rng, 3), 3, 4, true).toByteArray());
        out.put("gemm-typed-symbolic-batch",
                OnnxTestModels.gemm(null, gaussian(rng, 12), gaussian(rng, 3), 3, 4, false).toByteArray());
        // MatMul + Add (bias found behind the Add), Relu, then a MatMul through a transposed view.
        GraphProto mlp = GraphProto.newBuilder().setName("mlp")
                .addNode(node("MatMul", "fc1", new String[]{"x", "w1"}, "h"))
                .addNode(node("Add", "fc1.add", new String[]{"h", "b1"}, "hb"))
                .addNode(node("Relu", "relu", new String[]{"hb"}, "hr"))
                .addNode(node("Transpose", "t", new String[]{"w2"}, "w2t", intsAttr("perm", 1, 0)))
                .addNode(node("MatMul", "fc2", new String[]{"hr", "w2t"}, "y"))
                .addInitializer(raw("w1", gaussian(rng, 20), 4, 5))
                .addInitializer(typed("b1", gaussian(rng, 5), 5))
                .addInitializer(raw("w2", gaussian(rng, 15), 3, 5))
                .addInput(floatValue("x", 1, 4)).addOutput(floatValue("y", 1, 3)).build();
        out.put("mlp-views", OnnxTestModels.model(mlp).toByteArray());
        // Conv with its own bias on a 1 × 1 × 4 × 4 image, reshaped with an INT64 constant, then Gemm.
        GraphProto conv = GraphProto.newBuilder().setName("cnn")
                .addNode(node("Conv", "c", new String[]{"x", "k", "kb"}, "h", intsAttr("kernel_shape", 3, 3)))
                .addNode(node("Reshape", "r", new String[]{"h", "shape"}, "hf"))
                .addNode(node("Gemm", "fc", new String[]{"hf", "w", "b"}, "y", intAttr("transB", 1)))
                .addInitializer(raw("k", gaussian(rng, 2 * 9), 2, 1, 3, 3))
                .addInitializer(raw("kb", gaussian(rng, 2), 2))
                .addInitializer(TensorProto.newBuilder().setName("shape").setDataType(7).addDims(2)
                        .addInt64Data(1).addInt64Data(-1))
                .addInitializer(raw("w", gaussian(rng, 3 * 8), 3, 8))
                .addInitializer(raw("b", gaussian(rng, 3), 3))
                .addInput(floatValue("x", 1, 1, 4, 4)).addOutput(floatValue("y", 1, 3)).build();
        out.put("conv-reshape-gemm", OnnxTestModels.model(conv).toByteArray());
        // As Squeeze's ONNX export writes a 4-bit weight: UINT4 codes (two per byte) with blocked DequantizeLinear.
        GraphProto dq = GraphProto.newBuilder().setName("dq")
                .addNode(node("DequantizeLinear", "dq", new String[]{"wq", "ws", "wz"}, "w", intAttr("axis", 1),
                        intAttr("block_size", 2)))
                .addNode(node("Gemm", "fc", new String[]{"x", "w"}, "y", intAttr("transB", 1)))
                .addInitializer(TensorProto.newBuilder().setName("wq").setDataType(21).addDims(3).addDims(4)
                        .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[]{0x21, 0x43, 0x65, 0x07, 0x1f,
                                (byte) 0xe2})))
                .addInitializer(raw("ws", new float[]{0.5f, 0.25f, 1f, 2f, 0.125f, 4f}, 3, 2))
                .addInitializer(TensorProto.newBuilder().setName("wz").setDataType(21).addDims(3).addDims(2)
                        .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[]{(byte) 0x88, 0x78, 0x17})))
                .addInput(floatValue("x", 1, 4)).addOutput(floatValue("y", 1, 3)).build();
        out.put("dequantize-uint4", OnnxTestModels.model(dq).toBuilder().setIrVersion(10)
                .setOpsetImport(0, OnnxTestModels.model(dq).getOpsetImport(0).toBuilder().setVersion(21)).build()
                .toByteArray());
        return out;
    }
}
