package dev.squeeze.engine.search;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CandidatesTest {
    /** stories260K's linears: q/o 64 × 64, k/v 32 × 64 (4 kv heads of 8), gate/up 172 × 64, down 64 × 172. */
    private static final int[][] SHAPES = {{64, 64}, {32, 64}, {172, 64}, {64, 172}};

    @Test
    void everyCandidateIsValidForItsShapeAndDistinct() {
        for (int[] s : SHAPES) {
            List<MethodSettings> all = Candidates.forLayer("L", s[0], s[1], Candidates.FAMILIES, true);
            Set<String> keys = new HashSet<>();
            for (MethodSettings m : all) {
                m.validate("L", s[0], s[1]); // throws if not
                assertTrue(keys.add(Level.keyOf(m)), "duplicate " + m.describe());
            }
        }
    }

    @Test
    void quantizationBitsAndGroupsFollowTheDesign() {
        // 64 columns: per row and g32 (128 and 64 are not smaller than the row); 7 widths each.
        assertEquals(14, count(64, 64, "rtn"));
        assertEquals(14, count(64, 64, "gptq"));
        // 172 columns: 32, 64 and 128 do not divide 172, so per row only.
        assertEquals(7, count(64, 172, "rtn"));
        Set<Integer> groups = new TreeSet<>();
        Set<Integer> bits = new TreeSet<>();
        for (MethodSettings m : Candidates.forLayer("L", 64, 64, List.of("gptq"), true)) {
            GptqSettings g = (GptqSettings) m;
            groups.add(g.groupSize());
            bits.add(g.bits());
            assertEquals(GptqSettings.ScalePrecision.FP32, g.scalePrecision());
            assertTrue(!g.symmetric() && !g.actOrder());
        }
        assertEquals(Set.of(0, 32), groups);
        assertEquals(Set.of(2, 3, 4, 5, 6, 7, 8), bits);
        assertEquals(List.of(0, 128, 64, 32), box(Candidates.groupSizes(4096)));
    }

    @Test
    void spqrOnlyWhereTheRowsSplitIntoGroupsOf16() {
        assertEquals(3, count(64, 64, "spqr"));
        assertEquals(3, count(32, 64, "spqr"));
        assertEquals(0, count(172, 64, "spqr"), "172 rows are not a multiple of 16");
        assertEquals(Set.of(2, 3, 4), Set.copyOf(Candidates.forLayer("L", 64, 64, List.of("spqr"), true).stream()
                .map(m -> ((SpqrSettings) m).bits()).toList()));
    }

    @Test
    void sparsityLevels() {
        assertEquals(7, count(64, 64, "sparsegpt"));
        assertEquals(5, count(64, 64, "magnitude"));
        long joint = Candidates.forLayer("L", 64, 64, List.of("sparsegpt"), true).stream()
                .filter(m -> ((SparseGptSettings) m).quantized()).count();
        assertEquals(2, joint, "2:4 + 4-bit and 2:4 + 8-bit");
    }

    @Test
    void lowRankRanksAreFractionsOfTheLargestUsefulRank() {
        // 64 × 64: r (64 + 64) < 4096 ⇔ r ≤ 31; 1/8, 1/4, 3/8, 1/2 of 31 → 4, 8, 12, 16 (rounded half up).
        assertEquals(Set.of(4, 8, 12, 16), ranks(64, 64));
        // 32 × 64: r · 96 < 2048 ⇔ r ≤ 21 → 3, 5, 8, 11.
        assertEquals(Set.of(3, 5, 8, 11), ranks(32, 64));
        // Three variants × four ranks × (fp16, 8-bit, 4-bit g32 factors).
        assertEquals(36, count(64, 64, "lowrank"));
        for (MethodSettings m : Candidates.forLayer("L", 172, 64, List.of("lowrank"), true)) {
            LowRankSettings l = (LowRankSettings) m;
            assertTrue((long) l.rank() * (172 + 64) < 172L * 64, "rank " + l.rank() + " saves space");
        }
    }

    @Test
    void withoutCalibrationDataOnlyDataFreeSettings() {
        List<MethodSettings> all = Candidates.forLayer("L", 64, 64, Candidates.FAMILIES, false);
        assertEquals(Set.of("rtn", "magnitude", "lowrank"), Set.copyOf(all.stream().map(MethodSettings::method)
                .toList()));
        assertTrue(all.stream().noneMatch(MethodSettings::needsCalibration));
        // RTN 14, magnitude 5, SVD only: 4 ranks × 3 factor storages.
        assertEquals(14 + 5 + 12, all.size());
    }

    @Test
    void familiesParse() {
        assertEquals(List.of("rtn", "gptq"), Candidates.parseFamilies(" GPTQ, rtn ,"));
        assertEquals(Candidates.FAMILIES, Candidates.parseFamilies(null));
        SqueezeException e = assertThrows(SqueezeException.class, () -> Candidates.parseFamilies("rtn,awq"));
        assertTrue(e.getMessage().contains("'awq'"), e.getMessage());
        assertTrue(e.fix().contains("sparsegpt"), e.fix());
        assertThrows(SqueezeException.class, () -> Candidates.parseFamilies(" , "));
    }

    @Test
    void rtnCandidatesAreAsymmetric() {
        for (MethodSettings m : Candidates.forLayer("L", 64, 64, List.of("rtn"), true)) {
            assertTrue(!((RtnSettings) m).symmetric());
        }
    }

    private static int count(int rows, int cols, String family) {
        return Candidates.forLayer("L", rows, cols, List.of(family), true).size();
    }

    private static Set<Integer> ranks(int rows, int cols) {
        Set<Integer> out = new TreeSet<>();
        for (MethodSettings m : Candidates.forLayer("L", rows, cols, List.of("lowrank"), true)) {
            out.add(((LowRankSettings) m).rank());
        }
        return out;
    }

    private static List<Integer> box(int[] a) {
        return java.util.Arrays.stream(a).boxed().toList();
    }
}
