package dev.squeeze.engine.compress;

import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InvalidObjectException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.lang.reflect.Field;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Compressed tensors read back from a checkpoint are checked like new ones (see {@link Restored}): a tensor whose
 * stored fields were changed so that they disagree (the fuzzer's checkpoint findings: arrays shorter than the
 * shape, indices past the end, a zero group size) fails to deserialise with an InvalidObjectException naming the
 * inconsistency, instead of loading and failing later with an index error; an untouched one round-trips.
 */
class RestoredTest {
    private static final int ROWS = 16;
    private static final int COLS = 16;

    static Stream<Arguments> tamperings() {
        return Stream.of(
                Arguments.of(RtnSettings.perRow(4), "scales", shorter(), "scales"),
                Arguments.of(RtnSettings.perRow(3), "cols", (UnaryOperator<Object>) v -> 0, "shape"),
                Arguments.of(GptqSettings.of(4, 8).withActOrder(true), "gIdx", (UnaryOperator<Object>) v -> {
                    int[] g = ((int[]) v).clone();
                    g[3] = 99;
                    return g;
                }, "g_idx"),
                Arguments.of(GptqSettings.of(3, 8), "perm", (UnaryOperator<Object>) v -> new int[COLS], "perm"),
                Arguments.of(SpqrSettings.recommended(3), "rowPointers", shorter(), "row pointers"),
                Arguments.of(SpqrSettings.recommended(3), "rows", (UnaryOperator<Object>) v -> 1 << 20, "codes"),
                Arguments.of(SparseGptSettings.of(Sparsity.nOfM(2, 4)), "n", (UnaryOperator<Object>) v -> 5, "N:M"),
                Arguments.of(MagnitudeSettings.of(Sparsity.unstructured(0.5)), "rows", (UnaryOperator<Object>) v -> 8,
                        "index"),
                Arguments.of(LowRankSettings.of(LowRankVariant.SVD, 3), "rank", (UnaryOperator<Object>) v -> 4,
                        "factor A"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("tamperings")
    void aTamperedTensorIsRefusedAndAnUntouchedOneRoundTrips(MethodSettings settings, String field,
                                                             UnaryOperator<Object> change, String named)
            throws Exception {
        CompressedTensor t = Methods.compress(layer(), settings);
        CompressedTensor back = (CompressedTensor) deserialize(serialize(t));
        assertArrayEquals(t.dequantize(), back.dequantize(), 0f);

        Field f = t.getClass().getDeclaredField(field);
        f.setAccessible(true);
        f.set(t, change.apply(f.get(t)));
        byte[] tampered = serialize(t);
        InvalidObjectException e = assertThrows(InvalidObjectException.class, () -> deserialize(tampered));
        assertTrue(e.getMessage().contains(named), e.getMessage());
    }

    private static UnaryOperator<Object> shorter() {
        return v -> {
            Object a = java.lang.reflect.Array.newInstance(v.getClass().getComponentType(),
                    java.lang.reflect.Array.getLength(v) - 1);
            System.arraycopy(v, 0, a, 0, java.lang.reflect.Array.getLength(a));
            return a;
        };
    }

    private static LayerInput layer() {
        Random rnd = new Random(3);
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * (i % 37 == 0 ? 12 : 1);
        }
        float[] x = new float[40 * COLS];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian() * (1 + i % 5);
        }
        HessianAccumulator acc = new HessianAccumulator(COLS);
        acc.addBatch(x, 40, 1);
        return new LayerInput("fc", w, ROWS, COLS, acc.hessian());
    }

    private static byte[] serialize(Object o) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        return bytes.toByteArray();
    }

    private static Object deserialize(byte[] b) throws Exception {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(b))) {
            return in.readObject();
        }
    }
}
