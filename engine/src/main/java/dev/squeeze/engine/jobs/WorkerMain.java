package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.jobs.checkpoint.CheckpointStore;
import dev.squeeze.engine.jobs.protocol.ParentMessage;
import dev.squeeze.engine.jobs.protocol.Protocol;
import dev.squeeze.engine.jobs.protocol.WorkerMessage;
import dev.squeeze.engine.runs.RunCancelledException;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.runs.RunSink;
import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.RunRecord;

import java.io.BufferedReader;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The worker process: does one job and exits. Started by {@link WorkerProcess} as {@code java ... WorkerMain}
 * with its own heap. It reads {@link ParentMessage}s on standard input and writes {@link WorkerMessage}s on
 * standard output (everything else it prints, logs included, goes to standard error). It never opens the results
 * database: the finished run goes back to the parent, which stores it. After every layer it writes a checkpoint,
 * so a worker that dies (kill -9, a native crash, out of memory) costs at most the layer in flight.
 *
 * <p>If its standard input ends (the parent died), it stops at the next safe point, and exits anyway after
 * {@link #ORPHAN_GRACE_MILLIS}, so no worker outlives its parent for long.
 *
 * <p>On a cluster ({@code WorkerMain --in FILE --out FILE}, as the Slurm launcher submits it) the same messages
 * travel through two files in a directory the parent and the node share: the worker follows {@code --in} for the
 * parent's lines and appends its own to {@code --out}. There the worker is meant to outlive its parent (a parent
 * that comes back reconnects by reading {@code --out}), so the end of the parent is not a reason to stop: Slurm's
 * time limit bounds it, and {@code scancel} ends it.
 */
public final class WorkerMain {
    static final long ORPHAN_GRACE_MILLIS = 10_000;

    /** Exit status of a worker on a cluster that cannot write its {@code --out} file (the shared directory). */
    public static final int EXIT_CANNOT_WRITE = 5;
    /** Exit status of a worker on a cluster that found no start message in its {@code --in} file. */
    public static final int EXIT_NO_START = 6;

    /** How often a worker on a cluster looks for the parent's lines in its {@code --in} file. */
    static final long FOLLOW_MILLIS = 250;

    private final PrintStream protocolOut;
    /** The {@code --out} file of a worker on a cluster; null when the protocol goes over standard output. */
    private final Path outFile;
    private volatile String cancelReason;

    private WorkerMain(PrintStream protocolOut, Path outFile) {
        this.protocolOut = protocolOut;
        this.outFile = outFile;
    }

    public static void main(String[] args) throws Exception {
        Path inFile = null;
        Path outFile = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--in" -> inFile = Path.of(args[i + 1]);
                case "--out" -> outFile = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("WorkerMain takes --in FILE --out FILE, not " + args[i]);
            }
        }
        if ((inFile == null) != (outFile == null) || args.length % 2 != 0) {
            System.err.println("WorkerMain: give both --in FILE and --out FILE, or neither (standard input/output)");
            System.exit(2);
        }
        // The protocol owns standard output; anything else printed (logs, libraries) goes to standard error.
        PrintStream protocol = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        System.setOut(System.err);
        WorkerMain worker = new WorkerMain(protocol, outFile);
        worker.send(new WorkerMessage.Hello(Protocol.VERSION, ProcessHandle.current().pid(),
                Provenance.current("").squeezeVersion(), Runtime.version().toString(), workerHost()));
        BufferedReader in = null;
        dev.squeeze.engine.jobs.launch.FollowedFile followed = null;
        String first;
        java.util.List<String> alsoRead = java.util.List.of();
        if (inFile != null) {
            followed = new dev.squeeze.engine.jobs.launch.FollowedFile(inFile);
            java.util.List<String> lines = firstLines(followed);
            first = lines.isEmpty() ? null : lines.getFirst();
            alsoRead = lines.isEmpty() ? alsoRead : lines.subList(1, lines.size());
        } else {
            in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            first = in.readLine();
        }
        if (first == null) {
            System.exit(0);
        }
        ParentMessage.Start start;
        try {
            if (!(Protocol.parentMessage(first) instanceof ParentMessage.Start s)) {
                throw new IllegalArgumentException("the first message must be 'start'");
            }
            if (s.protocol() != Protocol.VERSION) {
                throw new IllegalArgumentException("the parent speaks protocol " + s.protocol() + ", this worker "
                        + Protocol.VERSION);
            }
            start = s;
        } catch (IllegalArgumentException e) {
            worker.send(new WorkerMessage.Failed("The worker could not understand its job: " + e.getMessage()
                    + " (parent and worker must be the same Squeeze version)", false));
            System.exit(2);
            return;
        }
        // A cancel written before this worker started (the job was cancelled while Slurm kept it pending) counts.
        for (String line : alsoRead) {
            worker.takeCancel(line);
        }
        BufferedReader stdin = in;
        dev.squeeze.engine.jobs.launch.FollowedFile follow = followed;
        Thread listener = new Thread(() -> {
            if (follow != null) {
                worker.follow(follow);
            } else {
                worker.listen(stdin);
            }
        }, "parent-listener");
        listener.setDaemon(true);
        listener.start();
        System.exit(worker.run(start));
    }

    /** The machine this worker runs on: the Slurm node's name on a cluster (several may share one host), else the host name. */
    static String workerHost() {
        String node = System.getenv("SLURMD_NODENAME");
        return node != null && !node.isBlank() ? node : Provenance.hostName();
    }

    /**
     * The lines of a followed {@code --in} file as first read: the start message (written before the job was
     * submitted: there at once), and any cancel appended since.
     */
    private static java.util.List<String> firstLines(dev.squeeze.engine.jobs.launch.FollowedFile in) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            java.util.List<String> lines = in.poll();
            if (!lines.isEmpty()) {
                return lines;
            }
            Thread.sleep(FOLLOW_MILLIS);
        }
        System.err.println("WorkerMain: no start message in " + in.file() + " within 60 s");
        System.exit(EXIT_NO_START);
        return java.util.List.of();
    }

    /** Takes a cancel request from one of the parent's lines (other lines are not for a running job). */
    private void takeCancel(String line) {
        try {
            if (Protocol.parentMessage(line) instanceof ParentMessage.Cancel c) {
                cancelReason = c.reason() == null ? "cancelled" : c.reason();
            }
        } catch (IllegalArgumentException e) {
            System.err.println("WorkerMain: not a message from the parent: " + line);
        }
    }

    /** A worker on a cluster: reads cancel requests appended to its {@code --in} file, for as long as it runs. */
    private void follow(dev.squeeze.engine.jobs.launch.FollowedFile in) {
        while (true) {
            try {
                for (String line : in.poll()) { // the start message was read already, by firstLines
                    takeCancel(line);
                }
                Thread.sleep(FOLLOW_MILLIS);
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                System.err.println("WorkerMain: cannot read " + in.file() + ": " + e.getMessage());
                try {
                    Thread.sleep(FOLLOW_MILLIS * 4);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    /** Reads cancel requests; the end of input means the parent is gone. */
    private void listen(BufferedReader in) {
        try {
            String line;
            while ((line = in.readLine()) != null) {
                if (Protocol.parentMessage(line) instanceof ParentMessage.Cancel c) {
                    cancelReason = c.reason() == null ? "cancelled" : c.reason();
                }
            }
        } catch (Exception e) {
            // Unreadable input is treated as the parent's end, below.
        }
        cancelReason = "the parent process ended";
        Thread reaper = new Thread(() -> {
            try {
                Thread.sleep(ORPHAN_GRACE_MILLIS);
            } catch (InterruptedException ignored) {
                // Exit anyway.
            }
            Runtime.getRuntime().halt(4);
        }, "orphan-reaper");
        reaper.setDaemon(true);
        reaper.start();
    }

    private int run(ParentMessage.Start start) {
        CheckpointStore checkpoints = new CheckpointStore(Path.of(start.checkpointDir()), start.specHash());
        FaultInjection faults = FaultInjection.fromSystemProperty(start.jobId());
        int[] layersDone = {0};
        int[] statesSaved = {0};
        ProgressThrottle throttle = new ProgressThrottle(ProgressThrottle.INTERVAL_NANOS);
        RunHooks hooks = new RunHooks() {
            @Override
            public void progress(Phase phase, long done, long total, String unit) {
                if (total <= 0) {
                    return; // nothing to count (no windows, an empty evaluation set): no progress to report
                }
                if (throttle.admit(phase.word(), done, total, System.nanoTime())) {
                    send(new WorkerMessage.Progress(phase.word(), done, total, unit));
                    faults.afterProgress(phase, done, total, this);
                }
            }

            @Override
            public void phase(Phase phase, String detail) {
                send(new WorkerMessage.Phase(phase.word(), detail));
                faults.inPhase(phase, layersDone[0], this);
            }

            @Override
            public void warning(String message) {
                send(new WorkerMessage.Warning(message));
            }

            @Override
            public void layerStarted(int index, int total, String layer) {
                send(new WorkerMessage.Layer(index, total, layer, "started"));
                faults.inLayer(index, this);
            }

            @Override
            public void layerDone(int index, int total, String layer, boolean restored) {
                send(new WorkerMessage.Layer(index, total, layer, restored ? "restored" : "done"));
                layersDone[0]++;
                faults.afterLayer(index);
            }

            @Override
            public void checkCancelled() {
                String reason = cancelReason;
                if (reason != null) {
                    throw new RunCancelledException(reason);
                }
            }

            @Override
            public Optional<Restored> restore(int index, String layer) {
                return switch (checkpoints.load(index, layer)) {
                    case CheckpointStore.Loaded.Present p -> Optional.of(new Restored(p.tensor(), p.result()));
                    case CheckpointStore.Loaded.Missing m -> Optional.empty();
                    case CheckpointStore.Loaded.Damaged d -> {
                        send(new WorkerMessage.Warning("The checkpoint of layer " + layer + " is damaged ("
                                + d.reason() + "); computing the layer again"));
                        yield Optional.empty();
                    }
                };
            }

            @Override
            public void save(int index, String layer, CompressedTensor tensor, RunRecord.LayerResult result) {
                checkpoints.save(index, layer, tensor, result);
            }

            @Override
            public Optional<byte[]> loadState(String key) {
                return checkpoints.loadState(key, why -> send(new WorkerMessage.Warning("The saved state '" + key
                        + "' cannot be used (" + why + "); that part of the search starts again")));
            }

            @Override
            public void saveState(String key, byte[] state) {
                checkpoints.saveState(key, state);
                faults.afterState(++statesSaved[0]);
            }

            @Override
            public Optional<Path> sharedCacheDir() {
                // Beside the jobs' own folders: <database>-checkpoints/levels
                return Optional.of(checkpoints.dir().getParent().resolve("levels"));
            }
        };
        try {
            JobExecution.run(start.spec(), new RunSink() {
                @Override
                public long accept(RunRecord run) {
                    send(new WorkerMessage.Result(run));
                    return -1;
                }

                @Override
                public long acceptPoint(RunRecord run, String pointKey) {
                    send(new WorkerMessage.Point(run, pointKey));
                    return -1;
                }
            }, hooks, start.modelHash());
            faults.afterResult(hooks);
            return 0;
        } catch (RunCancelledException e) {
            send(new WorkerMessage.Cancelled(e.getMessage()));
            return 0;
        } catch (SqueezeException e) {
            send(new WorkerMessage.Failed(e.getMessage(), true));
            return 1;
        } catch (RuntimeException | Error e) {
            e.printStackTrace(System.err);
            send(new WorkerMessage.Failed("internal error in the worker: " + e
                    + " (a bug in Squeeze; the job's log has the details)", true));
            return 1;
        }
    }

    private synchronized void send(WorkerMessage m) {
        if (outFile != null) {
            try {
                // Open, append, force, close: the parent (maybe on another machine, over NFS) sees the line at its
                // next open of the file.
                dev.squeeze.engine.jobs.launch.FollowedFile.append(outFile, Protocol.encode(m));
            } catch (java.io.IOException e) {
                // Nothing can reach the parent: say so in the log, and stop rather than work on unseen.
                System.err.println("WorkerMain: cannot write " + outFile + ": " + e.getMessage());
                Runtime.getRuntime().halt(EXIT_CANNOT_WRITE);
            }
            return;
        }
        protocolOut.println(Protocol.encode(m));
        protocolOut.flush();
    }
}
