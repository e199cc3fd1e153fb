package dev.squeeze.app.workbench;

import dev.squeeze.app.models.ModelViewModel;
import dev.squeeze.app.pareto.RunsChartViewModel;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.runs.Baselines;
import dev.squeeze.engine.samples.SampleModels;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/** State and commands of the workbench window; the feature view-models hang off it. */
public final class WorkbenchViewModel {
    private final Supplier<ResultsStore> storeFactory;
    private final EngineExecutor engine = new EngineExecutor();
    private final ModelViewModel model = new ModelViewModel();
    private final RunsChartViewModel runs = new RunsChartViewModel();
    private final StringProperty status = new SimpleStringProperty("Starting…");
    private final StringProperty error = new SimpleStringProperty();
    private final BooleanProperty busy = new SimpleBooleanProperty();
    /** Touched only on the engine thread. */
    private ResultsStore store;
    private boolean storeFailed;

    private final boolean measureBaselines;

    /**
     * @param measureBaselines whether opening a model measures its baseline when none is stored (a language
     *                         model's perplexity takes about a minute on the CPU)
     */
    public WorkbenchViewModel(Supplier<ResultsStore> storeFactory, boolean measureBaselines) {
        this.storeFactory = storeFactory;
        this.measureBaselines = measureBaselines;
    }

    public ModelViewModel model() {
        return model;
    }

    public RunsChartViewModel runs() {
        return runs;
    }

    public ReadOnlyStringProperty status() {
        return status;
    }

    /** The last error for the user, or null. */
    public StringProperty error() {
        return error;
    }

    public ReadOnlyBooleanProperty busy() {
        return busy;
    }

    private record Loaded(Model model, List<RunSummary> runs, String note) {
    }

    /** Opens the built-in sample model, computing its default runs on the first start. */
    public void openSample() {
        begin("Opening the built-in sample model…");
        engine.submit(() -> {
            SampleModels.Sample sample = SampleModels.fashionMlp();
            ResultsStore s = store();
            if (s == null) {
                return new Loaded(sample.model(), List.of(), null);
            }
            int added = SampleModels.ensureDefaultRuns(sample, s);
            String note = added > 0 ? "computed " + added + " runs on " + sample.evaluation().count() + " images" : null;
            return new Loaded(sample.model(), s.runs(sample.model().contentHash()), note);
        }, this::show, this::fail);
    }

    /**
     * Opens a model file (or a model folder) and shows its layers and stored runs at once; then, if no baseline is
     * stored yet, measures it on the model's default evaluation data in the background.
     */
    public void openFile(Path file) {
        begin("Opening " + file.getFileName() + "…");
        engine.submit(() -> {
            Model m = ModelFormats.open(file);
            ResultsStore s = store();
            return new Loaded(m, s == null ? List.of() : s.runs(m.contentHash()), null);
        }, loaded -> {
            show(loaded);
            measureBaseline(loaded);
        }, this::fail);
    }

    private void measureBaseline(Loaded loaded) {
        boolean hasBaseline = loaded.runs().stream().anyMatch(RunSummary::isBaseline);
        if (hasBaseline || !measureBaselines) {
            return;
        }
        begin("Measuring the baseline of " + loaded.model().name() + "…");
        engine.submit(() -> {
            ResultsStore s = store();
            if (s == null) {
                return new Loaded(loaded.model(), List.of(), "baseline not stored: no results database");
            }
            Baselines.Outcome outcome = Baselines.ensure(loaded.model(), s);
            String note = switch (outcome) {
                case Baselines.Outcome.Measured m -> "baseline measured on " + m.data();
                case Baselines.Outcome.Stored st -> null;
                case Baselines.Outcome.NoData nd -> "baseline not measured: " + nd.why();
            };
            return new Loaded(loaded.model(), s.runs(loaded.model().contentHash()), note);
        }, this::show, this::fail);
    }

    private void begin(String what) {
        busy.set(true);
        status.set(what);
    }

    private void show(Loaded loaded) {
        model.show(loaded.model(), loaded.runs());
        runs.show(loaded.model().name(), loaded.runs(), MetricKind.defaultFor(loaded.model()));
        busy.set(false);
        int n = loaded.runs().size();
        String base = loaded.model().name() + ": " + loaded.model().layers().size() + " layers, "
                + n + (n == 1 ? " stored run" : " stored runs");
        status.set(loaded.note() == null ? base : base + " (" + loaded.note() + ")");
    }

    private void fail(String message) {
        busy.set(false);
        status.set("Failed");
        error.set(message);
    }

    /** Opens the store once; a store that cannot be opened is reported and the workbench goes on without runs. */
    private ResultsStore store() {
        if (store == null && !storeFailed) {
            try {
                store = storeFactory.get();
            } catch (SqueezeException e) {
                storeFailed = true;
                javafx.application.Platform.runLater(() -> error.set(e.getMessage()
                        + "\n(The workbench continues without stored runs.)"));
            }
        }
        return store;
    }

    public void close() {
        engine.shutdown(() -> {
            if (store != null) {
                store.close();
            }
        });
    }
}
