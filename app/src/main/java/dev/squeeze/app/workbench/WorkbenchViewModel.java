package dev.squeeze.app.workbench;

import dev.squeeze.app.jobs.JobItem;
import dev.squeeze.app.jobs.JobsViewModel;
import dev.squeeze.app.models.ModelViewModel;
import dev.squeeze.app.pareto.ParetoViewModel;
import dev.squeeze.app.report.ReportViewModel;
import dev.squeeze.app.plan.PlanEditorViewModel;
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
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * State and commands of the workbench window; the feature view-models hang off it. Engine work runs on the
 * injected {@link TaskExecutor} (one task at a time: the results store has one writer), so this class is tested
 * without a JavaFX toolkit.
 */
public final class WorkbenchViewModel {
    private final Supplier<ResultsStore> storeFactory;
    private final Function<Path, ResultsStore> databaseOpener;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final TaskExecutor engine;
    private final EngineExecutor ownedExecutor;
    private final JobEngine.Options jobOptions;
    private final ModelViewModel model = new ModelViewModel();
    private final ParetoViewModel pareto;
    private final ReportViewModel reports;
    /** The plan editor's own thread in the window (its size summaries must not wait behind a baseline). */
    private final EngineExecutor planThread;
    private final PlanEditorViewModel plan;
    private final dev.squeeze.app.search.SensitivityViewModel sensitivity;
    private final NotificationsViewModel notifications = new NotificationsViewModel();
    private final ReadOnlyObjectWrapper<JobsViewModel> jobs = new ReadOnlyObjectWrapper<>();
    private final IntegerProperty workers = new SimpleIntegerProperty();
    private final javafx.beans.property.ObjectProperty<JobEngine.Launcher> launcher =
            new javafx.beans.property.SimpleObjectProperty<>();
    private final StringProperty launcherProblem = new SimpleStringProperty();
    private final StringProperty status = new SimpleStringProperty("Starting…");
    private final BooleanProperty busy = new SimpleBooleanProperty();
    private final ReadOnlyObjectWrapper<Model> current = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<Path> database = new ReadOnlyObjectWrapper<>();
    private Consumer<Path> onFileOpened = p -> { };
    private Notification interruptedNotice;
    /** Opened and closed only on the engine thread; read elsewhere (the sensitivity thread) once open. */
    private volatile ResultsStore store;
    private boolean storeFailed;
    /** The jobs view-model the engine thread attaches the store to (it changes when the database does). */
    private volatile JobsViewModel jobsForStore;

    private final boolean measureBaselines;

    /**
     * The workbench with its own engine thread.
     *
     * @param measureBaselines whether opening a model measures its baseline when none is stored (a language
     *                         model's perplexity takes about a minute on the CPU)
     */
    public WorkbenchViewModel(Supplier<ResultsStore> storeFactory, boolean measureBaselines) {
        this(storeFactory, measureBaselines, JobEngine.Options.defaults());
    }

    /** @param jobOptions the options of the background job engine (worker heap; tests pass smaller ones) */
    public WorkbenchViewModel(Supplier<ResultsStore> storeFactory, boolean measureBaselines,
                              JobEngine.Options jobOptions) {
        this(new EngineExecutor(), true, storeFactory, ResultsStore::openFile, measureBaselines, jobOptions);
    }

    /**
     * The workbench over an injected executor (tests pass {@code InlineExecutor}); the caller shuts it down.
     *
     * @param storeFactory   opens the first results database (called once, inside executor work; may throw
     *                       {@link SqueezeException}, then the workbench goes on without stored runs)
     * @param databaseOpener opens a database the user picks in the settings (a base path; H2 adds .mv.db)
     */
    public WorkbenchViewModel(TaskExecutor executor, Supplier<ResultsStore> storeFactory,
                              Function<Path, ResultsStore> databaseOpener, boolean measureBaselines,
                              JobEngine.Options jobOptions) {
        this(executor, false, storeFactory, databaseOpener, measureBaselines, jobOptions);
    }

    private WorkbenchViewModel(TaskExecutor executor, boolean owned, Supplier<ResultsStore> storeFactory,
                               Function<Path, ResultsStore> databaseOpener, boolean measureBaselines,
                               JobEngine.Options jobOptions) {
        this.engine = executor;
        this.ownedExecutor = owned ? (EngineExecutor) executor : null;
        this.storeFactory = storeFactory;
        this.databaseOpener = databaseOpener;
        this.measureBaselines = measureBaselines;
        this.jobOptions = jobOptions;
        this.pareto = new ParetoViewModel(executor, this::store);
        this.reports = new ReportViewModel(executor, this::store, notifications::add);
        this.planThread = executor instanceof EngineExecutor ? new EngineExecutor("squeeze-plan") : null;
        this.plan = new PlanEditorViewModel(planThread != null ? planThread : executor);
        // Measuring sensitivity takes minutes: a thread of its own, so reads and baselines do not wait behind it.
        this.sensitivity = new dev.squeeze.app.search.SensitivityViewModel(executor.dedicated("squeeze-sensitivity"));
        plan.sensitivity().bind(sensitivity.table());
        sensitivity.source().set(new dev.squeeze.app.search.EngineSensitivitySource(() -> store));
        // The editor launches on whichever jobs view-model is current (a new one after a database switch).
        plan.setOnLaunch((label, json) -> jobs().queuePlanJson(label, json));
        // The explorer's read and export failures go to the banner like every other error.
        pareto.error().addListener((obs, old, message) -> {
            if (message != null) {
                notifications.error(message);
                pareto.error().set(null);
            }
        });
        pareto.setAnnounce(text -> notifications.add(Notification.of(text)));
        this.workers.set(Math.max(1, Math.min(jobOptions.workers(), JobsViewModel.MAX_WORKERS)));
        this.launcher.set(jobOptions.launcher() == null ? JobEngine.Launcher.LOCAL : jobOptions.launcher());
        useJobs(newJobs());
    }

    private JobsViewModel newJobs() {
        JobEngine.Options options = jobOptions.withWorkers(workers.get()).withLauncher(launcher.get());
        // In the window the jobs get a thread of their own: closing the jobs (when the database is switched) runs on
        // the engine thread and waits for the jobs' last task, which must not queue behind it. An injected
        // executor that runs inline (tests without a toolkit) has no such queue and is shared.
        return engine instanceof EngineExecutor
                ? new JobsViewModel(options, this::runStored, notifications::error)
                : new JobsViewModel(options, engine, this::runStored, notifications::error);
    }

    /** On the FX thread: {@code next} becomes the window's jobs (bound to the worker count, its notice shown). */
    private void useJobs(JobsViewModel next) {
        JobsViewModel old = jobs.get();
        if (old != null) {
            old.workers().unbindBidirectional(workers);
            old.launcher().unbind();
            old.launcherProblem().unbind();
        }
        if (interruptedNotice != null) {
            notifications.remove(interruptedNotice);
            interruptedNotice = null;
        }
        next.workers().bindBidirectional(workers);
        next.launcher().bind(launcher);
        next.launcherProblem().bind(launcherProblem);
        next.interruptedNotice().addListener((obs, was, notice) -> {
            if (jobs.get() != next) {
                return;
            }
            if (interruptedNotice != null) {
                notifications.remove(interruptedNotice);
                interruptedNotice = null;
            }
            if (notice != null) {
                // Jobs a previous Squeeze left unfinished: offer to resume them.
                interruptedNotice = Notification.withAction(notice, "Resume", () -> {
                    next.resumeInterrupted();
                    next.interruptedNotice().set(null);
                });
                notifications.add(interruptedNotice);
            }
        });
        Model m = current.get();
        if (m != null) {
            next.setOpenModel(m.source(), m.name());
        }
        jobsForStore = next;
        jobs.set(next);
    }

    /** The background jobs over the workbench's results database (a new one after the database is switched). */
    public JobsViewModel jobs() {
        return jobs.get();
    }

    /** The jobs view-model as a property: it is replaced when the user switches the database. */
    public ReadOnlyObjectProperty<JobsViewModel> jobsProperty() {
        return jobs.getReadOnlyProperty();
    }

    /** Jobs running at once; bound to every jobs view-model in turn (the settings bind to it). */
    public IntegerProperty workers() {
        return workers;
    }

    /**
     * Where new jobs run (the settings bind it); bound to every jobs view-model in turn. Null while the chosen
     * launcher's settings have a problem ({@link #launcherProblem()}).
     */
    public javafx.beans.property.ObjectProperty<JobEngine.Launcher> launcher() {
        return launcher;
    }

    /** Why new jobs cannot be launched as the settings ask, or null; bound to every jobs view-model in turn. */
    public StringProperty launcherProblem() {
        return launcherProblem;
    }

    public ModelViewModel model() {
        return model;
    }

    /** The per-layer plan editor of the open model. */
    public PlanEditorViewModel plan() {
        return plan;
    }

    /** The open model's per-layer sensitivity (the plan editor's column and chart). */
    public dev.squeeze.app.search.SensitivityViewModel sensitivity() {
        return sensitivity;
    }

    /** What the "Find best plan" dialog uses: the current jobs and the results database. */
    public dev.squeeze.app.search.SearchJobs searchJobs() {
        return new dev.squeeze.app.search.WorkbenchSearchJobs(this::jobs, engine, this::store);
    }

    /** Writes comparison reports ("Report…" in the explorer and the comparison view). */
    public ReportViewModel reports() {
        return reports;
    }

    /** The Pareto explorer over the stored runs (the open model's, or all models'). */
    public ParetoViewModel pareto() {
        return pareto;
    }

    /** The messages for the user (errors, notices); the banner shows them. */
    public NotificationsViewModel notifications() {
        return notifications;
    }

    /** Queues a message for the user (as the engine words it: first line, then details). */
    public void report(String message) {
        notifications.error(message);
    }

    public ReadOnlyStringProperty status() {
        return status;
    }

    public ReadOnlyBooleanProperty busy() {
        return busy;
    }

    /** The model on show, or null before the first one opened (the plan editor and others follow it). */
    public ReadOnlyObjectProperty<Model> currentModel() {
        return current.getReadOnlyProperty();
    }

    /** The database switched to in this session, or null while the first one is in use. */
    public ReadOnlyObjectProperty<Path> switchedDatabase() {
        return database.getReadOnlyProperty();
    }

    /** Called on the FX thread with each model file or folder that opened successfully (recent models). */
    public void setOnFileOpened(Consumer<Path> onFileOpened) {
        this.onFileOpened = onFileOpened == null ? p -> { } : onFileOpened;
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
            onFileOpened.accept(file);
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
        current.set(loaded.model());
        jobs().setOpenModel(loaded.model().source(), loaded.model().name());
        model.show(loaded.model(), loaded.runs());
        if (plan.model() != loaded.model()) {
            plan.show(loaded.model());
            sensitivity.show(loaded.model());
        }
        pareto.showModel(loaded.model().contentHash(), loaded.model().name(), MetricKind.defaultFor(loaded.model()));
        busy.set(false);
        status.set(statusLine(loaded.model(), loaded.runs().size(), loaded.note()));
    }

    private static String statusLine(Model m, int runs, String note) {
        String base = m.name() + ": " + m.layers().size() + " layers, " + runs + (runs == 1 ? " stored run" : " stored runs");
        return note == null ? base : base + " (" + note + ")";
    }

    /** A job stored a run: show the open model's runs again (the chart and the table). */
    private void runStored(long runId) {
        reloadRuns("a job stored run " + runId);
    }

    /** Reads the open model's runs again (the chart and the table); {@code note} goes on the status line. */
    public void reloadRuns(String note) {
        Model m = current.get();
        if (m == null) {
            return;
        }
        engine.submit(() -> {
            ResultsStore s = store();
            return s == null ? List.<RunSummary>of() : s.runs(m.contentHash());
        }, stored -> {
            if (current.get() != m) {
                return; // another model was opened meanwhile; it showed its own runs
            }
            pareto.reload();
            model.show(m, stored);
            if (!busy.get()) {
                status.set(statusLine(m, stored.size(), note));
            }
        }, this::fail);
    }

    /**
     * Switches to the results database at {@code base} (H2 adds .mv.db; a new file is created): it is opened
     * in the background; if that fails the message is shown and the current database stays in use. On success
     * the old jobs engine is closed, the old database closed, a jobs view-model over the new one replaces
     * {@link #jobs()}, the open model's runs are read from it, and {@code onSwitched} runs (to remember it).
     * Refused while jobs are queued or running (they write into the current database).
     */
    public void switchDatabase(Path base, Runnable onSwitched) {
        switchDatabase(base, onSwitched, message -> { });
    }

    /** As {@link #switchDatabase(Path, Runnable)}; {@code onFailed} also gets the reason (the dialog shows it). */
    public void switchDatabase(Path base, Runnable onSwitched, Consumer<String> onFailed) {
        long active = jobs().jobs().stream().map(JobItem::status).filter(s -> !s.get().ended()).count();
        if (active > 0) {
            String message = "Cannot switch the results database while " + active
                    + (active == 1 ? " job is" : " jobs are") + " queued or running: they store their runs in the"
                    + " current one.\n  Fix: wait for them to finish or cancel them, then switch.";
            report(message);
            onFailed.accept(message);
            return;
        }
        begin("Opening the results database " + base + "…");
        JobsViewModel oldJobs = jobs();
        engine.submit(() -> {
            ResultsStore opened = databaseOpener.apply(base);
            // The old engine writes to the old database until it is closed: close it first, then the database.
            oldJobs.close();
            if (store != null) {
                store.close();
            }
            store = opened;
            storeFailed = false;
            return opened;
        }, opened -> {
            JobsViewModel next = newJobs();
            useJobs(next);
            next.attach(opened);
            database.set(base);
            busy.set(false);
            status.set("Using the results database " + base);
            onSwitched.run();
            reloadRuns("results database " + base);
        }, message -> {
            busy.set(false);
            status.set("The results database was not switched");
            String full = "Cannot use " + base + " as the results database; the current one stays in use.\n" + message;
            report(full);
            onFailed.accept(full);
        });
    }

    private void fail(String message) {
        busy.set(false);
        status.set("Failed");
        report(message);
    }

    /** Opens the store once; a store that cannot be opened is reported and the workbench goes on without runs. */
    private ResultsStore store() {
        if (store == null && !storeFailed) {
            try {
                store = storeFactory.get();
                jobsForStore.attach(store);
            } catch (SqueezeException e) {
                storeFailed = true;
                JobsViewModel j = jobsForStore;
                engine.publish(() -> {
                    j.noDatabase();
                    report(e.getMessage() + "\n(The workbench continues without stored runs.)");
                });
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
        jobs().close();
        if (planThread != null) {
            planThread.shutdown(() -> { }, 2);
        }
        Runnable closeStore = () -> {
            if (store != null) {
                store.close();
            }
        };
        if (ownedExecutor != null) {
            ownedExecutor.shutdown(closeStore);
        } else {
            engine.execute(closeStore);
        }
    }
}
