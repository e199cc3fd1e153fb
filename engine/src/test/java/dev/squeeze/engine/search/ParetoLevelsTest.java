package dev.squeeze.engine.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.squeeze.engine.SqueezeException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ParetoLevelsTest {
    @Test
    void keepsTheFrontOrderedByBits() {
        // levels 1 and 3 tie (2 bits, error 3): the lower index stays; level 4 has more bits than level 0 and the
        // same error: dropped; level 5 has level 2's bits and a higher error: dropped
        long[] bits = {4, 2, 3, 2, 5, 3};
        double[] err = {1.0, 3.0, 2.0, 3.0, 1.0, 3.5};
        assertArrayEquals(new int[] {1, 2, 0}, ParetoLevels.keep(bits, err));
    }

    @Test
    void matchesTheDefinitionOnRandomLevels() {
        SplittableRandom r = new SplittableRandom(7);
        for (int t = 0; t < 500; t++) {
            int m = 1 + r.nextInt(12);
            long[] bits = new long[m];
            double[] err = new double[m];
            for (int k = 0; k < m; k++) {
                bits[k] = 1 + r.nextInt(6);
                err[k] = r.nextInt(6);
            }
            List<Integer> expected = new ArrayList<>();
            for (int i = 0; i < m; i++) {
                boolean dominated = false;
                for (int j = 0; j < m && !dominated; j++) {
                    if (j == i) {
                        continue;
                    }
                    boolean better = bits[j] <= bits[i] && err[j] <= err[i];
                    boolean strictly = bits[j] < bits[i] || err[j] < err[i] || j < i;
                    dominated = better && strictly;
                }
                if (!dominated) {
                    expected.add(i);
                }
            }
            int[] kept = ParetoLevels.keep(bits, err);
            assertEquals(expected.size(), kept.length);
            for (int k = 0; k < kept.length; k++) {
                assertTrue(expected.contains(kept[k]));
                if (k > 0) {
                    assertTrue(bits[kept[k]] > bits[kept[k - 1]] && err[kept[k]] < err[kept[k - 1]]);
                }
            }
        }
    }

    @Test
    void prunesLayersAndMapsBack() {
        LayerLevels a = SearchFixtures.layer("a", 4, 4, 10, 20, 30);
        LayerLevels b = SearchFixtures.layer("b", 4, 4, 30, 10);
        ParetoLevels.Pruned p = ParetoLevels.prune(List.of(a, b), new double[][] {{5, 6, 1}, {3, 1}});
        assertEquals(List.of(a.level(0), a.level(2)), p.layers().get(0).levels());
        assertEquals(List.of(b.level(1)), p.layers().get(1).levels());
        assertArrayEquals(new int[] {2, 1}, p.toOriginal(new int[] {1, 0}));
    }

    @Test
    void rejectsNonFiniteErrors() {
        LayerLevels a = SearchFixtures.layer("a", 4, 4, 10, 20);
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> ParetoLevels.keep(a, new double[] {1, Double.NaN}));
        assertTrue(e.getMessage().contains("layer a"), e.getMessage());
    }
}
