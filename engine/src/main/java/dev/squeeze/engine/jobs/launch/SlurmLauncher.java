package dev.squeeze.engine.jobs.launch;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.protocol.ParentMessage;
import dev.squeeze.engine.jobs.protocol.Protocol;
import dev.squeeze.engine.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Starts job workers as Slurm batch jobs: one {@code sbatch} per job, running the same {@code java ... WorkerMain}
 * as a local worker, with the CPUs, memory, time limit, partition and account of its {@link SlurmSettings}.
 *
 * <p>The job protocol is unchanged; its lines travel through two files in the job's folder under the shared
 * directory ({@code in.jsonl}, written by this process, and {@code out.jsonl}, by the worker; see
 * {@link FollowedFile}), not through {@code srun}'s standard input and output. A worker started by {@code srun} ends
 * when the process that ran {@code srun} ends, and a worker submitted by {@code sbatch} does not: this process can
 * close (or die) while its jobs go on, and {@link #reattach} later reads what they wrote, then follows them to the
 * end. The parent stays the only writer of the results database.
 *
 * <p>One shared monitor asks {@code squeue} about all of this launcher's jobs at most once a second, however many
 * there are; {@code scontrol show job} is asked once when a job ends without a final message, for its state,
 * reason and exit code.
 */
public final class SlurmLauncher {
    /** How often the queue is asked about running jobs. */
    static final Duration QUEUE_INTERVAL = Duration.ofSeconds(1);

    private final SlurmSettings settings;
    private final SlurmCommands commands;
    private final Path jobRoot;
    private final Set<String> watched = new HashSet<>();
    private Map<String, SlurmCommands.QueueState> lastQueue = Map.of();
    private long lastQueueNanos;
    /** Guards the shared-directory check, apart from the queue monitor (a probe can take half a minute). */
    private final Object checkLock = new Object();
    private boolean sharedChecked;
    /** The last failed check and when: resumed jobs are refused with it for a minute rather than probe again each. */
    private SqueezeException sharedFailure;
    private long sharedFailureNanos;

    /**
     * @param jobRoot where this database's jobs live on the shared filesystem ({@link #jobRoot(SlurmSettings, String)})
     */
    public SlurmLauncher(SlurmSettings settings, Path jobRoot) {
        this(settings, new SlurmCommands(settings), jobRoot);
    }

    SlurmLauncher(SlurmSettings settings, SlurmCommands commands, Path jobRoot) {
        this.settings = settings;
        this.commands = commands;
        this.jobRoot = jobRoot;
    }

    /**
     * The folder of one results database's jobs under the shared directory: {@code <shared>/squeeze-<key>}, where
     * {@code key} names the database (several users' and databases' jobs can share one directory).
     */
    public static Path jobRoot(SlurmSettings settings, String databaseKey) {
        return Path.of(settings.sharedDir()).resolve("squeeze-" + databaseKey);
    }

    public Path jobRoot() {
        return jobRoot;
    }

    public SlurmSettings settings() {
        return settings;
    }

    public SlurmCommands commands() {
        return commands;
    }

    /**
     * Submits a worker for the job {@code start} describes. Its checkpoints are in {@code start.checkpointDir()}
     * (under {@link #jobRoot}); its standard output and error are appended to {@code log}.
     */
    public Worker submit(long jobId, ParentMessage.Start start, Path log, String heap, List<String> extraJvmArgs) {
        checkShared();
        Path jobDir = Path.of(start.checkpointDir());
        Path workerDir = jobDir.resolve("slurm-" + System.currentTimeMillis());
        try {
            Files.createDirectories(workerDir);
            long logStart = WorkerJvm.logSize(log);
            Path in = workerDir.resolve("in.jsonl");
            Path out = workerDir.resolve("out.jsonl");
            AtomicFiles.writeString(in, Protocol.encode(start) + "\n");
            List<String> java = new ArrayList<>(WorkerJvm.command(
                    settings.javaHome() == null ? null : Path.of(settings.javaHome()),
                    heap != null ? heap : settings.defaultHeap(), extraJvmArgs, jobRoot));
            java.add("--in");
            java.add(in.toString());
            java.add("--out");
            java.add(out.toString());
            Path script = workerDir.resolve("worker.sh");
            AtomicFiles.writeString(script, script(jobId, java));
            String slurmId = commands.submit(sbatchOptions(jobId, workerDir, log), script);
            AtomicFiles.writeString(workerDir.resolve("slurm-job-id"), slurmId + "\n");
            return new SlurmWorker(this, slurmId, workerDir, log, logStart);
        } catch (IOException e) {
            throw new SqueezeException("Cannot write the job's files under the shared directory " + jobDir + ": "
                    + e.getMessage(), "check that the shared directory is writable and not full");
        }
    }

    /**
     * The worker of Slurm job {@code slurmJobId}, submitted for this job earlier (by this process or one that has
     * ended): its messages so far are read again from the start. Empty when Slurm no longer runs it and it left no
     * final message — then the job is submitted again and continues from its checkpoints.
     */
    public Optional<Worker> reattach(Path jobDir, String slurmJobId, Path log) {
        Optional<Path> workerDir = workerDirOf(jobDir, slurmJobId);
        if (workerDir.isEmpty() || Files.exists(workerDir.get().resolve(SlurmWorker.SEEN_END))) {
            return Optional.empty(); // nothing there, or its end was seen and recorded: submit a new attempt
        }
        SlurmWorker w = new SlurmWorker(this, slurmJobId, workerDir.get(), log, WorkerJvm.logSize(log));
        Optional<SlurmCommands.JobInfo> info = commands.show(slurmJobId);
        boolean alive = info.isPresent() && SlurmCommands.ALIVE.contains(info.get().state());
        if (alive || w.hasEnding()) {
            return Optional.of(w);
        }
        return Optional.empty();
    }

    private static Optional<Path> workerDirOf(Path jobDir, String slurmJobId) {
        if (!Files.isDirectory(jobDir)) {
            return Optional.empty();
        }
        try (Stream<Path> dirs = Files.list(jobDir)) {
            for (Path d : dirs.filter(p -> p.getFileName().toString().startsWith("slurm-")).toList()) {
                Path id = d.resolve("slurm-job-id");
                if (Files.exists(id) && Files.readString(id).strip().equals(slurmJobId)) {
                    return Optional.of(d);
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** The batch script: the worker's command line, exec'd so that Slurm's signals reach the JVM. */
    static String script(long jobId, List<String> command) {
        StringBuilder s = new StringBuilder("#!/bin/sh\n# Squeeze job ").append(jobId)
                .append(": a job worker (java ... WorkerMain), submitted by the Squeeze process that holds the results"
                        + " database.\n");
        s.append("exec");
        for (String a : command) {
            s.append(' ').append(shellQuote(a));
        }
        return s.append('\n').toString();
    }

    static String shellQuote(String a) {
        return "'" + a.replace("'", "'\\''") + "'";
    }

    List<String> sbatchOptions(long jobId, Path workerDir, Path log) {
        List<String> o = new ArrayList<>();
        o.add("--job-name=squeeze-" + jobId);
        o.add("--nodes=1");
        o.add("--ntasks=1");
        o.add("--cpus-per-task=" + settings.cpusPerTask());
        if (settings.memory() != null) {
            o.add("--mem=" + settings.memory());
        }
        if (settings.timeLimit() != null) {
            o.add("--time=" + settings.timeLimit());
        }
        o.addAll(placementOptions());
        o.add("--chdir=" + workerDir);
        o.add("--output=" + log);
        o.add("--error=" + log);
        o.add("--open-mode=append");
        // A preempted or failed node's job is not started again by Slurm behind our back: it becomes a FAILED,
        // resumable job here, with Slurm's reason, and the user resumes it.
        o.add("--no-requeue");
        o.addAll(settings.extraArgs());
        return o;
    }

    /**
     * Checks, once, that this machine can write the shared directory, and that a node can too (a one-task
     * {@code srun} that writes a file there, waiting at most 30 s for a free CPU; when none is free in time the
     * node's side is left to the worker, which exits with {@link dev.squeeze.engine.jobs.WorkerMain#EXIT_CANNOT_WRITE}).
     */
    public void checkShared() {
        synchronized (checkLock) {
            if (sharedChecked) {
                return;
            }
            if (sharedFailure != null && System.nanoTime() - sharedFailureNanos < 60_000_000_000L) {
                throw sharedFailure;
            }
            try {
                checkSharedNow();
                sharedChecked = true;
            } catch (SqueezeException e) {
                sharedFailure = e;
                sharedFailureNanos = System.nanoTime();
                throw e;
            }
        }
    }

    private void checkSharedNow() {
        Path shared = Path.of(settings.sharedDir());
        if (!Files.isDirectory(shared)) {
            throw new SqueezeException("The Slurm shared directory " + shared + " does not exist here",
                    "create it on a filesystem every node mounts at the same path, or give another with --slurm-shared-dir");
        }
        try {
            Files.createDirectories(jobRoot);
            Path probe = jobRoot.resolve(".probe-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
            Files.writeString(probe, "squeeze\n");
            Files.delete(probe);
        } catch (IOException e) {
            throw new SqueezeException("This machine cannot write the Slurm shared directory " + jobRoot + ": "
                    + e.getMessage(), "make it writable (or give another with --slurm-shared-dir)");
        }
        NodeProbe probe = probeNode(Duration.ofSeconds(30));
        if (probe.answered() && !probe.wrote()) {
            throw new SqueezeException("A Slurm node" + (probe.node().isEmpty() ? "" : " (" + probe.node() + ")")
                    + " cannot write the shared directory " + jobRoot + (probe.said().isEmpty() ? "" : ": " + probe.said()),
                    "give a directory every node mounts read-write at the same path (--slurm-shared-dir); 'squeeze"
                            + " cluster check' shows what each side sees");
        }
    }

    /** Whether Slurm runs (or is about to run) job {@code slurmJobId}; an error when the controller does not answer. */
    public boolean isAlive(String slurmJobId) {
        return commands.show(slurmJobId).map(i -> SlurmCommands.ALIVE.contains(i.state())).orElse(false);
    }

    /**
     * What a node said when asked to write a file in the shared directory.
     *
     * @param answered a node ran the probe (false: no CPU was free within the wait, or srun failed to start)
     * @param wrote    the file the node wrote is visible here
     * @param node     the node's name, when it said
     * @param said     what srun or the node printed, when the probe failed
     */
    public record NodeProbe(boolean answered, boolean wrote, String node, String said) {
    }

    /** Asks one node (through {@code srun}) to write a file under {@link #jobRoot}, and looks for it here. */
    public NodeProbe probeNode(Duration wait) {
        Path file = jobRoot.resolve(".node-probe-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        SlurmCommands.Result r = commands.srunNow(wait, placementOptions(), List.of("sh", "-c",
                // The node's name first, so that a node that cannot write the file is still named.
                "echo \"$SLURMD_NODENAME\"; echo \"$SLURMD_NODENAME\" > " + shellQuote(file.toString())));
        try {
            boolean wrote = Files.exists(file);
            String node = wrote ? Files.readString(file, StandardCharsets.UTF_8).strip() : r.out().strip();
            Files.deleteIfExists(file);
            boolean answered = r.ok() || !r.out().isBlank() || r.err().contains("Permission denied")
                    || r.err().contains("No such file") || r.err().contains("Read-only");
            return new NodeProbe(answered, wrote, node, SlurmCommands.oneLine(r.err()));
        } catch (IOException e) {
            return new NodeProbe(r.ok(), false, "", e.getMessage());
        }
    }

    /** {@code --partition} and {@code --account} of {@link #settings}, those that are set. */
    public List<String> placementOptions() {
        List<String> o = new ArrayList<>();
        if (settings.partition() != null) {
            o.add("--partition=" + settings.partition());
        }
        if (settings.account() != null) {
            o.add("--account=" + settings.account());
        }
        return o;
    }

    /** Queue state of {@code slurmJobId}, from one {@code squeue} call for every job of this launcher, at most once a second. */
    synchronized Optional<SlurmCommands.QueueState> state(String slurmJobId) {
        watched.add(slurmJobId);
        long now = System.nanoTime();
        if (now - lastQueueNanos >= QUEUE_INTERVAL.toNanos() || !lastQueue.containsKey(slurmJobId)) {
            Optional<Map<String, SlurmCommands.QueueState>> q = commands.queue(watched);
            lastQueueNanos = now;
            if (q.isEmpty()) {
                return Optional.empty(); // no answer: unknown, not ended
            }
            lastQueue = new HashMap<>(q.get());
            // Jobs the queue no longer knows remain watched until their workers stop asking (see forget)
        }
        SlurmCommands.QueueState s = lastQueue.get(slurmJobId);
        return Optional.of(s != null ? s : new SlurmCommands.QueueState(slurmJobId, "GONE", "", ""));
    }

    synchronized void forget(String slurmJobId) {
        watched.remove(slurmJobId);
    }
}
