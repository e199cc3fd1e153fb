package dev.squeeze.app.pareto;

import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.store.RunSummary;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.util.List;

/** The stored runs of the open model, as the accuracy-versus-size chart and its table show them. */
public final class RunsChartViewModel {
    private final ObservableList<RunSummary> runs = FXCollections.observableArrayList();
    private final StringProperty title = new SimpleStringProperty("Runs");
    private MetricKind metric = MetricKind.TOP1;

    public ObservableList<RunSummary> runs() {
        return runs;
    }

    public ReadOnlyStringProperty title() {
        return title;
    }

    /**
     * Shows the runs of one model. The chart's metric is the headline metric of its runs (top-1 for a classifier,
     * perplexity for a language model; {@code modelMetric} when no run has one yet); runs without it stay in the
     * table but not on the chart.
     */
    public void show(String modelName, List<RunSummary> modelRuns, MetricKind modelMetric) {
        metric = modelRuns.stream().map(RunSummary::metric).filter(java.util.Objects::nonNull).findFirst()
                .orElse(modelMetric);
        String what = metric == MetricKind.TOP1 ? "Accuracy" : "Perplexity";
        title.set(what + " vs. size — " + modelName);
        runs.setAll(modelRuns);
    }

    /** The metric on the chart's vertical axis. */
    public MetricKind metric() {
        return metric;
    }

    /** Chart series a run belongs to: the method, i.e. the first word of its label ("dense", "RTN", …). */
    public static String seriesOf(RunSummary run) {
        String label = run.label();
        int space = label.indexOf(' ');
        return space < 0 ? label : label.substring(0, space);
    }
}
