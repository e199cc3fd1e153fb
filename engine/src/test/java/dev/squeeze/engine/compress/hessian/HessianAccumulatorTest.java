package dev.squeeze.engine.compress.hessian;

import dev.squeeze.engine.testing.Npz;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Our accumulation of the cases' X, batch by batch as the reference fed it, against the reference's H. */
class HessianAccumulatorTest {
    @ParameterizedTest
    @ValueSource(strings = {"gptq_w4_pc_asym", "gptq_w4_g32_act_in200", "gptq_w4_pc_asym_dead2"})
    void matchesTheReferenceHessian(String name) throws Exception {
        Map<String, Npz.Array> c = Npz.read(SharedData.require("reference/cases/" + name + ".npz"));
        var settings = new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.get("settings_json_utf8").utf8());
        int nbatch = settings.get("data").get("nbatch").asInt();
        int tpb = settings.get("data").get("tpb").asInt();
        float[] x = c.get("X").floats();
        int cols = c.get("X").shape()[1];
        HessianAccumulator acc = new HessianAccumulator(cols);
        for (int b = 0; b < nbatch; b++) {
            acc.addBatch(Arrays.copyOfRange(x, b * tpb * cols, (b + 1) * tpb * cols), tpb, 1);
        }
        assertEquals(nbatch, acc.samples());
        float[] ours = acc.hessian();
        float[] ref = c.get("H").floats();
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += ((double) ours[i] - ref[i]) * ((double) ours[i] - ref[i]);
            den += (double) ref[i] * ref[i];
            assertEquals(ours[i], ours[(i % cols) * cols + i / cols], "symmetric");
        }
        assertTrue(Math.sqrt(num / den) < 1e-6, name + ": relative difference " + Math.sqrt(num / den));
    }
}
