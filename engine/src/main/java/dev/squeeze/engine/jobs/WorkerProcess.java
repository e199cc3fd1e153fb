package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.launch.Placement;
import dev.squeeze.engine.jobs.launch.Worker;
import dev.squeeze.engine.jobs.launch.WorkerEnding;
import dev.squeeze.engine.jobs.launch.WorkerJvm;
import dev.squeeze.engine.jobs.protocol.ParentMessage;
import dev.squeeze.engine.jobs.protocol.Protocol;
import dev.squeeze.engine.jobs.protocol.WorkerMessage;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * The local launcher's worker: starts {@code java ... WorkerMain} on this machine (the same Java and class path as
 * this process, its own heap), writes {@link ParentMessage}s to its standard input, reads its {@link WorkerMessage}s
 * from its standard output, and when it ends tells how: the message that ended the job, or — if it died without one
 * — what its exit status and log say (native crash, out of memory, killed).
 */
final class WorkerProcess implements Worker {
    private final Process process;
    private final Writer toWorker;
    private final Path log;
    /** Where this worker's part of the log begins: a resumed job's log holds its earlier workers' output too. */
    private final long logStart;

    private WorkerProcess(Process process, Path log, long logStart) {
        this.process = process;
        this.log = log;
        this.logStart = logStart;
        this.toWorker = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    }

    /** The worker's command line. */
    static List<String> command(JobEngine.Options options, Path errorFileDir) {
        return WorkerJvm.command(null, options.workerHeap(), options.extraJvmArgs(), errorFileDir);
    }

    /** Starts a worker whose standard error is appended to {@code log}. */
    static WorkerProcess start(JobEngine.Options options, Path log) {
        try {
            Files.createDirectories(log.getParent());
            long logStart = WorkerJvm.logSize(log);
            ProcessBuilder pb = new ProcessBuilder(command(options, log.getParent()))
                    .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
            return new WorkerProcess(pb.start(), log, logStart);
        } catch (IOException e) {
            throw new SqueezeException("Could not start a job worker (log " + log + "): " + e.getMessage(),
                    "check free disk space and that the folder is writable", e);
        }
    }

    @Override
    public synchronized void send(ParentMessage m) {
        try {
            toWorker.write(Protocol.encode(m));
            toWorker.write('\n');
            toWorker.flush();
        } catch (IOException e) {
            // The worker is gone; how it ended is read from its exit status.
        }
    }

    /** Reads the worker's messages until its output ends, then waits for it and says how it ended. */
    @Override
    public WorkerEnding readUntilEnd(Consumer<WorkerMessage> onMessage) {
        WorkerMessage last = null;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                WorkerMessage m;
                try {
                    m = Protocol.workerMessage(line);
                } catch (IllegalArgumentException e) {
                    appendToLog("stray line on the protocol stream: " + line);
                    continue;
                }
                if (m instanceof WorkerMessage.Result || m instanceof WorkerMessage.Failed
                        || m instanceof WorkerMessage.Cancelled) {
                    last = m;
                }
                onMessage.accept(m);
            }
        } catch (IOException e) {
            appendToLog("reading the worker's output failed: " + e);
        }
        int code;
        while (true) {
            try {
                code = process.waitFor();
                break;
            } catch (InterruptedException e) {
                // Supervisors are not interrupted; if one is, wait on: the worker's end must be known.
            }
        }
        return new WorkerEnding(last, code, last == null ? WorkerJvm.crashReason(log, logStart, code) : null, false);
    }

    @Override
    public void destroy() {
        process.destroyForcibly();
    }

    /** A local worker cannot outlive its parent's pipes: it is ended (its job resumes from its checkpoints). */
    @Override
    public void detach() {
        destroy();
    }

    @Override
    public Placement placement() {
        return new Placement(Placement.LOCAL, Long.toString(process.pid()),
                dev.squeeze.engine.store.Provenance.hostName());
    }

    @Override
    public void appendToLog(String line) {
        WorkerJvm.appendToLog(log, line);
    }
}
