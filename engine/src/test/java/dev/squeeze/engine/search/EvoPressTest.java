package dev.squeeze.engine.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.squeeze.engine.SqueezeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class EvoPressTest {
    /**
     * 12 layers in 3 size classes; levels at 2..8 bits, two classes also with grouped variants costing 1.5 more bits
     * per weight (unequal spacing).
     */
    private static final List<LayerLevels> LAYERS = new ArrayList<>();
    private static final double[][] ERROR;
    private static final double[] SENSITIVITY = new double[12];

    static {
        int[][] shapes = {{16, 32}, {32, 32}, {32, 16}};
        SplittableRandom r = new SplittableRandom(99);
        ERROR = new double[12][];
        for (int i = 0; i < 12; i++) {
            int[] s = shapes[i % 3];
            long w = (long) s[0] * s[1];
            List<Long> bits = new ArrayList<>();
            List<Double> eff = new ArrayList<>();
            for (int b = 2; b <= 8; b++) {
                bits.add(w * b);
                eff.add((double) b);
                if (i % 3 != 0) {
                    bits.add(w * b + (long) s[0] * (s[1] / 16) * 24); // grouped: 1.5 extra bits per weight
                    eff.add(b + 0.9);
                }
            }
            SENSITIVITY[i] = Math.exp(2 * r.nextGaussian());
            long[] lb = bits.stream().mapToLong(Long::longValue).toArray();
            ERROR[i] = new double[lb.length];
            for (int k = 0; k < lb.length; k++) {
                ERROR[i][k] = SENSITIVITY[i] * Math.pow(2, -eff.get(k));
            }
            LAYERS.add(SearchFixtures.layer("l" + i, s[0], s[1], lb));
        }
    }

    /** Separable error times a seed-dependent noise factor per layer (the sample seed changes the measurement). */
    private static final class Synthetic implements Fitness {
        final long startBits;
        final List<String> calls = new ArrayList<>();
        final Runnable onCall;

        Synthetic(long startBits, Runnable onCall) {
            this.startBits = startBits;
            this.onCall = onCall;
        }

        @Override
        public double evaluate(int[] choice, long samples, long sampleSeed) {
            assertEquals(startBits, Allocation.bitsOf(LAYERS, choice), "every candidate keeps the start's size");
            calls.add(Arrays.toString(choice) + "/" + samples + "/" + sampleSeed);
            if (onCall != null) {
                onCall.run();
            }
            double f = 0;
            SplittableRandom noise = new SplittableRandom(sampleSeed);
            for (int i = 0; i < choice.length; i++) {
                f += ERROR[i][choice[i]] * (1 + 0.02 * (noise.nextDouble() - 0.5) * 2048.0 / samples);
            }
            return f;
        }
    }

    private static double trueError(int[] choice) {
        double s = 0;
        for (int i = 0; i < choice.length; i++) {
            s += ERROR[i][choice[i]];
        }
        return s;
    }

    private static double bestExactly(List<Integer> members, int from, long bits) {
        if (from == members.size()) {
            return bits == 0 ? 0 : Double.POSITIVE_INFINITY;
        }
        int i = members.get(from);
        double best = Double.POSITIVE_INFINITY;
        for (int k = 0; k < LAYERS.get(i).size(); k++) {
            long b = LAYERS.get(i).level(k).bits();
            if (b <= bits) {
                best = Math.min(best, ERROR[i][k] + bestExactly(members, from + 1, bits - b));
            }
        }
        return best;
    }

    private static EvoPressSettings settings(int generations, long seed) {
        return EvoPressSettings.defaults(generations, seed).withOffspring(16)
                .withStages(List.of(new EvoPressSettings.Stage(2048, 4), new EvoPressSettings.Stage(8192, 1)));
    }

    private static EvoPress.Start startAt(int bits) {
        int[] c = new int[LAYERS.size()];
        for (int i = 0; i < c.length; i++) {
            long want = LAYERS.get(i).weights() * bits;
            for (int k = 0; k < LAYERS.get(i).size(); k++) {
                if (LAYERS.get(i).level(k).bits() == want) {
                    c[i] = k;
                }
            }
        }
        return EvoPress.Start.given(c, "uniform " + bits + "-bit");
    }

    @Test
    void findsTheOptimumOfASeparableFitnessWithinTheBudget() {
        EvoPress.Start start = startAt(4);
        long budget = Allocation.bitsOf(LAYERS, start.choice());
        Synthetic fit = new Synthetic(budget, null);
        EvoPress.Result res = new EvoPress(LAYERS, fit, settings(150, 1)).run(start, budget, null, null, null);
        assertEquals(EvoPress.StopReason.GENERATIONS, res.stop());
        assertEquals(150, res.generations());
        assertEquals(budget, res.bits());
        // flips stay inside a size class, so every class keeps its start bits exactly: the best reachable
        // assignment is, per class, the least error with exactly the class's start bits (brute force)
        double best = 0;
        for (int cls = 0; cls < 3; cls++) {
            List<Integer> members = new ArrayList<>();
            long classBits = 0;
            for (int i = cls; i < LAYERS.size(); i += 3) {
                members.add(i);
                classBits += LAYERS.get(i).level(start.choice()[i]).bits();
            }
            best += bestExactly(members, 0, classBits);
        }
        double startError = trueError(start.choice());
        double found = trueError(res.choice());
        assertTrue(found < 0.5 * startError, found + " vs start " + startError);
        assertTrue(found <= best * 1.01, found + " vs optimum " + best);
        assertTrue(found >= best * (1 - 1e-12), "nothing beats the exhaustive optimum");
    }

    @Test
    void proxyStartIsRecordedAndKeptWhenItIsOptimal() {
        long budget = Allocation.bitsOf(LAYERS, startAt(5).choice());
        Allocation best = new ProxyAllocator(LAYERS, ERROR).allocate(budget);
        EvoPress.Start start = EvoPress.Start.proxy(best);
        assertEquals(EvoPress.StartKind.PROXY, start.kind());
        EvoPress.Result res = new EvoPress(LAYERS, new Synthetic(best.bits(), null), settings(20, 3))
                .run(start, budget, null, null, null);
        assertEquals(EvoPress.StartKind.PROXY, res.state().startKind());
        assertEquals(best.bits(), res.bits());
        assertTrue(res.bits() <= budget);
        assertTrue(trueError(res.choice()) <= best.error() * 1.01);
    }

    @Test
    void sameSeedIsBitIdenticalOtherSeedsDiffer() {
        EvoPress.Start start = startAt(3);
        long budget = Allocation.bitsOf(LAYERS, start.choice());
        Synthetic a = new Synthetic(budget, null);
        Synthetic b = new Synthetic(budget, null);
        Synthetic c = new Synthetic(budget, null);
        EvoPress.Result ra = new EvoPress(LAYERS, a, settings(30, 5)).run(start, budget, null, null, null);
        EvoPress.Result rb = new EvoPress(LAYERS, b, settings(30, 5)).run(start, budget, null, null, null);
        EvoPress.Result rc = new EvoPress(LAYERS, c, settings(30, 6)).run(start, budget, null, null, null);
        assertEquals(a.calls, b.calls);
        assertArrayEquals(ra.choice(), rb.choice());
        assertEquals(Double.doubleToRawLongBits(ra.fitness()), Double.doubleToRawLongBits(rb.fitness()));
        assertEquals(ra.evaluations(), rb.evaluations());
        assertNotEquals(a.calls, c.calls);
    }

    @Test
    void resumedFromItsStateEqualsUninterrupted() {
        EvoPress.Start start = startAt(4);
        long budget = Allocation.bitsOf(LAYERS, start.choice());
        Synthetic whole = new Synthetic(budget, null);
        EvoPress.Result full = new EvoPress(LAYERS, whole, settings(25, 8)).run(start, budget, null, null, null);

        Synthetic first = new Synthetic(budget, null);
        List<String> saved = new ArrayList<>();
        EvoPress.Result part = new EvoPress(LAYERS, first, settings(25, 8)).run(start, budget, null, null,
                new EvoPress.Listener() {
                    @Override
                    public void generationDone(EvoPress.State state, int children) {
                        saved.add(state.toJson());
                    }
                });
        assertEquals(25, saved.size());
        // "killed" after generation 11: resume from the JSON saved then
        EvoPress.State state = EvoPress.State.fromJson(saved.get(10));
        assertEquals(11, state.generation());
        Synthetic second = new Synthetic(budget, null);
        EvoPress.Result resumed = new EvoPress(LAYERS, second, settings(25, 8)).run(null, budget, state, null, null);
        assertArrayEquals(full.choice(), resumed.choice());
        assertEquals(Double.doubleToRawLongBits(full.fitness()), Double.doubleToRawLongBits(resumed.fitness()));
        assertEquals(full.evaluations(), resumed.evaluations());
        assertEquals(25, resumed.generations());
        assertEquals(whole.calls.subList(whole.calls.size() - second.calls.size(), whole.calls.size()), second.calls);
        assertArrayEquals(full.choice(), part.choice());
    }

    @Test
    void stateJsonRoundTripsAndRejectsOtherSettings() {
        EvoPress.State s = new EvoPress.State("abc", 3, new int[] {1, 2}, Double.NaN, 7, 12,
                EvoPress.StartKind.RANDOM, "r");
        EvoPress.State back = EvoPress.State.fromJson(s.toJson());
        assertEquals(s.fingerprint(), back.fingerprint());
        assertEquals(3, back.generation());
        assertArrayEquals(new int[] {1, 2}, back.parent());
        assertTrue(Double.isNaN(back.parentFitness()));
        assertEquals(EvoPress.StartKind.RANDOM, back.startKind());
        assertThrows(SqueezeException.class, () -> EvoPress.State.fromJson("{\"format\":\"other\"}"));

        EvoPress.Start start = startAt(4);
        long budget = Allocation.bitsOf(LAYERS, start.choice());
        EvoPress one = new EvoPress(LAYERS, new Synthetic(budget, null), settings(2, 1));
        EvoPress.Result r = one.run(start, budget, null, null, null);
        EvoPress other = new EvoPress(LAYERS, new Synthetic(budget, null), settings(4, 2));
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> other.run(null, budget, r.state(), null, null));
        assertTrue(e.getMessage().contains("other layers, levels or settings"));
    }

    @Test
    void timeLimitStopsAndKeepsTheLastCompletedGeneration() {
        EvoPress.Start start = startAt(4);
        long budget = Allocation.bitsOf(LAYERS, start.choice());
        AtomicLong clock = new AtomicLong();
        Synthetic fit = new Synthetic(budget, () -> clock.addAndGet(1_000_000L)); // 1 ms per evaluation
        List<EvoPress.State> states = new ArrayList<>();
        EvoPressSettings s = settings(1000, 4).withTimeLimit(Duration.ofMillis(200));
        EvoPress.Result res = new EvoPress(LAYERS, fit, s, clock::get).run(start, budget, null, null,
                new EvoPress.Listener() {
                    @Override
                    public void generationDone(EvoPress.State state, int children) {
                        states.add(state);
                    }
                });
        assertEquals(EvoPress.StopReason.TIME_LIMIT, res.stop());
        assertTrue(res.generations() > 0 && res.generations() < 1000);
        assertEquals(200, fit.calls.size(), "stops at the evaluation that reaches the limit");
        EvoPress.State last = states.getLast();
        assertArrayEquals(last.parent(), res.choice());
        assertEquals(last.parentFitness(), res.fitness());
        assertEquals(budget, res.bits());
    }

    @Test
    void cancelStopsAndKeepsTheBest() {
        EvoPress.Start start = startAt(4);
        long budget = Allocation.bitsOf(LAYERS, start.choice());
        Synthetic fit = new Synthetic(budget, null);
        List<EvoPress.State> states = new ArrayList<>();
        EvoPress.Result res = new EvoPress(LAYERS, fit, settings(1000, 4)).run(start, budget, null,
                () -> fit.calls.size() >= 100, new EvoPress.Listener() {
                    @Override
                    public void generationDone(EvoPress.State state, int children) {
                        states.add(state);
                    }
                });
        assertEquals(EvoPress.StopReason.CANCELLED, res.stop());
        assertEquals(100, res.evaluations());
        assertArrayEquals(states.getLast().parent(), res.choice());
    }

    @Test
    void flipsKeepTheCostExactlyAndChildrenAreUnique() {
        EvoPress evo = new EvoPress(LAYERS, (c, n, s) -> 0, settings(1, 1));
        SplittableRandom r = new SplittableRandom(3);
        for (int t = 0; t < 2000; t++) {
            int[] parent = new int[LAYERS.size()];
            for (int i = 0; i < parent.length; i++) {
                parent[i] = r.nextInt(LAYERS.get(i).size());
            }
            long cost = Allocation.bitsOf(LAYERS, parent);
            int[] child = parent.clone();
            if (evo.flip(child, r)) {
                assertEquals(cost, Allocation.bitsOf(LAYERS, child));
                List<Integer> changed = new ArrayList<>();
                for (int i = 0; i < child.length; i++) {
                    if (child[i] != parent[i]) {
                        changed.add(i);
                    }
                }
                assertEquals(2, changed.size(), "two layers (no layer has two levels of equal cost)");
                assertEquals(LAYERS.get(changed.get(0)).sizeClass(), LAYERS.get(changed.get(1)).sizeClass());
            }
        }
        int[] parent = startAt(4).choice();
        List<int[]> kids = evo.children(parent, 0);
        assertEquals(16, kids.size());
        Set<String> distinct = new HashSet<>();
        distinct.add(Arrays.toString(parent));
        for (int[] k : kids) {
            assertTrue(distinct.add(Arrays.toString(k)), "unique and not the parent");
            assertEquals(Allocation.bitsOf(LAYERS, parent), Allocation.bitsOf(LAYERS, k));
        }
    }

    @Test
    void parentJoinsOnlyTheLastStage() {
        EvoPress.Start start = startAt(4);
        long budget = Allocation.bitsOf(LAYERS, start.choice());
        Synthetic fit = new Synthetic(budget, null);
        new EvoPress(LAYERS, fit, settings(1, 2)).run(start, budget, null, null, null);
        String p = Arrays.toString(start.choice());
        List<String> parentCalls = fit.calls.stream().filter(c -> c.startsWith(p + "/")).toList();
        assertEquals(1, parentCalls.size());
        assertTrue(parentCalls.get(0).startsWith(p + "/8192/"));
        assertEquals(16 + 4 + 1, fit.calls.size());
    }

    @Test
    void randomStartFitsTheBudgetAndFailsClearlyBelowTheSmallest() {
        long weights = Allocation.totalWeights(LAYERS);
        long budget = (long) (3.6 * weights);
        EvoPress evo = new EvoPress(LAYERS, (choice, samples, seed) -> trueError(choice),
                settings(0, 9).withInitial(8, 512));
        EvoPress.Start s = evo.randomStart(budget);
        assertEquals(EvoPress.StartKind.RANDOM, s.kind());
        assertEquals(8, s.evaluations());
        long bits = Allocation.bitsOf(LAYERS, s.choice());
        assertTrue(bits <= budget && bits > 3 * weights, bits + " vs " + budget);
        SqueezeException e = assertThrows(SqueezeException.class, () -> evo.randomStart(weights));
        assertTrue(e.getMessage().contains("2.0000 bits per weight"), e.getMessage());
    }

    @Test
    void uniformStartFindsTheKeyInEveryLayer() {
        List<LayerLevels> sameShape = List.of(LAYERS.get(0), LAYERS.get(3), LAYERS.get(6));
        String key = LAYERS.get(0).level(2).key();
        EvoPress.Start s = EvoPress.Start.uniform(sameShape, key);
        assertEquals(EvoPress.StartKind.UNIFORM, s.kind());
        assertArrayEquals(new int[] {2, 2, 2}, s.choice());
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> EvoPress.Start.uniform(List.of(LAYERS.get(0), LAYERS.get(1)), key));
        assertTrue(e.getMessage().contains("layer l1 has no level"), e.getMessage());
    }

    @Test
    void startOverTheBudgetIsRefused() {
        EvoPress.Start start = startAt(4);
        long budget = Allocation.bitsOf(LAYERS, start.choice()) - 1;
        EvoPress evo = new EvoPress(LAYERS, new Synthetic(budget + 1, null), settings(1, 1));
        assertThrows(SqueezeException.class, () -> evo.run(start, budget, null, null, null));
    }
}
