package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.checkpoint.CheckpointStore;
import dev.squeeze.engine.jobs.launch.Placement;
import dev.squeeze.engine.jobs.launch.SlurmLauncher;
import dev.squeeze.engine.jobs.launch.SlurmSettings;
import dev.squeeze.engine.jobs.launch.Worker;
import dev.squeeze.engine.jobs.launch.WorkerEnding;
import dev.squeeze.engine.jobs.protocol.ParentMessage;
import dev.squeeze.engine.jobs.protocol.Protocol;
import dev.squeeze.engine.jobs.protocol.WorkerMessage;
import dev.squeeze.engine.store.DiskProblem;
import dev.squeeze.engine.store.JobRecords;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The background engine: a queue of compression jobs done by worker processes, at most {@link Options#workers()}
 * at a time ({@link #setWorkers} changes that while it runs). The process that owns the engine owns the results database and is its only writer: workers report
 * over the job protocol ({@link Protocol}) and never open it, so a worker that dies — kill -9, a segfault in
 * native code, out of memory — cannot damage the database or take this process down; its job becomes FAILED with
 * the reason and can be resumed from its per-layer checkpoints.
 *
 * <p>Checkpoints live in {@code <database>-checkpoints/job-<id>/}, beside the job's log {@code job-<id>.log}. A
 * job that finishes deletes its checkpoints in the same step that stores its run; a cancelled job deletes them.
 *
 * <p>Cancellation is cooperative: the worker stops at its next safe point (between layers, calibration windows,
 * evaluation sequences); a worker that has not stopped after {@link Options#cancelGrace()} is killed, which is
 * safe because it holds no database. No thread of this process is ever interrupted.
 *
 * <p>Another process (a second {@code squeeze cancel}) cannot open the database while this one holds it, so it
 * asks by creating {@code cancel-<id>} in the checkpoint folder; the engine looks for such requests twice a second.
 *
 * <p>A full or read-only disk is not one job's problem: when the database can no longer be written (H2 closes a
 * database whose write failed), or a job failed and its checkpoint folder's disk turns out to be full, the engine
 * says so once and stops ({@link #stoppedBy()}): running workers are ended, queued jobs are not started. Their jobs
 * are recorded as INTERRUPTED where the database can still be written; otherwise the database keeps them RUNNING or
 * QUEUED, which the next start marks INTERRUPTED. Either way all of them can be resumed.
 */
public final class JobEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JobEngine.class);

    /**
     * Where workers run: on this machine, or as Slurm jobs with these settings.
     *
     * @param slurm null for local workers
     */
    public record Launcher(SlurmSettings slurm) {
        public static final Launcher LOCAL = new Launcher(null);

        public static Launcher slurm(SlurmSettings settings) {
            return new Launcher(java.util.Objects.requireNonNull(settings));
        }

        public String kind() {
            return slurm == null ? Placement.LOCAL : Placement.SLURM;
        }
    }

    /**
     * @param workers      jobs running at once (worker processes; on Slurm, jobs submitted and not yet ended)
     * @param workerHeap   the workers' -Xmx (e.g. {@code 4g}); null for the JVM's default (a quarter of memory, or
     *                     80 % of a Slurm job's memory)
     * @param extraJvmArgs more JVM options for workers (tests use this to inject faults)
     * @param cancelGrace  how long a worker may take to stop after a cancel before it is killed
     * @param launcher     where new jobs' workers run; null: locally. Resumed jobs run where they were submitted
     *                     unless {@link #resume(long, Launcher)} moves them
     */
    public record Options(int workers, String workerHeap, List<String> extraJvmArgs, Duration cancelGrace,
                          Launcher launcher) {
        /** A heap size as {@code java -Xmx} takes it: digits, then k, m, g or t (any case), or bytes. */
        public static final java.util.regex.Pattern HEAP_SIZE = java.util.regex.Pattern.compile("(\\d+)([kKmMgGtT]?)");

        public Options {
            if (workers < 1 || workers > 64) {
                throw new SqueezeException("--workers is " + workers, "give 1 to 64 workers");
            }
            if (workerHeap != null && !workerHeap.isBlank() && !HEAP_SIZE.matcher(workerHeap.strip()).matches()) {
                throw new SqueezeException("Worker heap '" + workerHeap + "' is not a size",
                        "give a size like 2g or 1500m");
            }
            workerHeap = workerHeap == null || workerHeap.isBlank() ? null : workerHeap.strip();
            extraJvmArgs = List.copyOf(extraJvmArgs);
        }

        public Options(int workers, String workerHeap, List<String> extraJvmArgs, Duration cancelGrace) {
            this(workers, workerHeap, extraJvmArgs, cancelGrace, null);
        }

        /** One worker (the right number on a 2-core machine), the JVM's default heap, 10 s to cancel. */
        public static Options defaults() {
            return new Options(1, System.getenv("SQUEEZE_WORKER_HEAP"), List.of(), Duration.ofSeconds(10), null);
        }

        public Options withWorkers(int n) {
            return new Options(n, workerHeap, extraJvmArgs, cancelGrace, launcher);
        }

        public Options withWorkerHeap(String heap) {
            return new Options(workers, heap, extraJvmArgs, cancelGrace, launcher);
        }

        public Options withLauncher(Launcher l) {
            return new Options(workers, workerHeap, extraJvmArgs, cancelGrace, l);
        }
    }

    /** A job being done by a worker. */
    private static final class Running {
        volatile Worker worker;
        volatile String cancelReason;
    }

    private final ResultsStore store;
    private final JobRecords jobs;
    private final Path checkpointRoot;
    private volatile Options options;
    /** Runs the supervisors; at most {@link Options#workers()} of them at once, see {@link #dispatch()}. */
    private final ExecutorService pool;
    /** Jobs waiting for a worker, in the order queued; guarded by {@link #active}. */
    private final java.util.ArrayDeque<Long> waiting = new java.util.ArrayDeque<>();
    /** Supervisors started and not yet ended; guarded by {@link #active}. */
    private int supervising;
    private final ScheduledExecutorService timers;
    private final Map<Long, Running> active = new ConcurrentHashMap<>();
    private final List<Consumer<JobEvent>> listeners = new CopyOnWriteArrayList<>();
    private final List<JobRow> interruptedAtStart;
    /** Names this database among others' jobs in a Slurm shared directory (see {@link SlurmLauncher#jobRoot}). */
    private final String databaseKey;
    /** One launcher (and so one queue monitor) per distinct Slurm settings. */
    private final Map<String, SlurmLauncher> slurmLaunchers = new ConcurrentHashMap<>();
    /** Model content hashes seen when jobs were queued, by model reference: workers on nodes check them. */
    private final Map<String, String> modelHashes = new ConcurrentHashMap<>();
    private volatile boolean closing;
    /**
     * Why the engine stopped starting jobs (a disk that cannot be written), null while it runs.
     *
     * @param detail short, for job reasons: e.g. "the disk is full"
     */
    private record Stop(SqueezeException why, String detail) {
    }

    private final AtomicReference<Stop> stopped =
            new AtomicReference<>();
    /** The database itself cannot be written: nothing more is written to it. */
    private volatile boolean storeUnwritable;

    /**
     * An engine over {@code store}; checkpoints go to {@code checkpointRoot} (the store's own folder for a file
     * database). Jobs a previous process left RUNNING or QUEUED become INTERRUPTED (see {@link #interruptedAtStart()}).
     */
    public JobEngine(ResultsStore store, Path checkpointRoot, Options options) {
        this.store = store;
        this.jobs = store.jobs();
        this.checkpointRoot = checkpointRoot.toAbsolutePath();
        this.options = options;
        this.databaseKey = databaseKey(this.checkpointRoot);
        this.interruptedAtStart = List.copyOf(recoverInterrupted(jobs));
        this.pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "job-supervisor");
            t.setDaemon(true);
            return t;
        });
        this.timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "job-timers");
            t.setDaemon(true);
            return t;
        });
        timers.scheduleWithFixedDelay(this::pollCancelRequests, 500, 500, TimeUnit.MILLISECONDS);
    }

    /** An engine over a file database, with checkpoints beside it. */
    public JobEngine(ResultsStore store, Options options) {
        this(store, requireCheckpointRoot(store), options);
    }

    private static Path requireCheckpointRoot(ResultsStore store) {
        if (store.checkpointRoot() == null) {
            throw new IllegalArgumentException("an in-memory store needs an explicit checkpoint folder");
        }
        return store.checkpointRoot();
    }

    /**
     * Marks the jobs a previous process left RUNNING or QUEUED as INTERRUPTED and returns them. Only the process
     * that holds the database may call this (H2's file lock guarantees no other process is running them).
     */
    public static List<JobRow> recoverInterrupted(JobRecords jobs) {
        List<JobRow> out = new ArrayList<>(jobs.interruptOrphans());
        for (JobRow q : jobs.withStatus(JobStatus.QUEUED)) {
            jobs.end(q.id(), JobStatus.INTERRUPTED, "Squeeze stopped before the job started");
            out.add(jobs.get(q.id()).orElseThrow());
        }
        return out;
    }

    /** Jobs that a previous Squeeze process left unfinished (crash, kill, closed while running): offer to resume. */
    public List<JobRow> interruptedAtStart() {
        return interruptedAtStart;
    }

    public JobRecords jobs() {
        return jobs;
    }

    /** The engine's options; {@link Options#workers()} as last set by {@link #setWorkers}. */
    public Options options() {
        return options;
    }

    /**
     * Changes how many jobs run at once. Raising it starts queued jobs at once; lowering it lets the running jobs
     * finish and starts no more until fewer than {@code n} run.
     *
     * @throws SqueezeException when {@code n} is not 1 to 64
     */
    public void setWorkers(int n) {
        Options changed = options.withWorkers(n); // validates
        synchronized (active) {
            options = changed;
        }
        LOG.info("job engine: {} worker(s) at once", n);
        dispatch();
    }

    /**
     * Changes where jobs submitted from now on run ({@link Options#launcher()}; null: locally); jobs already queued
     * or running stay where they are, and resumed ones go where they were submitted.
     */
    public void setLauncher(Launcher l) {
        synchronized (active) {
            options = options.withLauncher(l);
        }
        LOG.info("job engine: new jobs run {}", l == null ? Placement.LOCAL : l.kind());
    }

    /**
     * The log of job {@code id}'s workers (their standard error, every attempt appended); it may not exist yet. A
     * Slurm job's is in the shared directory.
     */
    public Path logFile(long id) {
        return jobs.get(id).map(this::logFile).orElse(checkpointRoot.resolve("job-" + id + ".log"));
    }

    private Path logFile(JobRow row) {
        return jobRoot(row).resolve("job-" + row.id() + ".log");
    }

    /**
     * Where a job's checkpoints and log live: beside the database, or (Slurm) under the shared directory, in the
     * folder recorded when the job was queued (the same from any machine that resumes it).
     */
    private Path jobRoot(JobRow row) {
        return row.onSlurm() ? Path.of(row.jobRoot()) : checkpointRoot;
    }

    /** The launcher for {@code settings}, made once per distinct settings. */
    public SlurmLauncher slurmLauncher(SlurmSettings settings) {
        return slurmLaunchers.computeIfAbsent(settings.toJson(),
                k -> new SlurmLauncher(settings, SlurmLauncher.jobRoot(settings, databaseKey)));
    }

    /** A short, stable name of this database (its host and checkpoint folder), for folders shared with others. */
    static String databaseKey(Path checkpointRoot) {
        String who = dev.squeeze.engine.store.Provenance.hostName() + ":" + checkpointRoot;
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(who.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(d, 0, 6);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public void addListener(Consumer<JobEvent> listener) {
        listeners.add(listener);
    }

    public void removeListener(Consumer<JobEvent> listener) {
        listeners.remove(listener);
    }

    /** Validates and queues one job; returns its id. */
    public long submit(JobSpec spec) {
        return submitAll(List.of(spec)).getFirst();
    }

    /**
     * Validates every job first (model, plan, every layer's settings), then queues them all: one invalid job
     * queues none, and the {@link JobsRejected} names every job that does not fit.
     */
    public List<Long> submitAll(List<JobSpec> specs) {
        if (closing) {
            throw new IllegalStateException("the job engine is closed");
        }
        requireRunning();
        // A sweep names one model many times: open (read and hash) each once. Every job is checked, so that a
        // refusal can name all that do not fit.
        Map<String, dev.squeeze.engine.model.Model> opened = new java.util.HashMap<>();
        Launcher launcher = options.launcher() == null ? Launcher.LOCAL : options.launcher();
        SlurmLauncher slurm = launcher.slurm() == null ? null : slurmLauncher(launcher.slurm());
        if (slurm != null && !specs.isEmpty()) {
            // Refused here, before anything is queued, when this machine or a node cannot write the shared folder.
            slurm.checkShared();
        }
        List<JobsRejected.Refusal> refused = new ArrayList<>();
        for (JobSpec s : specs) {
            dev.squeeze.engine.model.Model model = opened.computeIfAbsent(s.model(), ModelRefs::open);
            try {
                JobExecution.validate(s, model);
            } catch (SqueezeException e) {
                refused.add(new JobsRejected.Refusal(s, model.name(), e));
            }
        }
        if (!refused.isEmpty()) {
            throw new JobsRejected(refused);
        }
        opened.forEach((ref, model) -> modelHashes.put(ref, model.contentHash()));
        List<Long> ids = new ArrayList<>();
        for (JobSpec s : specs) {
            long id = jobs.add(s.toJson(), s.hash(), s.model(), s.label(), launcher.kind(),
                    launcher.slurm() == null ? null : launcher.slurm().toJson(),
                    slurm == null ? null : slurm.jobRoot().toString());
            ids.add(id);
            schedule(id);
        }
        return ids;
    }

    /**
     * Queues a FAILED, INTERRUPTED or CANCELLED job again, where it was submitted; it continues from its
     * checkpoints. A Slurm job still running on the cluster (its parent ended) is reconnected to, not submitted again.
     */
    public void resume(long id) {
        resume(id, null);
    }

    /**
     * As {@link #resume(long)}, moving the job to {@code moveTo} first (a local job to Slurm, or back; null: where it
     * was submitted). Its checkpoints move only where both launchers reach the same folder: a moved job may start
     * from its first layer.
     */
    public void resume(long id, Launcher moveTo) {
        requireRunning();
        JobRow row = jobs.get(id).orElseThrow(() -> new SqueezeException("There is no job " + id,
                "'squeeze jobs' lists the jobs"));
        if (moveTo != null && row.status().canResume()) {
            String settings = moveTo.slurm() == null ? null : moveTo.slurm().toJson();
            if (!moveTo.kind().equals(row.launcher()) || !java.util.Objects.equals(settings, row.launcherSettings())) {
                if (row.onSlurm() && row.workerId() != null && slurmLauncher(SlurmSettings.fromJson(
                        row.launcherSettings())).isAlive(row.workerId())) {
                    throw new SqueezeException("Job " + id + " is still running as Slurm job " + row.workerId()
                            + ": moving it now would start a second worker on the same checkpoints",
                            "resume it without --launcher to reconnect to it, or cancel it first");
                }
                SlurmLauncher to = moveTo.slurm() == null ? null : slurmLauncher(moveTo.slurm());
                if (to != null) {
                    to.checkShared();
                }
                jobs.relaunch(id, moveTo.kind(), settings, to == null ? null : to.jobRoot().toString());
            }
        }
        if (!jobs.requeue(id)) {
            throw new SqueezeException("Job " + id + " is " + row.status().name().toLowerCase(java.util.Locale.ROOT)
                    + " and cannot be resumed", "only failed, interrupted or cancelled jobs can be resumed");
        }
        schedule(id);
    }

    /**
     * Cancels a job: a queued one at once, a running one at its worker's next safe point (or after the grace
     * period, by ending the worker). A failed or interrupted job is cancelled for good (its checkpoints go).
     */
    public void cancel(long id) {
        JobRow row = jobs.get(id).orElseThrow(() -> new SqueezeException("There is no job " + id,
                "'squeeze jobs' lists the jobs"));
        Running r = active.get(id);
        if (r != null && row.status() == JobStatus.RUNNING) {
            r.cancelReason = "cancelled by the user";
            Worker w = r.worker;
            if (w != null) {
                w.send(new ParentMessage.Cancel(r.cancelReason));
                endAfterGrace(id, r, w, JobSpec.fromJson(row.specJson()));
            }
            return;
        }
        if (!row.status().canCancel()) {
            throw new SqueezeException("Job " + id + " is already " + row.status().name().toLowerCase(java.util.Locale.ROOT),
                    "nothing to cancel");
        }
        if (row.onSlurm() && row.workerId() != null) {
            // A Slurm job left running (its parent closed, or its supervisor failed) may still be running there: end
            // it. Best effort: a job Slurm no longer knows is simply gone, and a Slurm that does not answer is said.
            try {
                slurmLauncher(SlurmSettings.fromJson(row.launcherSettings())).commands().cancel(row.workerId());
            } catch (SqueezeException e) {
                LOG.warn("job {}: could not scancel Slurm job {}: {}", id, row.workerId(), e.getMessage());
            }
        }
        jobs.end(id, JobStatus.CANCELLED, "cancelled by the user");
        synchronized (active) {
            // A queued job leaves the queue now (a supervisor that already took it finds it cancelled).
            if (waiting.remove(id)) {
                active.remove(id);
                active.notifyAll();
            }
        }
        emit(new JobEvent(id, row.label(), JobEvent.Kind.ENDED, JobStatus.CANCELLED, null, null, row.layersDone(),
                row.layersTotal(), null, "cancelled by the user", null));
        checkpoints(row).deleteAll();
    }

    /** Ends a cancelled job's worker if it has not stopped by itself within the grace period. */
    private void endAfterGrace(long id, Running r, Worker w, JobSpec spec) {
        // A search stops at its next fitness evaluation and then evaluates and stores the best plan it found: it gets
        // longer than a plan job, which only has to reach its next safe point.
        java.time.Duration grace = spec.hasSearch() ? max(options.cancelGrace(), SEARCH_CANCEL_GRACE)
                : options.cancelGrace();
        try {
            timers.schedule(() -> {
                if (active.get(id) == r) {
                    LOG.info("job {}: the worker did not stop within {}; ending it", id, grace);
                    w.destroy();
                }
            }, grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            w.destroy(); // closing: no timer any more, and a cancelled worker must not go on
        }
    }

    /** Blocks until every job queued in this engine has ended. */
    public void awaitIdle() {
        synchronized (active) {
            while (!active.isEmpty()) {
                try {
                    active.wait(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Blocks until the given jobs have ended. */
    public void await(Collection<Long> ids) {
        synchronized (active) {
            while (ids.stream().anyMatch(active::containsKey)) {
                try {
                    active.wait(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /**
     * Why the engine stopped, when the results database or the checkpoint folder could no longer be written (full
     * or read-only disk): one error for people, saying what happened, that the unfinished jobs are kept and how to
     * resume them; null while the engine runs.
     */
    public SqueezeException stoppedBy() {
        Stop stop = stopped.get();
        return stop == null ? null : stop.why();
    }

    private void requireRunning() {
        Stop stop = stopped.get();
        if (stop != null) {
            throw stop.why();
        }
    }

    /** Whether {@code e} (from the store) means the database can no longer be written; if so the engine stops. */
    private boolean storeLost(SqueezeException e) {
        SqueezeException disk = store.diskFailure();
        if (disk == null) {
            return false;
        }
        stop("The results database " + store.location() + " cannot be written any more", describe(disk), disk.fix(), e);
        storeUnwritable = true; // after stop(): whoever sees it also sees why
        return true;
    }

    /**
     * After a job failed: stops the engine if the disk of the checkpoint folder is full or read-only (every other
     * job would fail the same way), found by writing to it (its free-space figure can mislead: reserved blocks,
     * quotas).
     */
    private void checkpointDiskFull() {
        Path probe = checkpointRoot.resolve(".space-probe");
        try {
            // 1 MiB, the room the database also insists on: less than that cannot hold the next job's checkpoints
            // (and a failure with more room left is that job's own, not the disk's).
            Files.write(probe, new byte[1 << 20]);
        } catch (IOException e) {
            if (DiskProblem.of(e) == null) {
                return;
            }
            stop("The job checkpoints cannot be written to " + checkpointRoot, describe(e), "free space on the disk that"
                    + " holds " + checkpointRoot + " (or make it writable), or set SQUEEZE_HOME to a folder on another"
                    + " disk", e);
        } finally {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // A leftover probe is harmless and overwritten next time.
            }
        }
    }

    /** "the disk is full (No space left on device)" or "the disk or folder is read-only (…)": what {@code e} says. */
    private static String describe(Exception e) {
        DiskProblem p = DiskProblem.of(e);
        return p == null ? DiskProblem.firstLine(String.valueOf(e.getMessage())) : p.describe();
    }

    /** Stops the engine once (see the class comment): logs why, ends the running workers. */
    private void stop(String what, String detail, String diskFix, Exception cause) {
        String fix = diskFix == null ? "" : diskFix.replace("; then start Squeeze again and repeat what failed", "");
        SqueezeException why = new SqueezeException(what + ": " + detail + "; the job engine stopped: the jobs that"
                + " did not finish are kept, with the layers they had done",
                (fix.isEmpty() ? "" : fix + "; then ") + "run 'squeeze resume --all' (or Resume in the workbench): "
                        + "the jobs continue where they stopped", cause);
        // Job reasons carry the short form ("the disk is full"): the operating system's words are said once, here.
        String brief = detail.contains(" (") ? detail.substring(0, detail.indexOf(" (")) : detail;
        if (stopped.compareAndSet(null, new Stop(why, brief))) {
            LOG.error("{}: {}; no more jobs are started and the running ones are stopped (all can be resumed)", what,
                    detail);
            for (Running r : active.values()) {
                Worker w = r.worker;
                if (w != null) {
                    w.destroy();
                }
            }
        }
    }

    /** Jobs queued or running in this engine. */
    public Set<Long> activeJobs() {
        return new HashSet<>(active.keySet());
    }

    /**
     * Stops the engine: running workers are ended and their jobs become INTERRUPTED (resumable from their
     * checkpoints), queued jobs too. Waits until every supervisor has recorded its job's state.
     */
    @Override
    public void close() {
        closing = true;
        for (Map.Entry<Long, Running> e : active.entrySet()) {
            Worker w = e.getValue().worker;
            if (w != null && e.getValue().cancelReason != null) {
                w.destroy(); // cancelled: it must not go on after this process
            } else if (w != null) {
                w.detach(); // a local worker ends; a Slurm job goes on, to be reconnected to
            }
        }
        List<Long> neverStarted;
        synchronized (active) {
            neverStarted = new ArrayList<>(waiting);
            waiting.clear();
        }
        for (long id : neverStarted) {
            safeEnd(id, JobStatus.INTERRUPTED, "Squeeze closed before the job started");
            synchronized (active) {
                active.remove(id);
                active.notifyAll();
            }
        }
        synchronized (active) {
            // Let the running supervisors record their jobs' ends (their workers are ending), for up to 30 s.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (supervising > 0 && System.nanoTime() < deadline) {
                try {
                    active.wait(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        pool.shutdown();
        try {
            pool.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        timers.shutdownNow();
    }

    private void schedule(long id) {
        synchronized (active) {
            active.put(id, new Running());
            waiting.add(id);
        }
        dispatch();
    }

    /** Starts supervisors for waiting jobs while fewer than {@link Options#workers()} run. */
    private void dispatch() {
        synchronized (active) {
            while (!closing && supervising < options.workers() && !waiting.isEmpty()) {
                long id = waiting.poll();
                Running r = active.get(id);
                if (r == null) {
                    continue;
                }
                supervising++;
                try {
                    pool.execute(() -> superviseSlot(id, r));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    supervising--;
                    return; // closing
                }
            }
        }
    }

    private void superviseSlot(long id, Running r) {
        try {
            runJob(id, r);
        } finally {
            synchronized (active) {
                supervising--;
                active.notifyAll();
            }
            dispatch();
        }
    }

    private void runJob(long id, Running r) {
        try {
            if (stopped.get() != null) {
                // Not started. Where nothing can be recorded the job stays QUEUED: INTERRUPTED at the next start.
                safeEnd(id, JobStatus.INTERRUPTED, "not started: " + stopped.get().detail());
                return;
            }
            if (closing) {
                safeEnd(id, JobStatus.INTERRUPTED, "Squeeze closed before the job started");
            } else {
                supervise(id, r);
            }
        } catch (SqueezeException e) {
            if (storeLost(e)) {
                return; // said once, in stop(); the job stays as the database has it, resumable
            }
            LOG.error("job {}: {}", id, e.getMessage());
            endWorker(r);
            safeEnd(id, JobStatus.FAILED, e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("job {}: the supervisor failed", id, e);
            endWorker(r);
            safeEnd(id, JobStatus.FAILED, "internal error while supervising the job: " + e);
        } finally {
            synchronized (active) {
                active.remove(id);
                active.notifyAll();
            }
        }
    }

    /** A job whose supervisor failed is not left running unwatched (a Slurm job would run on): its worker is ended. */
    private static void endWorker(Running r) {
        Worker w = r.worker;
        if (w != null) {
            try {
                w.destroy();
            } catch (RuntimeException e) {
                LOG.warn("could not end a worker: {}", e.getMessage());
            }
        }
    }

    private CheckpointStore checkpoints(JobRow row) {
        return new CheckpointStore(jobRoot(row).resolve("job-" + row.id()), row.specHash());
    }

    private void supervise(long id, Running r) {
        if (!jobs.markRunning(id)) {
            return; // cancelled while queued
        }
        JobRow row = jobs.get(id).orElseThrow();
        JobSpec spec = JobSpec.fromJson(row.specJson());
        String label = row.label();
        CheckpointStore checkpoints;
        Worker worker;
        try {
            checkpoints = checkpoints(row);
            emit(new JobEvent(id, label, JobEvent.Kind.STARTED, JobStatus.RUNNING, null, null, row.layersDone(),
                    row.layersTotal(), null, null, null));
            worker = launch(row, spec, checkpoints);
        } catch (SqueezeException e) {
            end(id, label, JobStatus.FAILED, e.getMessage(), null, row);
            return;
        }
        r.worker = worker;
        // stop() may have run between the check before start and here; it saw no worker to end, so end it now
        if (r.cancelReason != null) {
            // Cancelled while its worker was being started: asked like any running worker (a Slurm job may still be
            // pending, and reads the request when it starts), ended after the grace period if it does not stop.
            worker.send(new ParentMessage.Cancel(r.cancelReason));
            endAfterGrace(id, r, worker, spec);
        } else if (stopped.get() != null) {
            worker.destroy();
        } else if (closing) {
            worker.detach();
        }
        int[] progress = {row.layersDone(), row.layersTotal()};
        String[] phase = {null};
        ProgressThrottle throttle = new ProgressThrottle(ProgressThrottle.INTERVAL_NANOS);
        Long[] runId = {null};
        String[] storeError = {null};
        boolean[] lost = {false};
        WorkerEnding ending = worker.readUntilEnd(m -> {
            if (lost[0]) {
                return; // the database is lost: the worker is being ended, the rest of its messages go nowhere
            }
            try {
                handle(m, id, label, spec, worker, progress, phase, throttle, runId, storeError);
            } catch (SqueezeException e) {
                // A progress write failed. Ending the worker (rather than leaving it to run on unsupervised) is
                // safe: its checkpoints are on disk.
                lost[0] = storeLost(e);
                if (!lost[0]) {
                    storeError[0] = e.getMessage();
                }
                worker.destroy();
            }
        });
        if (runId[0] == null && (storeUnwritable || stopped.get() != null && ending.last() == null)) {
            // Ended by stop(): INTERRUPTED, recorded if the database still can be.
            String reason = "stopped after " + progress[0] + " of " + progress[1] + " layers: "
                    + stopped.get().detail() + "; resume the job once there is space";
            safeEnd(id, JobStatus.INTERRUPTED, reason);
            LOG.info("job {} ({}): {}", id, label, reason);
            emit(new JobEvent(id, label, JobEvent.Kind.ENDED, JobStatus.INTERRUPTED, null, null, progress[0],
                    progress[1], null, reason, null));
            return;
        }
        JobRow now = jobs.get(id).orElseThrow();
        if (runId[0] != null) {
            checkpoints.deleteAll();
            emit(new JobEvent(id, label, JobEvent.Kind.ENDED, JobStatus.DONE, null, null, progress[1], progress[1],
                    null, null, runId[0]));
        } else if (storeError[0] != null) {
            end(id, label, JobStatus.FAILED, storeError[0] + " (the layers done are kept; resume the job)", null, now);
        } else if (ending.detached()) {
            JobRow at = jobs.get(id).orElseThrow();
            String after = progress[1] > 0 ? ", after " + progress[0] + " of " + progress[1] + " layers" : "";
            end(id, label, JobStatus.INTERRUPTED, "Squeeze closed while the job ran as " + at.where() + after
                    + "; it goes on there: resume the job to reconnect to it", null, now);
        } else if (ending.last() instanceof WorkerMessage.Cancelled || (r.cancelReason != null && !closing)) {
            checkpoints.deleteAll();
            end(id, label, JobStatus.CANCELLED, r.cancelReason != null ? r.cancelReason : "cancelled", null, now);
        } else if (ending.last() instanceof WorkerMessage.Failed f) {
            end(id, label, JobStatus.FAILED, f.reason(), null, now);
            checkpointDiskFull();
        } else if (closing) {
            end(id, label, JobStatus.INTERRUPTED, "Squeeze closed while the job ran, after " + progress[0] + " of "
                    + progress[1] + " layers", null, now);
        } else {
            // A search reports phases and points, not layers: "after 0 of 0 layers" would say nothing.
            String where = progress[1] > 0 ? " — after " + progress[0] + " of " + progress[1] + " layers" : "";
            end(id, label, JobStatus.FAILED, ending.crash() + where + "; resume the job to continue from there", null,
                    now);
        }
    }

    /**
     * Starts the job's worker where its row says (or reconnects to its Slurm job when that still runs, or ended with
     * its final message while no Squeeze process watched), and records where.
     */
    private Worker launch(JobRow row, JobSpec spec, CheckpointStore checkpoints) {
        long id = row.id();
        Path log = logFile(row);
        if (!row.onSlurm()) {
            WorkerProcess w = WorkerProcess.start(options, log);
            jobs.placed(id, w.placement().workerId(), w.placement().node());
            w.send(new ParentMessage.Start(Protocol.VERSION, id, spec, row.specHash(), checkpoints.dir().toString()));
            return w;
        }
        SlurmLauncher launcher = slurmLauncher(SlurmSettings.fromJson(row.launcherSettings()));
        if (row.workerId() != null) {
            java.util.Optional<Worker> again = launcher.reattach(checkpoints.dir(), row.workerId(), log);
            if (again.isPresent()) {
                LOG.info("job {}: reconnected to Slurm job {}", id, row.workerId());
                emit(new JobEvent(id, row.label(), JobEvent.Kind.WARNING, JobStatus.RUNNING, null, null,
                        row.layersDone(), row.layersTotal(), null, "reconnected to Slurm job " + row.workerId()
                        + " (it ran on while no Squeeze process watched it)", null));
                return again.get();
            }
        }
        String hash = modelHashes.computeIfAbsent(spec.model(), ref -> ModelRefs.open(ref).contentHash());
        Worker w = launcher.submit(id, new ParentMessage.Start(Protocol.VERSION, id, spec, row.specHash(),
                checkpoints.dir().toString(), hash), log, options.workerHeap(), options.extraJvmArgs());
        jobs.placed(id, w.placement().workerId(), null);
        LOG.info("job {}: submitted as Slurm job {}", id, w.placement().workerId());
        emit(new JobEvent(id, row.label(), JobEvent.Kind.PLACED, JobStatus.RUNNING, null, null, row.layersDone(),
                row.layersTotal(), null, "submitted as Slurm job " + w.placement().workerId(), null));
        return w;
    }

    /** One message from the worker: progress into the database and to the listeners; the finished run stored. */
    private void handle(WorkerMessage m, long id, String label, JobSpec spec, Worker worker, int[] progress,
                        String[] phase, ProgressThrottle throttle, Long[] runId, String[] storeError) {
        switch (m) {
            case WorkerMessage.Hello h -> {
                if (h.protocol() != Protocol.VERSION) {
                    storeError[0] = "the worker speaks job protocol " + h.protocol() + ", this Squeeze "
                            + Protocol.VERSION;
                    worker.destroy();
                    return;
                }
                // A Slurm job's node is known now (a local worker's pid and host were recorded when it started).
                Placement at = new Placement(worker.placement().launcher(), worker.placement().workerId(), h.host());
                if (at.launcher().equals(Placement.SLURM)) {
                    jobs.placed(id, at.workerId(), at.node());
                }
                emit(new JobEvent(id, label, JobEvent.Kind.PLACED, JobStatus.RUNNING, phase[0], null, progress[0],
                        progress[1], null, at.describe(), null));
            }
            case WorkerMessage.Phase p -> {
                phase[0] = p.phase();
                jobs.progress(id, progress[0], progress[1], p.phase());
                emit(new JobEvent(id, label, JobEvent.Kind.PHASE, JobStatus.RUNNING, p.phase(), p.detail(),
                        progress[0], progress[1], null, null, null));
            }
            case WorkerMessage.Progress p -> {
                // Not written to the database (a phase's progress is for watchers); throttled here too, in case a
                // worker reports more often than the protocol asks.
                if (throttle.admit(p.phase(), p.done(), p.total(), System.nanoTime())) {
                    emit(new JobEvent(id, label, JobEvent.Kind.PROGRESS, JobStatus.RUNNING, p.phase(), null,
                            progress[0], progress[1], null, null, null,
                            new JobEvent.PhaseProgress(p.done(), p.total(), p.unit())));
                }
            }
            case WorkerMessage.Layer l -> {
                progress[1] = l.total();
                if (!l.state().equals("started")) {
                    progress[0] = l.index() + 1;
                    jobs.progress(id, progress[0], progress[1], phase[0]);
                }
                emit(new JobEvent(id, label, JobEvent.Kind.LAYER, JobStatus.RUNNING, phase[0], null, progress[0],
                        progress[1], l.layer(), l.state(), null));
            }
            case WorkerMessage.Warning w -> {
                worker.appendToLog("warning: " + w.message());
                emit(new JobEvent(id, label, JobEvent.Kind.WARNING, JobStatus.RUNNING, phase[0], null,
                        progress[0], progress[1], null, w.message(), null));
            }
            case WorkerMessage.Result res -> {
                try {
                    // The run and the job's DONE commit together; then the checkpoints have served.
                    runId[0] = store.recordRun(res.run().forJob(id, spec.tags()));
                } catch (SqueezeException e) {
                    if (store.diskFailure() != null) {
                        throw e; // the database is lost: handled by the caller, once
                    }
                    storeError[0] = e.getMessage();
                }
            }
            case WorkerMessage.Point point -> {
                // One of a search's runs: stored now (the job goes on); a point the job already stored is skipped.
                store.recordJobPoint(point.run().forJob(id, spec.tags()), point.key());
                emit(new JobEvent(id, label, JobEvent.Kind.PHASE, JobStatus.RUNNING, phase[0],
                        "stored " + point.run().label(), progress[0], progress[1], null, null, null));
            }
            case WorkerMessage.Failed f -> {
            }
            case WorkerMessage.Cancelled c -> {
            }
        }
    }

    private void end(long id, String label, JobStatus status, String reason, Long runId, JobRow row) {
        safeEnd(id, status, reason);
        LOG.info("job {} ({}): {}: {}", id, label, status, reason);
        emit(new JobEvent(id, label, JobEvent.Kind.ENDED, status, null, null, row.layersDone(), row.layersTotal(),
                null, reason, runId));
    }

    private void safeEnd(long id, JobStatus status, String reason) {
        if (storeUnwritable) {
            return; // nothing more is written; the job becomes INTERRUPTED at the next start
        }
        try {
            jobs.end(id, status, reason);
        } catch (SqueezeException e) {
            if (storeLost(e)) {
                return; // said once
            }
            // The job stays as the database has it (RUNNING: INTERRUPTED at the next start, still resumable). Say
            // so rather than lose the reason.
            LOG.error("job {}: could not record '{}' ({}): {}", id, status, reason, e.getMessage());
        }
    }

    private void emit(JobEvent e) {
        for (Consumer<JobEvent> l : listeners) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                LOG.warn("a job listener failed on {}", e.describe(), ex);
            }
        }
    }

    /** How long a cancelled search may take to store the best plan it found before its worker is ended. */
    static final Duration SEARCH_CANCEL_GRACE = Duration.ofMinutes(5);

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    /** The file another process creates to ask this one to cancel job {@code id}. */
    public static Path cancelRequestFile(Path checkpointRoot, long id) {
        return checkpointRoot.resolve("cancel-" + id);
    }

    private void pollCancelRequests() {
        for (Long id : active.keySet()) {
            Path f = cancelRequestFile(checkpointRoot, id);
            if (Files.exists(f)) {
                try {
                    Files.deleteIfExists(f);
                    cancel(id);
                } catch (IOException | RuntimeException e) {
                    LOG.warn("job {}: could not act on the cancel request {}: {}", id, f, e.getMessage());
                }
            }
        }
    }
}
