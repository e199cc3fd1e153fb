package dev.squeeze.engine.store;

import dev.squeeze.engine.SqueezeException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParetoTest {
    static Pareto.Point p(long id, double x, double y) {
        return new Pareto.Point(id, "r" + id, x, y, "a".repeat(64), "m", "rtn", false);
    }

    static List<Long> ids(List<Pareto.Point> points) {
        return points.stream().map(Pareto.Point::runId).toList();
    }

    @Test
    void higherIsBetterKeepsTheStaircase() {
        // (size, top1): 1 is smallest; 2 bigger and better; 3 bigger but worse than 2; 4 biggest and best.
        var f = Pareto.frontier(List.of(p(4, 400, 0.95), p(1, 100, 0.50), p(3, 300, 0.70), p(2, 200, 0.80)), true);
        assertEquals(List.of(1L, 2L, 4L), ids(f.frontier()));
        assertEquals(List.of(3L), ids(f.dominated()));
    }

    @Test
    void lowerIsBetterFlipsTheDirection() {
        // (size, perplexity): the same points read as perplexity make only the smallest-and-lowest survive.
        var f = Pareto.frontier(List.of(p(1, 100, 9.0), p(2, 200, 8.0), p(3, 300, 10.0), p(4, 400, 7.5)), false);
        assertEquals(List.of(1L, 2L, 4L), ids(f.frontier()));
        assertEquals(List.of(3L), ids(f.dominated()));
        var g = Pareto.frontier(List.of(p(1, 100, 9.0), p(2, 200, 8.0), p(3, 300, 10.0), p(4, 400, 7.5)), true);
        assertEquals(List.of(1L, 3L), ids(g.frontier()));
    }

    @Test
    void equalSizeKeepsOnlyTheBestQuality() {
        var f = Pareto.frontier(List.of(p(1, 100, 0.6), p(2, 100, 0.7), p(3, 100, 0.65)), true);
        assertEquals(List.of(2L), ids(f.frontier()));
        assertEquals(List.of(3L, 1L), ids(f.dominated()), "dominated sorted by x then best y");
    }

    @Test
    void exactDuplicatesAreAllOnTheFrontier() {
        var f = Pareto.frontier(List.of(p(5, 200, 0.8), p(1, 100, 0.5), p(3, 200, 0.8), p(2, 100, 0.5)), true);
        assertEquals(List.of(1L, 2L, 3L, 5L), ids(f.frontier()));
        assertEquals(List.of(), f.dominated());
    }

    @Test
    void equalQualityAtALargerSizeIsDominated() {
        var f = Pareto.frontier(List.of(p(1, 100, 0.8), p(2, 200, 0.8), p(3, 300, 0.9)), true);
        assertEquals(List.of(1L, 3L), ids(f.frontier()));
        assertEquals(List.of(2L), ids(f.dominated()));
        var g = Pareto.frontier(List.of(p(1, 100, 5.0), p(2, 200, 5.0)), false);
        assertEquals(List.of(1L), ids(g.frontier()));
    }

    @Test
    void emptyAndSingleInputs() {
        assertEquals(List.of(), Pareto.frontier(List.of(), true).frontier());
        assertEquals(List.of(7L), ids(Pareto.frontier(List.of(p(7, 1, 1)), false).frontier()));
    }

    /** Brute force from the definition, independent of the sweep: the two must agree on random tie-heavy sets. */
    @Test
    void agreesWithTheDefinitionOnRandomTieHeavyPoints() {
        Random rnd = new Random(5);
        for (int trial = 0; trial < 300; trial++) {
            boolean higher = rnd.nextBoolean();
            List<Pareto.Point> pts = new ArrayList<>();
            int n = rnd.nextInt(12);
            for (int i = 0; i < n; i++) {
                pts.add(p(i, rnd.nextInt(5), rnd.nextInt(4)));
            }
            Set<Long> expected = new java.util.HashSet<>();
            for (Pareto.Point a : pts) {
                boolean dominated = false;
                for (Pareto.Point b : pts) {
                    boolean noWorseY = higher ? b.y() >= a.y() : b.y() <= a.y();
                    boolean strictY = higher ? b.y() > a.y() : b.y() < a.y();
                    if (b.x() <= a.x() && noWorseY && (b.x() < a.x() || strictY)) {
                        dominated = true;
                    }
                }
                if (!dominated) {
                    expected.add(a.runId());
                }
            }
            var f = Pareto.frontier(pts, higher);
            assertEquals(expected, Set.copyOf(ids(f.frontier())), "trial " + trial + " " + pts);
            assertEquals(n, f.frontier().size() + f.dominated().size());
            for (int i = 1; i < f.frontier().size(); i++) {
                assertTrue(f.frontier().get(i - 1).x() <= f.frontier().get(i).x(), "sorted by x");
            }
        }
    }

    @Test
    void xAxisNames() {
        assertEquals(Pareto.XAxis.SIZE_BYTES, Pareto.XAxis.parse("size"));
        assertEquals(Pareto.XAxis.BITS_PER_WEIGHT, Pareto.XAxis.parse("bits_per_weight"));
        assertEquals(Pareto.XAxis.BITS_PER_WEIGHT, Pareto.XAxis.parse("BPW"));
        SqueezeException e = assertThrows(SqueezeException.class, () -> Pareto.XAxis.parse("width"));
        assertTrue(e.getMessage().contains("'width'"), e.getMessage());
    }

    static Set<String> labels(List<Pareto.Point> points) {
        return points.stream().map(Pareto.Point::label).collect(Collectors.toSet());
    }
}
