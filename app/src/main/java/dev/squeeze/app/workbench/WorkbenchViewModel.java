package dev.squeeze.app.workbench;

import dev.squeeze.app.jobs.JobsViewModel;
import dev.squeeze.app.models.ModelViewModel;
import dev.squeeze.app.pareto.RunsChartViewModel;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.jobs.JobEngine;
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
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
    private final EngineExecutor engine = new EngineExecutor();
    private final ModelViewModel model = new ModelViewModel();
    private final RunsChartViewModel runs = new RunsChartViewModel();
    private final JobsViewModel jobs;
    private final StringProperty status = new SimpleStringProperty("Starting…");
    private final StringProperty error = new SimpleStringProperty();
    private final BooleanProperty busy = new SimpleBooleanProperty();
    /** Touched only on the engine thread. */
    private ResultsStore store;
    private boolean storeFailed;
    /** The model on show; touched only on the FX thread. */
    private Model current;

    private final boolean measureBaselines;

    /**
     * @param measureBaselines whether opening a model measures its baseline when none is stored (a language
     *                         model's perplexity takes about a minute on the CPU)
     */
    public WorkbenchViewModel(Supplier<ResultsStore> storeFactory, boolean measureBaselines) {
        this(storeFactory, measureBaselines, JobEngine.Options.defaults());
    }

    /** @param jobOptions the options of the background job engine (worker heap; tests pass smaller ones) */
    public WorkbenchViewModel(Supplier<ResultsStore> storeFactory, boolean measureBaselines,
                              JobEngine.Options jobOptions) {
        this.storeFactory = storeFactory;
        this.measureBaselines = measureBaselines;
        this.jobs = new JobsViewModel(jobOptions, this::runStored, error::set);
    }

    /** The background jobs over the workbench's results database. */
    public JobsViewModel jobs() {
        return jobs;
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
        current = loaded.model();
        jobs.setOpenModel(current.source(), current.name());
        model.show(loaded.model(), loaded.runs());
        runs.show(loaded.model().name(), loaded.runs(), MetricKind.defaultFor(loaded.model()));
        busy.set(false);
        int n = loaded.runs().size();
        String base = loaded.model().name() + ": " + loaded.model().layers().size() + " layers, "
                + n + (n == 1 ? " stored run" : " stored runs");
        status.set(loaded.note() == null ? base : base + " (" + loaded.note() + ")");
    }

    /** A job stored a run: show the open model's runs again (the chart and the table). */
    private void runStored(long runId) {
        reloadRuns("a job stored run " + runId);
    }

    /** Reads the open model's runs again (the chart and the table); {@code note} goes on the status line. */
    public void reloadRuns(String note) {
        Model m = current;
        if (m == null) {
            return;
        }
        engine.submit(() -> {
            ResultsStore s = store();
            return s == null ? List.<RunSummary>of() : s.runs(m.contentHash());
        }, stored -> {
            if (current != m) {
                return; // another model was opened meanwhile; it showed its own runs
            }
            runs.show(m.name(), stored, MetricKind.defaultFor(m));
            if (!busy.get()) {
                status.set(m.name() + ": " + m.layers().size() + " layers, " + stored.size()
                        + (stored.size() == 1 ? " stored run" : " stored runs") + (note == null ? "" : " (" + note + ")"));
            }
        }, this::fail);
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
                jobs.attach(store);
            } catch (SqueezeException e) {
                storeFailed = true;
                javafx.application.Platform.runLater(jobs::noDatabase);
                javafx.application.Platform.runLater(() -> error.set(e.getMessage()
                        + "\n(The workbench continues without stored runs.)"));
            }
        }
        return store;
    }

    /**
     * Closes the job engine first (running jobs become INTERRUPTED, resumable on the next start; that is written
     * to the database, so it must still be open), then the database.
     */
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        jobs.close();
        engine.shutdown(() -> {
            if (store != null) {
                store.close();
            }
        });
    }
}
