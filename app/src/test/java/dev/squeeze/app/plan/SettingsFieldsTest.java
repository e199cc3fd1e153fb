package dev.squeeze.app.plan;

import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SettingsFieldsTest {
    private static final LayerInfo L172 = new LayerInfo("l", LayerRole.MLP_DOWN, new long[]{172, 64}, 172 * 64, 172 * 64 * 4);

    @Test
    void sparsityIsTypedAsPeopleWriteIt() {
        assertEquals(Sparsity.unstructured(0.5), SettingsFields.parseSparsity("0.5"));
        assertEquals(Sparsity.unstructured(0.25), SettingsFields.parseSparsity("25%"));
        assertEquals(Sparsity.nOfM(2, 4), SettingsFields.parseSparsity(" 2 : 4 "));
        assertEquals(Sparsity.rows(0.3), SettingsFields.parseSparsity("rows 0.3"));
        assertEquals(Sparsity.channels(0.1), SettingsFields.parseSparsity("channels 10%"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SettingsFields.parseSparsity("half"));
        assertTrue(e.getMessage().contains("'half'"), e.getMessage());
        assertEquals("2:4", SettingsFields.text(MagnitudeSettings.of(Sparsity.nOfM(2, 4)), SettingsFields.SPARSITY));
        assertEquals("rows 0.3", SettingsFields.text(MagnitudeSettings.of(Sparsity.rows(0.3)), SettingsFields.SPARSITY));
    }

    @Test
    void switchingMethodsCarriesSettingsOverAndAdaptsSpqrRowGroups() {
        RtnSettings rtn = new RtnSettings(3, 64, true);
        assertEquals(GptqSettings.of(3, 64).withSymmetric(true), SettingsFields.switchTo("gptq", rtn, L172));
        SpqrSettings spqr = (SpqrSettings) SettingsFields.switchTo("spqr", rtn, L172);
        assertEquals(3, spqr.bits());
        assertEquals(4, spqr.qqGroupSize()); // the largest divisor of 172 = 4 · 43 up to 16
        MagnitudeSettings rows = MagnitudeSettings.of(Sparsity.rows(0.25));
        // SparseGPT prunes unstructured or N:M only: whole rows become the same fraction unstructured.
        assertEquals(Sparsity.unstructured(0.25), ((SparseGptSettings) SettingsFields.switchTo("sparsegpt", rows, L172)).sparsity());
        LowRankSettings lr = (LowRankSettings) SettingsFields.switchTo("lowrank-whitened", null, L172);
        assertEquals(LowRankVariant.WHITENED, lr.variant());
        // 172 × 64: a rank saves space up to (172·64 − 1) / (172 + 64) = 46; a quarter of that to start.
        assertEquals(11, lr.rank());
        assertEquals("lowrank-whitened", SettingsFields.method(lr));
        assertNull(SettingsFields.switchTo(SettingsFields.DENSE, rtn, L172));
    }

    @Test
    void columnsApplyOnlyWhereTheMethodHasTheField() {
        assertEquals("row", SettingsFields.text(RtnSettings.perRow(4), SettingsFields.GROUP_SIZE));
        assertEquals("", SettingsFields.text(RtnSettings.perRow(4), SettingsFields.RANK));
        assertEquals("16", SettingsFields.text(MagnitudeSettings.of(Sparsity.unstructured(0.5)), SettingsFields.BITS));
        assertEquals(new MagnitudeSettings(Sparsity.unstructured(0.5), 32),
                SettingsFields.withText(MagnitudeSettings.of(Sparsity.unstructured(0.5)), SettingsFields.BITS, "32"));
        assertEquals(new RtnSettings(4, 0, false), SettingsFields.withText(new RtnSettings(4, 32, false), SettingsFields.GROUP_SIZE, "row"));
        assertThrows(IllegalArgumentException.class, () -> SettingsFields.withText(RtnSettings.perRow(4), SettingsFields.RANK, "3"));
        assertThrows(IllegalArgumentException.class, () -> SettingsFields.withText(RtnSettings.perRow(4), SettingsFields.SYMMETRIC, "maybe"));
    }
}
