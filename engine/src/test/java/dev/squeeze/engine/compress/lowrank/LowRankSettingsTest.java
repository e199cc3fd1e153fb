package dev.squeeze.engine.compress.lowrank;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.RtnSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LowRankSettingsTest {
    private static final String LAYER = "blocks.3.mlp.up";

    /** 96 × 256: r (96 + 256) < 24576 holds up to r = 69 (69 · 352 = 24288) and fails at 70 (24640). */
    @Test
    void theLargestUsefulRankIsTheLastOneThatSavesSpace() {
        assertEquals(69, LowRankSettings.maxUsefulRank(96, 256));
        assertDoesNotThrow(() -> LowRankSettings.of(LowRankVariant.SVD, 69).validate(LAYER, 96, 256));
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> LowRankSettings.of(LowRankVariant.SVD, 70).validate(LAYER, 96, 256));
        assertNames(e, "'rank'", "save");
        assertTrue(e.getMessage().contains("69"), e.getMessage());
        // Square 8 × 8: r · 16 < 64 up to r = 3; r = 4 (64 values) saves nothing.
        assertEquals(3, LowRankSettings.maxUsefulRank(8, 8));
        assertThrows(SqueezeException.class, () -> LowRankSettings.of(LowRankVariant.LORD, 4).validate(LAYER, 8, 8));
        // A 1 × n or 2 × 2 matrix has no useful rank at all.
        assertEquals(0, LowRankSettings.maxUsefulRank(2, 2));
        assertEquals(0, LowRankSettings.maxUsefulRank(1, 500));
        assertNames(assertThrows(SqueezeException.class,
                () -> LowRankSettings.of(LowRankVariant.SVD, 1).validate(LAYER, 1, 500)), "'rank'", "uncompressed");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, Integer.MIN_VALUE})
    void nonPositiveRanksAreRefused(int rank) {
        assertNames(assertThrows(SqueezeException.class,
                () -> LowRankSettings.of(LowRankVariant.ACTIVATION, rank).validate(LAYER, 96, 256)), "'rank'", "positive");
    }

    @ParameterizedTest
    @ValueSource(ints = {97, 257, 1000, Integer.MAX_VALUE})
    void ranksBeyondTheMatrixAreRefused(int rank) {
        assertNames(assertThrows(SqueezeException.class,
                () -> LowRankSettings.of(LowRankVariant.WHITENED, rank).validate(LAYER, 96, 256)), "'rank'", "larger");
    }

    @ParameterizedTest
    @EnumSource(value = LowRankVariant.class, names = {"ACTIVATION", "WHITENED"})
    void dampingVariantsNeedAPositiveFiniteDampening(LowRankVariant v) {
        for (double bad : new double[]{0, -0.01, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertNames(assertThrows(SqueezeException.class,
                    () -> new LowRankSettings(v, 8, bad, null, null).validate(LAYER, 96, 256)), "'percdamp'");
        }
    }

    @Test
    void variantsWithoutDampeningIgnoreIt() {
        assertDoesNotThrow(() -> new LowRankSettings(LowRankVariant.SVD, 8, 0, null, null).validate(LAYER, 96, 256));
        assertDoesNotThrow(() -> new LowRankSettings(LowRankVariant.LORD, 8, 0, null, null).validate(LAYER, 96, 256));
    }

    @Test
    void factorQuantizationIsValidatedNamingTheFactor() {
        LowRankSettings base = LowRankSettings.of(LowRankVariant.SVD, 8);
        SqueezeException a = assertThrows(SqueezeException.class,
                () -> base.withQuantization(new RtnSettings(9, 0, false), null).validate(LAYER, 96, 256));
        assertNames(a, "'bits'", "quantA");
        SqueezeException b = assertThrows(SqueezeException.class,
                () -> base.withQuantization(null, new RtnSettings(4, -3, false)).validate(LAYER, 96, 256));
        assertNames(b, "'groupSize'", "quantB");
        assertThrows(SqueezeException.class,
                () -> base.withQuantization(RtnSettings.perRow(1), RtnSettings.perRow(4)).validate(LAYER, 96, 256));
    }

    @Test
    void aMissingVariantIsNamed() {
        assertNames(assertThrows(SqueezeException.class,
                () -> new LowRankSettings(null, 8, 0.01, null, null).validate(LAYER, 96, 256)), "'variant'");
    }

    /** The method refuses before any work: a bad rank fails even where the weights are poisoned with NaN. */
    @Test
    void theMethodValidatesBeforeWorking() {
        float[] w = new float[16 * 32];
        w[5] = Float.NaN;
        LayerInput in = new LayerInput(LAYER, w, 16, 32, null);
        assertNames(assertThrows(SqueezeException.class,
                () -> new LowRank().compress(in, LowRankSettings.of(LowRankVariant.SVD, 11))), "'rank'");
        // A valid rank reaches the weights, whose NaN is named.
        assertNames(assertThrows(SqueezeException.class,
                () -> new LowRank().compress(in, LowRankSettings.of(LowRankVariant.SVD, 4))), "weight", "NaN");
    }

    @ParameterizedTest
    @EnumSource(value = LowRankVariant.class, names = {"ACTIVATION", "WHITENED", "LORD"})
    void dataDrivenVariantsNeedTheHessian(LowRankVariant v) {
        LayerInput in = new LayerInput(LAYER, new float[16 * 32], 16, 32, null);
        assertNames(assertThrows(SqueezeException.class,
                () -> new LowRank().compress(in, LowRankSettings.of(v, 4))), "calibration");
    }

    @ParameterizedTest
    @EnumSource(value = LowRankVariant.class, names = {"ACTIVATION", "WHITENED", "LORD"})
    void aZeroHessianIsRefusedClearly(LowRankVariant v) {
        float[] w = new float[16 * 32];
        w[3] = 1;
        LayerInput in = new LayerInput(LAYER, w, 16, 32, new float[32 * 32]);
        assertNames(assertThrows(SqueezeException.class,
                () -> new LowRank().compress(in, LowRankSettings.of(v, 4))), "Hessian is zero");
    }

    @Test
    void describeNamesVariantRankAndStorage() {
        assertEquals("low-rank LoRD r32 fp16 factors", LowRankSettings.of(LowRankVariant.LORD, 32).describe());
        assertEquals("low-rank SVD r8 A fp16, B RTN 4-bit asym g64",
                LowRankSettings.of(LowRankVariant.SVD, 8).withQuantization(null, new RtnSettings(4, 64, false))
                        .describe());
        assertEquals("lowrank", LowRankSettings.of(LowRankVariant.SVD, 8).method());
        assertEquals("lowrank", new LowRank().name());
        assertEquals(LowRankSettings.class, new LowRank().settingsType());
    }

    private static void assertNames(SqueezeException e, String... parts) {
        assertTrue(e.getMessage().contains(LAYER), "names the layer: " + e.getMessage());
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "mentions " + p + ": " + e.getMessage());
        }
    }
}
