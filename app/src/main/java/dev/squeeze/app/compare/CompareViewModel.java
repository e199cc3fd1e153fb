package dev.squeeze.app.compare;

import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.app.models.Bytes;
import dev.squeeze.app.pareto.Metrics;
import dev.squeeze.app.workbench.TaskExecutor;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.RunSummary;
import dev.squeeze.engine.store.StoredRun;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Two or more stored runs side by side: each metric with its difference from the first run (the reference), and
 * each layer's method, settings, bits and reconstruction error, a cell marked where it differs from the
 * reference's. Loaded off the FX thread; the result is plain records, tested without a toolkit.
 */
public final class CompareViewModel {
    /** The row name of the model size among the metric rows. */
    public static final String SIZE = "size";
    /** The row name of bits per weight among the metric rows. */
    public static final String BITS_PER_WEIGHT = "bits per weight";

    /** Relative difference under which two reconstruction errors count as equal (rounding, not a change). */
    static final double ERROR_TOLERANCE = 1e-6;

    /** A run compared. */
    public record RunHeader(long id, String label, String modelName, String family, String planDescription) {
        /** How column headers name it: {@code #12 RTN 4-bit}. */
        public String title() {
            return "#" + id + " " + label;
        }
    }

    /**
     * One metric of every run.
     *
     * @param values per run, null where a run lacks it
     * @param deltas per run, the value minus the reference's (the first run's); null where either lacks it
     */
    public record MetricDelta(String name, String split, List<Double> values, List<Double> deltas) {
        public MetricDelta {
            values = java.util.Collections.unmodifiableList(new ArrayList<>(values));
            deltas = java.util.Collections.unmodifiableList(new ArrayList<>(deltas));
        }

        public String valueText(int run) {
            Double v = values.get(run);
            if (v == null) {
                return "—";
            }
            if (name.equals(SIZE)) {
                return Bytes.human(v.longValue());
            }
            if (name.equals(BITS_PER_WEIGHT)) {
                return String.format(Locale.ROOT, "%.3f", v);
            }
            return MetricKind.higherIsBetter(name).isPresent() ? Metrics.format(name, v)
                    : String.format(Locale.ROOT, "%.6g", v);
        }

        /** The difference from the reference with its sign; empty for the reference itself. */
        public String deltaText(int run) {
            Double d = deltas.get(run);
            if (run == 0 || d == null) {
                return run == 0 ? "" : "—";
            }
            if (name.equals(SIZE)) {
                double ref = values.getFirst();
                return (d < 0 ? "−" : "+") + Bytes.human(Math.abs(d.longValue()))
                        + (ref > 0 ? String.format(Locale.ROOT, " (%+.1f %%)", 100 * d / ref) : "");
            }
            if (name.equals(BITS_PER_WEIGHT)) {
                return String.format(Locale.ROOT, "%+.3f", d);
            }
            return MetricKind.higherIsBetter(name).isPresent() ? Metrics.formatDelta(name, d)
                    : String.format(Locale.ROOT, "%+.6g", d);
        }

        /**
         * Whether run {@code run} is better (+1), worse (-1) or neither (0) than the reference on this row; 0 for
         * rows without a direction.
         */
        public int better(int run) {
            Double d = deltas.get(run);
            if (d == null || d == 0 || run == 0) {
                return 0;
            }
            if (name.equals(SIZE) || name.equals(BITS_PER_WEIGHT)) {
                return d < 0 ? 1 : -1;
            }
            return MetricKind.higherIsBetter(name).map(h -> (h ? d > 0 : d < 0) ? 1 : -1).orElse(0);
        }
    }

    /** What one run did to one layer; null fields where it did not touch the layer. */
    public record LayerCell(String method, String settings, Long storedBits, Double bitsPerWeight, Double reconError,
                            Long millis) {
        static final LayerCell ABSENT = new LayerCell(null, null, null, null, null, null);

        public boolean present() {
            return method != null;
        }
    }

    /** A column of the per-layer diff. */
    public enum Field { METHOD, SETTINGS, BITS, ERROR }

    /** One layer across the runs. */
    public record LayerDiff(String layer, List<LayerCell> cells) {
        public LayerDiff {
            cells = List.copyOf(cells);
        }

        /** Whether run {@code run}'s {@code field} differs from the reference's (run 0 never does). */
        public boolean differs(int run, Field field) {
            if (run == 0) {
                return false;
            }
            LayerCell ref = cells.getFirst();
            LayerCell c = cells.get(run);
            return switch (field) {
                case METHOD -> !Objects.equals(ref.method(), c.method());
                case SETTINGS -> !Objects.equals(ref.settings(), c.settings());
                case BITS -> !Objects.equals(ref.storedBits(), c.storedBits())
                        || !Objects.equals(ref.bitsPerWeight(), c.bitsPerWeight());
                case ERROR -> errorsDiffer(ref.reconError(), c.reconError());
            };
        }

        /** Whether any run differs from the reference in anything on this layer. */
        public boolean anyDifference() {
            for (int r = 1; r < cells.size(); r++) {
                for (Field f : Field.values()) {
                    if (differs(r, f)) {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    private static boolean errorsDiffer(Double a, Double b) {
        if (a == null || b == null) {
            return !Objects.equals(a, b);
        }
        double scale = Math.max(Math.abs(a), Math.abs(b));
        return scale > 0 && Math.abs(a - b) / scale > ERROR_TOLERANCE;
    }

    /** The whole comparison. */
    public record Comparison(List<RunHeader> runs, List<MetricDelta> metrics, List<LayerDiff> layers) {
        public Comparison {
            runs = List.copyOf(runs);
            metrics = List.copyOf(metrics);
            layers = List.copyOf(layers);
        }

        public MetricDelta metric(String name, String split) {
            return metrics.stream().filter(m -> m.name().equals(name) && Objects.equals(m.split(), split))
                    .findFirst().orElse(null);
        }

        public LayerDiff layer(String name) {
            return layers.stream().filter(l -> l.layer().equals(name)).findFirst().orElse(null);
        }
    }

    private final TaskExecutor executor;
    private final Supplier<ResultsStore> store;
    private final ReadOnlyObjectWrapper<Comparison> comparison = new ReadOnlyObjectWrapper<>();
    private final StringProperty title = new SimpleStringProperty("Comparison");
    private final StringProperty error = new SimpleStringProperty();

    public CompareViewModel(TaskExecutor executor, Supplier<ResultsStore> store) {
        this.executor = executor;
        this.store = store;
    }

    /** Compares the runs {@code runIds}; the first is the reference the differences are taken from. */
    public void load(List<Long> runIds) {
        List<Long> ids = List.copyOf(new LinkedHashSet<>(runIds));
        if (ids.size() < 2) {
            error.set("Select at least two runs to compare (" + ids.size() + " selected): Ctrl-click or "
                    + "Shift-click rows in the runs table.");
            return;
        }
        title.set("Comparing " + ids.size() + " runs (loading…)");
        executor.submit(() -> read(ids), c -> {
            comparison.set(c);
            title.set("Comparing " + c.runs().size() + " runs — reference " + c.runs().getFirst().title());
        }, message -> {
            title.set("Comparison");
            error.set(message);
        });
    }

    private Comparison read(List<Long> ids) {
        ResultsStore s = store.get();
        if (s == null) {
            throw new SqueezeException("Runs cannot be compared: there is no results database",
                    "open or create one in the settings");
        }
        List<RunHeader> headers = new ArrayList<>();
        List<RunSummary> summaries = new ArrayList<>();
        List<List<RunRecord.Metric>> metrics = new ArrayList<>();
        List<List<RunRecord.LayerResult>> layers = new ArrayList<>();
        for (long id : ids) {
            StoredRun run = s.run(id).orElseThrow(() -> new SqueezeException(
                    "Run " + id + " is not in the results database " + s.location() + " (deleted meanwhile?)",
                    "reload the runs list and select the runs again"));
            RunSummary r = run.summary();
            summaries.add(r);
            headers.add(new RunHeader(r.id(), r.label(), r.modelName(), r.methodFamily(), run.planDescription()));
            metrics.add(s.metrics(id));
            layers.add(s.layerResults(id));
        }
        return compare(headers, summaries, metrics, layers);
    }

    /** The comparison of runs already read (package-private: the test of the diff rules calls it directly). */
    static Comparison compare(List<RunHeader> headers, List<RunSummary> summaries,
                              List<List<RunRecord.Metric>> metrics, List<List<RunRecord.LayerResult>> layers) {
        int n = headers.size();
        List<MetricDelta> rows = new ArrayList<>();
        List<Double> sizes = summaries.stream().map(r -> (double) r.sizeBytes()).toList();
        rows.add(delta(SIZE, "", sizes));
        rows.add(delta(BITS_PER_WEIGHT, "", summaries.stream().map(RunSummary::bitsPerWeight).toList()));
        // Metrics by (split, name): evaluation first, then the others alphabetically.
        Map<String, Map<String, Double[]>> bySplit = new TreeMap<>((a, b) -> a.equals(b) ? 0
                : a.equals("evaluation") ? -1 : b.equals("evaluation") ? 1 : a.compareTo(b));
        for (int r = 0; r < n; r++) {
            for (RunRecord.Metric m : metrics.get(r)) {
                bySplit.computeIfAbsent(m.split(), k -> new TreeMap<>())
                        .computeIfAbsent(m.name(), k -> new Double[n])[r] = m.value();
            }
        }
        bySplit.forEach((split, names) -> names.forEach((name, values) ->
                rows.add(delta(name, split, java.util.Arrays.asList(values)))));

        // Layers in the order the reference stored them, then layers only other runs have.
        Map<String, LayerCell[]> cells = new LinkedHashMap<>();
        for (int r = 0; r < n; r++) {
            for (RunRecord.LayerResult l : layers.get(r)) {
                cells.computeIfAbsent(l.layer(), k -> new LayerCell[n])[r] = new LayerCell(l.method(), l.settings(),
                        l.storedBits(), l.bitsPerWeight(), l.reconError(), l.millis());
            }
        }
        List<LayerDiff> diffs = new ArrayList<>();
        cells.forEach((layer, c) -> {
            List<LayerCell> list = new ArrayList<>();
            for (LayerCell cell : c) {
                list.add(cell == null ? LayerCell.ABSENT : cell);
            }
            diffs.add(new LayerDiff(layer, list));
        });
        return new Comparison(headers, rows, diffs);
    }

    private static MetricDelta delta(String name, String split, List<Double> values) {
        Double ref = values.getFirst();
        List<Double> deltas = new ArrayList<>();
        for (Double v : values) {
            deltas.add(ref == null || v == null ? null : v - ref);
        }
        return new MetricDelta(name, split, values, deltas);
    }

    public ReadOnlyObjectProperty<Comparison> comparison() {
        return comparison.getReadOnlyProperty();
    }

    public StringProperty title() {
        return title;
    }

    /** Why the runs could not be compared, or null. */
    public StringProperty error() {
        return error;
    }
}
