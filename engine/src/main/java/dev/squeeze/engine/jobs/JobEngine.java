package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.checkpoint.CheckpointStore;
import dev.squeeze.engine.jobs.protocol.ParentMessage;
import dev.squeeze.engine.jobs.protocol.Protocol;
import dev.squeeze.engine.jobs.protocol.WorkerMessage;
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
import java.util.function.Consumer;

/**
 * The background engine: a queue of compression jobs done by worker processes, at most {@link Options#workers()}
 * at a time. The process that owns the engine owns the results database and is its only writer: workers report
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
 */
public final class JobEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JobEngine.class);

    /**
     * @param workers      jobs running at once (worker processes)
     * @param workerHeap   the workers' -Xmx (e.g. {@code 4g}); null for the JVM's default (a quarter of memory)
     * @param extraJvmArgs more JVM options for workers (tests use this to inject faults)
     * @param cancelGrace  how long a worker may take to stop after a cancel before it is killed
     */
    public record Options(int workers, String workerHeap, List<String> extraJvmArgs, Duration cancelGrace) {
        public Options {
            if (workers < 1 || workers > 64) {
                throw new SqueezeException("--workers is " + workers, "give 1 to 64 workers");
            }
            if (workerHeap != null && !workerHeap.isBlank() && !workerHeap.matches("\\d+[kKmMgG]?")) {
                throw new SqueezeException("Worker heap '" + workerHeap + "' is not a size",
                        "give a size like 2g or 1500m");
            }
            extraJvmArgs = List.copyOf(extraJvmArgs);
        }

        /** One worker (the right number on a 2-core machine), the JVM's default heap, 10 s to cancel. */
        public static Options defaults() {
            return new Options(1, System.getenv("SQUEEZE_WORKER_HEAP"), List.of(), Duration.ofSeconds(10));
        }

        public Options withWorkers(int n) {
            return new Options(n, workerHeap, extraJvmArgs, cancelGrace);
        }

        public Options withWorkerHeap(String heap) {
            return new Options(workers, heap, extraJvmArgs, cancelGrace);
        }
    }

    /** A job being done by a worker. */
    private static final class Running {
        volatile WorkerProcess worker;
        volatile String cancelReason;
    }

    private final ResultsStore store;
    private final JobRecords jobs;
    private final Path checkpointRoot;
    private final Options options;
    private final ExecutorService pool;
    private final ScheduledExecutorService timers;
    private final Map<Long, Running> active = new ConcurrentHashMap<>();
    private final List<Consumer<JobEvent>> listeners = new CopyOnWriteArrayList<>();
    private final List<JobRow> interruptedAtStart;
    private volatile boolean closing;

    /**
     * An engine over {@code store}; checkpoints go to {@code checkpointRoot} (the store's own folder for a file
     * database). Jobs a previous process left RUNNING or QUEUED become INTERRUPTED (see {@link #interruptedAtStart()}).
     */
    public JobEngine(ResultsStore store, Path checkpointRoot, Options options) {
        this.store = store;
        this.jobs = store.jobs();
        this.checkpointRoot = checkpointRoot.toAbsolutePath();
        this.options = options;
        this.interruptedAtStart = List.copyOf(recoverInterrupted(jobs));
        this.pool = Executors.newFixedThreadPool(options.workers(), r -> {
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

    public Options options() {
        return options;
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
     * queues none.
     */
    public List<Long> submitAll(List<JobSpec> specs) {
        if (closing) {
            throw new IllegalStateException("the job engine is closed");
        }
        // A sweep names one model many times: open (read and hash) each once.
        Map<String, dev.squeeze.engine.model.Model> opened = new java.util.HashMap<>();
        for (JobSpec s : specs) {
            JobExecution.validate(s, opened.computeIfAbsent(s.model(), ModelRefs::open));
        }
        List<Long> ids = new ArrayList<>();
        for (JobSpec s : specs) {
            long id = jobs.add(s.toJson(), s.hash(), s.model(), s.label());
            ids.add(id);
            schedule(id);
        }
        return ids;
    }

    /** Queues a FAILED, INTERRUPTED or CANCELLED job again; it continues from its checkpoints. */
    public void resume(long id) {
        JobRow row = jobs.get(id).orElseThrow(() -> new SqueezeException("There is no job " + id,
                "'squeeze jobs' lists the jobs"));
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
            WorkerProcess w = r.worker;
            if (w != null) {
                w.send(new ParentMessage.Cancel(r.cancelReason));
                timers.schedule(() -> {
                    if (active.get(id) == r) {
                        LOG.info("job {}: the worker did not stop within {}; ending it", id, options.cancelGrace());
                        w.destroy();
                    }
                }, options.cancelGrace().toMillis(), TimeUnit.MILLISECONDS);
            }
            return;
        }
        if (!row.status().canCancel()) {
            throw new SqueezeException("Job " + id + " is already " + row.status().name().toLowerCase(java.util.Locale.ROOT),
                    "nothing to cancel");
        }
        jobs.end(id, JobStatus.CANCELLED, "cancelled by the user");
        checkpoints(id, row.specHash()).deleteAll();
        emit(new JobEvent(id, row.label(), JobEvent.Kind.ENDED, JobStatus.CANCELLED, null, null, row.layersDone(),
                row.layersTotal(), null, "cancelled by the user", null));
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
            WorkerProcess w = e.getValue().worker;
            if (w != null) {
                w.destroy();
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
        Running r = new Running();
        synchronized (active) {
            active.put(id, r);
        }
        pool.execute(() -> {
            try {
                if (closing) {
                    safeEnd(id, JobStatus.INTERRUPTED, "Squeeze closed before the job started");
                } else {
                    supervise(id, r);
                }
            } catch (SqueezeException e) {
                // The database could not be written or read (closed, disk full): the job stays as the database has
                // it and becomes INTERRUPTED at the next start, still resumable.
                LOG.error("job {}: {}", id, e.getMessage());
                safeEnd(id, JobStatus.FAILED, e.getMessage());
            } catch (RuntimeException e) {
                LOG.error("job {}: the supervisor failed", id, e);
                safeEnd(id, JobStatus.FAILED, "internal error while supervising the job: " + e);
            } finally {
                synchronized (active) {
                    active.remove(id);
                    active.notifyAll();
                }
            }
        });
    }

    private CheckpointStore checkpoints(long id, String specHash) {
        return new CheckpointStore(checkpointRoot.resolve("job-" + id), specHash);
    }

    private void supervise(long id, Running r) {
        if (!jobs.markRunning(id)) {
            return; // cancelled while queued
        }
        JobRow row = jobs.get(id).orElseThrow();
        JobSpec spec = JobSpec.fromJson(row.specJson());
        String label = row.label();
        CheckpointStore checkpoints = checkpoints(id, row.specHash());
        emit(new JobEvent(id, label, JobEvent.Kind.STARTED, JobStatus.RUNNING, null, null, row.layersDone(),
                row.layersTotal(), null, null, null));
        WorkerProcess worker;
        try {
            worker = WorkerProcess.start(options, checkpointRoot.resolve("job-" + id + ".log"));
        } catch (SqueezeException e) {
            end(id, label, JobStatus.FAILED, e.getMessage(), null, row);
            return;
        }
        r.worker = worker;
        if (r.cancelReason != null || closing) {
            worker.destroy();
        }
        worker.send(new ParentMessage.Start(Protocol.VERSION, id, spec, row.specHash(), checkpoints.dir().toString()));
        int[] progress = {row.layersDone(), row.layersTotal()};
        String[] phase = {null};
        Long[] runId = {null};
        String[] storeError = {null};
        WorkerProcess.Ending ending = worker.readUntilEnd(m -> {
            switch (m) {
                case WorkerMessage.Hello h -> {
                    if (h.protocol() != Protocol.VERSION) {
                        storeError[0] = "the worker speaks job protocol " + h.protocol() + ", this Squeeze "
                                + Protocol.VERSION;
                        worker.destroy();
                    }
                }
                case WorkerMessage.Phase p -> {
                    phase[0] = p.phase();
                    jobs.progress(id, progress[0], progress[1], p.phase());
                    emit(new JobEvent(id, label, JobEvent.Kind.PHASE, JobStatus.RUNNING, p.phase(), p.detail(),
                            progress[0], progress[1], null, null, null));
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
                        storeError[0] = e.getMessage();
                    }
                }
                case WorkerMessage.Failed f -> {
                }
                case WorkerMessage.Cancelled c -> {
                }
            }
        });
        JobRow now = jobs.get(id).orElseThrow();
        if (runId[0] != null) {
            checkpoints.deleteAll();
            emit(new JobEvent(id, label, JobEvent.Kind.ENDED, JobStatus.DONE, null, null, progress[1], progress[1],
                    null, null, runId[0]));
        } else if (storeError[0] != null) {
            end(id, label, JobStatus.FAILED, storeError[0] + " (the layers done are kept; resume the job)", null, now);
        } else if (ending.last() instanceof WorkerMessage.Cancelled || (r.cancelReason != null && !closing)) {
            checkpoints.deleteAll();
            end(id, label, JobStatus.CANCELLED, r.cancelReason != null ? r.cancelReason : "cancelled", null, now);
        } else if (ending.last() instanceof WorkerMessage.Failed f) {
            end(id, label, JobStatus.FAILED, f.reason(), null, now);
        } else if (closing) {
            end(id, label, JobStatus.INTERRUPTED, "Squeeze closed while the job ran, after " + progress[0] + " of "
                    + progress[1] + " layers", null, now);
        } else {
            end(id, label, JobStatus.FAILED, ending.crash() + " — after " + progress[0] + " of " + progress[1]
                    + " layers; resume the job to continue from there", null, now);
        }
    }

    private void end(long id, String label, JobStatus status, String reason, Long runId, JobRow row) {
        safeEnd(id, status, reason);
        LOG.info("job {} ({}): {}: {}", id, label, status, reason);
        emit(new JobEvent(id, label, JobEvent.Kind.ENDED, status, null, null, row.layersDone(), row.layersTotal(),
                null, reason, runId));
    }

    private void safeEnd(long id, JobStatus status, String reason) {
        try {
            jobs.end(id, status, reason);
        } catch (SqueezeException e) {
            // The database cannot be written (disk full): the job stays RUNNING there and becomes INTERRUPTED on
            // the next start, which is still resumable. Say so rather than lose the reason.
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
