package dev.squeeze.engine.compress.sparse;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.LayerInput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SparseGptTest {
    private final SparseGpt sparseGpt = new SparseGpt();

    private SparseTensor run(LayerInput in, SparseGptSettings s) {
        return (SparseTensor) sparseGpt.compress(in, s);
    }

    /**
     * N:M beyond 2:4: the default keeps exactly N of every M. The reference's rule (topk(prunen) lowest pruned)
     * keeps M − N, which is only "N of M" when N = M − N (2:4, 4:8); at 1:4 and 3:8 it keeps 3 and 5.
     */
    @ParameterizedTest
    @CsvSource({"1,4", "3,8", "4,8", "2,4", "1,2", "5,8"})
    void nOfMKeepsExactlyNPerGroupWhereTheReferenceRuleWouldNot(int n, int m) {
        int rows = 24;
        int cols = 64;
        LayerInput in = Synthetic.layer("nm", rows, cols, 200, 7L * n + m);
        SparseGptSettings s = SparseGptSettings.of(Sparsity.nOfM(n, m));
        SparseTensor t = run(in, s);
        for (int kept : Synthetic.keptPerGroup(t.prunedMask(), rows, cols, m)) {
            assertEquals(n, kept, n + ":" + m + " keeps " + kept + " in a group");
        }
        SparseTensor ref = run(in, s.withMode(SparseGptSettings.Mode.REFERENCE));
        for (int kept : Synthetic.keptPerGroup(ref.prunedMask(), rows, cols, m)) {
            assertEquals(m - n, kept, "the reference's topk(prunen) rule keeps M − N");
        }
        if (n == m - n) {
            // Where the two rules agree, so do the results (with fp32 values both are the same computation).
            assertArrayEquals(ref.dequantize(), t.dequantize(), 0f);
        }
        // Stored: N fp16 values + ceil(log2 C(M, N)) index bits per group of M.
        long groups = (long) rows * (cols / m);
        assertEquals(groups * (16L * n + Synthetic.bitsFor(Synthetic.subsets(n, m))), t.storedBits());
    }

    /** On the reference's own 2:4 case the default rule and the reference's rule give the same masks and weights. */
    @ParameterizedTest
    @ValueSource(strings = {"sparsegpt_2of4", "sparsegpt_2of4_in200"})
    void onTwoOfFourTheDefaultAndReferenceRulesAgree(String name) throws Exception {
        ReferenceCase c = ReferenceCase.load(name);
        SparseGptSettings ref = c.referenceSettings();
        SparseTensor a = run(c.input(), ref);
        SparseTensor b = run(c.input(), ref.withMode(SparseGptSettings.Mode.DEFAULT));
        assertArrayEquals(c.referenceMask(), b.prunedMask(), name + ": default-mode mask vs the reference's");
        assertArrayEquals(a.dequantize(), b.dequantize(), 0f);
    }

    /** A short last group (cols % M != 0) keeps min(N, its length), as if padded with pruned zeros. */
    @ParameterizedTest
    @CsvSource({"3,8,70", "1,4,66", "4,8,66", "2,4,65"})
    void aShortLastGroupKeepsAtMostN(int n, int m, int cols) {
        int rows = 8;
        LayerInput in = Synthetic.layer("tail", rows, cols, 120, cols);
        SparseTensor t = run(in, new SparseGptSettings(Sparsity.nOfM(n, m), 16, 0, 0.01, 64, SparseGptSettings.Mode.DEFAULT));
        int groups = (cols + m - 1) / m;
        int tail = cols - (groups - 1) * m;
        int[] kept = Synthetic.keptPerGroup(t.prunedMask(), rows, cols, m);
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                assertEquals(g == groups - 1 ? Math.min(n, tail) : n, kept[r * groups + g]);
            }
        }
        // Every group, the padded one included, stores N values and one rank.
        assertEquals((long) rows * groups * (16L * n + Synthetic.bitsFor(Synthetic.subsets(n, m))), t.storedBits());
    }

    /** With H = I no error is spread (U is diagonal), so SparseGPT must reduce to magnitude pruning. */
    @Test
    void withAnIdentityHessianItIsMagnitudePruning() {
        int rows = 16;
        int cols = 64;
        LayerInput in = Synthetic.identityHessian("id", rows, cols, 5);
        MagnitudePruning magnitude = new MagnitudePruning();
        for (Sparsity sp : new Sparsity[]{Sparsity.unstructured(0.3), Sparsity.nOfM(2, 4), Sparsity.nOfM(3, 8)}) {
            SparseTensor ours = run(in, SparseGptSettings.of(sp));
            SparseTensor mag = (SparseTensor) magnitude.compress(in, MagnitudeSettings.of(sp));
            assertArrayEquals(mag.prunedMask(), ours.prunedMask(), sp.describe());
            assertArrayEquals(mag.dequantize(), ours.dequantize(), 0f, sp.describe());
        }
    }

    /**
     * Unstructured: the default prunes exactly floor(rows·cols·s) over the matrix; the reference rule
     * ({@code scores <= sorted[int(n·s)]}) prunes int(n·s) + 1 per block.
     */
    @Test
    void unstructuredCountsAreExactByDefaultAndOnePerBlockMoreInReferenceMode() {
        int rows = 20;
        int cols = 200;
        double s = 0.37;
        LayerInput in = Synthetic.layer("count", rows, cols, 300, 11);
        SparseGptSettings def = new SparseGptSettings(Sparsity.unstructured(s), 16, 0, 0.01, 64, SparseGptSettings.Mode.DEFAULT);
        assertEquals((long) Math.floor(rows * cols * s), Synthetic.count(run(in, def).prunedMask()));
        long expectedReference = 0;
        for (int i1 = 0; i1 < cols; i1 += 64) {
            int width = Math.min(64, cols - i1);
            expectedReference += (long) (rows * width * s) + 1;
        }
        SparseTensor ref = run(in, def.withMode(SparseGptSettings.Mode.REFERENCE));
        assertEquals(expectedReference, Synthetic.count(ref.prunedMask()));
    }

    /** Joint sparsity + 4-bit quantization in groups of 32: codes in range, pruned exactly 0, every bit counted. */
    @Test
    void jointQuantizationWithGroupsCountsCodesParametersAndIndex() {
        int rows = 16;
        int cols = 96;
        LayerInput in = Synthetic.layer("q", rows, cols, 200, 3);
        SparseGptSettings s = new SparseGptSettings(Sparsity.unstructured(0.5), 4, 32, 0.01, 128, SparseGptSettings.Mode.DEFAULT);
        SparseTensor t = run(in, s);
        boolean[] pruned = t.prunedMask();
        int[] codes = t.codes();
        float[] q = t.dequantize();
        int kept = 0;
        for (int i = 0; i < pruned.length; i++) {
            if (pruned[i]) {
                assertEquals(-1, codes[i]);
                assertEquals(0f, q[i]);
            } else {
                kept++;
                assertTrue(codes[i] >= 0 && codes[i] <= 15);
            }
        }
        long bitmap = (long) rows * cols;
        long csr = 16L * kept + 32L * (rows + 1);
        assertEquals(4L * kept + rows * 3L * (32 + 4) + Math.min(bitmap, csr), t.storedBits());
    }

    /** On the reference input (outlier channels, heavy-tailed rows) 4-bit groups of 32 beat one quantizer per row. */
    @Test
    void groupsBeatPerRowQuantizationOnTheReferenceInput() throws Exception {
        ReferenceCase c = ReferenceCase.load("sparsegpt_50");
        SparseTensor perRow = run(c.input(), SparseGptSettings.quantized(Sparsity.unstructured(0.5), 4));
        SparseTensor g32 = run(c.input(),
                new SparseGptSettings(Sparsity.unstructured(0.5), 4, 32, 0.01, 128, SparseGptSettings.Mode.DEFAULT));
        assertTrue(c.outErr(g32.dequantize()) < c.outErr(perRow.dequantize()));
    }

    /** Dead inputs (H[i,i] = 0) have their weights zeroed, as the reference does. */
    @Test
    void deadColumnsAreZero() {
        LayerInput live = Synthetic.layer("dead", 8, 32, 100, 9);
        float[] h = live.hessian().clone();
        for (int j = 0; j < 32; j++) {
            h[5 * 32 + j] = 0;
            h[j * 32 + 5] = 0;
        }
        LayerInput in = new LayerInput("dead", live.weight(), 8, 32, h);
        float[] q = run(in, SparseGptSettings.of(Sparsity.nOfM(2, 4))).dequantize();
        for (int r = 0; r < 8; r++) {
            assertEquals(0f, q[r * 32 + 5]);
        }
    }

    /**
     * The reference fits the joint quantizer on W before dead columns are zeroed, so a large weight on a dead
     * input coarsens the whole row's grid; the default fits on the dead-zeroed W.
     */
    @Test
    void theDefaultFitsTheQuantizerWithoutDeadColumns() {
        int rows = 4;
        int cols = 32;
        LayerInput live = Synthetic.layer("deadq", rows, cols, 100, 21);
        float[] h = live.hessian().clone();
        float[] w = live.weight().clone();
        for (int j = 0; j < cols; j++) {
            h[5 * cols + j] = 0;
            h[j * cols + 5] = 0;
        }
        for (int r = 0; r < rows; r++) {
            w[r * cols + 5] = 100f;
        }
        LayerInput in = new LayerInput("deadq", w, rows, cols, h);
        SparseGptSettings s = SparseGptSettings.quantized(Sparsity.unstructured(0.25), 4);
        double def = liveError(w, run(in, s).dequantize(), rows, cols);
        double ref = liveError(w, run(in, s.withMode(SparseGptSettings.Mode.REFERENCE)).dequantize(), rows, cols);
        assertTrue(def < 0.25 * ref, "default " + def + " vs reference " + ref);
    }

    private static double liveError(float[] w, float[] q, int rows, int cols) {
        double e = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                if (c != 5) {
                    double d = w[r * cols + c] - q[r * cols + c];
                    e += d * d;
                }
            }
        }
        return e;
    }

    @Test
    void needsAHessian() {
        LayerInput in = new LayerInput("fc", new float[16], 4, 4, null);
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> run(in, SparseGptSettings.of(Sparsity.unstructured(0.5))));
        assertTrue(e.getMessage().contains("fc") && e.getMessage().contains("calibration"), e.getMessage());
    }

    @Test
    void badSettingsNameTheLayerAndFieldBeforeAnyWork() {
        LayerInput in = Synthetic.layer("blk.3.ffn", 8, 64, 50, 1);
        SparseGptSettings ok = SparseGptSettings.of(Sparsity.nOfM(2, 4));
        expect(in, "'n'", () -> SparseGptSettings.of(Sparsity.nOfM(4, 4)));
        expect(in, "'n'", () -> SparseGptSettings.of(Sparsity.nOfM(5, 4)));
        expect(in, "'n'", () -> SparseGptSettings.of(Sparsity.nOfM(0, 4)));
        expect(in, "'m'", () -> SparseGptSettings.of(Sparsity.nOfM(1, 1)));
        expect(in, "'m'", () -> SparseGptSettings.of(Sparsity.nOfM(3, 65)));
        expect(new LayerInput("narrow", new float[16], 8, 2, new float[4]), "'n'",
                () -> SparseGptSettings.of(Sparsity.nOfM(2, 4))); // a row of 2 keeps both: prunes nothing
        expect(in, "'sparsity'", () -> SparseGptSettings.of(Sparsity.unstructured(0)));
        expect(in, "'sparsity'", () -> SparseGptSettings.of(Sparsity.unstructured(1)));
        expect(in, "'sparsity'", () -> SparseGptSettings.of(Sparsity.unstructured(-0.2)));
        expect(in, "'sparsity'", () -> SparseGptSettings.of(Sparsity.unstructured(Double.NaN)));
        expect(in, "'sparsity'", () -> SparseGptSettings.of(Sparsity.unstructured(0.001))); // prunes nothing of 512
        expect(in, "'sparsity'", () -> SparseGptSettings.of(Sparsity.rows(0.5)));
        expect(in, "'sparsity'", () -> SparseGptSettings.of(null));
        expect(in, "'bits'", () -> ok.withBits(1));
        expect(in, "'bits'", () -> ok.withBits(9));
        expect(in, "'bits'", () -> ok.withBits(17));
        expect(in, "'groupSize'", () -> new SparseGptSettings(ok.sparsity(), 4, -8, 0.01, 128, ok.mode()));
        expect(in, "'groupSize'", () -> new SparseGptSettings(ok.sparsity(), 16, 32, 0.01, 128, ok.mode()));
        expect(in, "'percdamp'", () -> new SparseGptSettings(ok.sparsity(), 16, 0, -1, 128, ok.mode()));
        expect(in, "'blockSize'", () -> new SparseGptSettings(ok.sparsity(), 16, 0, 0.01, 0, ok.mode()));
        expect(in, "'blockSize'", () -> new SparseGptSettings(Sparsity.nOfM(1, 3), 16, 0, 0.01, 128, ok.mode()));
        expect(in, "'blockSize'", () -> new SparseGptSettings(Sparsity.unstructured(0.5), 4, 48, 0.01, 128, ok.mode()));
        expect(in, "'mode'", () -> ok.withMode(null));
    }

    private static void expect(LayerInput in, String field, Supplier<SparseGptSettings> settings) {
        SqueezeException e = assertThrows(SqueezeException.class, () -> new SparseGpt().compress(in, settings.get()),
                "expected an error for " + field);
        assertTrue(e.getMessage().contains(in.layer()) && e.getMessage().contains(field), e.getMessage());
    }
}
