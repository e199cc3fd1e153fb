package dev.squeeze.engine.compress.gptq;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the two group-parameter modes mean, checked on the reference cases' W and H. */
class GptqGroupModesTest {
    /**
     * When every group starts at a block boundary the reference's global W is current, so the two modes agree bit
     * for bit; with groups starting inside blocks they differ (the quirk exists in these cases).
     */
    @ParameterizedTest
    @ValueSource(strings = {"gptq_w4_g32_act", "gptq_w2_g16_sym_in200"})
    void modesAgreeExactlyWhenGroupsStartOnBlockBoundaries(String name) throws Exception {
        ReferenceCase c = ReferenceCase.load(name);
        GptqSettings ref = c.settings(GptqSettings.GroupParams.REFERENCE);
        int g = ref.groupSize();
        float[] a = new Gptq().compress(c.input(), ref.withBlockSize(g)).dequantize();
        float[] b = new Gptq().compress(c.input(), ref.withBlockSize(g)
                .withGroupParams(GptqSettings.GroupParams.UPDATED)).dequantize();
        assertArrayEquals(a, b, name + ": block size = group size");
        float[] c128 = new Gptq().compress(c.input(), ref).dequantize();
        float[] u128 = new Gptq().compress(c.input(), ref.withGroupParams(GptqSettings.GroupParams.UPDATED))
                .dequantize();
        assertFalse(java.util.Arrays.equals(c128, u128), name + ": the modes should differ with block 128");
    }

    /**
     * UPDATED means "as if there were no blocks": its result does not depend on the block size beyond float
     * rounding (the reference's does).
     */
    @ParameterizedTest
    @ValueSource(strings = {"gptq_w4_g32_act", "gptq_w2_g16_sym", "gptq_w4_g32_act_in200"})
    void updatedModeDoesNotDependOnTheBlockSize(String name) throws Exception {
        ReferenceCase c = ReferenceCase.load(name);
        GptqSettings upd = c.settings(GptqSettings.GroupParams.UPDATED);
        GptqTensor small = (GptqTensor) new Gptq().compress(c.input(), upd.withBlockSize(upd.groupSize()));
        double worstRef = 0;
        for (int bs : new int[] {48, 128, 1000}) {
            GptqTensor big = (GptqTensor) new Gptq().compress(c.input(), upd.withBlockSize(bs));
            GptqTensor ref = (GptqTensor) new Gptq().compress(c.input(), upd.withBlockSize(bs)
                    .withGroupParams(GptqSettings.GroupParams.REFERENCE));
            double same = identical(small, big);
            double sameRef = identical(small, ref);
            worstRef = Math.max(worstRef, 1 - sameRef);
            System.out.printf(Locale.ROOT, "%-22s block %4d: identical codes UPDATED %.4f, REFERENCE %.4f%n", name, bs,
                    same, sameRef);
            assertTrue(same > 0.999, name + " block " + bs + ": only " + same + " of the codes agree");
        }
        assertTrue(worstRef > 0.01, name + ": the reference mode was expected to depend on the block size");
    }

    private static double identical(GptqTensor a, GptqTensor b) {
        int same = 0;
        for (int r = 0; r < a.rows(); r++) {
            for (int col = 0; col < a.cols(); col++) {
                if (a.code(r, col) == b.code(r, col)) {
                    same++;
                }
            }
        }
        return (double) same / (a.rows() * a.cols());
    }
}
