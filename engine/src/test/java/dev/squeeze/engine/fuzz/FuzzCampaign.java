package dev.squeeze.engine.fuzz;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs fuzz targets under Jazzer (coverage-guided, libFuzzer inside), each in a JVM of its own: seeds written
 * fresh from {@link FuzzTargets}, a corpus that grows across campaigns under the work folder, a finding written
 * as {@code crash-*} (the input) plus a Java reproducer beside it.
 *
 * <p>The JVM's heap is small on purpose ({@value #HEAP}): inputs are a few kilobytes, so a reader that
 * allocates what a header claims without checking it against the file's length runs out of memory at once and
 * that is a finding.
 */
public final class FuzzCampaign {
    static final String HEAP = "-Xmx768m";
    private static final Pattern EXECUTED = Pattern.compile("stat::number_of_executed_units:\\s*(\\d+)");
    private static final Pattern DONE = Pattern.compile("Done (\\d+) runs in (\\d+) second");

    /** How long each target runs: a time limit, or a number of executions. */
    public record Budget(long seconds, long runs) {
        static Budget seconds(long s) {
            return new Budget(s, 0);
        }

        static Budget runs(long n) {
            return new Budget(0, n);
        }

        List<String> flags() {
            return runs > 0 ? List.of("-runs=" + runs) : List.of("-max_total_time=" + seconds);
        }
    }

    /**
     * @param finding   null when the target survived; else the first lines of what Jazzer reported
     * @param artifacts the crashing input and reproducer, when there is a finding
     */
    public record Result(String target, long executions, double seconds, int exitCode, String finding,
                         List<Path> artifacts, Path log) {
        double execsPerSecond() {
            return seconds > 0 ? executions / seconds : 0;
        }
    }

    private FuzzCampaign() {
    }

    /** Runs one target in a child JVM on {@code classPath}; blocks until it ends. */
    public static Result run(FuzzTargets.Target target, Path work, Budget budget, String classPath)
            throws IOException, InterruptedException {
        Path dir = work.resolve(target.name());
        Path seeds = dir.resolve("seeds");
        Path corpus = dir.resolve("corpus");
        Path findings = dir.resolve("findings");
        Files.createDirectories(seeds);
        Files.createDirectories(corpus);
        Files.createDirectories(findings);
        int largest = 0;
        try {
            for (Map.Entry<String, byte[]> s : target.seeds().seeds().entrySet()) {
                Files.write(seeds.resolve(s.getKey()), s.getValue());
                largest = Math.max(largest, s.getValue().length);
            }
        } catch (Exception e) {
            throw new IOException("cannot write the seeds of fuzz target " + target.name(), e);
        }
        List<Path> before = list(findings);
        Path log = dir.resolve("jazzer.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, HEAP, "-XX:+EnableDynamicAgentLoading",
                "-XX:-CreateCoredumpOnCrash", "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Dorg.slf4j.simpleLogger.defaultLogLevel=error",
                "-cp", classPath, "com.code_intelligence.jazzer.Jazzer",
                "--target_class=" + target.target().getName(),
                // Coverage from our code and the parsers it drives (JSON, protobuf); the JDK is not instrumented.
                "--instrumentation_includes=dev.squeeze.**:com.fasterxml.jackson.**:com.google.protobuf.**",
                // Plans carry user-written regular expressions by design (invalid ones are refused with a message);
                // Jazzer's regex-injection detector would report every syntax error. Catastrophic backtracking
                // is still caught, by the per-input timeout.
                "--disabled_hooks=com.code_intelligence.jazzer.sanitizers.RegexInjection",
                "--reproducer_path=" + findings,
                "-artifact_prefix=" + findings + "/",
                "-timeout=20", "-rss_limit_mb=4096", "-print_final_stats=1", "-seed=" + seedOf(target),
                // Room to grow past the seeds (libFuzzer's default is the largest corpus file).
                "-max_len=" + Math.max(4096, 2 * largest)));
        cmd.addAll(budget.flags());
        cmd.add(corpus.toString());
        cmd.add(seeds.toString());
        long start = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long limit = budget.seconds() > 0 ? budget.seconds() + 120 : TimeUnit.DAYS.toSeconds(1);
        if (!p.waitFor(limit, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        String out = Files.readString(log, StandardCharsets.UTF_8);
        long executions = executions(out);
        List<Path> artifacts = new ArrayList<>(list(findings));
        artifacts.removeAll(before);
        String finding = null;
        if (p.exitValue() != 0 || !artifacts.isEmpty()) {
            finding = summary(out);
        }
        return new Result(target.name(), executions, seconds, p.exitValue(), finding, artifacts, log);
    }

    /** A fixed libFuzzer seed per target: the same budget explores the same way on every machine. */
    private static int seedOf(FuzzTargets.Target target) {
        return Math.abs(target.name().hashCode() % 1_000_000) + 1;
    }

    static long executions(String out) {
        Matcher m = EXECUTED.matcher(out);
        long n = -1;
        while (m.find()) {
            n = Long.parseLong(m.group(1));
        }
        if (n < 0) {
            Matcher d = DONE.matcher(out);
            while (d.find()) {
                n = Long.parseLong(d.group(1));
            }
        }
        return Math.max(n, 0);
    }

    /** The report's key lines: the exception (or timeout/OOM) and its first frames. */
    static String summary(String out) {
        int at = out.indexOf("== Java Exception");
        if (at < 0) {
            at = Math.max(out.indexOf("==ERROR"), out.indexOf("ERROR: libFuzzer"));
        }
        if (at < 0) {
            String[] lines = out.strip().split("\n");
            return String.join("\n", List.of(lines).subList(Math.max(0, lines.length - 15), lines.length));
        }
        String tail = out.substring(at);
        String[] lines = tail.split("\n");
        return String.join("\n", List.of(lines).subList(0, Math.min(lines.length, 18)));
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    static String table(List<Result> results) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-22s %12s %9s %10s  %s%n", "target",
                "executions", "seconds", "exec/s", "outcome"));
        for (Result r : results) {
            sb.append(String.format(Locale.ROOT, "%-22s %,12d %9.1f %,10.0f  %s%n", r.target(), r.executions(),
                    r.seconds(), r.execsPerSecond(), r.finding() == null ? "no finding"
                            : "FINDING (exit " + r.exitCode() + ") " + r.artifacts()));
        }
        return sb.toString();
    }
}
