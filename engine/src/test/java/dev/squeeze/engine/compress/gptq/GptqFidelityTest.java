package dev.squeeze.engine.compress.gptq;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPTQ against the outputs of the original IST-DASLab/gptq code on the same W and H (../shared/reference): the
 * dequantized weights within 1e-4 relative Frobenius error, the layer error out_err from the case's X, and the
 * stored parameters.
 */
class GptqFidelityTest {
    private static final String[] CASES = ReferenceCase.GPTQ_CASES;

    @ParameterizedTest
    @FieldSource("CASES")
    void reproducesTheReference(String name) throws Exception {
        ReferenceCase c = ReferenceCase.load(name);
        GptqTensor t = (GptqTensor) new Gptq().compress(c.input(), c.settings(GptqSettings.GroupParams.REFERENCE));
        float[] q = t.dequantize();
        double num = 0;
        double den = 0;
        int same = 0;
        for (int i = 0; i < q.length; i++) {
            double d = (double) q[i] - c.q()[i];
            num += d * d;
            den += (double) c.q()[i] * c.q()[i];
            if (t.code(i / c.cols(), i % c.cols()) == c.codes()[i]) {
                same++;
            }
        }
        double rel = Math.sqrt(num / den);
        double ours = c.outErr(q);
        // Our out_err formula on the reference's own Q must give the reference's figure (checks the formula).
        double refCheck = c.outErr(c.q());
        System.out.printf(Locale.ROOT, "%-30s rel %.2e  identical codes %d/%d (%.4f)  out_err ours %.6g ref %.6g"
                        + " (rel diff %.1e)%n", name, rel, same, q.length, (double) same / q.length, ours, c.outErr(),
                Math.abs(ours - c.outErr()) / c.outErr());
        assertEquals(c.outErr(), refCheck, 1e-6 * c.outErr(), name + ": out_err formula");
        assertTrue(rel < 1e-4, name + ": relative Frobenius error " + rel);
        assertEquals(c.outErr(), ours, 1e-4 * c.outErr(), name + ": out_err");
        assertArrayEquals(c.perm(), t.permutation(), name + ": permutation");
        assertArrayEquals(c.gIdx(), t.groupIndex(), name + ": g_idx");
        assertEquals(c.gIdx().length > 0 && c.settings(GptqSettings.GroupParams.REFERENCE).actOrder()
                && !c.settings(GptqSettings.GroupParams.REFERENCE).staticGroups(), t.storesGroupIndex(),
                name + ": g_idx stored exactly when act-order has dynamic groups");
        int groups = c.scales().length / c.rows();
        assertEquals(groups, t.groups(), name + ": groups");
        for (int g = 0; g < groups; g++) {
            for (int r = 0; r < c.rows(); r++) {
                float ref = c.scales()[g * c.rows() + r];
                assertEquals(ref, t.scale(g, r), 1e-5f * Math.abs(ref), name + ": scale of group " + g + " row " + r);
            }
        }
    }

    /**
     * GPTQ's point: with the defaults (updated group parameters, fp16 scales) it beats the reference's own RTN at
     * the same width and grouping on the same layer, by the reference's RTN layer error.
     */
    @ParameterizedTest
    @FieldSource("CASES")
    void defaultGptqBeatsTheReferenceRtn(String name) throws Exception {
        ReferenceCase c = ReferenceCase.load(name);
        GptqSettings s = c.settings(GptqSettings.GroupParams.UPDATED)
                .withScalePrecision(GptqSettings.ScalePrecision.FP16);
        String rtn = "rtn_w" + s.bits() + (s.groupSize() == 0 ? "_pc" : "_g" + s.groupSize())
                + (s.symmetric() ? "_sym" : "_asym") + name.substring(name.indexOf("_in200") >= 0
                ? name.indexOf("_in200") : name.indexOf("_dead2") >= 0 ? name.indexOf("_dead2") : name.length());
        double rtnErr = dev.squeeze.engine.testing.Npz.read(dev.squeeze.engine.testing.SharedData.require(
                "reference/cases/" + rtn + ".npz")).get("out_err").doubles()[0];
        double ours = c.outErr(new Gptq().compress(c.input(), s).dequantize());
        System.out.printf(Locale.ROOT, "%-30s GPTQ (defaults) out_err %.6g vs reference %s %.6g%n", name, ours, rtn,
                rtnErr);
        assertTrue(ours < rtnErr, name + ": GPTQ " + ours + " is not below RTN " + rtnErr);
    }

    /**
     * The better default: group parameters fitted on the current (error-updated) weights give a layer error no
     * worse, on average over the cases with dynamic groups, than the reference's stale-W parameters.
     */
    @Test
    void updatedGroupParametersAreNoWorseOnAverage() throws Exception {
        String[] grouped = {"gptq_w4_g32_act", "gptq_w2_g16_sym", "gptq_w4_g32_act_in200", "gptq_w2_g16_sym_in200"};
        double sumRatio = 0;
        for (String name : grouped) {
            ReferenceCase c = ReferenceCase.load(name);
            double ref = c.outErr(new Gptq().compress(c.input(), c.settings(GptqSettings.GroupParams.REFERENCE))
                    .dequantize());
            double upd = c.outErr(new Gptq().compress(c.input(), c.settings(GptqSettings.GroupParams.UPDATED))
                    .dequantize());
            System.out.printf(Locale.ROOT, "%-24s out_err REFERENCE %.6g  UPDATED %.6g  ratio %.4f%n", name, ref, upd,
                    upd / ref);
            sumRatio += upd / ref;
        }
        double mean = sumRatio / grouped.length;
        System.out.printf(Locale.ROOT, "mean out_err ratio UPDATED / REFERENCE over %d grouped cases: %.4f%n",
                grouped.length, mean);
        assertTrue(mean <= 1.0, "UPDATED is worse than REFERENCE on average: ratio " + mean);
    }
}
