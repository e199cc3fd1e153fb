package dev.squeeze.engine.nn;

import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fast and the in-place linears against computations written out here: every output of the fast paths is
 * the fused multiply-add chain over the inputs in order, from zero, bias last (the {@code Blas} contract), so they
 * are held to that bit for bit; the few-row in-place path (SIMD dot products) and the reference
 * {@link DenseLinear} (unfused, left to right) agree with it to float rounding.
 */
class FastDenseLinearTest {
    @ParameterizedTest
    @CsvSource({"1,1,1,false", "7,5,3,true", "33,17,4,false", "64,172,2,true", "70,70,9,true", "300,1000,1,false",
            "257,1030,3,true", "300,1000,5,true"})
    void fastAndInPlaceLinearsComputeTheFmaChain(int out, int in, int batch, boolean withBias) {
        Random rng = new Random(out * 31L + in);
        float[] w = gaussian(rng, out * in);
        float[] bias = withBias ? gaussian(rng, out) : null;
        float[] x = gaussian(rng, batch * in);

        float[] fast = new float[batch * out];
        new FastDenseLinear(out, in, w, bias).forward(x, batch, fast);
        assertArrayEquals(fmaChain(w, bias, x, out, in, batch), fast, 0f, "heap");

        float[] reference = new float[batch * out];
        new DenseLinear(out, in, w, bias).forward(x, batch, reference);
        assertClose(w, x, out, in, batch, reference, fast);
        float[] viaReference = new float[batch * out];
        new FastDenseLinear(out, in, w, bias).reference().forward(x, batch, viaReference);
        assertArrayEquals(reference, viaReference, 0f, "FastDenseLinear.reference() is DenseLinear");

        for (DType type : new DType[]{DType.F32, DType.F16, DType.BF16}) {
            Tensor t = new Tensor("w", type, new long[]{out, in}, ByteBuffer.wrap(type.encode(w)));
            float[] decoded = t.floats();
            float[] got = new float[batch * out];
            TensorLinear inPlace = new TensorLinear(t, bias);
            inPlace.forward(x, batch, got);
            float[] chain = fmaChain(decoded, bias, x, out, in, batch);
            if (batch >= FastDenseLinear.GEMM_MIN) {
                assertArrayEquals(chain, got, 0f, type + " in place, a window");
            } else {
                assertClose(decoded, x, out, in, batch, chain, got);
            }
            float[] ref = new float[batch * out];
            new DenseLinear(out, in, decoded, bias).forward(x, batch, ref);
            float[] refInPlace = new float[batch * out];
            inPlace.reference().forward(x, batch, refInPlace);
            assertArrayEquals(ref, refInPlace, 0f, type + " in place, reference path");
        }
    }

    private static float[] gaussian(Random rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return v;
    }

    /** {@code y[b][o] = fma(x[b][i], w[o][i], acc)} over {@code i} in order from 0, then {@code + bias[o]}. */
    private static float[] fmaChain(float[] w, float[] bias, float[] x, int out, int in, int batch) {
        float[] y = new float[batch * out];
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < out; o++) {
                float acc = 0f;
                for (int i = 0; i < in; i++) {
                    acc = Math.fma(x[b * in + i], w[o * in + i], acc);
                }
                y[b * out + o] = bias == null ? acc : acc + bias[o];
            }
        }
        return y;
    }

    /** Within float rounding of a sum of {@code in} products: {@code in · 2⁻²³ · Σ|w·x|} (+ the bias's ulp). */
    private static void assertClose(float[] w, float[] x, int out, int in, int batch, float[] expected,
                                    float[] actual) {
        for (int b = 0; b < batch; b++) {
            for (int o = 0; o < out; o++) {
                double mag = 1e-30;
                for (int i = 0; i < in; i++) {
                    mag += Math.abs((double) w[o * in + i] * x[b * in + i]);
                }
                double bound = in * Math.ulp(1f) * mag + 2 * Math.ulp(expected[b * out + o]);
                double err = Math.abs(expected[b * out + o] - actual[b * out + o]);
                assertTrue(err <= bound, "row " + b + " output " + o + ": |" + expected[b * out + o] + " − "
                        + actual[b * out + o] + "| = " + err + " > " + bound);
            }
        }
    }
}
