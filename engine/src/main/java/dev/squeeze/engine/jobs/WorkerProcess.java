package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;
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
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The parent's side of one worker: starts {@code java ... WorkerMain} (the same Java and class path as this
 * process, its own heap), writes {@link ParentMessage}s to it, reads its {@link WorkerMessage}s, and when it ends
 * tells how: the message that ended the job, or — if it died without one — what its exit status and log say
 * (native crash, out of memory, killed).
 */
final class WorkerProcess {
    /** How a worker ended: {@code last} is its Result/Failed/Cancelled message, or null if it died without one. */
    record Ending(WorkerMessage last, int exitCode, String crash) {
    }

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
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        if (!Files.isExecutable(java)) {
            throw new SqueezeException("This Java runtime (" + System.getProperty("java.home")
                    + ") has no bin/java to start job workers with", "run Squeeze with a full JDK 25 (./squeeze finds one)");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        if (options.workerHeap() != null && !options.workerHeap().isBlank()) {
            cmd.add("-Xmx" + options.workerHeap());
        }
        cmd.add("-XX:+ExitOnOutOfMemoryError");
        // The JVM writes crash summaries to standard output, which is the protocol stream here: send them to the log.
        cmd.add("-XX:+DisplayVMOutputToStderr");
        // A crashed worker leaves its hs_err report beside its log; no core file of a whole JVM in the working folder.
        cmd.add("-XX:-CreateCoredumpOnCrash");
        cmd.add("-XX:ErrorFile=" + errorFileDir.resolve("hs_err_pid%p.log"));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("--add-modules=jdk.incubator.vector");
        cmd.add("--sun-misc-unsafe-memory-access=allow");
        cmd.add("-Dorg.slf4j.simpleLogger.logFile=System.err");
        // Our own settings travel with the job (kernel backend, data folders, the project root).
        System.getProperties().stringPropertyNames().stream().sorted()
                .filter(k -> k.startsWith("squeeze."))
                .forEach(k -> cmd.add("-D" + k + "=" + System.getProperty(k)));
        cmd.addAll(options.extraJvmArgs());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(WorkerMain.class.getName());
        return cmd;
    }

    /** Starts a worker whose standard error is appended to {@code log}. */
    static WorkerProcess start(JobEngine.Options options, Path log) {
        try {
            Files.createDirectories(log.getParent());
            long logStart = Files.exists(log) ? Files.size(log) : 0;
            ProcessBuilder pb = new ProcessBuilder(command(options, log.getParent()))
                    .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
            return new WorkerProcess(pb.start(), log, logStart);
        } catch (IOException e) {
            throw new SqueezeException("Could not start a job worker (log " + log + "): " + e.getMessage(),
                    "check free disk space and that the folder is writable", e);
        }
    }

    synchronized void send(ParentMessage m) {
        try {
            toWorker.write(Protocol.encode(m));
            toWorker.write('\n');
            toWorker.flush();
        } catch (IOException e) {
            // The worker is gone; how it ended is read from its exit status.
        }
    }

    /** Reads the worker's messages until its output ends, then waits for it and says how it ended. */
    Ending readUntilEnd(Consumer<WorkerMessage> onMessage) {
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
        return new Ending(last, code, last == null ? crashReason(code) : null);
    }

    void destroy() {
        process.destroyForcibly();
    }

    /** What the exit status and the log say about a worker that ended without a final message. */
    String crashReason(int code) {
        String tail = logTail();
        if (tail.contains("OutOfMemoryError")) {
            return "the worker ran out of memory (" + firstLineWith(tail, "OutOfMemoryError")
                    + "); give workers a larger heap (--worker-heap) or run fewer at once";
        }
        if (tail.contains("SIGSEGV") || tail.contains("SIGBUS") || tail.contains("A fatal error has been detected")) {
            String signal = tail.contains("SIGSEGV") ? "SIGSEGV" : tail.contains("SIGBUS") ? "SIGBUS" : "a fatal error";
            return "the worker crashed in native code (" + signal + ", exit status " + code + "); details in " + log
                    + " and the hs_err file beside it";
        }
        if (code > 128) {
            int sig = code - 128;
            return "the worker was killed by signal " + sig + " (" + signalName(sig) + ")"
                    + (sig == 9 ? ": by a user, or by the system when memory ran out" : "");
        }
        String said = lastLines(tail);
        return "the worker exited with status " + code + " without finishing the job"
                + (said.isEmpty() ? "" : ": " + said) + " (its log: " + log + ")";
    }

    /**
     * The last few lines of the log that say something, joined by " / " — e.g. "Error occurred during
     * initialization of VM / Too small maximum heap" — without stack frames or the JVM's routine notices.
     */
    static String lastLines(String tail) {
        java.util.ArrayDeque<String> keep = new java.util.ArrayDeque<>();
        for (String line : tail.split("\\R")) {
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("at ") || t.matches("\\.\\.\\. \\d+ more")
                    || t.startsWith("WARNING: Using incubator modules")) {
                continue;
            }
            keep.addLast(t.length() > 200 ? t.substring(0, 200) + "…" : t);
            if (keep.size() > 3) {
                keep.removeFirst();
            }
        }
        return String.join(" / ", keep);
    }

    private static String signalName(int sig) {
        return switch (sig) {
            case 9 -> "SIGKILL";
            case 15 -> "SIGTERM";
            case 6 -> "SIGABRT";
            case 11 -> "SIGSEGV";
            case 2 -> "SIGINT";
            default -> "signal " + sig;
        };
    }

    private static String firstLineWith(String text, String needle) {
        for (String line : text.split("\n")) {
            if (line.contains(needle)) {
                return line.trim();
            }
        }
        return needle;
    }

    private String logTail() {
        try {
            if (!Files.exists(log)) {
                return "";
            }
            return LogTail.from(log, logStart, 16_384); // this attempt's part, at most its last 16 KiB
        } catch (IOException e) {
            return "";
        }
    }

    void appendToLog(String line) {
        try {
            Files.writeString(log, line + "\n", StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException ignored) {
            // The log is a convenience; the job's state is in the database.
        }
    }
}
