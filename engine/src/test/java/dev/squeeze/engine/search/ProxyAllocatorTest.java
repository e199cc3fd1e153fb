package dev.squeeze.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.squeeze.engine.SqueezeException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ProxyAllocatorTest {
    @Test
    void dynamicProgramMatchesBruteForce() {
        SplittableRandom r = new SplittableRandom(11);
        for (int t = 0; t < 400; t++) {
            SearchFixtures.Instance in = SearchFixtures.random(r, 1 + r.nextInt(5), 6, 1 + r.nextInt(12));
            ProxyAllocator alloc = new ProxyAllocator(in.layers(), in.error());
            assertEquals(in.min(), alloc.minimumBits());
            for (long budget = in.min(); budget <= in.max() + 2; budget++) {
                Allocation a = alloc.allocate(budget);
                assertEquals(Allocation.DYNAMIC_PROGRAMMING, a.method());
                assertTrue(a.exact());
                assertEquals(in.cost(a.choice()), a.bits(), "bits recomputed from the levels");
                assertEquals(Allocation.bitsOf(in.layers(), a.choice()), a.bits());
                assertTrue(a.bits() <= budget, "never over budget");
                assertEquals(in.error(a.choice()), a.error(), 1e-12);
                assertEquals(SearchFixtures.bruteForce(in.bits(), in.error(), budget), a.error(), 1e-9,
                        "optimum at budget " + budget);
            }
        }
    }

    @Test
    void frontAnswersEveryBudget() {
        SplittableRandom r = new SplittableRandom(12);
        for (int t = 0; t < 200; t++) {
            SearchFixtures.Instance in = SearchFixtures.random(r, 1 + r.nextInt(5), 6, 1 + r.nextInt(20));
            ProxyAllocator alloc = new ProxyAllocator(in.layers(), in.error());
            ProxyAllocator.Front front = alloc.frontier().orElseThrow();
            for (int i = 1; i < front.size(); i++) {
                assertTrue(front.bits(i) > front.bits(i - 1));
                assertTrue(front.error(i) < front.error(i - 1));
            }
            for (int i = 0; i < front.size(); i++) {
                // every front point is the optimum of its own size, and nothing cheaper is as good
                assertEquals(SearchFixtures.bruteForce(in.bits(), in.error(), front.bits(i)), front.error(i), 1e-9);
                assertTrue(SearchFixtures.bruteForce(in.bits(), in.error(), front.bits(i) - 1) > front.error(i));
                assertEquals(front.bits(i), in.cost(front.point(i).choice()));
            }
            for (long budget = in.min(); budget <= in.max(); budget++) {
                Allocation a = front.at(budget);
                assertTrue(a.bits() <= budget);
                assertEquals(SearchFixtures.bruteForce(in.bits(), in.error(), budget), a.error(), 1e-9);
            }
        }
    }

    @Test
    void lagrangianNeverExceedsTheBudgetAndIsExactWhereItSaysSo() {
        SplittableRandom r = new SplittableRandom(13);
        int exactSeen = 0;
        for (int t = 0; t < 300; t++) {
            SearchFixtures.Instance in = SearchFixtures.random(r, 1 + r.nextInt(5), 6, 1 + r.nextInt(30));
            ProxyAllocator alloc = new ProxyAllocator(in.layers(), in.error());
            for (long budget = in.min(); budget <= in.max() + 1; budget++) {
                Allocation l = alloc.lagrangian(budget);
                Allocation d = alloc.allocate(budget);
                assertEquals(Allocation.LAGRANGIAN, l.method());
                assertTrue(l.bits() <= budget);
                assertEquals(in.cost(l.choice()), l.bits());
                assertTrue(l.error() >= d.error() - 1e-9, "never better than the exact optimum");
                if (l.exact()) {
                    exactSeen++;
                    assertEquals(d.error(), l.error(), 1e-9);
                }
            }
        }
        assertTrue(exactSeen > 0);
    }

    @Test
    void lagrangianIsExactAtTheSizeOfEveryMultiplier() {
        // Lagrangian sufficiency, computed independently: for a multiplier lambda each layer takes the level of
        // least error + lambda * bits; that assignment's size is a budget at which the relaxation is exact.
        SplittableRandom r = new SplittableRandom(14);
        for (int t = 0; t < 300; t++) {
            SearchFixtures.Instance in = SearchFixtures.random(r, 1 + r.nextInt(5), 6, 1 + r.nextInt(30));
            ProxyAllocator alloc = new ProxyAllocator(in.layers(), in.error());
            double lambda = r.nextDouble() * 3;
            long size = 0;
            double err = 0;
            for (int i = 0; i < in.bits().length; i++) {
                int best = 0;
                for (int k = 1; k < in.bits()[i].length; k++) {
                    double vk = in.error()[i][k] + lambda * in.bits()[i][k];
                    double vb = in.error()[i][best] + lambda * in.bits()[i][best];
                    if (vk < vb) {
                        best = k;
                    }
                }
                size += in.bits()[i][best];
                err += in.error()[i][best];
            }
            Allocation l = alloc.lagrangian(size);
            assertTrue(l.error() <= err + 1e-9, "at least as good as the multiplier's own assignment");
            assertEquals(SearchFixtures.bruteForce(in.bits(), in.error(), size), l.error(), 1e-9);
        }
    }

    @Test
    void fallsBackToLagrangianWhenTheStatesDoNotFit() {
        SplittableRandom r = new SplittableRandom(15);
        SearchFixtures.Instance in = SearchFixtures.random(r, 6, 6, 1000);
        ProxyAllocator tiny = new ProxyAllocator(in.layers(), in.error(), 3);
        long budget = (in.min() + in.max()) / 2;
        Allocation a = tiny.allocate(budget);
        assertEquals(Allocation.LAGRANGIAN, a.method());
        assertTrue(a.bits() <= budget);
        assertEquals(Optional.empty(), tiny.frontier());
    }

    @Test
    void infeasibleBudgetSaysTheSmallestSize() {
        List<LayerLevels> layers = List.of(SearchFixtures.layer("a", 4, 4, 32, 64), // 16 weights each
                SearchFixtures.layer("b", 4, 4, 48, 80));
        ProxyAllocator alloc = new ProxyAllocator(layers, new double[][] {{2, 1}, {2, 1}});
        SqueezeException e = assertThrows(SqueezeException.class, () -> alloc.allocate(79));
        // smallest: 32 + 48 = 80 bits over 32 weights = 2.5 bits per weight; the budget is 79 / 32 = 2.46875
        assertTrue(e.getMessage().contains("80 bits (2.5000 bits per weight)"), e.getMessage());
        assertTrue(e.getMessage().contains("79 bits (2.4688 bits per weight)"), e.getMessage());
        assertTrue(e.fix().contains("at least 80 bits"), e.fix());
        assertEquals(80, alloc.allocate(80).bits());
    }

    @Test
    void rejectsAMismatchedErrorTable() {
        List<LayerLevels> layers = List.of(SearchFixtures.layer("a", 4, 4, 32, 64));
        assertThrows(SqueezeException.class, () -> new ProxyAllocator(layers, new double[][] {{1}}));
        assertThrows(SqueezeException.class, () -> new ProxyAllocator(layers, new double[][] {{1, 2}, {1, 2}}));
    }

    @Test
    void realisticLevelsOfASmallModelAreExact() {
        // 35 layers x 60 levels with structured costs (bits x weights + per-row group scales), convex errors
        List<LayerLevels> layers = new ArrayList<>();
        double[][] error = new double[35][];
        SplittableRandom r = new SplittableRandom(16);
        for (int i = 0; i < 35; i++) {
            int rows = i % 7 < 4 ? 64 : 172;
            int cols = 64;
            long[] bits = new long[60];
            error[i] = new double[60];
            double scale = 0.5 + r.nextDouble();
            for (int k = 0; k < 60; k++) {
                int b = 2 + k % 7;
                int groups = 1 + k / 7; // groups per row
                bits[k] = (long) rows * (cols * b + groups * 64L);
                error[i][k] = scale * Math.pow(2, -2.0 * b) * (1 + 1.0 / groups) + 1e-3 * r.nextDouble();
            }
            layers.add(SearchFixtures.layer("l" + i, rows, cols, bits));
        }
        ProxyAllocator alloc = new ProxyAllocator(layers, error);
        ProxyAllocator.Front front = alloc.frontier().orElseThrow();
        for (double bpw = 3.0; bpw <= 9.5; bpw += 0.25) {
            long budget = (long) (bpw * Allocation.totalWeights(layers));
            Allocation a = alloc.allocate(budget);
            assertTrue(a.exact());
            assertTrue(a.bits() <= budget);
            assertEquals(front.at(budget).error(), a.error(), 1e-12);
            assertTrue(alloc.lagrangian(budget).error() >= a.error() - 1e-12);
        }
    }
}
