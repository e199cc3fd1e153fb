package dev.squeeze.engine.export.onnx;

import dev.squeeze.engine.model.onnx.proto.OnnxProto.NodeProto;
import dev.squeeze.engine.model.onnx.proto.OnnxProto.TensorProto;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The nodes and initializers that compute one weight from its codes: {@code DequantizeLinear} (opset 21, blocked
 * along the input dimension) of a UINT4/UINT8 code matrix with float32 scales and unsigned zero points, then, when
 * the graph stores the weight with other dims (a convolution's {@code M × C × kH × kW}, mnist-7's
 * {@code 16 × 4 × 4 × 10} MatMul weight), a {@code Reshape} to them, then a {@code Cast} when the graph's weight is
 * not float32. The last output carries the weight's own name, so every node that used the initializer now uses
 * the computed value unchanged.
 *
 * <p>Orientation: ONNX blocks run along one tensor axis. Our groups run along the input dimension; when the graph
 * stores the weight {@code out × in} (Gemm with transB, Conv flattened) the code matrix is {@code out × in} with
 * {@code axis = 1}, and when it stores {@code in × out} (MatMul's B, Gemm without transB) the code matrix is
 * {@code in × out} with {@code axis = 0}: then the bytes the Reshape sees are the initializer's bytes.
 */
final class QuantizedWeight {
    private QuantizedWeight() {
    }

    record Emitted(List<TensorProto> initializers, List<NodeProto> nodes, String storedAs) {
    }

    /**
     * @param grid        the codes, {@code out × in}
     * @param weight      the value the graph reads (the former initializer's name)
     * @param transposed  whether the graph's weight holds {@code in × out} bytes
     * @param storedDims  the dims the graph's weight has
     * @param storedType  its ONNX element type (FLOAT, FLOAT16, BFLOAT16)
     * @param used        names already taken in the graph; the new ones are added
     */
    static Emitted emit(QuantGrid grid, String weight, boolean transposed, long[] storedDims, int storedType,
                        Set<String> used) {
        int rows = grid.rows();
        int cols = grid.cols();
        int blocks = grid.blocks();
        int type = grid.nibbles() ? OnnxProtos.UINT4 : OnnxProtos.UINT8;
        long[] codeDims = transposed ? new long[]{cols, rows} : new long[]{rows, cols};
        long[] paramDims = transposed ? new long[]{blocks, rows} : new long[]{rows, blocks};
        List<TensorProto> init = new ArrayList<>();
        String q = unique(weight + "_quantized", used);
        String s = unique(weight + "_scale", used);
        String z = unique(weight + "_zero_point", used);
        int n = rows * cols;
        int p = rows * blocks;
        if (transposed) {
            init.add(OnnxProtos.unsigned(q, type, codeDims, n, i -> grid.code(i % rows, i / rows)));
            float[] scales = new float[p];
            for (int i = 0; i < p; i++) {
                scales[i] = grid.scale(i % rows, i / rows);
            }
            init.add(OnnxProtos.floats(s, paramDims, scales));
            init.add(OnnxProtos.unsigned(z, type, paramDims, p, i -> grid.zero(i % rows, i / rows)));
        } else {
            init.add(OnnxProtos.unsigned(q, type, codeDims, n, i -> grid.code(i / cols, i % cols)));
            float[] scales = new float[p];
            for (int i = 0; i < p; i++) {
                scales[i] = grid.scale(i / blocks, i % blocks);
            }
            init.add(OnnxProtos.floats(s, paramDims, scales));
            init.add(OnnxProtos.unsigned(z, type, paramDims, p, i -> grid.zero(i / blocks, i % blocks)));
        }
        boolean reshape = !Arrays.equals(codeDims, storedDims);
        boolean cast = storedType != OnnxProtos.FLOAT;
        List<NodeProto> nodes = new ArrayList<>();
        String dequantized = reshape || cast ? unique(weight + "_dequantized", used) : weight;
        nodes.add(OnnxProtos.node("DequantizeLinear", unique(weight + "_DequantizeLinear", used),
                        new String[]{q, s, z}, dequantized)
                .addAttribute(OnnxProtos.intAttribute("axis", transposed ? 0 : 1))
                .addAttribute(OnnxProtos.intAttribute("block_size", grid.blockSize()))
                .build());
        String last = dequantized;
        if (reshape) {
            String shape = unique(weight + "_shape", used);
            init.add(OnnxProtos.int64s(shape, new long[]{storedDims.length}, storedDims));
            String reshaped = cast ? unique(weight + "_reshaped", used) : weight;
            nodes.add(OnnxProtos.node("Reshape", unique(weight + "_Reshape", used), new String[]{last, shape}, reshaped)
                    .build());
            last = reshaped;
        }
        if (cast) {
            nodes.add(OnnxProtos.node("Cast", unique(weight + "_Cast", used), new String[]{last}, weight)
                    .addAttribute(OnnxProtos.intAttribute("to", storedType))
                    .build());
        }
        String storedAs = (grid.nibbles() ? "uint4" : "uint8") + " (" + grid.bits() + "-bit codes) block "
                + grid.blockSize() + " + DequantizeLinear" + (reshape ? " + Reshape" : "") + (cast ? " + Cast" : "");
        return new Emitted(init, nodes, storedAs);
    }

    /** {@code base}, or {@code base_2}, {@code base_3}… when the graph already uses it. */
    static String unique(String base, Set<String> used) {
        String name = base;
        for (int i = 2; !used.add(name); i++) {
            name = base + "_" + i;
        }
        return name;
    }
}
