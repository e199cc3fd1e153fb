package dev.squeeze.app.jobs;

import dev.squeeze.app.workbench.EngineExecutor;
import dev.squeeze.app.workbench.TaskExecutor;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.jobs.JobEvent;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import javafx.collections.transformation.FilteredList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The workbench's background jobs: owns the {@link JobEngine} over the workbench's results database, keeps a row
 * per job (newest first) up to date from the engine's events, and queues, cancels and resumes jobs.
 *
 * <p>Every call into the engine runs on the {@link TaskExecutor} it is given (in the workbench a background thread
 * of its own: validating a plan opens the model, every state change is a database write), never on the FX thread
 * and never behind a long baseline measurement on the workbench's engine thread. Events arrive on the engine's
 * threads and are published where the view's properties may change ({@link TaskExecutor#publish}).
 *
 * <p>Each row shows the elapsed time, an ETA, the phase with its own progress (evaluation moves too), and the
 * job's log on demand ({@link #showLog}); {@link #onlyOpenModel()} filters {@link #shownJobs()} to the open model.
 * A job that finishes or fails says so in {@link #lastAnnouncement()} (the view shows it without taking focus).
 *
 * <p>Changing {@link #workers()} changes the running engine's worker count ({@link JobEngine#setWorkers}): more
 * starts queued jobs at once, fewer lets the running ones finish.
 */
public final class JobsViewModel {
    private static final Logger LOG = LoggerFactory.getLogger(JobsViewModel.class);
    public static final int MAX_WORKERS = 4;

    private final JobEngine.Options baseOptions;
    private final Consumer<Long> onRunStored;
    private final Consumer<String> onError;
    /** Lines of a job's log that {@link #showLog} shows: its end. */
    public static final int LOG_LINES = 200;

    /**
     * A job's log as read for the user.
     *
     * @param file  where the log is ({@code <checkpoints>/job-<id>.log})
     * @param text  its last {@link #LOG_LINES} lines, or a sentence saying why there is none
     * @param found whether the file exists
     * @param request a number that differs between requests, so showing the same log again is a change
     * @param where   where the job runs or ran ({@link JobRow#where()}, e.g. "Slurm job 12 on node2")
     */
    public record JobLog(long jobId, String label, Path file, String text, boolean found, long request, String where) {
    }

    /**
     * A job that ended by itself, for a transient message.
     *
     * @param sequence increases with every announcement (two with the same words are two changes)
     */
    public record Announcement(long sequence, long jobId, JobStatus status, String text) {
    }

    private final TaskExecutor executor;
    /** The executor this view-model made for itself (the workbench's constructor), shut down by {@link #close}. */
    private final EngineExecutor ownExecutor;
    private final Clock clock;
    private final ObservableList<JobItem> jobs = FXCollections.observableArrayList();
    private final FilteredList<JobItem> shown = new FilteredList<>(jobs, j -> true);
    private final BooleanProperty onlyOpenModel = new SimpleBooleanProperty();
    private final ObjectProperty<Announcement> lastAnnouncement = new SimpleObjectProperty<>();
    private final ObjectProperty<JobLog> jobLog = new SimpleObjectProperty<>();
    private long announcements;
    private long logRequests;
    private final Map<Long, JobItem> byId = new HashMap<>();
    private final BooleanProperty available = new SimpleBooleanProperty();
    private final StringProperty unavailableReason = new SimpleStringProperty("Opening the results database…");
    private final IntegerProperty workers = new SimpleIntegerProperty();
    private final ObjectProperty<JobEngine.Launcher> launcher = new SimpleObjectProperty<>();
    private final StringProperty launcherProblem = new SimpleStringProperty();
    private final StringProperty interruptedNotice = new SimpleStringProperty();
    private final StringProperty openModelRef = new SimpleStringProperty();
    private final StringProperty openModelName = new SimpleStringProperty();
    private final Consumer<JobEvent> listener = this::accept;
    private final List<Consumer<JobEvent>> eventListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private List<Long> interrupted = List.of();

    /** Touched only on the jobs thread. */
    private ResultsStore store;
    private Path checkpointRoot;
    private Path temporaryRoot;
    private JobEngine engine;
    private boolean closed;

    /**
     * Jobs whose engine work runs on a background thread of their own.
     *
     * @param options     the engine's options (worker heap, JVM flags); the worker count is the spinner's start value
     * @param onRunStored called on the FX thread with the run id when a job ends DONE
     * @param onError     called on the FX thread with a message for the user
     */
    public JobsViewModel(JobEngine.Options options, Consumer<Long> onRunStored, Consumer<String> onError) {
        this(options, new EngineExecutor("squeeze-jobs"), true, Clock.systemUTC(), onRunStored, onError);
    }

    /**
     * Jobs whose engine work runs on {@code executor} (tests pass one that runs inline), timed by the system clock.
     * The caller owns the executor: {@link #close()} waits for its own last task but does not shut it down.
     */
    public JobsViewModel(JobEngine.Options options, TaskExecutor executor, Consumer<Long> onRunStored,
                         Consumer<String> onError) {
        this(options, executor, false, Clock.systemUTC(), onRunStored, onError);
    }

    /** As {@link #JobsViewModel(JobEngine.Options, TaskExecutor, Consumer, Consumer)}, timed by {@code clock}. */
    public JobsViewModel(JobEngine.Options options, TaskExecutor executor, Clock clock, Consumer<Long> onRunStored,
                         Consumer<String> onError) {
        this(options, executor, false, clock, onRunStored, onError);
    }

    private JobsViewModel(JobEngine.Options options, TaskExecutor executor, boolean own, Clock clock,
                          Consumer<Long> onRunStored, Consumer<String> onError) {
        this.baseOptions = options;
        this.executor = executor;
        this.ownExecutor = own ? (EngineExecutor) executor : null;
        this.clock = clock;
        this.onRunStored = onRunStored;
        this.onError = onError;
        workers.set(Math.min(options.workers(), MAX_WORKERS));
        workers.addListener((obs, old, n) -> {
            int count = n.intValue();
            executor.execute(() -> applyWorkers(count));
        });
        launcher.set(options.launcher() == null ? JobEngine.Launcher.LOCAL : options.launcher());
        launcher.addListener((obs, old, l) -> executor.execute(() -> applyLauncher(l)));
        onlyOpenModel.addListener((obs, old, only) -> refilter());
        openModelRef.addListener((obs, old, ref) -> refilter());
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

    /**
     * Worker processes running at once, 1 to {@link #MAX_WORKERS}. Setting it changes the running engine's count
     * ({@link JobEngine#setWorkers}); queued and running jobs carry on.
     */
    public IntegerProperty workers() {
        return workers;
    }

    /**
     * Where jobs queued from now on run: {@link JobEngine.Launcher#LOCAL} or a Slurm cluster. Setting it changes the
     * running engine's launcher ({@link JobEngine#setLauncher}); queued and running jobs stay where they are, and
     * Resume runs a job again where it was submitted. Null (or a {@link #launcherProblem()}) refuses new jobs.
     */
    public ObjectProperty<JobEngine.Launcher> launcher() {
        return launcher;
    }

    /** Why new jobs cannot be launched as the settings ask (e.g. a Slurm setting is wrong), or null. */
    public StringProperty launcherProblem() {
        return launcherProblem;
    }

    /** Sets {@link #workers()}, clamped to 1..{@link #MAX_WORKERS}. */
    public void setWorkers(int n) {
        workers.set(Math.max(1, Math.min(MAX_WORKERS, n)));
    }

    /** The jobs the table shows: all, or those of the open model ({@link #onlyOpenModel()}); newest first. */
    public ObservableList<JobItem> shownJobs() {
        return shown;
    }

    /** Whether {@link #shownJobs()} holds only the open model's jobs ("this model") rather than all ("all"). */
    public BooleanProperty onlyOpenModel() {
        return onlyOpenModel;
    }

    /**
     * The latest job that ended by itself (DONE or FAILED; not one cancelled by the user or stopped by closing),
     * e.g. "Job #5 rtn4 finished in 0:42: run 12 stored"; null until one has. The view shows it briefly without
     * taking focus.
     */
    public ReadOnlyObjectProperty<Announcement> lastAnnouncement() {
        return lastAnnouncement;
    }

    /** The log asked for with {@link #showLog}, once it has been read (off the FX thread); null before. */
    public ReadOnlyObjectProperty<JobLog> jobLog() {
        return jobLog;
    }

    /** Moves every row's elapsed time and ETA on to the clock's now (the view calls this every second). */
    public void tick() {
        Instant now = clock.instant();
        for (JobItem j : jobs) {
            if (j.status().get() == JobStatus.RUNNING) {
                j.tick(now);
            }
        }
    }

    private void refilter() {
        String ref = openModelRef.get();
        if (!onlyOpenModel.get() || ref == null) {
            shown.setPredicate(j -> true);
            return;
        }
        String canonical = ModelRefs.canonical(ref);
        shown.setPredicate(j -> canonical.equals(j.model()));
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
                executor.publish(() -> {
                    available.set(true);
                    unavailableReason.set("No jobs yet: queue one for the open model");
                    merge(rows);
                    if (!leftOver.isEmpty()) {
                        interrupted = leftOver.stream().map(JobRow::id).toList();
                        interruptedNotice.set(noticeFor(leftOver));
                    }
                });
                // The spinner and the settings may say otherwise (or have moved while the engine started).
                executor.publish(() -> {
                    int wanted = workers.get();
                    JobEngine.Launcher where = launcher.get();
                    executor.execute(() -> {
                        applyWorkers(wanted);
                        applyLauncher(where);
                    });
                });
            } catch (IOException | SqueezeException e) {
                String message = e instanceof SqueezeException ? e.getMessage()
                        : "Cannot create a folder for job checkpoints: " + e.getMessage();
                executor.publish(() -> {
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
        String refused = launchRefusal();
        if (refused != null) {
            onError.accept(refused);
            return;
        }
        executor.submit(() -> {
            JobEngine e = requireEngine();
            return e.submit(JobSpec.of(ref, plan.get(), label));
        }, id -> refresh(), onError);
    }

    /**
     * Queues a job described in full (a search: {@link JobSpec#search}); {@code onQueued} gets its id, or
     * {@code onError} the reason it was refused (both on the FX thread).
     */
    public void queue(JobSpec spec, Consumer<Long> onQueued, Consumer<String> onError) {
        String refused = launchRefusal();
        if (refused != null) {
            onError.accept(refused);
            return;
        }
        executor.submit(() -> requireEngine().submit(spec), id -> {
            refresh();
            onQueued.accept(id);
        }, onError);
    }

    /** Sends every job event to {@code listener} where the view's properties may change, until the handle runs. */
    public Runnable addEventListener(Consumer<JobEvent> listener) {
        eventListeners.add(listener);
        return () -> eventListeners.remove(listener);
    }

    /** On the FX thread: why new jobs cannot be launched now, or null. */
    private String launchRefusal() {
        if (launcherProblem.get() == null && launcher.get() != null) {
            return null;
        }
        return (launcherProblem.get() == null ? "No launcher is chosen for new jobs" : launcherProblem.get())
                + (launcherProblem.get() != null && launcherProblem.get().contains("Fix:") ? ""
                : "\n  Fix: choose where jobs run in File ▸ Settings… (Run jobs on)");
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
            resumeWhereSubmitted(requireEngine(), id);
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
                        resumeWhereSubmitted(e, id);
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

    /**
     * On the jobs thread: resumes job {@code id} with the launcher it was submitted with (a job queued on Slurm goes
     * back to Slurm, a local one runs here), whatever new jobs get now.
     */
    private static void resumeWhereSubmitted(JobEngine e, long id) {
        e.resume(id);
    }

    /** Whether the Cancel button applies to a job in state {@code s} (none selected: no). */
    public static boolean canCancel(JobStatus s) {
        return s != null && s.canCancel();
    }

    /** Whether the Resume button applies to a job in state {@code s} (none selected: no). */
    public static boolean canResume(JobStatus s) {
        return s != null && s.canResume();
    }

    /** Whether a read of every job is queued and has not begun yet. */
    private final java.util.concurrent.atomic.AtomicBoolean refreshQueued =
            new java.util.concurrent.atomic.AtomicBoolean();

    /** Reads every job from the database again. */
    public void refresh() {
        // Events of a job this view has not read yet come in bursts (started, phase, progress, layer…): a read
        // queued and not begun yet will see all of them, so one is enough.
        if (!refreshQueued.compareAndSet(false, true)) {
            return;
        }
        executor.submit(() -> {
            refreshQueued.set(false); // a request from now on needs a read of its own
            return engine == null ? null : engine.jobs().all();
        }, rows -> {
            if (rows != null) {
                merge(rows);
            }
        }, onError);
    }

    /** Reads where job {@code item} runs from the database again (its launcher, worker id and node). */
    private void refreshWhere(JobItem item) {
        long id = item.id();
        executor.submit(() -> engine == null ? null : engine.jobs().get(id).map(JobRow::where).orElse(null), where -> {
            if (where != null) {
                item.setWhere(where);
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
        JobEngine e = new JobEngine(store, checkpointRoot, baseOptions.withWorkers(n).withLauncher(
                baseOptions.launcher() == null ? JobEngine.Launcher.LOCAL : baseOptions.launcher()));
        e.addListener(listener);
        return e;
    }

    /** The engine, for tests in this package (null before {@link #attach}). */
    JobEngine engine() {
        return engine;
    }

    /** On the jobs thread: jobs queued from now on run where {@code l} says (null: unchanged, see launcherProblem). */
    private void applyLauncher(JobEngine.Launcher l) {
        if (engine == null || closed || l == null || l.equals(engine.options().launcher())) {
            return;
        }
        engine.setLauncher(l);
    }

    /** On the jobs thread: the running engine takes {@code n} workers. */
    private void applyWorkers(int n) {
        if (engine == null || closed || engine.options().workers() == n) {
            return;
        }
        engine.setWorkers(n);
    }

    /**
     * Asks for the end of job {@code id}'s log; it is read off the FX thread and then set in {@link #jobLog()}
     * (a sentence instead of the text when the job has no log yet).
     */
    public void showLog(long id) {
        JobItem item = byId.get(id);
        String label = item == null ? "" : item.label();
        long request = ++logRequests;
        executor.submit(() -> {
            JobEngine e = requireEngine();
            String where = e.jobs().get(id).map(JobRow::where).orElse("");
            return readLog(e.logFile(id), id, label, request, where);
        }, jobLog::set, onError);
    }

    /** On the jobs thread. */
    private static JobLog readLog(Path file, long id, String label, long request, String where) {
        try {
            return new JobLog(id, label, file, dev.squeeze.engine.jobs.LogTail.lastLines(file, LOG_LINES), true, request,
                    where);
        } catch (NoSuchFileException e) {
            return new JobLog(id, label, file, "Job #" + id + " has no log yet: " + file + " does not exist. A job's"
                    + " log is written once its worker process starts (a job still queued, or cancelled before it"
                    + " started, has none).", false, request, where);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read the log of job #" + id + " (" + file + "): " + e.getMessage(),
                    "check that the file is readable; it is plain text and can be opened in any editor");
        }
    }

    /** From the engine's threads (tests call it too): the event, where the view's properties may change. */
    void accept(JobEvent e) {
        executor.publish(() -> apply(e));
    }

    /** Where the view's properties may change (the FX thread). */
    private void apply(JobEvent e) {
        eventListeners.forEach(l -> l.accept(e));
        JobItem item = byId.get(e.jobId());
        if (item == null) {
            refresh(); // a job this view has not read yet: the database has it
            return;
        }
        item.update(e, clock.instant());
        if (e.kind() == JobEvent.Kind.STARTED || e.kind() == JobEvent.Kind.PLACED) {
            // Where the job runs is in the database (PLACED: submitted to Slurm, or its worker said hello): read that
            // again, and only that (the event is newer than the rest of the row).
            refreshWhere(item);
        }
        if (e.kind() == JobEvent.Kind.ENDED) {
            announce(item, e);
            // The database has the final word (and a refresh queued now reads after the job's end was written).
            refresh();
            if (e.status() == JobStatus.DONE && e.runId() != null) {
                onRunStored.accept(e.runId());
            }
        }
    }

    /** A job that finished or failed by itself says so (one the user cancelled, or closing stopped, does not). */
    private void announce(JobItem item, JobEvent e) {
        String took = item.elapsed().get().isEmpty() ? "" : " " + item.elapsed().get();
        String text;
        if (e.status() == JobStatus.DONE) {
            text = "Job #" + item.id() + " " + item.label() + " finished" + (took.isEmpty() ? "" : " in" + took)
                    + (e.runId() == null ? "" : ": run " + e.runId() + " stored");
        } else if (e.status() == JobStatus.FAILED) {
            String why = e.message() == null ? "" : e.message().lines().findFirst().orElse("");
            text = "Job #" + item.id() + " " + item.label() + " failed" + (took.isEmpty() ? "" : " after" + took)
                    + (why.isEmpty() ? "" : ": " + why);
        } else {
            return;
        }
        lastAnnouncement.set(new Announcement(++announcements, item.id(), e.status(), text));
    }

    /** On the FX thread: the database's rows into the table, keeping existing rows (and the selection). */
    private void merge(List<JobRow> rows) {
        Instant now = clock.instant();
        List<JobItem> fresh = new ArrayList<>();
        for (JobRow r : rows) {
            JobItem item = byId.get(r.id());
            if (item == null) {
                item = new JobItem(r, now);
                byId.put(r.id(), item);
                fresh.add(item);
            } else {
                item.update(r, now);
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
        Runnable last = () -> {
            closed = true;
            if (engine != null) {
                engine.removeListener(listener);
                engine.close();
            }
            if (temporaryRoot != null) {
                deleteTree(temporaryRoot);
            }
        };
        if (ownExecutor != null) {
            ownExecutor.shutdown(last, 60);
            return;
        }
        CountDownLatch done = new CountDownLatch(1);
        executor.execute(() -> {
            try {
                last.run();
            } finally {
                done.countDown();
            }
        });
        try {
            if (!done.await(60, TimeUnit.SECONDS)) {
                LOG.warn("the job engine was still closing after 60 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
