package dev.squeeze.engine.report;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.RunSummary;
import dev.squeeze.engine.store.StoredRun;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Everything a comparison report shows, read once from the results database: the selected runs grouped by
 * model, each model's Pareto frontier over those runs ({@link Pareto#frontier}, the rule the explorer and the CLI
 * use), and per run its metrics, layer results, plan and provenance. The HTML, PDF and CSV writers only format
 * this; none of them reads the store.
 *
 * @param title       the report's heading
 * @param selection   in words, which runs were selected ("runs of stories260K tagged sweep-1")
 * @param generatedAt when the report was made
 * @param generator   the Squeeze that made it
 * @param models      one section per model, in the order of their first selected run
 */
public record ReportData(String title, String selection, Instant generatedAt, Provenance generator,
                         List<ModelSection> models) {
    public ReportData {
        models = List.copyOf(models);
    }

    /**
     * One run of the report.
     *
     * @param onFrontier whether it is on its model's frontier over the selected runs (false: dominated or not
     *                   drawn, see {@code notPlotted})
     * @param notPlotted why it is not a point of its model's chart (no value of the metric or of the x axis), or
     *                   null when it is one
     */
    public record RunEntry(StoredRun run, List<RunRecord.Metric> metrics, List<RunRecord.LayerResult> layers,
                           boolean onFrontier, String notPlotted) {
        public RunEntry {
            metrics = List.copyOf(metrics);
            layers = List.copyOf(layers);
        }

        public RunSummary summary() {
            return run.summary();
        }

        public long id() {
            return run.summary().id();
        }

        /** The stored value of metric {@code name} on {@code split}, or null. */
        public Double metric(String name, String split) {
            return metrics.stream().filter(m -> m.name().equals(name) && m.split().equals(split))
                    .map(RunRecord.Metric::value).findFirst().orElse(null);
        }
    }

    /**
     * The selected runs of one model.
     *
     * @param metric         the y axis: the quality metric (evaluation split) the frontier is computed on, or null
     *                       when no selected run of the model has one
     * @param higherIsBetter its direction
     * @param x              the size axis
     * @param frontier       the frontier and the dominated runs, as points (runs lacking an axis are in neither)
     * @param runs           every selected run of the model, in id order
     */
    public record ModelSection(String modelHash, String modelName, String metric, boolean higherIsBetter,
                               Pareto.XAxis x, Pareto.Frontier frontier, List<RunEntry> runs) {
        public ModelSection {
            runs = List.copyOf(runs);
        }

        /** The runs on the frontier, smallest first. */
        public List<RunEntry> frontierRuns() {
            Map<Long, RunEntry> byId = new LinkedHashMap<>();
            runs.forEach(r -> byId.put(r.id(), r));
            return frontier.frontier().stream().map(p -> byId.get(p.runId())).toList();
        }
    }

    /** Every run of the report, model by model. */
    public List<RunEntry> runs() {
        return models.stream().flatMap(m -> m.runs().stream()).toList();
    }

    /** A metric column: a metric name on a split. */
    public record MetricColumn(String split, String name) {
    }

    /**
     * Every (split, metric) that some run of the report has: the evaluation split first, then the others by name;
     * names sorted within a split. The columns of the CSV and of the run table.
     */
    public List<MetricColumn> metricColumns() {
        Map<String, Set<String>> bySplit = new TreeMap<>(Comparator
                .comparing((String s) -> !s.equals(Pareto.SPLIT)).thenComparing(Comparator.naturalOrder()));
        for (RunEntry r : runs()) {
            for (RunRecord.Metric m : r.metrics()) {
                bySplit.computeIfAbsent(m.split(), k -> new java.util.TreeSet<>()).add(m.name());
            }
        }
        List<MetricColumn> out = new ArrayList<>();
        bySplit.forEach((split, names) -> names.forEach(n -> out.add(new MetricColumn(split, n))));
        return out;
    }

    /**
     * Reads the runs {@code runIds} (duplicates ignored) for a report.
     *
     * @param metric the y metric to prefer; a model whose selected runs lack it gets its headline metric (the
     *               first of {@link MetricKind}'s order that its runs have; else any quality metric they have)
     * @param x      the size axis of the charts and frontiers
     * @throws SqueezeException when no run is selected or a run is not in the store
     */
    public static ReportData load(ResultsStore store, String title, String selection, List<Long> runIds,
                                  String metric, Pareto.XAxis x) {
        List<Long> ids = List.copyOf(new LinkedHashSet<>(runIds));
        if (ids.isEmpty()) {
            throw new SqueezeException("No runs to report on (" + selection + ")",
                    "select runs that exist: 'squeeze runs' lists them with their models and tags");
        }
        Objects.requireNonNull(x, "x");
        Map<String, List<StoredRun>> byModel = new LinkedHashMap<>();
        for (long id : ids.stream().sorted().toList()) {
            StoredRun run = store.run(id).orElseThrow(() -> new SqueezeException(
                    "Run " + id + " is not in the results database " + store.location(),
                    "list the stored runs with 'squeeze runs' (or reload the runs list) and select again"));
            byModel.computeIfAbsent(run.summary().modelHash(), k -> new ArrayList<>()).add(run);
        }
        List<ModelSection> sections = new ArrayList<>();
        for (List<StoredRun> runs : byModel.values()) {
            sections.add(section(store, runs, metric, x));
        }
        return new ReportData(title, selection, Instant.now(), Provenance.current(""), sections);
    }

    private static ModelSection section(ResultsStore store, List<StoredRun> runs, String wanted, Pareto.XAxis x) {
        RunSummary first = runs.getFirst().summary();
        Map<Long, List<RunRecord.Metric>> metrics = new LinkedHashMap<>();
        Set<String> have = new HashSet<>();
        for (StoredRun r : runs) {
            List<RunRecord.Metric> m = store.metrics(r.summary().id());
            metrics.put(r.summary().id(), m);
            m.stream().filter(v -> v.split().equals(Pareto.SPLIT)).forEach(v -> have.add(v.name()));
        }
        String metric = chooseMetric(have, wanted);
        boolean higher = metric != null && MetricKind.higherIsBetter(metric).orElse(false);
        Map<Long, Double> latencies = new HashMap<>();
        metrics.forEach((id, list) -> list.stream()
                .filter(v -> v.split().equals(Pareto.SPLIT) && v.name().equals(Pareto.XAxis.LATENCY.columnName()))
                .findFirst().ifPresent(v -> latencies.put(id, v.value())));
        List<Pareto.Point> points = new ArrayList<>();
        Map<Long, String> why = new LinkedHashMap<>();
        for (StoredRun run : runs) {
            RunSummary r = run.summary();
            Double y = metric == null ? null : metrics.get(r.id()).stream()
                    .filter(v -> v.split().equals(Pareto.SPLIT) && v.name().equals(metric))
                    .map(RunRecord.Metric::value).findFirst().orElse(null);
            Double xv = x.of(r, latencies);
            if (y == null || y.isNaN()) {
                why.put(r.id(), metric == null ? "no quality metric stored" : "no " + metric + " stored");
            } else if (xv == null || xv.isNaN()) {
                why.put(r.id(), r.baseline() ? "dense: no bits per weight (a baseline)" : "no " + x.shortName());
            } else {
                points.add(new Pareto.Point(r.id(), r.label(), xv, y, r.modelHash(), r.modelName(),
                        r.methodFamily(), r.baseline()));
            }
        }
        Pareto.Frontier frontier = Pareto.frontier(points, higher);
        Set<Long> front = new HashSet<>();
        frontier.frontier().forEach(p -> front.add(p.runId()));
        List<RunEntry> entries = new ArrayList<>();
        for (StoredRun run : runs) {
            long id = run.summary().id();
            entries.add(new RunEntry(run, metrics.get(id), store.layerResults(id), front.contains(id), why.get(id)));
        }
        return new ModelSection(first.modelHash(), first.modelName(), metric, higher, x, frontier, entries);
    }

    /** The wanted metric when the runs have it; else the first headline kind they have; else any quality metric. */
    static String chooseMetric(Set<String> have, String wanted) {
        if (wanted != null && have.contains(wanted) && MetricKind.higherIsBetter(wanted).isPresent()) {
            return wanted;
        }
        for (MetricKind k : MetricKind.values()) {
            if (have.contains(k.metricName())) {
                return k.metricName();
            }
        }
        return have.stream().filter(n -> MetricKind.higherIsBetter(n).isPresent()).sorted().findFirst().orElse(null);
    }
}
