package dev.squeeze.app.pareto;

import dev.squeeze.app.compare.CompareViewModel;
import dev.squeeze.app.runs.RunDetailViewModel;
import dev.squeeze.app.workbench.TaskExecutor;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;
import javafx.collections.ListChangeListener;
import javafx.collections.ObservableList;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * The Pareto explorer's state: which runs (of the open model or of all stored models) are shown, on which axes,
 * through which filters, and what the chart and the runs table then show, as plain records ({@link ChartData},
 * {@link RunRow}) that tests read without a JavaFX toolkit.
 *
 * <p>The points and the frontier come from {@link Pareto#query} (the query the CLI and the reports share), one
 * per model on the chart; when filters hide runs the frontier of what is left is computed by the same engine code
 * ({@link Pareto#frontier}). A run's method family and baseline flag are stored data, never read from its label.
 */
public final class ParetoViewModel {
    /** A stored model that can be shown. */
    public record ModelRef(String hash, String name) {
        @Override
        public String toString() {
            return name;
        }
    }

    /**
     * One run as the table shows it.
     *
     * @param metricValue the chart's metric as stored (accuracies as fractions), or null when the run lacks it
     * @param onChart     whether it is a point on the chart (it has the metric and the x value and passes filters)
     * @param onFrontier  whether it is on its model's frontier
     * @param notPlotted  why it is not on the chart, or null
     */
    public record RunRow(long id, String modelHash, String modelName, String label, String family, boolean baseline,
                         long sizeBytes, long fp16Bytes, Double bitsPerWeight, String metric, Double metricValue,
                         boolean onChart, boolean onFrontier, String notPlotted, Instant finishedAt,
                         String kernelBackend, List<String> tags) {
        public RunRow {
            tags = List.copyOf(tags);
        }

        /**
         * The run's size as a fraction of the same model stored in fp16: 0.28 for a 4-bit run, 2.0 for a dense
         * f32 model (twice the fp16 bytes); null when the fp16 size is unknown.
         */
        public Double sizeVsFp16() {
            return fp16Bytes <= 0 ? null : (double) sizeBytes / fp16Bytes;
        }

        /** The metric as the chart shows it (accuracies in percent), or null. */
        public Double metricDisplay() {
            return metricValue == null ? null : MetricKind.display(metric, metricValue);
        }

        public String metricText() {
            return metricValue == null ? "—" : Metrics.format(metric, metricValue);
        }
    }

    /** A chart series: one method family of one model. */
    public record Series(String key, String family, String modelHash, String modelName, int modelIndex, int rgb) {
    }

    /**
     * One run on the chart.
     *
     * @param y        as the chart shows it (accuracies in percent)
     * @param frontier on its model's frontier; false means dominated (drawn greyed)
     * @param labelled whether the chart may print its label (frontier points and baselines; the chart still
     *                 drops any label that would collide with one already drawn)
     */
    public record ChartPoint(long runId, String label, String series, double x, double y, boolean frontier,
                             boolean baseline, boolean labelled, String tooltip) {
    }

    /** A model's frontier as the chart's step line, sorted by x. */
    public record FrontierLine(String modelHash, String modelName, List<double[]> steps) {
        public FrontierLine {
            steps = List.copyOf(steps);
        }
    }

    /** A measured baseline of a model, drawn as a horizontal reference line (it has no bits per weight). */
    public record BaselineLine(long runId, String modelName, String label, double y) {
    }

    /**
     * The runs one search stored (provenance records the search), as a line through them by x: its front, drawn
     * against the uniform settings.
     *
     * @param series the key of the series that holds these runs' points
     * @param points {x, y as shown}, sorted by x
     */
    public record SearchFront(String series, String modelName, int rgb, List<double[]> points) {
        public SearchFront {
            points = List.copyOf(points);
        }
    }

    /** Colours of the search fronts, in order of their tags; no method family uses them. */
    static final int[] SEARCH_COLOURS = {0xe377c2, 0x17becf, 0xbcbd22, 0x7b4173, 0x3182bd};

    /** Everything the chart draws. */
    public record ChartData(String xLabel, String yLabel, boolean logX, List<Series> series, List<ChartPoint> points,
                            List<FrontierLine> frontiers, List<BaselineLine> baselines, String message,
                            List<SearchFront> searchFronts) {
        public ChartData {
            series = List.copyOf(series);
            points = List.copyOf(points);
            frontiers = List.copyOf(frontiers);
            baselines = List.copyOf(baselines);
            searchFronts = List.copyOf(searchFronts);
        }

        /** Without search fronts (the reports' charts). */
        public ChartData(String xLabel, String yLabel, boolean logX, List<Series> series, List<ChartPoint> points,
                         List<FrontierLine> frontiers, List<BaselineLine> baselines, String message) {
            this(xLabel, yLabel, logX, series, points, frontiers, baselines, message, List.of());
        }

        static ChartData empty(String message) {
            return new ChartData("", "", false, List.of(), List.of(), List.of(), List.of(), message);
        }

        /** The points of one series, in drawing order. */
        public List<ChartPoint> pointsOf(String seriesKey) {
            return points.stream().filter(p -> p.series().equals(seriesKey)).toList();
        }
    }

    /** What one load read from the store; filters are applied to it without reading again. */
    private record Snapshot(List<ModelRef> storedModels, List<ModelRef> shownModels, List<RunSummary> runs,
                            Map<Long, List<String>> tags, Map<Long, String> plans, Map<Long, String> searches,
                            List<String> metrics, String metric, Pareto.XAxis x, Map<Long, Double> values,
                            Map<String, Pareto.Result> results) {
    }

    private final TaskExecutor executor;
    private final Supplier<ResultsStore> store;

    private final ObjectProperty<Pareto.XAxis> xAxis = new SimpleObjectProperty<>(Pareto.XAxis.SIZE_BYTES);
    private final BooleanProperty logX = new SimpleBooleanProperty(false);
    private final StringProperty metric = new SimpleStringProperty();
    private final BooleanProperty allModels = new SimpleBooleanProperty(false);

    private final ObservableList<String> metricChoices = FXCollections.observableArrayList();
    private final ObservableList<ModelRef> modelChoices = FXCollections.observableArrayList();
    private final ObservableList<String> familyChoices = FXCollections.observableArrayList();
    private final ObservableList<String> tagChoices = FXCollections.observableArrayList();

    private final ObservableList<String> modelFilter = FXCollections.observableArrayList();
    private final ObservableList<String> familyFilter = FXCollections.observableArrayList();
    private final ObservableList<String> tagFilter = FXCollections.observableArrayList();
    private final ObjectProperty<LocalDate> since = new SimpleObjectProperty<>();

    private final ObservableList<RunRow> rows = FXCollections.observableArrayList();
    private final ReadOnlyObjectWrapper<ChartData> chart = new ReadOnlyObjectWrapper<>(ChartData.empty("No model open"));
    private final ReadOnlyStringWrapper title = new ReadOnlyStringWrapper("Runs");
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("");
    private final StringProperty error = new SimpleStringProperty();
    private final ObjectProperty<Long> selectedRun = new SimpleObjectProperty<>();
    private final ObservableList<Long> selectedRuns = FXCollections.observableArrayList();

    private String modelHash;
    private String modelName;
    private MetricKind defaultMetric = MetricKind.TOP1;
    private Snapshot snapshot;
    private long generation;
    /** Set while a load publishes its choices, so the property listeners do not start another load. */
    private boolean publishing;

    public ParetoViewModel(TaskExecutor executor, Supplier<ResultsStore> store) {
        this.executor = executor;
        this.store = store;
        allModels.addListener((obs, old, all) -> {
            if (all && xAxis.get() == Pareto.XAxis.SIZE_BYTES) {
                xAxis.set(Pareto.XAxis.BITS_PER_WEIGHT); // sizes of different models do not compare
            }
            reloadUnlessPublishing();
        });
        xAxis.addListener((obs, old, x) -> {
            if (allModels.get() && x == Pareto.XAxis.SIZE_BYTES) {
                xAxis.set(Pareto.XAxis.BITS_PER_WEIGHT);
                return;
            }
            reloadUnlessPublishing();
        });
        metric.addListener((obs, old, m) -> reloadUnlessPublishing());
        logX.addListener((obs, old, l) -> refilter());
        ListChangeListener<String> filterChanged = c -> refilter();
        modelFilter.addListener(filterChanged);
        familyFilter.addListener(filterChanged);
        tagFilter.addListener(filterChanged);
        since.addListener((obs, old, d) -> refilter());
    }

    /**
     * Shows the runs of one model; {@code defaultMetric} is the y axis when the user has not picked one the
     * model's runs have.
     */
    public void showModel(String modelHash, String modelName, MetricKind defaultMetric) {
        boolean other = !java.util.Objects.equals(this.modelHash, modelHash);
        this.modelHash = modelHash;
        this.modelName = modelName;
        this.defaultMetric = defaultMetric == null ? MetricKind.TOP1 : defaultMetric;
        if (other) {
            publishing = true;
            try {
                metric.set(null); // the previous model's metric may not exist here
            } finally {
                publishing = false;
            }
        }
        reload();
    }

    /** Reads the runs again (after a job stored one, say) and shows them through the current filters. */
    public void reload() {
        if (modelHash == null && !allModels.get()) {
            return;
        }
        long gen = ++generation;
        Pareto.XAxis x = xAxis.get();
        String wanted = metric.get();
        boolean all = allModels.get();
        String hash = modelHash;
        String fallback = defaultMetric.metricName();
        executor.submit(() -> load(hash, all, x, wanted, fallback), loaded -> {
            if (gen == generation) {
                show(loaded);
            }
        }, message -> {
            if (gen == generation) {
                error.set(message);
            }
        });
    }

    private void reloadUnlessPublishing() {
        if (!publishing) {
            reload();
        }
    }

    private Snapshot load(String hash, boolean all, Pareto.XAxis x, String wanted, String fallback) {
        ResultsStore s = store.get();
        if (s == null) {
            return null;
        }
        List<ModelRef> stored = new ArrayList<>();
        for (ResultsStore.StoredModel m : s.models()) {
            if (m.runs() > 0) {
                stored.add(new ModelRef(m.contentHash(), m.name()));
            }
        }
        List<ModelRef> shown;
        if (all) {
            shown = stored;
        } else {
            String name = stored.stream().filter(m -> m.hash().equals(hash)).map(ModelRef::name).findFirst()
                    .orElse(modelName);
            shown = List.of(new ModelRef(hash, name));
        }
        List<RunSummary> runs = new ArrayList<>();
        String scope = all ? null : hash; // the bulk reads: one model, or every model
        Map<Long, String> plans = s.planDescriptions(scope);
        Map<Long, List<String>> tags = s.tagsByRun(scope);
        Map<Long, String> searches = s.searchDescriptions(scope);
        TreeSet<String> metricNames = new TreeSet<>();
        Map<String, List<String>> metricsOf = new HashMap<>();
        for (ModelRef m : shown) {
            List<RunSummary> modelRuns = s.runs(m.hash());
            runs.addAll(modelRuns);
            List<String> names = s.metricNames(m.hash(), Pareto.SPLIT).stream()
                    .filter(n -> MetricKind.higherIsBetter(n).isPresent()).toList();
            metricsOf.put(m.hash(), names);
            metricNames.addAll(names);
        }
        List<String> metrics = List.copyOf(metricNames);
        String chosen = wanted != null && metrics.contains(wanted) ? wanted
                : metrics.contains(fallback) ? fallback : metrics.isEmpty() ? null : metrics.getFirst();
        Map<Long, Double> values = new HashMap<>();
        Map<String, Pareto.Result> results = new LinkedHashMap<>();
        if (chosen != null) {
            for (ModelRef m : shown) {
                if (metricsOf.get(m.hash()).contains(chosen)) {
                    values.putAll(s.metricValues(m.hash(), chosen, Pareto.SPLIT));
                    results.put(m.hash(), Pareto.query(s, new Pareto.Query(m.hash(), x, chosen, null, null)));
                }
            }
        }
        return new Snapshot(stored, shown, runs, tags, plans, searches, metrics, chosen, x, values, results);
    }

    private void show(Snapshot loaded) {
        snapshot = loaded;
        publishing = true;
        try {
            if (loaded == null) {
                metricChoices.clear();
                modelChoices.clear();
                familyChoices.clear();
                tagChoices.clear();
            } else {
                metricChoices.setAll(loaded.metrics());
                metric.set(loaded.metric());
                modelChoices.setAll(loaded.storedModels());
                familyChoices.setAll(loaded.runs().stream().map(RunSummary::methodFamily)
                        .collect(java.util.stream.Collectors.toCollection(TreeSet::new)));
                TreeSet<String> allTags = new TreeSet<>();
                loaded.tags().values().forEach(allTags::addAll);
                tagChoices.setAll(allTags);
            }
            // Filters naming what no longer exists would hide everything without saying why.
            modelFilter.retainAll(modelChoices.stream().map(ModelRef::hash).toList());
            familyFilter.retainAll(familyChoices);
            tagFilter.retainAll(tagChoices);
        } finally {
            publishing = false;
        }
        refilter();
    }

    /** Applies the filters to the last load: the table's rows and the chart, without reading the store. */
    private void refilter() {
        if (publishing) {
            return;
        }
        Snapshot s = snapshot;
        if (s == null) {
            rows.clear();
            chart.set(ChartData.empty(modelHash == null && !allModels.get() ? "No model open"
                    : "No results database: runs cannot be stored or shown"));
            title.set("Runs");
            status.set("");
            return;
        }
        title.set(s.shownModels().size() == 1 ? "Runs — " + s.shownModels().getFirst().name()
                : "Runs — all models (" + s.shownModels().size() + ")");
        Set<String> models = new HashSet<>(modelFilter);
        Set<String> families = new HashSet<>(familyFilter);
        Set<String> wantedTags = new HashSet<>(tagFilter);
        Instant from = since.get() == null ? null : since.get().atStartOfDay(ZoneId.systemDefault()).toInstant();
        List<RunSummary> kept = s.runs().stream()
                .filter(r -> !allModels.get() || models.isEmpty() || models.contains(r.modelHash()))
                .filter(r -> families.isEmpty() || families.contains(r.methodFamily()))
                .filter(r -> wantedTags.isEmpty() || s.tags().getOrDefault(r.id(), List.of()).stream()
                        .anyMatch(wantedTags::contains))
                .filter(r -> from == null || (r.finishedAt() != null && !r.finishedAt().isBefore(from)))
                .toList();
        Set<Long> keptIds = new HashSet<>();
        kept.forEach(r -> keptIds.add(r.id()));
        Map<Long, RunSummary> byId = new HashMap<>();
        s.runs().forEach(r -> byId.put(r.id(), r));

        // Frontier per model over the runs the filters keep.
        Set<Long> onFrontier = new HashSet<>();
        Map<Long, Pareto.Point> plotted = new LinkedHashMap<>();
        List<FrontierLine> lines = new ArrayList<>();
        boolean filtered = kept.size() != s.runs().size();
        for (Map.Entry<String, Pareto.Result> e : s.results().entrySet()) {
            Pareto.Result r = e.getValue();
            List<Pareto.Point> points = new ArrayList<>();
            r.frontier().stream().filter(p -> keptIds.contains(p.runId())).forEach(points::add);
            r.dominated().stream().filter(p -> keptIds.contains(p.runId())).forEach(points::add);
            List<Pareto.Point> front = filtered ? Pareto.frontier(points, r.higherIsBetter()).frontier()
                    : r.frontier();
            points.forEach(p -> plotted.put(p.runId(), p));
            front.forEach(p -> onFrontier.add(p.runId()));
            if (!front.isEmpty()) {
                List<double[]> steps = front.stream().sorted(Comparator.comparingDouble(Pareto.Point::x))
                        .map(p -> new double[]{p.x(), MetricKind.display(s.metric(), p.y())}).toList();
                lines.add(new FrontierLine(e.getKey(), byId.get(front.getFirst().runId()).modelName(), steps));
            }
        }

        // Series: one per family and model, dense first, then families by name; models in the order shown.
        List<String> modelOrder = s.shownModels().stream().map(ModelRef::hash).toList();
        boolean several = s.shownModels().size() > 1;
        Map<String, Series> series = new LinkedHashMap<>();
        Comparator<RunSummary> seriesOrder = Comparator
                .comparing((RunSummary r) -> !"dense".equals(r.methodFamily()))
                .thenComparing(r -> r.methodFamily())
                .thenComparingInt(r -> modelOrder.indexOf(r.modelHash()));
        // Plans a search found are a series of their own per search tag (and model), drawn as a line: the front
        // against the uniform settings (those the search stored beside it included), which stay in their families'
        // series.
        Map<Long, String> seriesOf = new HashMap<>();
        Map<String, Integer> searchColour = new LinkedHashMap<>();
        kept.stream().filter(r -> plotted.containsKey(r.id())).sorted(seriesOrder).forEach(r -> {
            String fam = r.methodFamily();
            if (dev.squeeze.app.search.SearchProvenance.searchedPlan(s.searches().get(r.id()))) {
                List<String> runTags = s.tags().getOrDefault(r.id(), List.of());
                fam = "search" + (runTags.isEmpty() ? "" : " · " + String.join(", ", runTags));
                searchColour.putIfAbsent(fam, SEARCH_COLOURS[searchColour.size() % SEARCH_COLOURS.length]);
            }
            String key = several ? fam + " · " + r.modelName() : fam;
            seriesOf.put(r.id(), key);
            String family = fam;
            series.computeIfAbsent(key, k -> new Series(k, family, r.modelHash(), r.modelName(),
                    modelOrder.indexOf(r.modelHash()), searchColour.getOrDefault(family, FamilyColors.rgb(family))));
        });
        // Family series first (dense leading), then the searches.
        List<Series> ordered = new ArrayList<>(series.values());
        ordered.sort(Comparator.comparing((Series se) -> searchColour.containsKey(se.family())));
        series.clear();
        ordered.forEach(se -> series.put(se.key(), se));

        String yLabel = s.metric() == null ? "" : MetricKind.axisLabel(s.metric());
        List<ChartPoint> points = new ArrayList<>();
        List<RunRow> tableRows = new ArrayList<>();
        List<BaselineLine> baselines = new ArrayList<>();
        for (RunSummary r : kept) {
            String fam = r.methodFamily();
            boolean base = r.baseline();
            Double value = s.values().get(r.id());
            Pareto.Point p = plotted.get(r.id());
            String why = null;
            if (p == null) {
                if (s.metric() == null || value == null) {
                    why = s.metric() == null ? "no quality metric stored" : "no " + s.metric() + " stored";
                } else if (s.x() == Pareto.XAxis.BITS_PER_WEIGHT && r.bitsPerWeight() == null) {
                    why = base ? "dense: no bits per weight (drawn as a baseline line)" : "no bits per weight";
                } else {
                    why = "no " + s.x().shortName() + " value";
                }
            }
            tableRows.add(new RunRow(r.id(), r.modelHash(), r.modelName(), r.label(), fam, base, r.sizeBytes(),
                    r.fp16Bytes(), r.bitsPerWeight(), s.metric(), value, p != null, onFrontier.contains(r.id()), why,
                    r.finishedAt(), r.kernelBackend(), s.tags().getOrDefault(r.id(), List.of())));
            if (base && value != null && p == null) {
                baselines.add(new BaselineLine(r.id(), r.modelName(), r.label(),
                        MetricKind.display(s.metric(), value)));
            }
        }
        for (Series se : series.values()) {
            kept.stream().filter(r -> plotted.containsKey(r.id()))
                    .filter(r -> se.key().equals(seriesOf.get(r.id())))
                    // Frontier points first, so their labels win the space when labels would collide.
                    .sorted(Comparator.comparing((RunSummary r) -> !onFrontier.contains(r.id())))
                    .forEach(r -> {
                        Pareto.Point p = plotted.get(r.id());
                        boolean front = onFrontier.contains(r.id());
                        boolean base = r.baseline();
                        double y = MetricKind.display(s.metric(), p.y());
                        points.add(new ChartPoint(r.id(), r.label(), se.key(), p.x(), y, front, base,
                                front || base, tooltip(r, se, s, p, front)));
                    });
        }
        List<SearchFront> fronts = new ArrayList<>();
        for (Series se : series.values()) {
            if (searchColour.containsKey(se.family())) {
                List<double[]> line = points.stream().filter(p -> p.series().equals(se.key()))
                        .sorted(Comparator.comparingDouble(ChartPoint::x)).map(p -> new double[]{p.x(), p.y()})
                        .toList();
                fronts.add(new SearchFront(se.key(), se.modelName(), se.rgb(), line));
            }
        }
        String xLabel = s.x().label();
        int hidden = s.runs().size() - kept.size();
        long notPlotted = tableRows.stream().filter(r -> !r.onChart()).count();
        String message = s.runs().isEmpty() ? "No runs stored yet"
                : s.metric() == null ? "No evaluated runs stored" : kept.isEmpty() ? "No run passes the filters"
                : points.isEmpty() ? "No run has both " + s.metric() + " and " + s.x().shortName() : null;
        chart.set(new ChartData(xLabel, yLabel, logX.get(), List.copyOf(series.values()), points, lines, baselines,
                message, fronts));
        rows.setAll(tableRows);
        status.set(String.format(Locale.ROOT, "%d runs, %d on the chart, %d on the frontier%s%s", kept.size(),
                points.size(), onFrontier.size(), hidden > 0 ? ", " + hidden + " hidden by filters" : "",
                notPlotted > 0 ? ", " + notPlotted + " without both axes (see the table)" : ""));
    }

    private static String tooltip(RunSummary r, Series se, Snapshot s, Pareto.Point p, boolean front) {
        StringBuilder t = new StringBuilder();
        t.append('#').append(r.id()).append(' ').append(r.label()).append('\n');
        t.append(se.family()).append(" · ").append(r.modelName()).append(front ? " · on the frontier" : " · dominated")
                .append('\n');
        String plan = s.plans().get(r.id());
        if (plan != null && !plan.isBlank()) {
            t.append("plan: ").append(plan).append('\n');
        }
        String search = s.searches().get(r.id());
        if (search != null) {
            t.append(search.length() > 160 ? search.substring(0, 159) + "…" : search).append('\n');
        }
        t.append(s.metric()).append(": ").append(Metrics.format(s.metric(), p.y())).append('\n');
        t.append("size: ").append(dev.squeeze.app.models.Bytes.human(r.sizeBytes()));
        if (r.bitsPerWeight() != null) {
            t.append(String.format(Locale.ROOT, " · %.3f bits/weight", r.bitsPerWeight()));
        }
        return t.toString();
    }

    // ---- what the view binds to

    public ObjectProperty<Pareto.XAxis> xAxis() {
        return xAxis;
    }

    public BooleanProperty logX() {
        return logX;
    }

    /** The y metric by its stored name ({@code top1}, {@code perplexity}, {@code accuracy.3}, …). */
    public StringProperty metric() {
        return metric;
    }

    /** Runs of every stored model on one chart (x is then bits per weight). */
    public BooleanProperty allModels() {
        return allModels;
    }

    /** The quality metrics stored for the models shown. */
    public ObservableList<String> metricChoices() {
        return metricChoices;
    }

    public ObservableList<ModelRef> modelChoices() {
        return modelChoices;
    }

    public ObservableList<String> familyChoices() {
        return familyChoices;
    }

    public ObservableList<String> tagChoices() {
        return tagChoices;
    }

    /** Model hashes to show with "all models"; empty shows all. */
    public ObservableList<String> modelFilter() {
        return modelFilter;
    }

    /** Method families to show; empty shows all. */
    public ObservableList<String> familyFilter() {
        return familyFilter;
    }

    /** Runs with any of these tags; empty shows all. */
    public ObservableList<String> tagFilter() {
        return tagFilter;
    }

    /** Runs finished on or after this day (local time); null for all. */
    public ObjectProperty<LocalDate> since() {
        return since;
    }

    /** Clears every filter. */
    public void clearFilters() {
        publishing = true;
        try {
            modelFilter.clear();
            familyFilter.clear();
            tagFilter.clear();
            since.set(null);
        } finally {
            publishing = false;
        }
        refilter();
    }

    public ObservableList<RunRow> rows() {
        return rows;
    }

    public ReadOnlyObjectProperty<ChartData> chart() {
        return chart.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty title() {
        return title.getReadOnlyProperty();
    }

    /** A line under the chart: how many runs are shown, on the frontier, hidden. */
    public ReadOnlyStringProperty status() {
        return status.getReadOnlyProperty();
    }

    /** The last error for the user (a store that failed to read), or null. */
    public StringProperty error() {
        return error;
    }

    /** The run highlighted on the chart and selected in the table, or null. */
    public ObjectProperty<Long> selectedRun() {
        return selectedRun;
    }

    /** The runs selected in the table, in selection order (the first is the comparison's reference). */
    public ObservableList<Long> selectedRuns() {
        return selectedRuns;
    }

    /** Where the explorer's finished long work (an export) is announced; by default nowhere. */
    public void setAnnounce(java.util.function.Consumer<String> announce) {
        this.announce = announce;
    }

    private java.util.function.Consumer<String> announce = text -> { };

    /** The detail of one run, loading. */
    public RunDetailViewModel detail(long runId) {
        RunDetailViewModel d = new RunDetailViewModel(executor, store);
        d.setAnnounce(announce);
        d.load(runId);
        return d;
    }

    /** The comparison of runs (the first is the reference), loading. */
    public CompareViewModel compare(List<Long> runIds) {
        CompareViewModel c = new CompareViewModel(executor, store);
        c.load(runIds);
        return c;
    }
}
