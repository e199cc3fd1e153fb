package dev.squeeze.app.models;

import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.store.RunSummary;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;

import java.util.List;
import java.util.Locale;

/** The open model: its title and summary line (the plan editor shows its layers). */
public final class ModelViewModel {
    private final StringProperty title = new SimpleStringProperty("No model");
    private final StringProperty summary = new SimpleStringProperty("");

    public ReadOnlyStringProperty title() {
        return title;
    }

    public ReadOnlyStringProperty summary() {
        return summary;
    }

    /** Shows a model; the baseline is the accuracy of its first stored dense run, if any. */
    public void show(Model model, List<RunSummary> runs) {
        title.set(model.name());
        String baseline = runs.stream().filter(RunSummary::isBaseline)
                .findFirst().map(RunSummary::metricText).orElse("not measured yet");
        summary.set(String.format(Locale.ROOT, "%s · %s · %,d parameters · %s · baseline %s", model.format(),
                model.architecture(), model.parameterCount(), Bytes.human(model.storedBytes()), baseline));
    }
}
