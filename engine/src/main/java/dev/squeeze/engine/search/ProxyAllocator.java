package dev.squeeze.engine.search;

import dev.squeeze.engine.SqueezeException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Chooses one level per layer so that the summed additive proxy error is smallest with the total stored bits at
 * most a budget (a multiple-choice knapsack).
 *
 * <p>Exact path: dynamic programming over the Pareto frontier of (bits, error) of the layers merged so far. Each
 * layer's levels are Pareto-pruned first; merging a layer adds each of its levels to every frontier state and
 * keeps only the states no other state beats in both bits and error (at most one per distinct bit count, so
 * costs need no scaling: equal sums collapse by themselves). With a budget, states that cannot finish under it
 * are dropped, and of the states cheap enough that every finish fits only the best is kept; and (branch and bound)
 * a state is dropped when its error plus the linear-relaxation lower bound of the remaining layers under the bits
 * left exceeds the Lagrangian answer (the incumbent) by more than a relative 1e-9 (a margin for the rounding of
 * summed errors). These prunings keep the optimum, so the result is exact. The states of every layer are kept for the backtrack (a parent index and a level
 * per state); when more than {@code maxStates} would be kept, or more than {@code 5 × maxStates} candidates looked
 * at, the allocator falls back to the Lagrangian path.
 *
 * <p>Lagrangian path: per layer the lower convex hull of its (bits, error) levels; hull segments are taken in the
 * order of error saved per bit while they fit (the exact optimum of the relaxation, and exact for its own size),
 * then the bits left are filled greedily by the single level change that saves the most error and still fits.
 * {@link Allocation#exact()} says whether the result is proven optimal.
 */
public final class ProxyAllocator {
    /** Default bound on the frontier states kept for the backtrack (about 6 bytes each). */
    public static final long DEFAULT_MAX_STATES = 20_000_000L;

    private final List<LayerLevels> layers;
    private final int n;
    /** Per layer: original index of each kept level, bits ascending. */
    private final int[][] kept;
    private final long[][] cost;
    private final double[][] err;
    private final long maxStates;
    private final long minBits;
    private final long maxBits;
    private final long weights;

    public ProxyAllocator(List<LayerLevels> layers, double[][] error) {
        this(layers, error, DEFAULT_MAX_STATES);
    }

    /**
     * @param layers    the layers and their levels
     * @param error     the proxy error of each layer (row) and level (column), finite
     * @param maxStates the most frontier states the exact path may keep before it gives way to the Lagrangian one
     */
    public ProxyAllocator(List<LayerLevels> layers, double[][] error, long maxStates) {
        if (layers.isEmpty()) {
            throw new SqueezeException("nothing to allocate: no layers", "search a model with compressible linears");
        }
        if (error.length != layers.size()) {
            throw new SqueezeException(layers.size() + " layers but proxy errors for " + error.length,
                    "give one row of proxy errors per layer");
        }
        if (maxStates < 1) {
            throw new IllegalArgumentException("maxStates must be positive: " + maxStates);
        }
        this.layers = List.copyOf(layers);
        this.n = layers.size();
        this.maxStates = maxStates;
        kept = new int[n][];
        cost = new long[n][];
        err = new double[n][];
        long lo = 0;
        long hi = 0;
        long w = 0;
        for (int i = 0; i < n; i++) {
            LayerLevels layer = layers.get(i);
            if (error[i].length != layer.size()) {
                throw new SqueezeException("layer " + layer.layer() + " has " + layer.size() + " levels but "
                        + error[i].length + " proxy errors", "give one proxy error per level");
            }
            kept[i] = ParetoLevels.keep(layer, error[i]);
            if (kept[i].length > Short.MAX_VALUE) {
                throw new SqueezeException("layer " + layer.layer() + " has " + kept[i].length
                        + " Pareto-optimal levels, more than " + Short.MAX_VALUE, "offer fewer candidate levels");
            }
            cost[i] = new long[kept[i].length];
            err[i] = new double[kept[i].length];
            for (int k = 0; k < kept[i].length; k++) {
                cost[i][k] = layer.level(kept[i][k]).bits();
                err[i][k] = error[i][kept[i][k]];
            }
            lo = Math.addExact(lo, cost[i][0]);
            hi = Math.addExact(hi, cost[i][cost[i].length - 1]);
            w += layer.weights();
        }
        minBits = lo;
        maxBits = hi;
        weights = w;
    }

    /** The smallest reachable total: every layer at its smallest level. */
    public long minimumBits() {
        return minBits;
    }

    /** The total of the lowest-error choice of every layer (a larger budget changes nothing). */
    public long saturationBits() {
        return maxBits;
    }

    /** Levels kept after Pareto pruning, per layer (original indices, bits ascending). */
    public int[][] keptLevels() {
        int[][] out = new int[n][];
        for (int i = 0; i < n; i++) {
            out[i] = kept[i].clone();
        }
        return out;
    }

    /**
     * The assignment of least summed error with total bits at most {@code budgetBits}: exact dynamic programming
     * when its states fit, else the Lagrangian path.
     *
     * @throws SqueezeException when even the smallest levels exceed the budget
     */
    public Allocation allocate(long budgetBits) {
        requireFeasible(budgetBits);
        Front front = run(budgetBits);
        if (front != null) {
            return front.at(budgetBits);
        }
        return lagrangian(budgetBits);
    }

    /**
     * The whole exact Pareto front (bits, error) over all budgets, one dynamic program answering every budget
     * (see {@link Front#at(long)}); empty when it would keep more than {@code maxStates} states or look at more than
     * {@code 5 × maxStates} candidates. Cheap for small models (35 layers × 60 levels: milliseconds); for models
     * with hundreds of layers call {@link #allocate} per budget (bounded, so far faster).
     */
    public Optional<Front> frontier() {
        return Optional.ofNullable(run(Long.MAX_VALUE));
    }

    /** The Lagrangian path alone (convex-hull optimum, then a greedy fill). */
    public Allocation lagrangian(long budgetBits) {
        requireFeasible(budgetBits);
        int[] at = new int[n]; // index into the kept levels
        long total = minBits;
        // hull segments of every layer
        List<long[]> segs = new ArrayList<>(); // {layer, fromKept, toKept}
        List<Double> slopes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] hull = lowerHull(cost[i], err[i]);
            for (int s = 0; s + 1 < hull.length; s++) {
                segs.add(new long[] {i, hull[s], hull[s + 1]});
                slopes.add((err[i][hull[s]] - err[i][hull[s + 1]]) / (double) (cost[i][hull[s + 1]] - cost[i][hull[s]]));
            }
        }
        Integer[] order = new Integer[segs.size()];
        for (int k = 0; k < order.length; k++) {
            order[k] = k;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Double.compare(slopes.get(b), slopes.get(a));
            if (c != 0) {
                return c;
            }
            c = Long.compare(segs.get(a)[0], segs.get(b)[0]);
            return c != 0 ? c : Long.compare(segs.get(a)[1], segs.get(b)[1]);
        });
        boolean stopped = false;
        for (int k : order) {
            long[] s = segs.get(k);
            int layer = (int) s[0];
            if (at[layer] != (int) s[1]) {
                continue; // an earlier segment of this layer did not fit (floating-point tie order)
            }
            long step = cost[layer][(int) s[2]] - cost[layer][(int) s[1]];
            if (total + step > budgetBits) {
                stopped = true;
                break;
            }
            total += step;
            at[layer] = (int) s[2];
        }
        // exact for its own size: proven optimal when it fills the budget or nothing was left out
        boolean exact = !stopped || total == budgetBits;
        // greedy fill of the bits left
        while (total < budgetBits) {
            int bestLayer = -1;
            int bestLevel = -1;
            double bestGain = 0;
            long bestStep = 0;
            for (int i = 0; i < n; i++) {
                for (int k = at[i] + 1; k < cost[i].length; k++) {
                    long step = cost[i][k] - cost[i][at[i]];
                    if (step > budgetBits - total) {
                        break; // costs ascend
                    }
                    double gain = err[i][at[i]] - err[i][k];
                    if (gain > bestGain || (gain == bestGain && bestLayer >= 0 && step < bestStep)) {
                        bestGain = gain;
                        bestLayer = i;
                        bestLevel = k;
                        bestStep = step;
                    }
                }
            }
            if (bestLayer < 0) {
                break;
            }
            total += bestStep;
            at[bestLayer] = bestLevel;
            exact = false;
        }
        return build(at, Allocation.LAGRANGIAN, exact);
    }

    private Allocation build(int[] keptChoice, String method, boolean exact) {
        int[] choice = new int[n];
        long bits = 0;
        double e = 0;
        for (int i = 0; i < n; i++) {
            choice[i] = kept[i][keptChoice[i]];
            bits += cost[i][keptChoice[i]];
            e += err[i][keptChoice[i]];
        }
        return new Allocation(choice, bits, e, exact, method);
    }

    /** Indices (into the bits-ascending, error-descending kept levels) of the lower convex hull's vertices. */
    static int[] lowerHull(long[] c, double[] e) {
        int[] h = new int[c.length];
        int size = 0;
        for (int k = 0; k < c.length; k++) {
            while (size >= 2) {
                int a = h[size - 2];
                int b = h[size - 1];
                // drop b when it lies on or above the line a-k: slope(a,b) <= slope(b,k) in error saved per bit
                double sab = (e[a] - e[b]) / (double) (c[b] - c[a]);
                double sbk = (e[b] - e[k]) / (double) (c[k] - c[b]);
                if (sab <= sbk) {
                    size--;
                } else {
                    break;
                }
            }
            h[size++] = k;
        }
        return Arrays.copyOf(h, size);
    }

    private void requireFeasible(long budgetBits) {
        if (budgetBits < minBits) {
            throw new SqueezeException(String.format(Locale.ROOT,
                    "a budget of %d bits (%.4f bits per weight) is below the smallest reachable size over %d layers: "
                            + "%d bits (%.4f bits per weight), every layer at its smallest level",
                    budgetBits, (double) budgetBits / weights, n, minBits, (double) minBits / weights),
                    String.format(Locale.ROOT, "raise the budget to at least %d bits (%.4f bits per weight), "
                            + "or add smaller levels (fewer bits, more sparsity, lower rank)",
                            minBits, (double) minBits / weights));
        }
    }

    /** The frontier dynamic program; null when it would keep more than maxStates states. */
    private Front run(long budget) {
        boolean bounded = budget != Long.MAX_VALUE;
        long[] sufMin = new long[n + 1];
        long[] sufMax = new long[n + 1];
        for (int i = n - 1; i >= 0; i--) {
            sufMin[i] = sufMin[i + 1] + cost[i][0];
            sufMax[i] = sufMax[i + 1] + cost[i][cost[i].length - 1];
        }
        // with a budget: bound and prune. The incumbent is the Lagrangian answer; a state whose error plus the
        // linear-relaxation bound of the layers after it (under the bits left) exceeds the incumbent cannot lead
        // to anything better and is dropped. The relaxation is a true lower bound, so the optimum survives.
        Allocation incumbent = null;
        Relaxation[] relax = null;
        double cutoff = Double.POSITIVE_INFINITY;
        if (bounded) {
            incumbent = lagrangian(budget);
            relax = Relaxation.suffixes(cost, err);
            cutoff = incumbent.error() + BOUND_TOLERANCE * Math.max(Math.abs(incumbent.error()), Double.MIN_NORMAL);
        }
        long[] fc = {0};
        double[] fe = {0};
        int[][] prevs = new int[n][];
        short[][] levs = new short[n][];
        long stored = 0;
        Merge merge = new Merge();
        for (int k = 0; k < n; k++) {
            long hi = bounded ? budget - sufMin[k + 1] : Long.MAX_VALUE;
            merge.run(fc, fe, cost[k], err[k], hi, maxStates - stored, WORK_PER_STATE * maxStates);
            if (merge.size < 0) {
                return null;
            }
            int start = 0;
            if (bounded) {
                // of the states from which every finish fits, only the best (the last, errors descend) matters
                long lo = budget - sufMax[k + 1];
                int j = upperIndex(merge.cost, merge.size, lo);
                start = Math.max(j, 0);
                merge.keep(start, relax[k + 1], budget, cutoff);
                start = 0;
            }
            int size = merge.size - start;
            stored += size;
            if (stored > maxStates) {
                return null;
            }
            fc = Arrays.copyOfRange(merge.cost, start, merge.size);
            fe = Arrays.copyOfRange(merge.err, start, merge.size);
            prevs[k] = Arrays.copyOfRange(merge.prev, start, merge.size);
            levs[k] = Arrays.copyOfRange(merge.level, start, merge.size);
            if (size == 0) {
                break; // nothing beats the incumbent
            }
        }
        if (bounded && fc.length == 0) {
            // every state was cut off by the incumbent: it is the optimum (within the bound's rounding margin)
            return new Front(new long[0], new double[0], prevs, levs, incumbent);
        }
        return new Front(fc, fe, prevs, levs, incumbent);
    }

    /** The dynamic program gives up after this many candidate states per state it may keep. */
    static final long WORK_PER_STATE = 5;

    /** Relative margin of the bound cut-off: far above the rounding of summed errors, far below any real gap. */
    private static final double BOUND_TOLERANCE = 1e-9;

    /**
     * The linear relaxation of the layers from some index on: starting from every layer's cheapest level, the hull
     * segments of all those layers in order of error saved per bit (fractions allowed) give the least error
     * reachable with a number of extra bits, a lower bound of the exact optimum.
     */
    private static final class Relaxation {
        final long baseCost;
        final double baseErr;
        final long[] cumCost; // bits of the first j segments
        final double[] cumGain; // error saved by the first j segments
        final double[] slope; // error saved per bit of segment j

        private Relaxation(long baseCost, double baseErr, long[] segCost, double[] segGain) {
            this.baseCost = baseCost;
            this.baseErr = baseErr;
            int s = segCost.length;
            cumCost = new long[s + 1];
            cumGain = new double[s + 1];
            slope = new double[s];
            for (int j = 0; j < s; j++) {
                cumCost[j + 1] = cumCost[j] + segCost[j];
                cumGain[j + 1] = cumGain[j] + segGain[j];
                slope[j] = segGain[j] / segCost[j];
            }
        }

        /** Lower bound of the error of these layers within {@code bits} (at least their cheapest total). */
        double bound(long bits) {
            long r = bits - baseCost;
            if (r < 0) {
                return Double.POSITIVE_INFINITY;
            }
            int j = upperIndex(cumCost, cumCost.length, r);
            double e = baseErr - cumGain[j];
            if (j < slope.length) {
                e -= slope[j] * (r - cumCost[j]);
            }
            return e;
        }

        /** Relaxations of every suffix of layers (index n: no layers). */
        static Relaxation[] suffixes(long[][] cost, double[][] err) {
            int n = cost.length;
            Relaxation[] out = new Relaxation[n + 1];
            long[] sc = new long[0];
            double[] sg = new double[0];
            long base = 0;
            double baseErr = 0;
            out[n] = new Relaxation(0, 0, sc, sg);
            for (int k = n - 1; k >= 0; k--) {
                int[] hull = lowerHull(cost[k], err[k]);
                int h = hull.length - 1;
                long[] lc = new long[h];
                double[] lg = new double[h];
                for (int s = 0; s < h; s++) {
                    lc[s] = cost[k][hull[s + 1]] - cost[k][hull[s]];
                    lg[s] = err[k][hull[s]] - err[k][hull[s + 1]];
                }
                // merge by slope, descending
                long[] mc = new long[sc.length + h];
                double[] mg = new double[sc.length + h];
                int a = 0;
                int b = 0;
                int o = 0;
                while (a < sc.length || b < h) {
                    boolean takeA = b >= h || (a < sc.length && sg[a] / sc[a] >= lg[b] / lc[b]);
                    if (takeA) {
                        mc[o] = sc[a];
                        mg[o++] = sg[a++];
                    } else {
                        mc[o] = lc[b];
                        mg[o++] = lg[b++];
                    }
                }
                sc = mc;
                sg = mg;
                base += cost[k][0];
                baseErr += err[k][0];
                out[k] = new Relaxation(base, baseErr, sc, sg);
            }
            return out;
        }
    }

    /** The largest index i < size with a[i] <= x, or -1. */
    private static int upperIndex(long[] a, int size, long x) {
        int lo = 0;
        int hi = size - 1;
        int ans = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] <= x) {
                ans = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return ans;
    }

    /** Pareto merge of a frontier with one layer's levels: a heap over one stream per level. */
    private static final class Merge {
        long[] cost = new long[16];
        double[] err = new double[16];
        int[] prev = new int[16];
        short[] level = new short[16];
        int size;
        /** Candidates looked at so far, over all layers. */
        long work;

        void run(long[] fc, double[] fe, long[] lc, double[] le, long hi, long room, long maxWork) {
            int m = lc.length;
            int[] ptr = new int[m];
            int[] heap = new int[m];
            int hs = 0;
            for (int l = 0; l < m; l++) {
                if (fc[0] + lc[l] <= hi) {
                    heap[hs++] = l;
                    siftUp(heap, hs - 1, ptr, fc, fe, lc, le);
                }
            }
            size = 0;
            double last = Double.POSITIVE_INFINITY;
            while (hs > 0) {
                if (++work > maxWork) {
                    size = -1;
                    return;
                }
                int s = heap[0];
                int p = ptr[s];
                double e = fe[p] + le[s];
                if (e < last) {
                    if (size == cost.length) {
                        if (size >= room) {
                            size = -1;
                            return;
                        }
                        grow();
                    }
                    cost[size] = fc[p] + lc[s];
                    err[size] = e;
                    prev[size] = p;
                    level[size] = (short) s;
                    size++;
                    last = e;
                }
                ptr[s] = ++p;
                if (p >= fc.length || fc[p] + lc[s] > hi) {
                    heap[0] = heap[--hs];
                }
                if (hs > 0) {
                    siftDown(heap, hs, ptr, fc, fe, lc, le);
                }
            }
            if (size > room) {
                size = -1;
            }
        }

        /** Keeps the states from {@code start} on whose bound does not exceed {@code cutoff}, in order. */
        void keep(int start, Relaxation rest, long budget, double cutoff) {
            int o = 0;
            for (int i = start; i < size; i++) {
                if (err[i] + rest.bound(budget - cost[i]) <= cutoff) {
                    cost[o] = cost[i];
                    err[o] = err[i];
                    prev[o] = prev[i];
                    level[o] = level[i];
                    o++;
                }
            }
            size = o;
        }

        private void grow() {
            int cap = (int) Math.min(Integer.MAX_VALUE - 8, cost.length * 2L);
            cost = Arrays.copyOf(cost, cap);
            err = Arrays.copyOf(err, cap);
            prev = Arrays.copyOf(prev, cap);
            level = Arrays.copyOf(level, cap);
        }

        private static boolean less(int a, int b, int[] ptr, long[] fc, double[] fe, long[] lc, double[] le) {
            long ca = fc[ptr[a]] + lc[a];
            long cb = fc[ptr[b]] + lc[b];
            if (ca != cb) {
                return ca < cb;
            }
            double ea = fe[ptr[a]] + le[a];
            double eb = fe[ptr[b]] + le[b];
            if (ea != eb) {
                return ea < eb;
            }
            return a < b;
        }

        private static void siftUp(int[] h, int i, int[] ptr, long[] fc, double[] fe, long[] lc, double[] le) {
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (less(h[i], h[parent], ptr, fc, fe, lc, le)) {
                    int t = h[i];
                    h[i] = h[parent];
                    h[parent] = t;
                    i = parent;
                } else {
                    return;
                }
            }
        }

        private static void siftDown(int[] h, int size, int[] ptr, long[] fc, double[] fe, long[] lc, double[] le) {
            int i = 0;
            while (true) {
                int l = 2 * i + 1;
                if (l >= size) {
                    return;
                }
                int best = l;
                if (l + 1 < size && less(h[l + 1], h[l], ptr, fc, fe, lc, le)) {
                    best = l + 1;
                }
                if (less(h[best], h[i], ptr, fc, fe, lc, le)) {
                    int t = h[i];
                    h[i] = h[best];
                    h[best] = t;
                    i = best;
                } else {
                    return;
                }
            }
        }
    }

    /**
     * The exact Pareto front of (total bits, summed error) after every layer: bits ascending, error strictly
     * descending. For a budget, the best assignment is the point with the most bits not above it.
     */
    public final class Front {
        private final long[] bits;
        private final double[] error;
        private final int[][] prevs;
        private final short[][] levs;
        /** The Lagrangian answer a bounded run pruned against (null for the whole front). */
        private final Allocation incumbent;

        private Front(long[] bits, double[] error, int[][] prevs, short[][] levs, Allocation incumbent) {
            this.bits = bits;
            this.error = error;
            this.prevs = prevs;
            this.levs = levs;
            this.incumbent = incumbent;
        }

        public int size() {
            return bits.length;
        }

        public long bits(int i) {
            return bits[i];
        }

        public double error(int i) {
            return error[i];
        }

        /** The assignment of point {@code i}. */
        public Allocation point(int i) {
            int[] at = new int[n];
            int idx = i;
            for (int k = n - 1; k >= 0; k--) {
                at[k] = levs[k][idx];
                idx = prevs[k][idx];
            }
            return build(at, Allocation.DYNAMIC_PROGRAMMING, true);
        }

        /** The exact best assignment with total bits at most {@code budgetBits}. */
        public Allocation at(long budgetBits) {
            requireFeasible(budgetBits);
            int i = upperIndex(bits, bits.length, budgetBits);
            if (incumbent != null && (i < 0 || incumbent.error() < error[i])) {
                // the dynamic program proved that nothing beats the incumbent
                return new Allocation(incumbent.choice(), incumbent.bits(), incumbent.error(), true,
                        Allocation.DYNAMIC_PROGRAMMING);
            }
            if (i < 0) {
                throw new IllegalStateException("no front point under " + budgetBits + " bits");
            }
            return point(i);
        }
    }
}
