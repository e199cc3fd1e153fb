package dev.squeeze.engine.jobs.launch;

import dev.squeeze.engine.SqueezeException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Slurm's client commands ({@code sbatch}, {@code squeue}, {@code scontrol}, {@code scancel}, {@code srun},
 * {@code sinfo}) as Squeeze uses them: run with a time limit, their output parsed, their errors turned into messages
 * that say which command failed and what it said. No accounting database is needed ({@code sacct} is not used):
 * {@code scontrol show job} tells how a job ended for as long as the controller keeps it ({@code MinJobAge}).
 */
public final class SlurmCommands {
    /** A finished command. */
    public record Result(int exit, String out, String err) {
        public boolean ok() {
            return exit == 0;
        }
    }

    /** A job as {@code squeue} shows it: its state ({@code PENDING}, {@code RUNNING}, ...), node list and reason. */
    public record QueueState(String jobId, String state, String nodes, String reason) {
    }

    /** {@code scontrol show job -o} as key=value fields (JobState, Reason, ExitCode, NodeList, TimeLimit, ...). */
    public record JobInfo(Map<String, String> fields) {
        public String state() {
            String s = fields.getOrDefault("JobState", "UNKNOWN");
            return s;
        }

        public String reason() {
            return fields.getOrDefault("Reason", "None");
        }

        public String nodes() {
            String n = fields.getOrDefault("NodeList", "");
            return n.equals("(null)") ? "" : n;
        }

        /** The exit status of the job's script (the worker), from {@code ExitCode=status:signal}. */
        public int exitStatus() {
            return part(0);
        }

        /** The signal that ended it, 0 for none. */
        public int signal() {
            return part(1);
        }

        private int part(int i) {
            String[] p = fields.getOrDefault("ExitCode", "0:0").split(":");
            try {
                return Integer.parseInt(p[Math.min(i, p.length - 1)]);
            } catch (NumberFormatException e) {
                return 0;
            }
        }
    }

    /** States in which a job's process may still run (or is about to, or has just ended and is cleaning up). */
    public static final java.util.Set<String> ALIVE = java.util.Set.of("PENDING", "CONFIGURING", "RUNNING",
            "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING",
            "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD");

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final String slurmConf;
    private final String binDir;

    public SlurmCommands(SlurmSettings settings) {
        this(settings.slurmConf(), settings.binDir());
    }

    public SlurmCommands(String slurmConf, String binDir) {
        this.slurmConf = slurmConf;
        this.binDir = binDir;
    }

    /** Runs {@code command args...} with at most {@code timeout}; a command that is not there is a clear error. */
    public Result run(Duration timeout, List<String> command) {
        List<String> cmd = new ArrayList<>(command);
        if (binDir != null) {
            cmd.set(0, Path.of(binDir, cmd.getFirst()).toString());
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (slurmConf != null) {
            pb.environment().put("SLURM_CONF", slurmConf);
        }
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new SqueezeException("Cannot run the Slurm command '" + command.getFirst() + "' ("
                    + e.getMessage() + ")", "install Slurm's client commands (Debian: apt install slurm-client) or"
                    + " give their folder with --slurm-bin; 'squeeze cluster check' tests the set-up");
        }
        try {
            p.getOutputStream().close();
            // Each stream on its own virtual thread: blocking reads stay off the shared fork-join pool.
            CompletableFuture<String> out = readAsync(p.getInputStream());
            CompletableFuture<String> err = readAsync(p.getErrorStream());
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new SqueezeException("The Slurm command '" + String.join(" ", command) + "' did not answer within "
                        + timeout.toSeconds() + " s", "check that slurmctld is running ('sinfo', 'squeeze cluster check')");
            }
            return new Result(p.exitValue(), out.join(), err.join());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new SqueezeException("Interrupted while running " + command.getFirst(), "try again");
        } catch (IOException e) {
            throw new SqueezeException("Cannot talk to " + command.getFirst() + ": " + e.getMessage(), "try again");
        }
    }

    public Result run(String... command) {
        return run(TIMEOUT, List.of(command));
    }

    /** Submits {@code script} with {@code options}; returns the Slurm job id. */
    public String submit(List<String> options, Path script) {
        List<String> cmd = new ArrayList<>();
        cmd.add("sbatch");
        cmd.add("--parsable");
        cmd.addAll(options);
        cmd.add(script.toString());
        Result r = run(TIMEOUT, cmd);
        String id = r.out().strip().split(";")[0]; // "id" or "id;cluster"
        if (!r.ok() || !id.matches("\\d+(_\\d+)?")) {
            throw new SqueezeException("Slurm refused the job: " + oneLine(r.err().isBlank() ? r.out() : r.err()),
                    "check the partition, account, CPUs, memory and time limit against 'sinfo' (squeeze cluster check)");
        }
        return id;
    }

    /**
     * Runs {@code command} at once as one task on one node ({@code srun --nodes=1 --ntasks=1 --time=1}) with
     * {@code options} (e.g. {@code --partition=debug}, {@code --nodelist=node2}): when no CPU is free within
     * {@code wait} srun gives up ({@code --immediate}) instead of queueing, so a busy cluster does not hang a check.
     */
    public Result srunNow(Duration wait, List<String> options, List<String> command) {
        List<String> cmd = new ArrayList<>(List.of("srun", "--nodes=1", "--ntasks=1", "--time=1",
                "--immediate=" + Math.max(1, wait.toSeconds()), "--job-name=squeeze-check"));
        cmd.addAll(options);
        cmd.addAll(command);
        return run(wait.plusSeconds(30), cmd);
    }

    /** {@code scancel id}; false when Slurm no longer knows the job. */
    public boolean cancel(String jobId) {
        return run("scancel", jobId).ok();
    }

    /** The queue's view of {@code jobIds} (ended jobs too, while the controller keeps them); jobs it does not know are absent. */
    public Optional<Map<String, QueueState>> queue(Collection<String> jobIds) {
        if (jobIds.isEmpty()) {
            return Optional.of(Map.of());
        }
        Result r = run(TIMEOUT, List.of("squeue", "-h", "-t", "all", "-j", String.join(",", jobIds), "-o",
                "%i|%T|%N|%r"));
        if (!r.ok()) {
            if (r.err().contains("Invalid job id")) {
                return Optional.of(Map.of()); // none of them is known any more
            }
            return Optional.empty(); // the controller did not answer: nothing can be concluded
        }
        Map<String, QueueState> out = new LinkedHashMap<>();
        for (String line : r.out().split("\\R")) {
            String[] f = line.strip().split("\\|", -1);
            if (f.length == 4 && !f[0].isEmpty()) {
                out.put(f[0], new QueueState(f[0], f[1], f[2], f[3]));
            }
        }
        return Optional.of(out);
    }

    /**
     * {@code scontrol show job -o id}; empty when Slurm does not know the job (any more). A controller that does not
     * answer is an error, not "gone": a job declared gone by mistake would be submitted a second time.
     */
    public Optional<JobInfo> show(String jobId) {
        Result r = run("scontrol", "show", "job", "-o", jobId);
        if (!r.ok()) {
            if (r.err().contains("Invalid job id")) {
                return Optional.empty();
            }
            throw new SqueezeException("Slurm did not say how job " + jobId + " is (scontrol: "
                    + oneLine(r.err().isBlank() ? r.out() : r.err()) + ")",
                    "check that slurmctld answers ('sinfo', 'squeeze cluster check'), then try again");
        }
        Map<String, String> fields = new LinkedHashMap<>();
        for (String tok : r.out().strip().split("\\s+")) {
            int eq = tok.indexOf('=');
            if (eq > 0) {
                fields.putIfAbsent(tok.substring(0, eq), tok.substring(eq + 1));
            }
        }
        return fields.isEmpty() ? Optional.empty() : Optional.of(new JobInfo(fields));
    }

    /** {@code s} on one line (line breaks as " / "), at most 400 characters: what a command said, for a message. */
    public static String oneLine(String s) {
        String t = s.strip().replaceAll("\\s*\\R\\s*", " / ");
        return t.length() > 400 ? t.substring(0, 400) + "…" : t;
    }

    private static CompletableFuture<String> readAsync(InputStream in) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread.ofVirtual().name("slurm-command-output").start(() -> f.complete(read(in)));
        return f;
    }

    private static String read(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** Whether {@code dir} exists and this process can create a file in it. */
    static boolean writable(Path dir) {
        return Files.isDirectory(dir) && Files.isWritable(dir);
    }
}
