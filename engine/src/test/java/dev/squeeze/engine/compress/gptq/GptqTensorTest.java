package dev.squeeze.engine.compress.gptq;

import dev.squeeze.engine.nn.LinearOp;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stored bits by ALGORITHMS.md's cost formula, fp16 scales, and the tensor as a linear layer. */
class GptqTensorTest {
    private static GptqTensor quantize(ReferenceCase c, GptqSettings s) {
        return (GptqTensor) new Gptq().compress(c.input(), s);
    }

    @Test
    void storedBitsFollowTheCostFormula() throws Exception {
        ReferenceCase a = ReferenceCase.load("gptq_w4_g32_act");
        ReferenceCase b = ReferenceCase.load("gptq_w4_g32_act_in200");
        long weightsA = (long) a.rows() * a.cols();
        // bits + (16 + bits)/g per weight: asymmetric groups with an fp16 scale and an integer zero.
        assertEquals(weightsA * 4 + weightsA / 128 * (16 + 4), quantize(a, GptqSettings.of(4, 128)).storedBits());
        // bits + 16/g symmetric.
        assertEquals(weightsA * 3 + weightsA / 32 * 16,
                quantize(a, GptqSettings.of(3, 32).withSymmetric(true)).storedBits());
        // Per row: g = in_features.
        assertEquals(weightsA * 4 + a.rows() * (16 + 4), quantize(a, GptqSettings.of(4, 0)).storedBits());
        // Float32 scales count 32 bits.
        assertEquals(weightsA * 4 + weightsA / 32 * (32 + 4),
                quantize(a, GptqSettings.of(4, 32).withScalePrecision(GptqSettings.ScalePrecision.FP32)).storedBits());
        // Act-order with dynamic groups stores g_idx (32 bits per column); with static groups it does not.
        assertEquals(weightsA * 4 + weightsA / 32 * 20 + 32L * a.cols(),
                quantize(a, GptqSettings.of(4, 32).withActOrder(true)).storedBits());
        assertEquals(weightsA * 4 + weightsA / 32 * 20,
                quantize(a, GptqSettings.of(4, 32).withActOrder(true).withStaticGroups(true)).storedBits());
        // 200 columns in groups of 32: 7 groups per row, the last one partial.
        assertEquals((long) b.rows() * b.cols() * 2 + (long) b.rows() * 7 * (16 + 2),
                quantize(b, GptqSettings.of(2, 32)).storedBits());
        assertEquals(4 + 20.0 / 128, quantize(a, GptqSettings.of(4, 128)).bitsPerWeight(), 1e-12);
    }

    @Test
    void fp16ScalesAreExactlyHalfPrecisionAndDequantizeConsistently() throws Exception {
        ReferenceCase a = ReferenceCase.load("gptq_w4_g32_act");
        GptqTensor t = quantize(a, GptqSettings.of(4, 32).withActOrder(true));
        float[] w = t.dequantize();
        for (int g = 0; g < t.groups(); g++) {
            for (int r = 0; r < t.rows(); r++) {
                float s = t.scale(g, r);
                assertEquals(s, Float.float16ToFloat(Float.floatToFloat16(s)), "scale not fp16: " + s);
                float z = t.zero(g, r);
                assertTrue(z == Math.rint(z) && z >= 0 && z <= 15, "zero " + z);
            }
        }
        for (int r = 0; r < t.rows(); r++) {
            for (int c = 0; c < t.cols(); c++) {
                int g = t.group(c);
                assertEquals(t.scale(g, r) * (t.code(r, c) - t.zero(g, r)), w[r * t.cols() + c]);
            }
        }
        // fp16 scales cost little accuracy: the layer error stays close to the float32-scale one.
        double e16 = a.outErr(w);
        double e32 = a.outErr(quantize(a, GptqSettings.of(4, 32).withActOrder(true)
                .withScalePrecision(GptqSettings.ScalePrecision.FP32)).dequantize());
        assertEquals(e32, e16, 0.05 * e32);
    }

    /** The linear layer computes W x with the dequantized weights (int4 kernel or dense). */
    @Test
    void linearOpMatchesTheDequantizedWeights() throws Exception {
        ReferenceCase a = ReferenceCase.load("gptq_w4_g32_act_in200");
        GptqSettings[] all = {GptqSettings.of(4, 32), GptqSettings.of(4, 0), GptqSettings.of(4, 32).withActOrder(true),
                GptqSettings.of(3, 32).withActOrder(true).withStaticGroups(true)};
        Random rnd = new Random(3);
        int batch = 3;
        float[] x = new float[batch * a.cols()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        for (GptqSettings s : all) {
            GptqTensor t = quantize(a, s);
            float[] w = t.dequantize();
            LinearOp op = t.asLinearOp();
            assertEquals(a.cols(), op.inFeatures());
            assertEquals(a.rows(), op.outFeatures());
            float[] y = new float[batch * a.rows()];
            op.forward(x, batch, y);
            for (int b = 0; b < batch; b++) {
                for (int r = 0; r < a.rows(); r++) {
                    double ref = 0;
                    double mag = 0;
                    for (int c = 0; c < a.cols(); c++) {
                        ref += (double) w[r * a.cols() + c] * x[b * a.cols() + c];
                        mag += Math.abs((double) w[r * a.cols() + c] * x[b * a.cols() + c]);
                    }
                    assertEquals(ref, y[b * a.rows() + r], 1e-5 * mag + 1e-6, s.describe() + " " + op.describe());
                }
            }
        }
    }
}
