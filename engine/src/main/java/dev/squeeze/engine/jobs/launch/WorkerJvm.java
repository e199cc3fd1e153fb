package dev.squeeze.engine.jobs.launch;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.LogTail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The worker's Java command line, and what a worker's exit status and log say when it ended without a final message.
 * Shared by the local launcher and the Slurm launcher: a worker on a node runs the same command.
 */
public final class WorkerJvm {
    /** The worker's main class. */
    public static final String MAIN = "dev.squeeze.engine.jobs.WorkerMain";

    private WorkerJvm() {
    }

    /**
     * {@code java [options] -cp <this class path> WorkerMain}, with {@code javaHome}'s java (null: this process's).
     *
     * @param heap         -Xmx, or null for the JVM's default
     * @param extraJvmArgs more options (tests inject faults through these)
     * @param errorFileDir where a crashing JVM writes its hs_err report
     */
    public static List<String> command(Path javaHome, String heap, List<String> extraJvmArgs, Path errorFileDir) {
        Path home = javaHome != null ? javaHome : Path.of(System.getProperty("java.home"));
        Path java = home.resolve("bin").resolve("java");
        if (javaHome == null && !Files.isExecutable(java)) {
            throw new SqueezeException("This Java runtime (" + home + ") has no bin/java to start job workers with",
                    "run Squeeze with a full JDK 25 (./squeeze finds one)");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        if (heap != null && !heap.isBlank()) {
            cmd.add("-Xmx" + heap);
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
        cmd.addAll(extraJvmArgs);
        cmd.add("-cp");
        cmd.add(absoluteClassPath(System.getProperty("java.class.path")));
        cmd.add(MAIN);
        return cmd;
    }

    /**
     * The class path with every entry made absolute: a worker on a cluster node starts in its job's folder, where a
     * relative entry (a hand-typed {@code java -cp engine/target/classes:…}) would name nothing.
     */
    static String absoluteClassPath(String classPath) {
        StringBuilder out = new StringBuilder();
        for (String e : classPath.split(java.io.File.pathSeparator, -1)) {
            if (e.isEmpty()) {
                continue;
            }
            if (!out.isEmpty()) {
                out.append(java.io.File.pathSeparatorChar);
            }
            out.append(e.equals("*") || e.endsWith(java.io.File.separator + "*")
                    ? Path.of(e.substring(0, e.length() - 1)).toAbsolutePath().normalize() + java.io.File.separator + "*"
                    : Path.of(e).toAbsolutePath().normalize().toString());
        }
        return out.toString();
    }

    /**
     * What the exit status and the log (from byte {@code logStart}: this attempt's part) say about a worker that
     * ended without a final message.
     */
    public static String crashReason(Path log, long logStart, int code) {
        String tail = logTail(log, logStart);
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
    public static String lastLines(String tail) {
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

    public static String signalName(int sig) {
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

    /** This attempt's part of the log, at most its last 16 KiB; "" when there is none. */
    static String logTail(Path log, long logStart) {
        try {
            if (!Files.exists(log)) {
                return "";
            }
            return LogTail.from(log, logStart, 16_384);
        } catch (IOException e) {
            return "";
        }
    }

    /** The log's size now (where a new attempt's part begins); 0 when it does not exist. */
    public static long logSize(Path log) {
        try {
            return Files.exists(log) ? Files.size(log) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    public static void appendToLog(Path log, String line) {
        try {
            Files.writeString(log, line + "\n", java.nio.charset.StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException ignored) {
            // The log is a convenience; the job's state is in the database.
        }
    }
}
