package dev.squeeze.app.jobs;

import dev.squeeze.app.workbench.EngineExecutor;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.jobs.JobEvent;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.plan.Presets;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import javafx.application.Platform;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The workbench's background jobs: owns the {@link JobEngine} over the workbench's results database, keeps a row
 * per job (newest first) up to date from the engine's events, and queues, cancels and resumes jobs.
 *
 * <p>Every call into the engine runs on one background thread of its own (validating a plan opens the model;
 * every state change is a database write), never on the FX thread and never behind a long baseline measurement on
 * the workbench's engine thread. Events arrive on the engine's threads and hop to the FX thread.
 *
 * <p>The engine's worker count is fixed when it is made, so a new count makes a new engine, and only while no job
 * of this one is queued or running (closing a busy engine would interrupt its jobs); until then the new count
 * waits.
 */
public final class JobsViewModel {
    private static final Logger LOG = LoggerFactory.getLogger(JobsViewModel.class);
    public static final int MAX_WORKERS = 4;

    private final JobEngine.Options baseOptions;
    private final Consumer<Long> onRunStored;
    private final Consumer<String> onError;
    private final EngineExecutor executor = new EngineExecutor("squeeze-jobs");
    private final ObservableList<JobItem> jobs = FXCollections.observableArrayList();
    private final Map<Long, JobItem> byId = new HashMap<>();
    private final BooleanProperty available = new SimpleBooleanProperty();
    private final StringProperty unavailableReason = new SimpleStringProperty("Opening the results database…");
    private final IntegerProperty workers = new SimpleIntegerProperty();
    private final StringProperty interruptedNotice = new SimpleStringProperty();
    private final StringProperty openModelRef = new SimpleStringProperty();
    private final StringProperty openModelName = new SimpleStringProperty();
    private final Consumer<JobEvent> listener = e -> Platform.runLater(() -> apply(e));
    private List<Long> interrupted = List.of();

    /** Touched only on the jobs thread. */
    private ResultsStore store;
    private Path checkpointRoot;
    private Path temporaryRoot;
    private JobEngine engine;
    private boolean closed;

    /**
     * @param options     the engine's options (worker heap, JVM flags); the worker count is the spinner's start value
     * @param onRunStored called on the FX thread with the run id when a job ends DONE
     * @param onError     called on the FX thread with a message for the user
     */
    public JobsViewModel(JobEngine.Options options, Consumer<Long> onRunStored, Consumer<String> onError) {
        this.baseOptions = options;
        this.onRunStored = onRunStored;
        this.onError = onError;
        workers.set(Math.min(options.workers(), MAX_WORKERS));
        workers.addListener((obs, old, n) -> {
            int count = n.intValue();
            executor.execute(() -> applyWorkers(count));
        });
    }

    /** The jobs in the database, newest first. */
    public ObservableList<JobItem> jobs() {
        return jobs;
    }

    /** Whether jobs can be queued: the engine is running over an open results database. */
    public ReadOnlyBooleanProperty available() {
        return available;
    }

    /** Why jobs cannot be queued yet (or at all), for the table's placeholder. */
    public ReadOnlyStringProperty unavailableReason() {
        return unavailableReason;
    }

    /** Worker processes running at once, 1 to {@link #MAX_WORKERS}. */
    public IntegerProperty workers() {
        return workers;
    }

    /** A sentence about the jobs a previous Squeeze left unfinished; null when there are none (or it was dealt with). */
    public StringProperty interruptedNotice() {
        return interruptedNotice;
    }

    /** The model new jobs are queued for. */
    public void setOpenModel(String ref, String name) {
        openModelRef.set(ref);
        openModelName.set(name);
    }

    public ReadOnlyStringProperty openModelName() {
        return openModelName;
    }

    /**
     * Starts the engine over {@code store} (an in-memory store gets a temporary checkpoint folder) and shows the
     * jobs it holds. Called once, from any thread, when the workbench has opened its database.
     */
    public void attach(ResultsStore opened) {
        executor.execute(() -> {
            if (closed || engine != null) {
                return;
            }
            try {
                store = opened;
                checkpointRoot = opened.checkpointRoot();
                if (checkpointRoot == null) {
                    temporaryRoot = Files.createTempDirectory("squeeze-jobs");
                    checkpointRoot = temporaryRoot;
                }
                engine = newEngine(Math.min(baseOptions.workers(), MAX_WORKERS));
                List<JobRow> leftOver = engine.interruptedAtStart();
                List<JobRow> rows = engine.jobs().all();
                Platform.runLater(() -> {
                    available.set(true);
                    unavailableReason.set("No jobs yet: queue one for the open model");
                    merge(rows);
                    if (!leftOver.isEmpty()) {
                        interrupted = leftOver.stream().map(JobRow::id).toList();
                        interruptedNotice.set(noticeFor(leftOver));
                    }
                });
                // The spinner may say otherwise (or have moved while the engine started).
                Platform.runLater(() -> {
                    int wanted = workers.get();
                    executor.execute(() -> applyWorkers(wanted));
                });
            } catch (IOException | SqueezeException e) {
                String message = e instanceof SqueezeException ? e.getMessage()
                        : "Cannot create a folder for job checkpoints: " + e.getMessage();
                Platform.runLater(() -> {
                    unavailableReason.set("Jobs are unavailable: " + message);
                    onError.accept(message);
                });
            }
        });
    }

    /** The workbench has no results database: jobs cannot run (they store their runs there). */
    public void noDatabase() {
        unavailableReason.set("Jobs need the results database, which could not be opened");
    }

    /** "1 job was interrupted (…)" / "N jobs were interrupted (…)". */
    static String noticeFor(List<JobRow> rows) {
        StringBuilder s = new StringBuilder();
        s.append(rows.size()).append(rows.size() == 1 ? " job was interrupted (" : " jobs were interrupted (");
        if (rows.size() == 1) {
            JobRow j = rows.getFirst();
            s.append('#').append(j.id()).append(' ').append(j.label());
            if (j.reason() != null) {
                s.append(": ").append(j.reason());
            }
        } else {
            for (int i = 0; i < rows.size(); i++) {
                s.append(i == 0 ? "" : ", ").append('#').append(rows.get(i).id()).append(' ').append(rows.get(i).label());
            }
        }
        return s.append(") — Resume continues each from its last finished layer").toString();
    }

    /** Queues the open model with a preset plan (see {@link Presets#all()}). */
    public void queuePreset(String presetName) {
        if (Presets.byName(presetName) == null) {
            onError.accept("There is no preset '" + presetName + "'");
            return;
        }
        queue(presetName, () -> CompressionPlan.preset(presetName));
    }

    /** Queues the open model with the plan in a JSON file; the job is labelled with the file's name. */
    public void queuePlanFile(Path planFile) {
        String label = planFile.getFileName().toString().replaceFirst("(?i)\\.json$", "");
        queue(label, () -> CompressionPlan.read(planFile));
    }

    /** Queues the open model with a plan given as JSON text. */
    public void queuePlanJson(String label, String planJson) {
        queue(label, () -> CompressionPlan.parse(planJson));
    }

    private void queue(String label, java.util.function.Supplier<CompressionPlan> plan) {
        String ref = openModelRef.get();
        if (ref == null) {
            onError.accept("Open a model first: jobs compress the open model");
            return;
        }
        executor.submit(() -> {
            JobEngine e = requireEngine();
            return e.submit(JobSpec.of(ref, plan.get(), label));
        }, id -> refresh(), onError);
    }

    /** Cancels a job (a queued one at once, a running one at its next safe point). */
    public void cancel(long id) {
        executor.submit(() -> {
            requireEngine().cancel(id);
            return id;
        }, x -> refresh(), onError);
    }

    /** Queues a failed, interrupted or cancelled job again; it continues from its checkpoints. */
    public void resume(long id) {
        executor.submit(() -> {
            requireEngine().resume(id);
            return id;
        }, x -> refresh(), onError);
    }

    /** Resumes the jobs the previous Squeeze left unfinished (those still resumable) and clears the notice. */
    public void resumeInterrupted() {
        List<Long> ids = interrupted;
        interrupted = List.of();
        interruptedNotice.set(null);
        executor.submit(() -> {
            JobEngine e = requireEngine();
            List<String> problems = new ArrayList<>();
            for (long id : ids) {
                JobStatus now = e.jobs().get(id).map(JobRow::status).orElse(null);
                if (canResume(now)) {
                    try {
                        e.resume(id);
                    } catch (SqueezeException ex) {
                        problems.add(ex.getMessage());
                    }
                }
            }
            if (!problems.isEmpty()) {
                throw new SqueezeException(String.join("\n", problems), "resume them from the job table");
            }
            return ids.size();
        }, x -> refresh(), onError);
    }

    /** Whether the Cancel button applies to a job in state {@code s} (none selected: no). */
    public static boolean canCancel(JobStatus s) {
        return s != null && s.canCancel();
    }

    /** Whether the Resume button applies to a job in state {@code s} (none selected: no). */
    public static boolean canResume(JobStatus s) {
        return s != null && s.canResume();
    }

    /** Reads every job from the database again. */
    public void refresh() {
        executor.submit(() -> engine == null ? null : engine.jobs().all(), rows -> {
            if (rows != null) {
                merge(rows);
            }
        }, onError);
    }

    private JobEngine requireEngine() {
        if (engine == null) {
            throw new SqueezeException("Jobs are not available: " + unavailableReason.get(),
                    "jobs need the results database; see the message shown when it was opened");
        }
        return engine;
    }

    private JobEngine newEngine(int n) {
        JobEngine e = new JobEngine(store, checkpointRoot, baseOptions.withWorkers(n));
        e.addListener(listener);
        return e;
    }

    /** On the jobs thread: a new engine with {@code n} workers, if the current one is idle. */
    private void applyWorkers(int n) {
        if (engine == null || closed || engine.options().workers() == n || !engine.activeJobs().isEmpty()) {
            return;
        }
        engine.removeListener(listener);
        engine.close();
        engine = newEngine(n);
        LOG.info("job engine now runs {} worker(s) at once", n);
    }

    /** On the FX thread. */
    private void apply(JobEvent e) {
        JobItem item = byId.get(e.jobId());
        if (item == null) {
            refresh(); // a job this view has not read yet: the database has it
            return;
        }
        item.update(e);
        if (e.kind() == JobEvent.Kind.ENDED) {
            // The database has the final word (and a refresh queued now reads after the job's end was written).
            refresh();
            if (e.status() == JobStatus.DONE && e.runId() != null) {
                onRunStored.accept(e.runId());
            }
            int wanted = workers.get();
            executor.execute(() -> applyWorkers(wanted));
        }
    }

    /** On the FX thread: the database's rows into the table, keeping existing rows (and the selection). */
    private void merge(List<JobRow> rows) {
        List<JobItem> fresh = new ArrayList<>();
        for (JobRow r : rows) {
            JobItem item = byId.get(r.id());
            if (item == null) {
                item = new JobItem(r);
                byId.put(r.id(), item);
                fresh.add(item);
            } else {
                item.update(r);
            }
        }
        if (!fresh.isEmpty()) {
            fresh.sort(Comparator.comparingLong(JobItem::id).reversed());
            jobs.addAll(0, fresh);
            FXCollections.sort(jobs, Comparator.comparingLong(JobItem::id).reversed());
        }
    }

    /**
     * Ends the engine: running workers stop and their jobs become INTERRUPTED (resumable on the next start).
     * Blocks until the engine has recorded that (the database must stay open until then).
     */
    public void close() {
        executor.shutdown(() -> {
            closed = true;
            if (engine != null) {
                engine.removeListener(listener);
                engine.close();
            }
            if (temporaryRoot != null) {
                deleteTree(temporaryRoot);
            }
        }, 60);
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> all = Files.walk(root)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("could not delete the temporary job folder {}: {}", root, e.getMessage());
        }
    }
}
