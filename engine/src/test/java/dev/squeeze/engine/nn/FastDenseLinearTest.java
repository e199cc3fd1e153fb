package dev.squeeze.engine.nn;

import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The fast and the in-place linears against the reference {@link DenseLinear}: the same bits. */
class FastDenseLinearTest {
    @ParameterizedTest
    @CsvSource({"1,1,1,false", "7,5,3,true", "33,17,4,false", "64,172,2,true"})
    void fastAndInPlaceLinearsGiveTheReferenceBits(int out, int in, int batch, boolean withBias) {
        Random rng = new Random(out * 31L + in);
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rng.nextGaussian();
        }
        float[] bias = null;
        if (withBias) {
            bias = new float[out];
            for (int i = 0; i < out; i++) {
                bias[i] = (float) rng.nextGaussian();
            }
        }
        float[] x = new float[batch * in];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        float[] expected = new float[batch * out];
        new DenseLinear(out, in, w, bias).forward(x, batch, expected);
        float[] fast = new float[batch * out];
        new FastDenseLinear(out, in, w, bias).forward(x, batch, fast);
        assertArrayEquals(expected, fast, 0f);
        float[] inPlace = new float[batch * out];
        new TensorLinear(Tensor.of("w", w, out, in), bias).forward(x, batch, inPlace);
        assertArrayEquals(expected, inPlace, 0f);
        // Half-precision weights read in place decode exactly as Tensor.floats() does.
        for (DType type : new DType[]{DType.F16, DType.BF16}) {
            Tensor t = new Tensor("w", type, new long[]{out, in}, ByteBuffer.wrap(type.encode(w)));
            float[] ref = new float[batch * out];
            new DenseLinear(out, in, t.floats(), bias).forward(x, batch, ref);
            float[] got = new float[batch * out];
            new TensorLinear(t, bias).forward(x, batch, got);
            assertArrayEquals(ref, got, 0f, type.name());
        }
    }
}
