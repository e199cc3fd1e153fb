package dev.squeeze.engine.jobs.launch;

import dev.squeeze.engine.jobs.WorkerMain;
import dev.squeeze.engine.jobs.protocol.ParentMessage;
import dev.squeeze.engine.jobs.protocol.Protocol;
import dev.squeeze.engine.jobs.protocol.WorkerMessage;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A worker running as a Slurm batch job: its messages are read from {@code out.jsonl} as they are appended, the
 * parent's from {@code in.jsonl}, both in its folder under the shared directory ({@link SlurmLauncher}). Whether it is
 * still running is asked of the queue; when it ends without a final message, {@code scontrol show job} and its log
 * say why: Slurm's time limit, an {@code scancel} from outside Squeeze, memory, a failed node, preemption, a
 * crash.
 */
final class SlurmWorker implements Worker {
    /**
     * Fastest and slowest look at the output file: it slows down while the worker is quiet (pending in the queue, or
     * computing a long layer), and stays fast while a started worker has not said hello yet.
     */
    private static final long MIN_POLL_MILLIS = 50;
    private static final long MAX_POLL_MILLIS = 500;
    /** A file the parent leaves in the worker's folder once it has seen the worker's end: not to be reattached. */
    static final String SEEN_END = "end-seen";

    private final SlurmLauncher launcher;
    private final String slurmJobId;
    private final Path workerDir;
    private final Path log;
    private final long logStart;
    private final FollowedFile out;
    private volatile boolean detached;
    private volatile String node;
    private volatile boolean saidHello;
    /** Slurm's reason for keeping the job pending, as last reported; null before. */
    private String pendingReason;
    /** Slurm has started the job (its queue state is RUNNING). */
    private boolean running;
    /** The controller did not answer the last time it was asked (said once in the log). */
    private boolean saidUnanswered;

    SlurmWorker(SlurmLauncher launcher, String slurmJobId, Path workerDir, Path log, long logStart) {
        this.launcher = launcher;
        this.slurmJobId = slurmJobId;
        this.workerDir = workerDir;
        this.log = log;
        this.logStart = logStart;
        this.out = new FollowedFile(workerDir.resolve("out.jsonl"));
    }

    /** Whether the worker's output already holds its final message (a job that ended while no parent watched). */
    boolean hasEnding() {
        try {
            for (String line : new FollowedFile(out.file()).poll()) {
                WorkerMessage m = decode(line);
                if (isEnding(m)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    @Override
    public void send(ParentMessage m) {
        try {
            FollowedFile.append(workerDir.resolve("in.jsonl"), Protocol.encode(m));
        } catch (IOException e) {
            appendToLog("could not pass a message to the worker (" + e.getMessage() + "): " + Protocol.encode(m));
        }
    }

    @Override
    public WorkerEnding readUntilEnd(Consumer<WorkerMessage> onMessage) {
        long poll = MIN_POLL_MILLIS;
        long lastQueueCheck = 0;
        try {
            while (!detached) {
                List<String> lines = readLines();
                WorkerMessage last = deliver(lines, onMessage);
                if (last != null) {
                    return new WorkerEnding(last, 0, null, false);
                }
                // Quiet: look less often, except while a started job's worker is starting up (its first lines are
                // due any moment, and they are what a user waits to see).
                boolean starting = running && !saidHello;
                poll = !lines.isEmpty() || starting ? MIN_POLL_MILLIS : Math.min(MAX_POLL_MILLIS, poll * 2);
                long now = System.nanoTime();
                if (now - lastQueueCheck >= SlurmLauncher.QUEUE_INTERVAL.toNanos()) {
                    lastQueueCheck = now;
                    if (endedInQueue(onMessage)) {
                        return ended(onMessage);
                    }
                }
                sleep(poll);
            }
            return WorkerEnding.detachedNow();
        } finally {
            if (!detached) {
                launcher.forget(slurmJobId);
                markEndSeen();
            }
        }
    }

    /** Passes the worker's lines on; returns its final message when one was among them, else null. */
    private WorkerMessage deliver(List<String> lines, Consumer<WorkerMessage> onMessage) {
        for (String line : lines) {
            WorkerMessage m = decode(line);
            if (m == null) {
                appendToLog("stray line in " + out.file() + ": " + line);
                continue;
            }
            if (m instanceof WorkerMessage.Hello h) {
                saidHello = true;
                node = h.host();
            }
            onMessage.accept(m);
            if (isEnding(m)) {
                return m;
            }
        }
        return null;
    }

    /**
     * Asks the queue about the job: notes its node and whether it runs, reports why it is pending, and says whether
     * it has ended (confirmed by the controller itself: a job the queue shows no more, or not yet, is not taken for
     * ended on the queue's word). A controller that does not answer concludes nothing; it is said once in the log.
     */
    private boolean endedInQueue(Consumer<WorkerMessage> onMessage) {
        try {
            Optional<SlurmCommands.QueueState> q = launcher.state(slurmJobId);
            saidUnanswered = false;
            if (q.isEmpty()) {
                return false;
            }
            SlurmCommands.QueueState state = q.get();
            if (!state.nodes().isBlank() && node == null) {
                node = state.nodes();
            }
            running = "RUNNING".equals(state.state());
            if ("PENDING".equals(state.state()) && !saidHello && !state.reason().equals(pendingReason)) {
                // Why the job waits is Slurm's to say, and the user's first question: passed on as the job's phase,
                // as a worker would report one.
                pendingReason = state.reason();
                onMessage.accept(new WorkerMessage.Phase("pending", "Slurm job " + slurmJobId
                        + " waits in the queue (" + pendingReason + ")"));
            }
            return !SlurmCommands.ALIVE.contains(state.state()) && !launcher.isAlive(slurmJobId);
        } catch (dev.squeeze.engine.SqueezeException e) {
            if (!saidUnanswered) {
                appendToLog("Slurm does not answer about job " + slurmJobId + " (" + e.getMessage()
                        + "); still watching it");
            }
            saidUnanswered = true;
            return false;
        }
    }

    /** Slurm says the job is over: what it wrote last, else why it ended. */
    private WorkerEnding ended(Consumer<WorkerMessage> onMessage) {
        // The last lines may have been written just before the job ended.
        WorkerMessage last = deliver(readLines(), onMessage);
        if (last != null) {
            return new WorkerEnding(last, 0, null, false);
        }
        Optional<SlurmCommands.JobInfo> info;
        try {
            info = launcher.commands().show(slurmJobId);
        } catch (dev.squeeze.engine.SqueezeException e) {
            info = Optional.empty();
        }
        int exit = info.map(SlurmCommands.JobInfo::exitStatus).orElse(-1);
        return new WorkerEnding(null, exit, why(info), false);
    }

    /** Leaves {@link #SEEN_END} in the worker's folder: a later resume submits anew rather than read this end again. */
    private void markEndSeen() {
        try {
            java.nio.file.Files.writeString(workerDir.resolve(SEEN_END), "");
        } catch (IOException e) {
            appendToLog("could not mark " + workerDir + " as ended (" + e.getMessage() + ")");
        }
    }

    /** For the user: why the Slurm job ended without the worker's final message, with where it ran. */
    String why(Optional<SlurmCommands.JobInfo> info) {
        String where = "Slurm job " + slurmJobId + (node == null || node.isBlank() ? "" : " on " + node);
        if (info.isEmpty()) {
            return "the worker ended without finishing the job, and Slurm no longer knows " + where
                    + " (its log: " + log + ")";
        }
        SlurmCommands.JobInfo j = info.get();
        if (node == null && !j.nodes().isBlank()) {
            where += " on " + j.nodes();
        }
        String reason = j.reason().equals("None") ? "" : ", reason " + j.reason();
        return switch (j.state()) {
            case "TIMEOUT" -> "Slurm stopped " + where + " at its time limit (" + j.fields().getOrDefault("TimeLimit", "?")
                    + "); resume the job to continue from its checkpoints, with a longer --slurm-time if needed";
            case "CANCELLED" -> "Slurm cancelled " + where + " (scancel, or an administrator" + reason + ")";
            case "OUT_OF_MEMORY" -> "Slurm ended " + where + ": it used more than its memory ("
                    + j.fields().getOrDefault("MinMemoryNode", j.fields().getOrDefault("mem", "?"))
                    + "); give it more with --slurm-mem";
            case "NODE_FAIL" -> "the node running " + where + " failed (Slurm: NODE_FAIL" + reason + ")";
            case "PREEMPTED" -> "Slurm preempted " + where + " for a job of higher priority";
            case "BOOT_FAIL" -> "the node for " + where + " failed to boot";
            case "DEADLINE" -> "Slurm ended " + where + " at its deadline";
            default -> {
                int code = j.signal() != 0 ? 128 + j.signal() : j.exitStatus();
                if (code == WorkerMain.EXIT_CANNOT_WRITE) {
                    yield "the worker of " + where + " could not write its messages to the shared directory "
                            + workerDir + "; every node must mount it read-write at the same path";
                }
                if (code == WorkerMain.EXIT_NO_START || (!saidHello && code != 0)) {
                    String crash = WorkerJvm.crashReason(log, logStart, code);
                    yield "the worker of " + where + " never started its job: " + crash
                            + "; check the nodes' Java and shared directory with 'squeeze cluster check'";
                }
                yield WorkerJvm.crashReason(log, logStart, code) + " (" + where + ", Slurm state " + j.state() + reason + ")";
            }
        };
    }

    private List<String> readLines() {
        try {
            return out.poll();
        } catch (IOException e) {
            appendToLog("cannot read " + out.file() + ": " + e.getMessage());
            return List.of();
        }
    }

    private static WorkerMessage decode(String line) {
        try {
            return Protocol.workerMessage(line);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean isEnding(WorkerMessage m) {
        return m instanceof WorkerMessage.Result || m instanceof WorkerMessage.Failed
                || m instanceof WorkerMessage.Cancelled;
    }

    @Override
    public void destroy() {
        launcher.commands().cancel(slurmJobId);
    }

    @Override
    public void detach() {
        detached = true;
    }

    @Override
    public Placement placement() {
        return new Placement(Placement.SLURM, slurmJobId, node);
    }

    @Override
    public void appendToLog(String line) {
        WorkerJvm.appendToLog(log, line);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            // Supervisors are not interrupted; if one is, go on looking.
        }
    }
}
