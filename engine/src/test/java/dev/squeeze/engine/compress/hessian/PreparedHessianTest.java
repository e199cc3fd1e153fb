package dev.squeeze.engine.compress.hessian;

import dev.squeeze.engine.testing.Npz;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Our inverse-Hessian factor and permutation against the ones the original code computed on the same H. */
class PreparedHessianTest {
    @ParameterizedTest
    @ValueSource(strings = {"gptq_w4_pc_asym", "gptq_w4_g32_act", "gptq_w4_pc_asym_dead2", "sparsegpt_50",
            "spqr_w3_act", "spqr_w4_id", "spqr_w3_act_in200"})
    void matchesTheReferenceFactor(String name) throws Exception {
        Map<String, Npz.Array> c = Npz.read(SharedData.require("reference/cases/" + name + ".npz"));
        var settings = new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.get("settings_json_utf8").utf8());
        var p = settings.has("params") ? settings.get("params") : settings;
        int n = c.get("H").shape()[0];
        double percdamp = p.get("percdamp").asDouble();
        PreparedHessian prep;
        if (name.startsWith("spqr")) {
            prep = PreparedHessian.spqr(name, c.get("H").floats(), n, percdamp,
                    "act_order".equals(p.path("permutation_order").asText()));
        } else {
            prep = PreparedHessian.gptq(name, c.get("H").floats(), n, percdamp, p.path("act_order").asBoolean(false));
        }
        if (c.containsKey("perm")) {
            assertArrayEquals(c.get("perm").ints(), prep.perm(), name + ": permutation");
        }
        float[] ref = c.get("Hinv_chol").floats();
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = prep.u()[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        // The reference factors in float32; ours in double: they agree to float32 accuracy of a Cholesky chain.
        assertTrue(Math.sqrt(num / den) < 1e-5, name + ": relative difference " + Math.sqrt(num / den));
    }
}
