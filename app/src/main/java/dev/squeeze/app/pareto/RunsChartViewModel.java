package dev.squeeze.app.pareto;

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

    public ObservableList<RunSummary> runs() {
        return runs;
    }

    public ReadOnlyStringProperty title() {
        return title;
    }

    /** Shows the runs of one model; runs without an accuracy stay in the table but not on the chart. */
    public void show(String modelName, List<RunSummary> modelRuns) {
        title.set("Accuracy vs. size — " + modelName);
        runs.setAll(modelRuns);
    }

    /** Chart series a run belongs to: the method, i.e. the first word of its label ("dense", "RTN", …). */
    public static String seriesOf(RunSummary run) {
        String label = run.label();
        int space = label.indexOf(' ');
        return space < 0 ? label : label.substring(0, space);
    }
}
