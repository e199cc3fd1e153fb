package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Runs jobs in the foreground of a CLI command: an engine over the database, a progress display, a summary. */
final class JobsSupport {
    /** The options every job-running command shares. */
    static final class EngineOptions {
        @Option(names = "--workers", paramLabel = "N",
                description = "Worker processes running at once (default: ${DEFAULT-VALUE}).")
        int workers = 1;

        @Option(names = "--worker-heap", paramLabel = "SIZE",
                description = "Each worker's maximum heap, e.g. 4g (default: SQUEEZE_WORKER_HEAP, else a quarter of memory).")
        String workerHeap;

        JobEngine.Options toOptions() {
            // Checked here, naming where the value came from; a worker that cannot start says only "status 1".
            String env = System.getenv("SQUEEZE_WORKER_HEAP");
            if (env != null && !env.isBlank()) {
                WorkerHeap.check(env, "SQUEEZE_WORKER_HEAP");
            }
            JobEngine.Options defaults = JobEngine.Options.defaults().withWorkers(workers);
            return workerHeap == null ? defaults
                    : defaults.withWorkerHeap(WorkerHeap.check(workerHeap, "--worker-heap"));
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
