package dev.squeeze.engine.search;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * The EvoPress evolutionary search over per-layer levels at a fixed total size (IST-DASLab/EvoPress,
 * {@code evo_quant_search.py}), with levels of unequal cost.
 *
 * <p>Each generation makes {@code offspring} unique children of the parent, each with
 * {@code min(randint(1, maxFlips), randint(1, maxFlips))} flips. A flip picks a layer A (uniformly among the layers
 * that share their size class with another layer) and a new level for it, then, uniformly among every layer B of
 * A's size class and every level of B whose change of bits exactly cancels A's, one pair; when there is none it
 * draws A again (at most {@code flipRetries} times). Every child therefore has exactly the parent's total bits.
 * Children are ranked in stages on growing sample counts with fresh sample seeds; the parent joins only the last
 * stage (elitism); the last stage's winner is the next parent.
 *
 * <p>Determinism: the children of generation g come from a random generator seeded by (seed, g) only, and the
 * samples of stage s of generation g from a seed derived from (seed, g, s), so a search resumed from its
 * {@link State} after generation g continues exactly as the uninterrupted one.
 */
public final class EvoPress {
    /** How the search started. */
    public enum StartKind {
        /** the same level in every layer */
        UNIFORM,
        /** the reference's random start for a budget no uniform level hits */
        RANDOM,
        /** the proxy allocator's plan */
        PROXY,
        /** an assignment the caller gave */
        GIVEN
    }

    /** Why the search stopped. */
    public enum StopReason { GENERATIONS, TIME_LIMIT, CANCELLED, NO_CHILDREN }

    /**
     * The starting point.
     *
     * @param kind        how it was chosen
     * @param choice      level index per layer
     * @param description e.g. the uniform level or the proxy allocation's method
     * @param fitness     its fitness if the start measured it (random start), else NaN
     * @param evaluations fitness evaluations spent choosing it
     */
    public record Start(StartKind kind, int[] choice, String description, double fitness, long evaluations) {
        public Start {
            choice = choice.clone();
        }

        @Override
        public int[] choice() {
            return choice.clone();
        }

        /** The level with key {@code key} in every layer. */
        public static Start uniform(List<LayerLevels> layers, String key) {
            int[] c = new int[layers.size()];
            for (int i = 0; i < c.length; i++) {
                LayerLevels l = layers.get(i);
                c[i] = -1;
                for (int k = 0; k < l.size(); k++) {
                    if (l.level(k).key().equals(key)) {
                        c[i] = k;
                        break;
                    }
                }
                if (c[i] < 0) {
                    throw new SqueezeException("layer " + l.layer() + " has no level " + key,
                            "start from a level every layer offers, or from the proxy allocator's plan");
                }
            }
            return new Start(StartKind.UNIFORM, c, key, Double.NaN, 0);
        }

        /** The proxy allocator's plan. */
        public static Start proxy(Allocation a) {
            return new Start(StartKind.PROXY, a.choice(), a.method() + (a.exact() ? " (exact)" : ""), Double.NaN, 0);
        }

        /** An assignment the caller chose. */
        public static Start given(int[] choice, String description) {
            return new Start(StartKind.GIVEN, choice, description, Double.NaN, 0);
        }
    }

    /**
     * Where a search stands after a generation; enough to resume it exactly.
     *
     * @param fingerprint   hash of the layers, their levels and the settings that shape the search
     * @param generation    generations completed
     * @param parent        the current parent (the best so far)
     * @param parentFitness its fitness in the last stage of the last generation (NaN when not measured yet)
     * @param evaluations   fitness evaluations so far
     * @param elapsedMillis search time so far (the time limit counts across resumptions)
     * @param startKind     how the search started
     * @param startDescription the start's description
     */
    public record State(String fingerprint, int generation, int[] parent, double parentFitness, long evaluations,
                        long elapsedMillis, StartKind startKind, String startDescription) {
        private static final ObjectMapper JSON = new ObjectMapper();

        public State {
            parent = parent.clone();
        }

        @Override
        public int[] parent() {
            return parent.clone();
        }

        public String toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("format", "squeeze-evopress-state");
            o.put("version", 1);
            o.put("fingerprint", fingerprint);
            o.put("generation", generation);
            ArrayNode p = o.putArray("parent");
            for (int v : parent) {
                p.add(v);
            }
            if (Double.isNaN(parentFitness)) {
                o.putNull("parentFitness");
            } else {
                o.put("parentFitness", parentFitness);
            }
            o.put("evaluations", evaluations);
            o.put("elapsedMillis", elapsedMillis);
            o.put("startKind", startKind.name());
            o.put("startDescription", startDescription);
            return o.toString();
        }

        public static State fromJson(String json) {
            try {
                JsonNode o = JSON.readTree(json);
                if (o == null || !"squeeze-evopress-state".equals(o.path("format").asText())
                        || o.path("version").asInt() != 1) {
                    throw new IllegalArgumentException("not an EvoPress state (format/version)");
                }
                JsonNode p = o.get("parent");
                int[] parent = new int[p.size()];
                for (int i = 0; i < parent.length; i++) {
                    parent[i] = p.get(i).intValue();
                }
                JsonNode f = o.get("parentFitness");
                return new State(o.get("fingerprint").asText(), o.get("generation").intValue(), parent,
                        f == null || f.isNull() ? Double.NaN : f.doubleValue(), o.get("evaluations").longValue(),
                        o.get("elapsedMillis").longValue(), StartKind.valueOf(o.get("startKind").asText()),
                        o.get("startDescription").asText());
            } catch (Exception e) {
                throw new SqueezeException("cannot read the EvoPress search state: " + e.getMessage(),
                        "delete the search's checkpoint to start it again", e);
            }
        }
    }

    /**
     * Progress after a selection stage.
     *
     * @param generation    the generation running (0-based)
     * @param stage         the stage just finished (0-based)
     * @param stageBest     the best fitness of the stage
     * @param parentFitness the parent's fitness (the best so far; NaN before it was measured)
     * @param evaluations   fitness evaluations so far
     * @param children      children of this generation
     */
    public record Progress(int generation, int stage, double stageBest, double parentFitness, long evaluations,
                           int children) {
    }

    /** Callbacks of a running search (on the search's thread). */
    public interface Listener {
        default void progress(Progress p) {
        }

        /** After each completed generation: persist {@code state} to resume from here. */
        default void generationDone(State state, int children) {
        }
    }

    /**
     * The search's answer: the best assignment found (the parent after the last completed generation).
     *
     * @param choice      level index per layer
     * @param bits        its total stored bits (the start's)
     * @param fitness     its last measured fitness (NaN when no generation completed from an unmeasured start)
     * @param generations generations completed
     * @param evaluations fitness evaluations, the start's included
     * @param stop        why it stopped
     * @param state       the final state
     */
    public record Result(int[] choice, long bits, double fitness, int generations, long evaluations,
                         StopReason stop, State state) {
        public Result {
            choice = choice.clone();
        }

        @Override
        public int[] choice() {
            return choice.clone();
        }
    }

    private final List<LayerLevels> layers;
    private final Fitness fitness;
    private final EvoPressSettings settings;
    private final LongSupplier nanoTime;
    private final int n;
    private final long[][] bits;
    /** Per layer: level indices sorted by bits (then index), and their bits. */
    private final int[][] sortedIdx;
    private final long[][] sortedBits;
    private final int[][] classMembers;
    private final int[] classOf;
    private final int[] eligible;
    private final String fingerprint;

    public EvoPress(List<LayerLevels> layers, Fitness fitness, EvoPressSettings settings) {
        this(layers, fitness, settings, System::nanoTime);
    }

    /** With a clock for the time limit (tests). */
    public EvoPress(List<LayerLevels> layers, Fitness fitness, EvoPressSettings settings, LongSupplier nanoTime) {
        if (layers.isEmpty()) {
            throw new SqueezeException("nothing to search: no layers", "search a model with compressible linears");
        }
        this.layers = List.copyOf(layers);
        this.fitness = fitness;
        this.settings = settings;
        this.nanoTime = nanoTime;
        n = layers.size();
        bits = new long[n][];
        sortedIdx = new int[n][];
        sortedBits = new long[n][];
        classOf = new int[n];
        Map<String, Integer> classIds = new HashMap<>();
        List<List<Integer>> members = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            LayerLevels l = layers.get(i);
            bits[i] = new long[l.size()];
            for (int k = 0; k < l.size(); k++) {
                bits[i][k] = l.level(k).bits();
            }
            long[] b = bits[i];
            sortedIdx[i] = java.util.stream.IntStream.range(0, l.size()).boxed()
                    .sorted((x, y) -> b[x] != b[y] ? Long.compare(b[x], b[y]) : Integer.compare(x, y))
                    .mapToInt(Integer::intValue).toArray();
            sortedBits[i] = new long[l.size()];
            for (int k = 0; k < l.size(); k++) {
                sortedBits[i][k] = b[sortedIdx[i][k]];
            }
            // class ids in order of first appearance: no dependence on hash order
            Integer id = classIds.get(l.sizeClass());
            if (id == null) {
                id = members.size();
                classIds.put(l.sizeClass(), id);
                members.add(new ArrayList<>());
            }
            classOf[i] = id;
            members.get(id).add(i);
        }
        classMembers = new int[members.size()][];
        for (int c = 0; c < classMembers.length; c++) {
            classMembers[c] = members.get(c).stream().mapToInt(Integer::intValue).toArray();
        }
        List<Integer> el = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (layers.get(i).size() >= 2 && classMembers[classOf[i]].length >= 2) {
                el.add(i);
            }
        }
        eligible = el.stream().mapToInt(Integer::intValue).toArray();
        fingerprint = fingerprint(this.layers, settings);
    }

    /** The hash that ties a {@link State} to these layers, levels and settings. */
    public String fingerprint() {
        return fingerprint;
    }

    /**
     * The reference's start for a budget no uniform level hits: {@code initialCandidates} candidates, each starting
     * every layer at its cheapest level at or above the budget's bits per weight and stepping a uniformly chosen
     * layer down to its next cheaper level until the total fits; the candidate of best fitness on
     * {@code initialSamples} samples is kept.
     */
    public Start randomStart(long budgetBits) {
        long minTotal = 0;
        long totalWeights = Allocation.totalWeights(layers);
        for (int i = 0; i < n; i++) {
            minTotal += sortedBits[i][0];
        }
        if (minTotal > budgetBits) {
            throw infeasible(budgetBits, minTotal, totalWeights);
        }
        double bpw = (double) budgetBits / totalWeights;
        SplittableRandom rng = new SplittableRandom(mix(settings.seed() ^ 0x5DEECE66DL));
        long sampleSeed = mix(mix(settings.seed()) ^ 0x1D8E4E27C47D124FL);
        int[] best = null;
        double bestFitness = Double.POSITIVE_INFINITY;
        long evaluations = 0;
        for (int c = 0; c < settings.initialCandidates(); c++) {
            int[] pos = new int[n];
            long total = 0;
            for (int i = 0; i < n; i++) {
                double share = bpw * layers.get(i).weights();
                int p = sortedBits[i].length - 1;
                for (int k = 0; k < sortedBits[i].length; k++) {
                    if (sortedBits[i][k] >= share) {
                        p = k;
                        break;
                    }
                }
                pos[i] = p;
                total += sortedBits[i][p];
            }
            int[] down = new int[n];
            while (total > budgetBits) {
                int m = 0;
                for (int i = 0; i < n; i++) {
                    if (pos[i] > 0) {
                        down[m++] = i;
                    }
                }
                int i = down[rng.nextInt(m)]; // m > 0: the all-cheapest total fits
                total -= sortedBits[i][pos[i]] - sortedBits[i][pos[i] - 1];
                pos[i]--;
            }
            int[] choice = new int[n];
            for (int i = 0; i < n; i++) {
                choice[i] = sortedIdx[i][pos[i]];
            }
            double f = evaluate(choice, settings.initialSamples(), sampleSeed);
            evaluations++;
            if (f < bestFitness) {
                bestFitness = f;
                best = choice;
            }
        }
        return new Start(StartKind.RANDOM, best, settings.initialCandidates() + " random candidates decremented to "
                + "the budget, best on " + settings.initialSamples() + " samples", bestFitness, evaluations);
    }

    /**
     * Runs the search from {@code start}, or continues it from {@code resume} (then {@code start} may be null).
     *
     * @param start      the starting assignment; its total bits must not exceed the budget
     * @param budgetBits the budget in total stored bits
     * @param resume     a state a {@link Listener#generationDone} gave, or null
     * @param cancel     asked before every fitness evaluation; true stops and keeps the best (null: never)
     * @param listener   progress and checkpoints (null: none)
     */
    public Result run(Start start, long budgetBits, State resume, BooleanSupplier cancel, Listener listener) {
        Listener out = listener == null ? new Listener() { } : listener;
        BooleanSupplier stop = cancel == null ? () -> false : cancel;
        int[] parent;
        double parentFitness;
        int generation;
        long evaluations;
        long elapsedBefore;
        StartKind kind;
        String description;
        if (resume != null) {
            if (!resume.fingerprint().equals(fingerprint)) {
                throw new SqueezeException("the saved search state belongs to other layers, levels or settings",
                        "resume with the same level database and search settings, or start the search again");
            }
            parent = resume.parent();
            parentFitness = resume.parentFitness();
            generation = resume.generation();
            evaluations = resume.evaluations();
            elapsedBefore = resume.elapsedMillis();
            kind = resume.startKind();
            description = resume.startDescription();
        } else {
            if (start == null) {
                throw new IllegalArgumentException("a start or a state to resume");
            }
            parent = start.choice();
            parentFitness = start.fitness();
            generation = 0;
            evaluations = start.evaluations();
            elapsedBefore = 0;
            kind = start.kind();
            description = start.description();
        }
        checkChoice(parent);
        long cost = Allocation.bitsOf(layers, parent);
        if (cost > budgetBits) {
            throw new SqueezeException(String.format(Locale.ROOT,
                    "the search's start takes %d bits (%.4f bits per weight), more than the budget of %d bits",
                    cost, (double) cost / Allocation.totalWeights(layers), budgetBits),
                    "start from an assignment within the budget (the proxy allocator's plan or the random start)");
        }
        long t0 = nanoTime.getAsLong();
        long limitNanos = settings.timeLimit() == null ? Long.MAX_VALUE : settings.timeLimit().toNanos();
        StopReason reason = StopReason.GENERATIONS;
        State state = new State(fingerprint, generation, parent, parentFitness, evaluations, elapsedBefore, kind,
                description);
        long[] evalCount = {evaluations};
        BooleanSupplier timeUp = () -> elapsedBefore * 1_000_000L + (nanoTime.getAsLong() - t0) >= limitNanos;
        while (generation < settings.generations()) {
            if (stop.getAsBoolean()) {
                reason = StopReason.CANCELLED;
                break;
            }
            if (timeUp.getAsBoolean()) {
                reason = StopReason.TIME_LIMIT;
                break;
            }
            List<int[]> children = children(parent, generation);
            if (children.isEmpty()) {
                reason = StopReason.NO_CHILDREN;
                break;
            }
            Map<EvalKey, Double> cache = new HashMap<>();
            List<int[]> pool = new ArrayList<>(children);
            double[] poolFitness = null;
            StopReason interrupted = null;
            List<EvoPressSettings.Stage> stages = settings.stages();
            for (int s = 0; s < stages.size() && interrupted == null; s++) {
                EvoPressSettings.Stage stage = stages.get(s);
                if (s == stages.size() - 1) {
                    pool.add(parent); // elitism: the parent competes in the last stage only
                }
                long seed = sampleSeed(settings.seed(), generation, s);
                double[] f = new double[pool.size()];
                for (int c = 0; c < pool.size(); c++) {
                    if (stop.getAsBoolean()) {
                        interrupted = StopReason.CANCELLED;
                        break;
                    }
                    if (timeUp.getAsBoolean()) {
                        interrupted = StopReason.TIME_LIMIT;
                        break;
                    }
                    EvalKey key = new EvalKey(new ChoiceKey(pool.get(c)), stage.samples(), seed);
                    Double cached = cache.get(key);
                    if (cached == null) {
                        cached = evaluate(pool.get(c), stage.samples(), seed);
                        evalCount[0]++;
                        cache.put(key, cached);
                    }
                    f[c] = cached;
                }
                if (interrupted != null) {
                    break;
                }
                Integer[] order = new Integer[pool.size()];
                for (int c = 0; c < order.length; c++) {
                    order[c] = c;
                }
                Arrays.sort(order, (a, b) -> {
                    int cmp = Double.compare(f[a], f[b]);
                    return cmp != 0 ? cmp : Integer.compare(a, b);
                });
                int keep = Math.min(stage.survivors(), pool.size());
                List<int[]> next = new ArrayList<>(keep);
                poolFitness = new double[keep];
                for (int k = 0; k < keep; k++) {
                    next.add(pool.get(order[k]));
                    poolFitness[k] = f[order[k]];
                }
                pool = next;
                out.progress(new Progress(generation, s, poolFitness[0], parentFitness, evalCount[0],
                        children.size()));
            }
            if (interrupted != null) {
                reason = interrupted;
                break;
            }
            parent = pool.get(0);
            parentFitness = poolFitness[0];
            generation++;
            long elapsed = elapsedBefore + (nanoTime.getAsLong() - t0) / 1_000_000L;
            state = new State(fingerprint, generation, parent, parentFitness, evalCount[0], elapsed, kind,
                    description);
            out.generationDone(state, children.size());
        }
        long elapsed = elapsedBefore + (nanoTime.getAsLong() - t0) / 1_000_000L;
        state = new State(fingerprint, state.generation(), state.parent(), state.parentFitness(), evalCount[0],
                elapsed, kind, description);
        return new Result(state.parent(), Allocation.bitsOf(layers, state.parent()), state.parentFitness(),
                state.generation(), evalCount[0], reason, state);
    }

    /** The seed of the samples of stage {@code stage} in generation {@code generation}. */
    public static long sampleSeed(long seed, int generation, int stage) {
        return mix(mix(seed ^ 0x632BE59BD9B4E019L) + ((long) generation << 16) + stage);
    }

    /**
     * The unique children of generation {@code generation} (each differs from the parent and from the others); fewer
     * than {@code offspring} when that many could not be found in {@code 20 × offspring} tries.
     */
    public List<int[]> children(int[] parent, int generation) {
        SplittableRandom rng = new SplittableRandom(mix(mix(settings.seed()) + 0x9E3779B97F4A7C15L * (generation + 1L)));
        List<int[]> out = new ArrayList<>();
        if (eligible.length == 0) {
            return out;
        }
        Set<ChoiceKey> seen = new HashSet<>();
        seen.add(new ChoiceKey(parent));
        int tries = 20 * settings.offspring();
        for (int t = 0; t < tries && out.size() < settings.offspring(); t++) {
            int flips = Math.min(1 + rng.nextInt(settings.maxFlips()), 1 + rng.nextInt(settings.maxFlips()));
            int[] child = parent.clone();
            int done = 0;
            for (int f = 0; f < flips; f++) {
                if (flip(child, rng)) {
                    done++;
                }
            }
            if (done > 0 && seen.add(new ChoiceKey(child))) {
                out.add(child);
            }
        }
        return out;
    }

    /**
     * One constant-cost flip applied to {@code child} in place; false when no flip was found in
     * {@code flipRetries} draws.
     */
    public boolean flip(int[] child, SplittableRandom rng) {
        if (eligible.length == 0) {
            return false;
        }
        int[] pairB = new int[64];
        int[] pairLevel = new int[64];
        for (int t = 0; t < settings.flipRetries(); t++) {
            int a = eligible[rng.nextInt(eligible.length)];
            int m = bits[a].length;
            int newA = rng.nextInt(m - 1);
            if (newA >= child[a]) {
                newA++;
            }
            long delta = bits[a][newA] - bits[a][child[a]];
            if (delta == 0) {
                child[a] = newA;
                return true;
            }
            int count = 0;
            for (int b : classMembers[classOf[a]]) {
                if (b == a) {
                    continue;
                }
                long need = bits[b][child[b]] - delta;
                int k = lowerBound(sortedBits[b], need);
                for (; k < sortedBits[b].length && sortedBits[b][k] == need; k++) {
                    if (count == pairB.length) {
                        pairB = Arrays.copyOf(pairB, count * 2);
                        pairLevel = Arrays.copyOf(pairLevel, count * 2);
                    }
                    pairB[count] = b;
                    pairLevel[count] = sortedIdx[b][k];
                    count++;
                }
            }
            if (count == 0) {
                continue;
            }
            int pick = rng.nextInt(count);
            child[a] = newA;
            child[pairB[pick]] = pairLevel[pick];
            return true;
        }
        return false;
    }

    private static int lowerBound(long[] a, long x) {
        int lo = 0;
        int hi = a.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] < x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private double evaluate(int[] choice, long samples, long seed) {
        double f = fitness.evaluate(choice.clone(), samples, seed);
        if (Double.isNaN(f)) {
            throw new SqueezeException("the search's fitness is NaN for " + Arrays.toString(choice) + " on "
                    + samples + " samples", "check the level database: a level's weights may hold NaN or infinity");
        }
        return f;
    }

    private void checkChoice(int[] choice) {
        if (choice.length != n) {
            throw new SqueezeException("the start assigns " + choice.length + " layers, the search has " + n,
                    "start from an assignment of every searched layer");
        }
        for (int i = 0; i < n; i++) {
            if (choice[i] < 0 || choice[i] >= bits[i].length) {
                throw new SqueezeException("the start gives layer " + layers.get(i).layer() + " level " + choice[i]
                        + " of " + bits[i].length, "start from valid level indices");
            }
        }
    }

    private SqueezeException infeasible(long budget, long min, long weights) {
        return new SqueezeException(String.format(Locale.ROOT,
                "a budget of %d bits (%.4f bits per weight) is below the smallest reachable size: %d bits "
                        + "(%.4f bits per weight)", budget, (double) budget / weights, min, (double) min / weights),
                String.format(Locale.ROOT, "raise the budget to at least %d bits (%.4f bits per weight)", min,
                        (double) min / weights));
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static String fingerprint(List<LayerLevels> layers, EvoPressSettings s) {
        StringBuilder b = new StringBuilder();
        for (LayerLevels l : layers) {
            b.append(l.layer()).append('|').append(l.rows()).append('x').append(l.cols());
            for (Level v : l.levels()) {
                b.append('|').append(v.key()).append('=').append(v.bits());
            }
            b.append('\n');
        }
        b.append(s.offspring()).append('|').append(s.maxFlips()).append('|').append(s.seed()).append('|')
                .append(s.flipRetries()).append('|').append(s.stages());
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(b.toString().getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(h);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private record ChoiceKey(int[] choice) {
        @Override
        public boolean equals(Object o) {
            return o instanceof ChoiceKey k && Arrays.equals(choice, k.choice);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(choice);
        }
    }

    private record EvalKey(ChoiceKey choice, long samples, long seed) {
    }
}
