package dev.squeeze.engine.compress;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.testing.Npz;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RtnQuantizerTest {
    /**
     * Our RTN against the original GPTQ quant.py on the same W (shared/reference): integer codes must be
     * identical and the dequantized weights equal to float rounding.
     */
    @ParameterizedTest
    @ValueSource(strings = {"rtn_w4_pc_asym", "rtn_w4_g32_asym", "rtn_w3_g32_asym", "rtn_w2_g16_sym",
            "rtn_w4_g32_asym_in200", "rtn_w3_g32_asym_in200", "rtn_w2_g16_sym_in200", "rtn_w4_pc_asym_dead2"})
    void matchesTheReferenceImplementation(String name) throws Exception {
        Path file = SharedData.require("reference/cases/" + name + ".npz");
        Map<String, Npz.Array> c = Npz.read(file);
        var settings = new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.get("settings_json_utf8").utf8());
        var params = settings.has("params") ? settings.get("params") : settings;
        int bits = params.get("wbits").asInt();
        int group = params.get("groupsize").asInt();
        boolean sym = params.get("sym").asBoolean();
        int rows = c.get("W").shape()[0];
        int cols = c.get("W").shape()[1];

        QuantizedMatrix q = RtnQuantizer.quantize(name, c.get("W").floats(), rows, cols,
                new RtnSettings(bits, group < 0 ? 0 : group, sym));

        int[] refCodes = c.get("codes").ints();
        int[] ours = new int[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int col = 0; col < cols; col++) {
                ours[r * cols + col] = q.code(r, col);
            }
        }
        assertArrayEquals(refCodes, ours, name + ": integer codes differ from the reference");
        float[] refQ = c.get("Q").floats();
        float[] deq = q.dequantize();
        double num = 0;
        double den = 0;
        for (int i = 0; i < refQ.length; i++) {
            num += (deq[i] - refQ[i]) * (double) (deq[i] - refQ[i]);
            den += refQ[i] * (double) refQ[i];
        }
        // 1e-4 relative Frobenius: the fidelity bar of the brief; identical codes leave only float rounding.
        assertTrue(Math.sqrt(num / den) < 1e-4, name + ": relative error " + Math.sqrt(num / den));
    }

    @Test
    void storedBitsCountCodesScalesAndZeros() {
        float[] w = new float[2 * 10];
        for (int i = 0; i < w.length; i++) {
            w[i] = i - 7;
        }
        // 2 rows × 10 columns in groups of 4: 3 groups per row (the last one holds 2 columns).
        QuantizedMatrix asym = RtnQuantizer.quantize("t", w, 2, 10, new RtnSettings(4, 4, false));
        assertEquals(3, asym.groupsPerRow());
        assertEquals(20 * 4 + 6 * (32 + 4), asym.storedBits());
        QuantizedMatrix sym = RtnQuantizer.quantize("t", w, 2, 10, new RtnSettings(4, 4, true));
        assertEquals(20 * 4 + 6 * 32, sym.storedBits());
        QuantizedMatrix perRow = RtnQuantizer.quantize("t", w, 2, 10, RtnSettings.perRow(8));
        assertEquals(20 * 8 + 2 * (32 + 8), perRow.storedBits());
        assertEquals((20 * 8 + 2 * (32 + 8)) / 20.0, perRow.bitsPerWeight(), 1e-12);
    }

    @Test
    void eightBitsOfAnIntegerGridAreExact() {
        // Values on a grid of step 1 between -127 and 128 are representable exactly at 8 bits asymmetric.
        float[] w = new float[256];
        for (int i = 0; i < w.length; i++) {
            w[i] = i - 127;
        }
        QuantizedMatrix q = RtnQuantizer.quantize("grid", w, 1, 256, RtnSettings.perRow(8));
        assertArrayEquals(w, q.dequantize(), 1e-4f);
    }

    @Test
    void invalidSettingsNameTheLayerAndField() {
        float[] w = new float[4];
        for (int bits : new int[]{1, 9}) {
            SqueezeException e = assertThrows(SqueezeException.class,
                    () -> RtnQuantizer.quantize("fc1", w, 1, 4, RtnSettings.perRow(bits)));
            assertTrue(e.getMessage().contains("fc1") && e.getMessage().contains("'bits'"), e.getMessage());
        }
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> RtnQuantizer.quantize("fc2", w, 1, 4, new RtnSettings(4, -8, false)));
        assertTrue(e.getMessage().contains("fc2") && e.getMessage().contains("'groupSize'"), e.getMessage());
    }
}
