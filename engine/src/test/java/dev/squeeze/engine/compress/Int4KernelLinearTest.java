package dev.squeeze.engine.compress;

import dev.squeeze.engine.nn.DenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Int4KernelLinearTest {
    /** 4-bit layers compute on packed codes; they must equal the dequantized dense layer, also on reused buffers. */
    @Test
    void matchesTheDequantizedLayerOnExactAndOversizedBuffers() {
        Random rng = new Random(3);
        int rows = 24;
        int cols = 40;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rng.nextGaussian();
        }
        QuantizedMatrix q = RtnQuantizer.quantize("l", w, rows, cols, new RtnSettings(4, 16, false));
        LinearOp kernel = q.asLinearOp();
        assertTrue(kernel.describe().contains("int4 kernel"), kernel.describe());
        LinearOp reference = new DenseLinear(rows, cols, q.dequantize(), null);
        int batch = 3;
        float[] x = new float[batch * cols + 17]; // a reused buffer, longer than this batch
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        float[] expected = new float[batch * rows];
        reference.forward(x, batch, expected);
        float[] exact = new float[batch * rows];
        kernel.forward(java.util.Arrays.copyOf(x, batch * cols), batch, exact);
        float[] oversized = new float[batch * rows + 5];
        oversized[batch * rows + 4] = 42f;
        kernel.forward(x, batch, oversized);
        for (int i = 0; i < expected.length; i++) {
            // Float rounding of a 40-term dot product computed in another order.
            assertEquals(expected[i], exact[i], 1e-4f * (1 + Math.abs(expected[i])));
            assertEquals(exact[i], oversized[i], 0f);
        }
        assertEquals(42f, oversized[batch * rows + 4], "values past the batch are left alone");
    }
}
