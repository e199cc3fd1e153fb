package dev.squeeze.engine.compress;

import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.plan.PlanResolver;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A group (or block) wider than the row is one group (one block) per row, for every method: the same result as a
 * group exactly as wide as the row. Integer.MAX_VALUE once overflowed {@code (cols + g − 1) / g} to zero groups,
 * and the worker failed with an index out of bounds or a negative array size.
 */
class OversizedGroupsTest {
    private static final int ROWS = 16;
    private static final int COLS = 48;
    private static final int HUGE = Integer.MAX_VALUE;

    private static LayerInput layer() {
        Random rnd = new Random(11);
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        int tokens = 200;
        float[] x = new float[tokens * COLS];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        HessianAccumulator acc = new HessianAccumulator(COLS);
        acc.addBatch(x, tokens, 1);
        return new LayerInput("fc", w, ROWS, COLS, acc.hessian());
    }

    private static float[] run(MethodSettings s) {
        s.validate("fc", ROWS, COLS);
        CompressedTensor t = Methods.compress(layer(), s);
        float[] w = t.dequantize();
        for (float v : w) {
            assertTrue(Float.isFinite(v), s.describe() + " gave " + v);
        }
        assertTrue(t.storedBits() > 0 && t.storedBits() < 32L * ROWS * COLS, s.describe() + ": " + t.storedBits());
        return w;
    }

    @Test
    void rtnGroupWiderThanTheRowIsPerRow() {
        assertArrayEquals(run(new RtnSettings(4, COLS, false)), run(new RtnSettings(4, HUGE, false)), 0f);
        assertArrayEquals(run(new RtnSettings(4, 0, true)), run(new RtnSettings(4, HUGE, true)), 0f);
    }

    @Test
    void gptqHugeGroupAndBlockAreOneGroupAndOneBlock() {
        GptqSettings rowWide = GptqSettings.of(4, COLS).withBlockSize(COLS);
        assertArrayEquals(run(rowWide), run(GptqSettings.of(4, HUGE).withBlockSize(HUGE)), 0f);
        assertArrayEquals(run(rowWide.withStaticGroups(true).withActOrder(true)),
                run(GptqSettings.of(4, HUGE).withBlockSize(HUGE).withStaticGroups(true).withActOrder(true)), 0f);
    }

    @Test
    void spqrHugeGroupAndBlockAreOneGroupAndOneBlock() {
        SpqrSettings rowWide = new SpqrSettings(3, COLS, 3, 3, 16, 0.2, 1.0, true, COLS, false);
        SpqrSettings huge = new SpqrSettings(3, HUGE, 3, 3, 16, 0.2, 1.0, true, HUGE, false);
        assertArrayEquals(run(rowWide), run(huge), 0f);
        // One group per row needs no block size that is a multiple of it (once: "use blockSize 2147483647").
        assertArrayEquals(run(new SpqrSettings(3, COLS, 3, 3, 16, 0.2, 1.0, true, 16, false)),
                run(new SpqrSettings(3, HUGE, 3, 3, 16, 0.2, 1.0, true, 16, false)), 0f);
    }

    @Test
    void sparseGptGroupAsWideAsTheRowIsFittedAndHugeIsTheSame() {
        // A group as wide as the row was never fitted (scales stayed 0, every value NaN): one group per row is a
        // dynamic group like any other, fitted when the loop reaches column 0.
        SparseGptSettings rowWide = new SparseGptSettings(Sparsity.unstructured(0.5), 4, COLS, 0.01, COLS,
                SparseGptSettings.Mode.DEFAULT);
        SparseGptSettings huge = new SparseGptSettings(Sparsity.unstructured(0.5), 4, HUGE, 0.01, HUGE,
                SparseGptSettings.Mode.DEFAULT);
        float[] a = run(rowWide);
        assertArrayEquals(a, run(huge), 0f);
        assertArrayEquals(run(new SparseGptSettings(Sparsity.unstructured(0.5), 4, COLS, 0.01, 16,
                        SparseGptSettings.Mode.DEFAULT)),
                run(new SparseGptSettings(Sparsity.unstructured(0.5), 4, HUGE, 0.01, 16, SparseGptSettings.Mode.DEFAULT)),
                0f);
        // Half the weights are pruned, the rest quantized to 4 bits on one grid per row: close to W where kept.
        float[] w = layer().weight();
        double num = 0;
        double den = 0;
        for (int i = 0; i < w.length; i++) {
            if (a[i] != 0f) {
                num += (a[i] - w[i]) * (double) (a[i] - w[i]);
                den += w[i] * (double) w[i];
            }
        }
        assertTrue(Math.sqrt(num / den) < 0.5, "relative error of the kept weights " + Math.sqrt(num / den));
    }

    @Test
    void aPlanWithAHugeGroupSizeValidatesAgainstTheLayer() {
        CompressionPlan plan = CompressionPlan.parse(
                "{\"schema\":1,\"defaults\":{\"method\":\"gptq\",\"bits\":4,\"groupSize\":2147483647}}");
        var settings = PlanResolver.resolve(plan, List.of(new LayerInfo("fc", LayerRole.LINEAR,
                new long[]{ROWS, COLS}, (long) ROWS * COLS, 4L * ROWS * COLS)));
        assertEquals(HUGE, ((GptqSettings) settings.get("fc")).groupSize());
    }
}
