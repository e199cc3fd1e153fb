package dev.squeeze.engine.jobs.launch;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real Slurm cluster on loopback for tests: two compute nodes ({@code node1}, {@code node2}, one CPU each) in a
 * default partition {@code debug}, run by {@code .ci/slurm-loopback.sh}. One per test JVM ({@link #get()}):
 * <ul>
 *   <li>{@code $SQUEEZE_TEST_SLURM_CONF} names the slurm.conf of a running cluster (CI starts one): it is used;</li>
 *   <li>else, as root with munged, slurmctld, slurmd and the client tools installed, one is started in a temp
 *   folder and stopped by a JVM shutdown hook;</li>
 *   <li>else the test is skipped with what is missing, except under CI ({@code CI=true}), where it fails.</li>
 * </ul>
 * Ended jobs stay visible to {@code squeue -t all} and {@code scontrol show job} for 10 minutes (MinJobAge).
 */
public final class LoopbackSlurm {
    /** Environment variable naming the slurm.conf of an already running cluster. */
    public static final String CONF_ENV = "SQUEEZE_TEST_SLURM_CONF";

    private static final String INSTALL =
            "apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge";
    private static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final List<String> DAEMONS = List.of("munged", "slurmctld", "slurmd");
    private static final List<String> CLIENTS = List.of("sinfo", "squeue", "sbatch", "srun", "scancel", "scontrol");

    private static LoopbackSlurm instance;
    /** Why no cluster could be had: repeated to every later caller without probing again. */
    private static String unavailable;
    private static boolean unavailableIsFailure;

    private final Path slurmConf;
    private final List<String> nodes;

    private LoopbackSlurm(Path slurmConf) {
        this.slurmConf = slurmConf;
        String listed = run("sinfo", "-h", "-N", "-o", "%N");
        this.nodes = listed.lines().map(String::strip).filter(s -> !s.isEmpty()).distinct().sorted().toList();
        if (nodes.isEmpty()) {
            fail("the Slurm cluster of " + slurmConf + " has no nodes (sinfo -N printed nothing)");
        }
    }

    /** The test JVM's cluster: an external one, a started one, or a skip (a failure under CI). */
    public static synchronized LoopbackSlurm get() {
        if (instance != null) {
            return instance;
        }
        if (unavailable != null) {
            if (unavailableIsFailure) {
                fail(unavailable);
            }
            Assumptions.abort(unavailable);
        }
        String external = System.getenv(CONF_ENV);
        try {
            if (external != null && !external.isBlank()) {
                Path conf = Path.of(external).toAbsolutePath();
                if (!Files.isRegularFile(conf)) {
                    throw giveUp(CONF_ENV + "=" + external + " is not a file; point it at the slurm.conf of a running"
                            + " cluster (.ci/slurm-loopback.sh start DIR writes DIR/slurm.conf) or unset it", true);
                }
                instance = new LoopbackSlurm(conf);
                return instance;
            }
            instance = startOwn();
            return instance;
        } catch (Unavailable u) {
            unavailable = u.getMessage();
            unavailableIsFailure = u.failure;
            if (u.failure) {
                fail(unavailable);
            }
            Assumptions.abort(unavailable);
            throw new AssertionError("unreachable: Assumptions.abort returned");
        } catch (AssertionError e) {
            unavailable = e.getMessage();
            unavailableIsFailure = true;
            throw e;
        }
    }

    /** The cluster's slurm.conf. */
    public Path slurmConf() {
        return slurmConf;
    }

    /** The environment a Slurm client command needs to reach this cluster: {@code SLURM_CONF}. */
    public Map<String, String> env() {
        return Map.of("SLURM_CONF", slurmConf.toString());
    }

    /** The cluster's compute nodes by name, sorted ({@code [node1, node2]} for the script's cluster). */
    public List<String> nodes() {
        return nodes;
    }

    /**
     * Runs a Slurm client command (sinfo, squeue, sbatch, scontrol, scancel...) against this cluster and returns
     * its standard output; a non-zero exit or a run past 30 s fails the test with its standard error.
     */
    public String run(String... command) {
        Result r = exec(List.of(command), env(), CLIENT_TIMEOUT);
        if (r.code != 0) {
            fail("`" + String.join(" ", command) + "` exited with " + r.code + " on the Slurm cluster of "
                    + slurmConf + ": " + (r.err.isBlank() ? r.out : r.err).strip());
        }
        return r.out;
    }

    /** Waits until no job of the cluster is pending, running, completing or suspended; fails after {@code timeout}. */
    public void awaitIdle(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String busy;
        do {
            busy = run("squeue", "-h", "-t", "PENDING,CONFIGURING,RUNNING,COMPLETING,SUSPENDED", "-o", "%i %T %N")
                    .strip();
            if (busy.isEmpty()) {
                return;
            }
            sleep(50);
        } while (System.nanoTime() < deadline);
        fail("the Slurm cluster of " + slurmConf + " still has jobs after " + timeout + ":\n" + busy);
    }

    private static LoopbackSlurm startOwn() {
        List<String> missing = new ArrayList<>();
        for (String p : Stream.concat(DAEMONS.stream(), CLIENTS.stream()).toList()) {
            if (findExecutable(p) == null) {
                missing.add(p);
            }
        }
        if (!missing.isEmpty()) {
            throw giveUp("no Slurm cluster for this test: " + String.join(", ", missing) + " not installed; install"
                    + " them as root (" + INSTALL + ") or start a cluster (.ci/slurm-loopback.sh start DIR) and set "
                    + CONF_ENV + "=DIR/slurm.conf", false);
        }
        if (!isRoot()) {
            throw giveUp("no Slurm cluster for this test: starting one needs root (slurmd, munged as user munge);"
                    + " start it as root (sudo .ci/slurm-loopback.sh start DIR) and set " + CONF_ENV
                    + "=DIR/slurm.conf", false);
        }
        Path script = projectRoot().resolve(".ci/slurm-loopback.sh");
        if (!Files.isRegularFile(script)) {
            throw giveUp("the cluster script " + script + " is missing; run the tests from a full checkout"
                    + " (or set -Dsqueeze.root to the project root)", true);
        }
        Path dir;
        try {
            dir = Files.createTempDirectory("squeeze-slurm-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temp folder for the Slurm cluster", e);
        }
        Result started = exec(List.of("bash", script.toString(), "start", dir.toString()), Map.of(), START_TIMEOUT);
        Runnable stop = () -> {
            Result stopped = exec(List.of("bash", script.toString(), "stop", dir.toString()), Map.of(),
                    Duration.ofSeconds(30));
            if (stopped.code != 0) {
                System.err.println("LoopbackSlurm: stopping the cluster in " + dir + " failed (" + stopped.code
                        + "): " + stopped.err.strip() + "; stop it with: " + script + " stop " + dir);
                return;
            }
            deleteTree(dir);
        };
        if (started.code != 0) {
            stop.run();
            throw giveUp("starting the loopback Slurm cluster with " + script + " failed (exit " + started.code
                    + "):\n" + started.err.strip(), true);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(stop, "loopback-slurm-stop"));
        return new LoopbackSlurm(dir.resolve("slurm.conf"));
    }

    /** The project root: {@code -Dsqueeze.root} (set by the build), else the parent of the module folder. */
    private static Path projectRoot() {
        String root = System.getProperty("squeeze.root");
        if (root == null || root.isBlank()) {
            return Path.of("").toAbsolutePath().getParent();
        }
        return Path.of(root).toAbsolutePath().normalize();
    }

    private static Path findExecutable(String name) {
        List<String> dirs = new ArrayList<>(Arrays.asList(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.add("/usr/sbin");
        dirs.add("/sbin");
        for (String d : dirs) {
            if (d.isEmpty()) {
                continue;
            }
            Path p = Path.of(d, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private static boolean isRoot() {
        Result r = exec(List.of("id", "-u"), Map.of(), Duration.ofSeconds(10));
        return r.code == 0 && r.out.strip().equals("0");
    }

    private static Unavailable giveUp(String message, boolean alwaysFailure) {
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        return new Unavailable(ci && !alwaysFailure ? message + "; under CI a Slurm cluster must be present" : message,
                alwaysFailure || ci);
    }

    private record Result(int code, String out, String err) {
    }

    private static Result exec(List<String> command, Map<String, String> extraEnv, Duration timeout) {
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("slurm-cmd-", ".out");
            err = Files.createTempFile("slurm-cmd-", ".err");
            ProcessBuilder pb = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            pb.environment().putAll(extraEnv);
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                return new Result(124, Files.readString(out, StandardCharsets.UTF_8),
                        "timed out after " + timeout + ": " + Files.readString(err, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            return new Result(127, "", "cannot run " + String.join(" ", command) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(130, "", "interrupted while running " + String.join(" ", command));
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            System.err.println("LoopbackSlurm: cannot delete " + p + ": " + e.getMessage());
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            System.err.println("LoopbackSlurm: cannot delete the cluster folder " + dir + ": " + e.getMessage());
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted while waiting for the Slurm cluster");
        }
    }

    /** No cluster: a skip, or a failure under CI or when something present is broken. */
    private static final class Unavailable extends RuntimeException {
        private final boolean failure;

        Unavailable(String message, boolean failure) {
            super(message, null, false, false);
            this.failure = failure;
        }
    }
}
