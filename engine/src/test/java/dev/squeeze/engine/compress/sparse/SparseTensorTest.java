package dev.squeeze.engine.compress.sparse;

import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.nn.DenseLinear;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SparseTensorTest {
    /** Every N-of-M choice gets a distinct rank below C(M, N), and unranks back to itself. */
    @Test
    void combinatorialRanksAreABijection() {
        for (int m = 2; m <= 10; m++) {
            for (int n = 1; n < m; n++) {
                long total = Synthetic.subsets(n, m);
                assertEquals(Synthetic.bitsFor(total), Combinations.rankBits(n, m), n + ":" + m);
                Set<Long> seen = new HashSet<>();
                int[] pos = new int[n];
                int[] back = new int[n];
                for (long mask = 0; mask < (1L << m); mask++) {
                    if (Long.bitCount(mask) != n) {
                        continue;
                    }
                    int k = 0;
                    for (int j = 0; j < m; j++) {
                        if ((mask >> j & 1) == 1) {
                            pos[k++] = j;
                        }
                    }
                    long rank = Combinations.rank(pos, n);
                    assertTrue(rank >= 0 && rank < total);
                    assertTrue(seen.add(rank));
                    Combinations.unrank(rank, n, m, back);
                    assertArrayEquals(pos, back);
                }
                assertEquals(total, seen.size());
            }
        }
        assertEquals(3, Combinations.rankBits(2, 4), "2:4: C(4,2) = 6 choices need 3 bits");
        // The largest group: C(64, 32) ≈ 1.8e18 still fits a long, and its last rank unranks.
        int[] top = new int[32];
        Combinations.unrank(Combinations.binomial(64, 32) - 1, 32, 64, top);
        assertEquals(63, top[31]);
        assertEquals(32, top[0]);
    }

    @Test
    void packedFieldsRoundTripAcrossWordBoundaries() {
        Random rnd = new Random(1);
        for (int width : new int[]{1, 2, 3, 7, 13, 31, 32, 33, 61, 63}) {
            int count = 97;
            PackedBits bits = new PackedBits(width, count);
            long[] expected = new long[count];
            for (int i = 0; i < count; i++) {
                expected[i] = rnd.nextLong() >>> (64 - width);
                bits.set(i, expected[i]);
            }
            bits.set(5, expected[5]); // overwriting keeps neighbours intact
            for (int i = 0; i < count; i++) {
                assertEquals(expected[i], bits.get(i), "width " + width + " field " + i);
            }
            assertEquals((long) width * count, bits.bits());
        }
        assertThrows(IllegalArgumentException.class, () -> new PackedBits(3, 4).set(0, 8));
    }

    /** The compressed product (CSR or gather/scatter) against the dense product of the dequantized weights. */
    @ParameterizedTest
    @ValueSource(strings = {"unstructured", "2:4", "3:8", "rows", "channels", "sparsegpt-w3"})
    void linearOpMatchesTheDequantizedWeights(String what) {
        int rows = 12;
        int cols = 44;
        LayerInput in = Synthetic.layer("lin", rows, cols, 80, what.hashCode());
        SparseTensor t = switch (what) {
            case "unstructured" -> magnitude(in, Sparsity.unstructured(0.6));
            case "2:4" -> magnitude(in, Sparsity.nOfM(2, 4));
            case "3:8" -> magnitude(in, Sparsity.nOfM(3, 8)); // 44 = 5 × 8 + a short group of 4
            case "rows" -> magnitude(in, Sparsity.rows(0.25));
            case "channels" -> magnitude(in, Sparsity.channels(0.5));
            default -> (SparseTensor) new SparseGpt().compress(in, SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 3));
        };
        float[] x = Synthetic.gaussian(new Random(3), 3 * cols);
        float[] expected = new float[3 * rows];
        new DenseLinear(rows, cols, t.dequantize(), null).forward(x, 3, expected);
        float[] y = new float[3 * rows];
        t.asLinearOp().forward(x, 3, y);
        assertArrayEquals(expected, y, 1e-4f);
        assertEquals(rows, t.asLinearOp().outFeatures());
        assertEquals(cols, t.asLinearOp().inFeatures());
    }

    /** A 99%-sparse matrix is cheaper in CSR than as a bitmap; a half-sparse one is not. */
    @Test
    void unstructuredIndexIsTheSmallerOfBitmapAndCsr() {
        int rows = 4;
        int cols = 1000;
        float[] w = Synthetic.gaussian(new Random(2), rows * cols);
        SparseTensor sparse = magnitude(new LayerInput("s", w, rows, cols, null), Sparsity.unstructured(0.99));
        assertEquals(40, sparse.storedValues());
        assertEquals("CSR", sparse.indexFormat());
        assertEquals(40 * 16 + 40 * 16 + 32 * 5, sparse.storedBits(), "values + 16-bit columns + row pointers");
        SparseTensor half = magnitude(new LayerInput("h", w, rows, cols, null), Sparsity.unstructured(0.5));
        assertEquals("bitmap", half.indexFormat());
        assertEquals(2000 * 16 + 4000, half.storedBits());
    }

    @Test
    void layoutViolationsAreRejected() {
        boolean[] threeKept = {false, false, false, true};
        SparseTensor.Encoding fp16 = SparseTensor.Encoding.floats(16);
        assertThrows(IllegalArgumentException.class, () -> SparseTensor.of(SparseTensor.Layout.N_OF_M, 1, 4, 2, 4,
                threeKept, new float[4], null, fp16, "x"));
        boolean[] halfRow = {true, false, true, true};
        assertThrows(IllegalArgumentException.class, () -> SparseTensor.of(SparseTensor.Layout.ROWS, 2, 2, 0, 0,
                halfRow, new float[4], null, fp16, "x"));
    }

    private static SparseTensor magnitude(LayerInput in, Sparsity sp) {
        return (SparseTensor) new MagnitudePruning().compress(in, MagnitudeSettings.of(sp));
    }
}
