package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "resume", description = {
        "Resume failed or interrupted jobs from their last checkpoint (the first unfinished layer).",
        "Without JOB or --all, lists the jobs that can be resumed."})
final class ResumeCommand implements Callable<Integer> {
    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "JOB", arity = "0..*", description = "Job ids (see 'squeeze jobs').")
    List<Long> ids = new ArrayList<>();

    @Option(names = "--all", description = "Resume every failed or interrupted job.")
    boolean all;

    @Mixin
    JobsSupport.EngineOptions engineOptions;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        JobEngine.Options options = engineOptions.toResumeOptions(); // before anything is opened
        try (ResultsStore store = parent.openStore()) {
            List<JobRow> resumable = store.jobs().withStatus(JobStatus.FAILED, JobStatus.INTERRUPTED);
            if (ids.isEmpty() && !all) {
                if (resumable.isEmpty()) {
                    out.println("No job to resume.");
                } else {
                    out.println("Jobs that can be resumed ('squeeze resume JOB' or 'squeeze resume --all'):");
                    for (JobRow j : resumable) {
                        out.printf("%5d  %-28s %d/%d layers  %s  %s%n", j.id(), j.label(), j.layersDone(),
                                j.layersTotal(), j.where(), j.reason());
                    }
                }
                return 0;
            }
            List<Long> wanted = all ? resumable.stream().map(JobRow::id).toList() : ids;
            for (long id : wanted) {
                JobRow j = store.jobs().get(id).orElseThrow(() -> new SqueezeException("There is no job " + id,
                        "'squeeze jobs' lists the jobs"));
                if (!j.status().canResume()) {
                    throw new SqueezeException("Job " + id + " is " + j.status().name().toLowerCase(java.util.Locale.ROOT)
                            + " and cannot be resumed", "resume failed, interrupted or cancelled jobs");
                }
            }
            if (wanted.isEmpty()) {
                out.println("No job to resume.");
                return 0;
            }
            List<JobRow> ended = JobsSupport.runInForeground(parent, store, options(options, store, wanted), engine -> {
                for (long id : wanted) {
                    engine.resume(id, options.launcher()); // null: where each was submitted
                }
                return wanted;
            });
            for (JobRow j : ended) {
                if (j.status() == JobStatus.DONE) {
                    out.printf("job %d (%s): done, run %d%n", j.id(), j.label(), j.runId());
                }
            }
            return JobsSupport.summarize(out, ended);
        }
    }

    /**
     * The engine's options; jobs that all go back to Slurm where they were submitted (no --launcher) have as many in
     * flight as a Slurm sweep, unless --workers says otherwise.
     */
    private JobEngine.Options options(JobEngine.Options o, ResultsStore store, List<Long> wanted) {
        List<JobRow> jobs = wanted.stream().map(id -> store.jobs().get(id).orElseThrow()).toList();
        return forJobs(o, engineOptions.workersGiven(), jobs);
    }

    static JobEngine.Options forJobs(JobEngine.Options o, boolean workersGiven, List<JobRow> jobs) {
        if (o.launcher() == null && !workersGiven && jobs.stream().allMatch(JobRow::onSlurm)) {
            return o.withWorkers(JobsSupport.SLURM_WORKERS);
        }
        return o;
    }
}
