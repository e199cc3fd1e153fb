package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.jobs.launch.SlurmSettings;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/** Runs jobs in the foreground of a CLI command: an engine over the database, a progress display, a summary. */
final class JobsSupport {
    /** Where job workers run: this machine, or a Slurm cluster. */
    enum LauncherKind { local, slurm }

    /** The most jobs in flight on Slurm unless {@code --workers} says otherwise: the cluster queues the rest. */
    static final int SLURM_WORKERS = 64;

    /**
     * The Slurm settings ({@code --slurm-*}) over their {@code SQUEEZE_SLURM_*} defaults; shared by the job-running
     * commands and {@code cluster check}.
     */
    static final class SlurmOptions {
        @Option(names = "--slurm-shared-dir", paramLabel = "DIR",
                description = "A directory this machine and every node reach at the same path; jobs' checkpoints, logs"
                        + " and protocol files go there (default: SQUEEZE_SLURM_SHARED_DIR; required).")
        Path sharedDir;

        @Option(names = "--slurm-partition", paramLabel = "NAME",
                description = "Slurm partition (default: SQUEEZE_SLURM_PARTITION, else the cluster's default).")
        String partition;

        @Option(names = "--slurm-account", paramLabel = "NAME",
                description = "Slurm account (default: SQUEEZE_SLURM_ACCOUNT, else yours).")
        String account;

        @Option(names = "--slurm-cpus", paramLabel = "N",
                description = "CPUs per worker (default: SQUEEZE_SLURM_CPUS, else 1).")
        Integer cpus;

        @Option(names = "--slurm-mem", paramLabel = "SIZE",
                description = "Memory per worker as sbatch --mem takes it, e.g. 8G (default: SQUEEZE_SLURM_MEM, else the"
                        + " partition's); the worker's heap is 80 %% of it unless --worker-heap says otherwise.")
        String memory;

        @Option(names = "--slurm-time", paramLabel = "TIME",
                description = "Time limit per job, e.g. 2:00:00 or 1-12:00 (default: SQUEEZE_SLURM_TIME, else the"
                        + " partition's); a job Slurm stops at its limit can be resumed.")
        String time;

        @Option(names = "--slurm-java-home", paramLabel = "DIR",
                description = "The JDK 25 on the nodes (default: SQUEEZE_SLURM_JAVA_HOME, else this Java's path).")
        Path javaHome;

        @Option(names = "--slurm-conf", paramLabel = "FILE",
                description = "The cluster's slurm.conf (default: SLURM_CONF, else Slurm's own).")
        Path conf;

        @Option(names = "--slurm-bin", paramLabel = "DIR",
                description = "Where sbatch, srun, squeue, scontrol, scancel and sinfo are (default: SQUEEZE_SLURM_BIN,"
                        + " else the PATH).")
        Path bin;

        @Option(names = "--slurm-arg", paramLabel = "OPT",
                description = "Another sbatch option for every job, e.g. --slurm-arg=--qos=short (repeatable).")
        List<String> extraArgs = new ArrayList<>();

        /** The {@code --slurm-*} options given on the command line, by name. */
        List<String> given() {
            List<String> names = new ArrayList<>();
            addIf(names, sharedDir, "--slurm-shared-dir");
            addIf(names, partition, "--slurm-partition");
            addIf(names, account, "--slurm-account");
            addIf(names, cpus, "--slurm-cpus");
            addIf(names, memory, "--slurm-mem");
            addIf(names, time, "--slurm-time");
            addIf(names, javaHome, "--slurm-java-home");
            addIf(names, conf, "--slurm-conf");
            addIf(names, bin, "--slurm-bin");
            if (!extraArgs.isEmpty()) {
                names.add("--slurm-arg");
            }
            return names;
        }

        /** {@code env} with the options given here in place of their variables ({@code SQUEEZE_SLURM_*}, {@code SLURM_CONF}). */
        Map<String, String> environment(Map<String, String> env) {
            Map<String, String> merged = new HashMap<>(env);
            put(merged, "SQUEEZE_SLURM_SHARED_DIR", sharedDir);
            put(merged, "SQUEEZE_SLURM_PARTITION", partition);
            put(merged, "SQUEEZE_SLURM_ACCOUNT", account);
            put(merged, "SQUEEZE_SLURM_CPUS", cpus);
            put(merged, "SQUEEZE_SLURM_MEM", memory);
            put(merged, "SQUEEZE_SLURM_TIME", time);
            put(merged, "SQUEEZE_SLURM_JAVA_HOME", javaHome);
            put(merged, "SLURM_CONF", conf);
            put(merged, "SQUEEZE_SLURM_BIN", bin);
            return merged;
        }

        /** The settings: these options over {@code env}'s {@code SQUEEZE_SLURM_*} (checked: a SqueezeException). */
        SlurmSettings settings(Map<String, String> env) {
            SlurmSettings s = SlurmSettings.fromEnvironment(environment(env));
            return new SlurmSettings(s.sharedDir(), s.partition(), s.account(), s.cpusPerTask(), s.memory(),
                    s.timeLimit(), s.javaHome(), s.slurmConf(), s.binDir(), extraArgs);
        }

        private static void addIf(List<String> names, Object value, String name) {
            if (value != null) {
                names.add(name);
            }
        }

        /** Paths become absolute here: every node sees the same paths, but not this shell's working folder. */
        private static void put(Map<String, String> env, String key, Object value) {
            if (value instanceof Path p) {
                env.put(key, p.toAbsolutePath().normalize().toString());
            } else if (value != null) {
                env.put(key, value.toString());
            }
        }
    }

    /** The options every job-running command shares. */
    static final class EngineOptions {
        @Option(names = "--workers", paramLabel = "N",
                description = "Jobs running at once, 1 to 64: worker processes here, or with --launcher slurm jobs"
                        + " submitted to the cluster (default: 1; with --launcher slurm 64, as Slurm queues what the"
                        + " cluster cannot run yet).")
        Integer workers;

        @Option(names = "--worker-heap", paramLabel = "SIZE",
                description = "Each worker's maximum heap, e.g. 4g (default: SQUEEZE_WORKER_HEAP, else a quarter of"
                        + " memory, or 80 %% of --slurm-mem).")
        String workerHeap;

        @Option(names = "--launcher", paramLabel = "local|slurm",
                description = "Where workers run: local (this machine) or slurm (a batch job each, on the cluster the"
                        + " --slurm-* options describe; 'squeeze cluster check' tests it). Default: SQUEEZE_LAUNCHER,"
                        + " else local; for resume, where each job was submitted.")
        LauncherKind launcher;

        @Mixin
        SlurmOptions slurm;

        @Spec(Spec.Target.MIXEE)
        CommandSpec command;

        /** Where defaults come from ({@code SQUEEZE_LAUNCHER}, {@code SQUEEZE_SLURM_*}, {@code SQUEEZE_WORKER_HEAP}). */
        Map<String, String> env = System.getenv();

        /** For run, sweep and search: {@code --launcher}, else {@code SQUEEZE_LAUNCHER}, else local. */
        JobEngine.Options toOptions() {
            return options(launcher != null ? launcher : launcherFromEnvironment(), false);
        }

        /**
         * For resume: only {@code --launcher} moves jobs; without it (a null {@link JobEngine.Options#launcher()})
         * each job runs again where it was submitted, with the settings it was submitted with.
         */
        JobEngine.Options toResumeOptions() {
            return options(launcher, true);
        }

        /** Whether {@code --workers} was given (else the number depends on the launcher). */
        boolean workersGiven() {
            return workers != null;
        }

        private JobEngine.Options options(LauncherKind kind, boolean resume) {
            List<String> slurmGiven = slurm.given();
            if (kind != LauncherKind.slurm && !slurmGiven.isEmpty()) {
                String what = String.join(", ", slurmGiven);
                throw new CommandLine.ParameterException(command.commandLine(), kind == LauncherKind.local
                        ? what + (slurmGiven.size() == 1 ? " is" : " are") + " for --launcher slurm, not local"
                        : resume
                        ? what + " without --launcher slurm: a resumed job runs where it was submitted, with the"
                                + " settings it was submitted with; give --launcher slurm with them to move it to Slurm"
                        : what + " without --launcher slurm (or SQUEEZE_LAUNCHER=slurm): give --launcher slurm too");
            }
            SlurmSettings settings = kind == LauncherKind.slurm ? slurm.settings(env) : null;
            // Checked here, naming where the value came from; a worker that cannot start says only "status 1". A
            // worker on a node is not bounded by this machine's memory, but by --slurm-mem.
            long physical = kind == LauncherKind.slurm ? 0 : dev.squeeze.engine.ResourceErrors.physicalMemory();
            String heap = workerHeap != null ? WorkerHeap.check(workerHeap, "--worker-heap", physical) : null;
            String envHeap = env.get("SQUEEZE_WORKER_HEAP");
            if (heap == null && envHeap != null && !envHeap.isBlank()) {
                heap = WorkerHeap.check(envHeap, "SQUEEZE_WORKER_HEAP", physical);
            }
            if (heap != null && settings != null && settings.memory() != null) {
                WorkerHeap.checkWithin(heap, workerHeap != null ? "--worker-heap" : "SQUEEZE_WORKER_HEAP",
                        settings.memory(), slurm.memory != null ? "--slurm-mem" : "SQUEEZE_SLURM_MEM");
            }
            int n = workers != null ? workers : kind == LauncherKind.slurm ? SLURM_WORKERS : 1;
            JobEngine.Options o = JobEngine.Options.defaults().withWorkerHeap(heap).withWorkers(n);
            return kind == null ? o : o.withLauncher(kind == LauncherKind.slurm
                    ? JobEngine.Launcher.slurm(settings) : JobEngine.Launcher.LOCAL);
        }

        private LauncherKind launcherFromEnvironment() {
            String v = env.get("SQUEEZE_LAUNCHER");
            if (v == null || v.isBlank()) {
                return LauncherKind.local;
            }
            try {
                return LauncherKind.valueOf(v.strip().toLowerCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new SqueezeException("SQUEEZE_LAUNCHER is '" + v + "'",
                        "set it to local or slurm, or unset it (--launcher overrides it)");
            }
        }
    }

    /** A classifier's evaluation images, when not its own. */
    static final class ImageOptions {
        @Option(names = "--images", paramLabel = "IDX", description = "Evaluation images for a classifier (with --labels).")
        java.nio.file.Path images;

        @Option(names = "--labels", paramLabel = "IDX", description = "Evaluation labels (IDX), with --images.")
        java.nio.file.Path labels;
    }

    private JobsSupport() {
    }

    /**
     * Runs {@code submit} (which queues jobs on the engine) and waits for them, showing progress. Returns the
     * jobs as they ended. Ctrl-C ends the workers; their jobs become INTERRUPTED and can be resumed.
     */
    static List<JobRow> runInForeground(SqueezeCli parent, ResultsStore store, JobEngine.Options opts,
                                        Function<JobEngine, List<Long>> submit) {
        PrintWriter out = parent.spec.commandLine().getOut();
        ProgressPrinter progress = new ProgressPrinter(out, ProgressPrinter.stdoutIsTerminal(out, parent.systemOut));
        try (JobEngine engine = new JobEngine(store, opts)) {
            engine.addListener(progress);
            Thread onCtrlC = new Thread(engine::close, "close-jobs-on-exit");
            Runtime.getRuntime().addShutdownHook(onCtrlC);
            try {
                List<Long> ids = submit.apply(engine);
                engine.await(ids);
                progress.finish();
                if (engine.stoppedBy() != null) {
                    // A full disk: one message for the whole lot, not one per job (nor a read of a dead database).
                    throw engine.stoppedBy();
                }
                List<JobRow> out2 = new ArrayList<>();
                for (long id : ids) {
                    out2.add(engine.jobs().get(id).orElseThrow());
                }
                return out2;
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(onCtrlC);
                } catch (IllegalStateException ignored) {
                    // Already shutting down: the hook is running.
                }
            }
        }
    }

    /** How to resume the jobs that did not finish; returns the exit code (0 when all are DONE, 3 otherwise). */
    static int summarize(PrintWriter out, List<JobRow> ended) {
        int failed = 0;
        for (JobRow j : ended) {
            if (j.status() != JobStatus.DONE) {
                // The progress display has printed how the job ended; add what to do about it.
                failed++;
                if (j.status().resumable()) {
                    out.printf("  resume it with: squeeze resume %d%n", j.id());
                }
            }
        }
        return failed == 0 ? 0 : SqueezeCli.EXIT_INPUT;
    }

    /** Prints a notice for jobs a previous process left unfinished. */
    static void noticeInterrupted(PrintWriter err, List<JobRow> interrupted) {
        if (interrupted.size() > 3) {
            // A stopped sweep leaves dozens: one line, not one per job ('squeeze jobs' lists them).
            err.printf("squeeze: %d jobs were interrupted (jobs %d to %d; e.g. %s); resume them with 'squeeze resume"
                    + " --all', list them with 'squeeze jobs --status interrupted'%n", interrupted.size(),
                    interrupted.getFirst().id(), interrupted.getLast().id(), interrupted.getFirst().reason());
            return;
        }
        for (JobRow j : interrupted) {
            err.printf("squeeze: job %d (%s) was interrupted (%s); resume it with 'squeeze resume %d'%n", j.id(),
                    j.label(), j.reason(), j.id());
        }
    }

    static JobSpec spec(String model, String planJson, String label, RunCommand.LanguageModelOptions lm,
                        ImageOptions imageOptions, List<String> tags) {
        java.nio.file.Path images = imageOptions.images;
        java.nio.file.Path labels = imageOptions.labels;
        if (lm.windows < 1) {
            throw new SqueezeException("--calibration-windows is " + lm.windows, "give at least 1");
        }
        return new JobSpec(model, planJson, label, lm.windows, lm.seed, lm.trueSequential, lm.evaluationStories,
                images == null ? null : images.toAbsolutePath().toString(),
                labels == null ? null : labels.toAbsolutePath().toString(), tags);
    }
}
