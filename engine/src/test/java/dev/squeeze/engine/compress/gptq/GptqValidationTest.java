package dev.squeeze.engine.compress.gptq;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad settings and bad Hessians: one clear error naming the layer and the field, before any work. */
class GptqValidationTest {
    private static final int ROWS = 8;
    private static final int COLS = 16;

    private static SqueezeException rejected(GptqSettings s) {
        // No Hessian: an error about the Hessian would mean the settings were not checked first.
        LayerInput in = new LayerInput("blk.0.q", new float[ROWS * COLS], ROWS, COLS, null);
        return assertThrows(SqueezeException.class, () -> new Gptq().compress(in, s));
    }

    private static void assertNames(SqueezeException e, String field) {
        assertTrue(e.getMessage().contains("blk.0.q"), e.getMessage());
        assertTrue(e.getMessage().contains("'" + field + "'"), e.getMessage());
        assertTrue(e.fix() != null && !e.fix().isBlank());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 9, 0, -4, 16})
    void bitsOutsideTwoToEight(int bits) {
        assertNames(rejected(GptqSettings.of(bits, 128)), "bits");
    }

    @ParameterizedTest
    @ValueSource(ints = {-1, -128})
    void negativeGroupSize(int groupSize) {
        assertNames(rejected(GptqSettings.of(4, groupSize)), "groupSize");
    }

    @Test
    void otherFields() {
        assertNames(rejected(GptqSettings.of(4, 0).withStaticGroups(true)), "staticGroups");
        assertNames(rejected(GptqSettings.of(4, 8).withPercdamp(-0.1)), "percdamp");
        assertNames(rejected(GptqSettings.of(4, 8).withPercdamp(Double.NaN)), "percdamp");
        assertNames(rejected(GptqSettings.of(4, 8).withBlockSize(0)), "blockSize");
        assertNames(rejected(GptqSettings.of(4, 8).withGroupParams(null)), "groupParams");
        assertNames(rejected(GptqSettings.of(4, 8).withScalePrecision(null)), "scalePrecision");
    }

    @Test
    void validSettingsWithoutCalibrationAskForIt() {
        SqueezeException e = rejected(GptqSettings.of(4, 8));
        assertTrue(e.getMessage().contains("calibration"), e.getMessage());
    }

    @Test
    void nonFiniteWeightsAreNamed() {
        float[] w = new float[ROWS * COLS];
        w[3 * COLS + 5] = Float.NaN;
        float[] h = identity(COLS);
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> new Gptq().compress(new LayerInput("blk.0.q", w, ROWS, COLS, h), GptqSettings.of(4, 8)));
        assertTrue(e.getMessage().contains("(3, 5)"), e.getMessage());
    }

    /** Fewer tokens than inputs: H is singular, and dampening (as in the reference) makes it usable. */
    @Test
    void singularHessianIsHandledByDampening() {
        Random rnd = new Random(7);
        float[] x = new float[4 * COLS];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        HessianAccumulator acc = new HessianAccumulator(COLS);
        acc.addBatch(x, 4, 1);
        float[] h = acc.hessian();
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        LayerInput in = new LayerInput("blk.0.q", w, ROWS, COLS, h);
        GptqTensor t = (GptqTensor) new Gptq().compress(in, GptqSettings.of(4, 8));
        for (float v : t.dequantize()) {
            assertTrue(Float.isFinite(v));
        }
        // Without dampening the same H has no Cholesky factor: a clear error, not an arithmetic exception.
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> new Gptq().compress(in, GptqSettings.of(4, 8).withPercdamp(0)));
        assertTrue(e.getMessage().contains("blk.0.q") && e.getMessage().contains("positive definite"),
                e.getMessage());
        assertTrue(e.fix().contains("percdamp"), e.fix());
    }

    /** An indefinite H (not a Gram matrix) that the default dampening cannot repair. */
    @Test
    void hessianThatStillFailsAfterDampeningIsAClearError() {
        float[] h = identity(COLS);
        h[1] = 3f;
        h[COLS] = 3f;
        LayerInput in = new LayerInput("blk.0.q", new float[ROWS * COLS], ROWS, COLS, h);
        SqueezeException e = assertThrows(SqueezeException.class, () -> new Gptq().compress(in, GptqSettings.of(4, 8)));
        assertTrue(e.getMessage().contains("blk.0.q") && e.getMessage().contains("positive definite"),
                e.getMessage());
    }

    /** All inputs dead (H = 0): every column is zeroed, as in the reference, and the result is exactly zero. */
    @Test
    void allDeadInputs() {
        float[] w = new float[ROWS * COLS];
        java.util.Arrays.fill(w, 0.5f);
        LayerInput in = new LayerInput("blk.0.q", w, ROWS, COLS, new float[COLS * COLS]);
        GptqTensor t = (GptqTensor) assertDoesNotThrow(() -> new Gptq().compress(in, GptqSettings.of(3, 4)));
        for (float v : t.dequantize()) {
            assertEquals(0f, v);
        }
    }

    private static float[] identity(int n) {
        float[] h = new float[n * n];
        for (int i = 0; i < n; i++) {
            h[i * n + i] = 1f;
        }
        return h;
    }
}
