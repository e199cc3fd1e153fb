package dev.squeeze.engine.store;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.eval.MetricKind;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The size/quality Pareto frontier of a model's stored runs: the query the app's chart, the CLI's {@code pareto}
 * and the reports share.
 *
 * <p>Smaller x is always better (bytes, bits per weight or milliseconds); the y metric's direction comes from its name
 * ({@link MetricKind#higherIsBetter(String)}). A point is <em>dominated</em> when another point is no larger in x
 * and no worse in y, and strictly better in at least one of them. Consequences for ties, which the tests pin down:
 * <ul>
 *   <li>among points with equal x only those with the best y can be on the frontier;</li>
 *   <li>exact duplicates (equal x and equal y) do not dominate each other, so <em>all</em> of them are on the
 *       frontier (we keep every run rather than pick a representative, so no run silently disappears from the
 *       chart or the table);</li>
 *   <li>a point with larger x and merely equal y is dominated.</li>
 * </ul>
 * Runs lacking either axis (a dense run has no bits per weight; a run without the metric) or with a NaN value are
 * left out and counted in {@link Result#skipped()}.
 */
public final class Pareto {
    /** The evaluation split, whose metrics the frontier is drawn over. */
    public static final String SPLIT = "evaluation";
    /** The {@code --method} value that selects runs with no compressed layer. */
    public static final String DENSE = MethodFamily.DENSE;

    private Pareto() {
    }

    /** The size axis. */
    public enum XAxis {
        SIZE_BYTES("size_bytes", "size"),
        BITS_PER_WEIGHT("bits_per_weight", "bpw"),
        /**
         * The stored {@value dev.squeeze.engine.eval.Latency#METRIC} metric: milliseconds per decoded token (language
         * models) or per batch of images (classifiers); see {@link dev.squeeze.engine.eval.Latency}.
         */
        LATENCY(dev.squeeze.engine.eval.Latency.METRIC, "latency");

        private final String columnName;
        private final String shortName;

        XAxis(String columnName, String shortName) {
            this.columnName = columnName;
            this.shortName = shortName;
        }

        public String columnName() {
            return columnName;
        }

        public String shortName() {
            return shortName;
        }

        /** The axis label charts and reports use. */
        public String label() {
            return switch (this) {
                case SIZE_BYTES -> "Model size (bytes)";
                case BITS_PER_WEIGHT -> "Bits per weight (compressed layers)";
                case LATENCY -> "Latency (ms per decoded token, or per batch of "
                        + dev.squeeze.engine.eval.Latency.CLASSIFIER_BATCH + " images)";
            };
        }

        /** What the axis measures, in words for a sentence: {@code model size}, {@code bits per weight}, {@code latency}. */
        public String phrase() {
            return switch (this) {
                case SIZE_BYTES -> "model size";
                case BITS_PER_WEIGHT -> "bits per weight";
                case LATENCY -> "latency";
            };
        }

        /** This axis's value of a run; {@code latencies} are the runs' stored latency metrics by run id. */
        public Double of(RunSummary r, Map<Long, Double> latencies) {
            return switch (this) {
                case SIZE_BYTES -> Double.valueOf(r.sizeBytes());
                case BITS_PER_WEIGHT -> r.bitsPerWeight();
                case LATENCY -> latencies.get(r.id());
            };
        }

        /** Accepts {@code size}, {@code size_bytes}, {@code bpw}, {@code bits_per_weight}, {@code latency} or {@code latency_ms}. */
        public static XAxis parse(String s) {
            for (XAxis a : values()) {
                if (a.columnName.equalsIgnoreCase(s) || a.shortName.equalsIgnoreCase(s)) {
                    return a;
                }
            }
            throw new SqueezeException("Unknown x axis '" + s + "'",
                    "use size (size_bytes), bpw (bits_per_weight) or latency (latency_ms)");
        }
    }

    /**
     * One run as a point on the chart.
     *
     * @param methodFamily the run's stored method family ({@link MethodFamily}): what a chart's series is
     * @param baseline     whether the run compresses no layer
     */
    public record Point(long runId, String label, double x, double y, String modelHash, String modelName,
                        String methodFamily, boolean baseline) {
    }

    /** The frontier sorted by x (then best y, then run id) and the dominated rest in the same order. */
    public record Frontier(List<Point> frontier, List<Point> dominated) {
        public Frontier {
            frontier = List.copyOf(frontier);
            dominated = List.copyOf(dominated);
        }
    }

    /**
     * What to draw.
     *
     * @param modelHash     the model's content hash; null for the runs of all models (then bits per weight is the
     *                      x that compares them)
     * @param method        only runs with a layer compressed by this method (case-insensitive); {@value #DENSE}
     *                      selects runs with no compressed layer; null for all
     * @param labelContains only runs whose label contains this text (case-insensitive); null for all
     * @param tag           only runs with this tag (exact); null for all
     * @param since         only runs finished at or after this instant; null for any date
     */
    public record Query(String modelHash, XAxis x, String metric, String method, String labelContains, String tag,
                        Instant since) {
        public Query(String modelHash, XAxis x, String metric, String method, String labelContains) {
            this(modelHash, x, metric, method, labelContains, null, null);
        }

        public Query(String modelHash, XAxis x, String metric, String method, String labelContains, String tag) {
            this(modelHash, x, metric, method, labelContains, tag, null);
        }
    }

    /**
     * The answer to a {@link Query}.
     *
     * @param modelHash  the query's model, null for all models
     * @param considered runs of the model that passed the filters
     * @param skipped    of those, runs left out because they lack the x value or the metric (or it is NaN)
     */
    public record Result(String modelHash, XAxis x, String metric, boolean higherIsBetter, List<Point> frontier,
                         List<Point> dominated, int considered, int skipped) {
        public Result {
            frontier = List.copyOf(frontier);
            dominated = List.copyOf(dominated);
        }
    }

    /** Splits points into the frontier and the dominated (see the class comment for ties). */
    public static Frontier frontier(List<Point> points, boolean higherIsBetter) {
        // "better y" as a comparator where smaller sorts first: best y first within an x.
        Comparator<Point> byY = Comparator.comparingDouble(Point::y);
        if (higherIsBetter) {
            byY = byY.reversed();
        }
        Comparator<Point> order = Comparator.comparingDouble(Point::x).thenComparing(byY)
                .thenComparingLong(Point::runId);
        List<Point> sorted = points.stream().sorted(order).toList();
        List<Point> front = new ArrayList<>();
        List<Point> dominated = new ArrayList<>();
        // Sweep x groups from small to large. A point survives iff it has its group's best y (nothing at the same
        // x is strictly better) and strictly beats the best y of every smaller x (nothing smaller is as good).
        boolean haveBest = false;
        double bestBefore = 0;
        int i = 0;
        while (i < sorted.size()) {
            int j = i;
            double x = sorted.get(i).x();
            while (j < sorted.size() && Double.compare(sorted.get(j).x(), x) == 0) {
                j++;
            }
            double groupBest = sorted.get(i).y();
            for (int k = i; k < j; k++) {
                Point p = sorted.get(k);
                boolean bestInGroup = p.y() == groupBest;
                boolean beatsSmaller = !haveBest || (higherIsBetter ? p.y() > bestBefore : p.y() < bestBefore);
                (bestInGroup && beatsSmaller ? front : dominated).add(p);
            }
            if (!haveBest || (higherIsBetter ? groupBest > bestBefore : groupBest < bestBefore)) {
                bestBefore = groupBest;
                haveBest = true;
            }
            i = j;
        }
        return new Frontier(front, dominated.stream().sorted(order).toList());
    }

    /**
     * Resolves a model given by name or content hash to its content hash, among the models that have stored runs.
     * Empty when nothing matches; a name shared by models with different content is an error listing them.
     */
    public static Optional<String> resolveModel(ResultsStore store, String nameOrHash) {
        List<RunSummary> runs = store.runs(null);
        Set<String> byHash = runs.stream().map(RunSummary::modelHash).filter(h -> h.equalsIgnoreCase(nameOrHash))
                .collect(Collectors.toSet());
        if (!byHash.isEmpty()) {
            return Optional.of(byHash.iterator().next());
        }
        Set<String> byName = runs.stream().filter(r -> r.modelName().equals(nameOrHash)).map(RunSummary::modelHash)
                .collect(Collectors.toCollection(java.util.TreeSet::new));
        if (byName.size() > 1) {
            throw new SqueezeException("The name '" + nameOrHash + "' belongs to " + byName.size()
                    + " different models in " + store.location() + ": " + String.join(", ", byName),
                    "give the content hash of the one you mean");
        }
        return byName.stream().findFirst();
    }

    /** The names of the models that have stored runs, for error messages. */
    public static List<String> storedModels(ResultsStore store) {
        return store.runs(null).stream().map(r -> r.modelName() + " (" + r.modelHash().substring(0,
                Math.min(12, r.modelHash().length())) + ")").distinct().toList();
    }

    /** Runs the query against the store. */
    public static Result query(ResultsStore store, Query q) {
        List<String> available = store.metricNames(q.modelHash(), SPLIT);
        String whose = q.modelHash() == null ? "any model" : "model " + q.modelHash();
        if (!available.contains(q.metric())) {
            List<String> usable = available.stream().filter(n -> MetricKind.higherIsBetter(n).isPresent()).toList();
            throw new SqueezeException("No metric '" + q.metric() + "' on the " + SPLIT + " split for " + whose
                    + "; its runs have: " + (usable.isEmpty() ? "(no quality metric)" : String.join(", ", usable)),
                    "pick one of those with --y");
        }
        boolean higher = MetricKind.higherIsBetter(q.metric()).orElseThrow(() -> new SqueezeException(
                "The metric '" + q.metric() + "' is not a quality measure (no known better direction)",
                "pick an accuracy (top1, accuracy.*), perplexity, nll_* or kl* metric with --y"));
        Map<Long, Double> values = store.metricValues(q.modelHash(), q.metric(), SPLIT);
        Map<Long, Double> latencies = q.x() == XAxis.LATENCY
                ? store.metricValues(q.modelHash(), XAxis.LATENCY.columnName(), SPLIT) : Map.of();
        Set<Long> tagged = q.tag() == null ? null : store.runsTagged(q.tag());
        List<Point> points = new ArrayList<>();
        int considered = 0;
        int skipped = 0;
        for (RunSummary r : store.runs(q.modelHash())) {
            if (q.labelContains() != null && !r.label().toLowerCase(Locale.ROOT)
                    .contains(q.labelContains().toLowerCase(Locale.ROOT))) {
                continue;
            }
            if (q.method() != null && !hasMethod(r, q.method())) {
                continue;
            }
            if (tagged != null && !tagged.contains(r.id())) {
                continue;
            }
            if (q.since() != null && (r.finishedAt() == null || r.finishedAt().isBefore(q.since()))) {
                continue;
            }
            considered++;
            Double x = q.x().of(r, latencies);
            Double y = values.get(r.id());
            if (x == null || y == null || x.isNaN() || y.isNaN()) {
                skipped++;
                continue;
            }
            points.add(new Point(r.id(), r.label(), x, y, r.modelHash(), r.modelName(), r.methodFamily(),
                    r.baseline()));
        }
        Frontier f = frontier(points, higher);
        return new Result(q.modelHash(), q.x(), q.metric(), higher, f.frontier(), f.dominated(), considered, skipped);
    }

    /** Whether the run's stored family has {@code wanted} ({@value #DENSE}: the run compresses no layer). */
    private static boolean hasMethod(RunSummary r, String wanted) {
        if (wanted.equalsIgnoreCase(DENSE)) {
            return r.baseline();
        }
        return !r.baseline() && Arrays.stream(r.methodFamily().split("\\+")).anyMatch(m -> m.equalsIgnoreCase(wanted));
    }
}
