package dev.squeeze.engine.cli;

import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "run", description = {
        "Compress a model with a plan (JSON; see the README's \"Plans\"), evaluate it and store the run.",
        "The work is done by a worker process (a job): progress is shown, a crash costs at most the layer in flight,",
        "and an unfinished job can be resumed ('squeeze resume').",
        "Language models are calibrated on TinyStories stories 1–500 and evaluated on 501–1000, block by block;",
        "classifiers take data-free methods (RTN, magnitude, low-rank SVD) and are evaluated on their test images."})
final class RunCommand implements Callable<Integer> {
    /** Options of language-model runs, shared with sweep. */
    static final class LanguageModelOptions {
        @Option(names = "--calibration-windows", paramLabel = "N",
                description = "Calibration windows of 256 tokens for language models (default: ${DEFAULT-VALUE}).")
        int windows = 32;

        @Option(names = "--seed", description = "Seed of the calibration windows (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--true-sequential", description = "Calibrate q/k/v, o, gate/up and down one after the other.")
        boolean trueSequential;

        @Option(names = "--eval-stories", paramLabel = "N",
                description = "Evaluate language models on the first N stories of the evaluation split (default: all 500).")
        int evaluationStories;
    }

    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "A model file or folder, or a built-in sample.")
    String model;

    @Option(names = "--plan", required = true, paramLabel = "FILE", description = "The compression plan (JSON).")
    Path plan;

    @Mixin
    LanguageModelOptions lm;

    @Mixin
    JobsSupport.EngineOptions engineOptions;

    @Option(names = "--tag", paramLabel = "TAG", description = "Tag the stored run (repeatable).")
    List<String> tags = new ArrayList<>();

    @Mixin
    JobsSupport.ImageOptions imageOptions;

    @Override
    public Integer call() {
        JobEngine.Options options = engineOptions.toOptions(); // before anything is opened: a bad heap is bad input
        CompressionPlan p = CompressionPlan.read(plan);
        String label = p.preset() != null ? p.preset().name() : plan.getFileName().toString().replaceFirst("\\.json$", "");
        var job = JobsSupport.spec(model, p.canonicalJson(), label, lm, imageOptions, tags);
        try (ResultsStore store = parent.openStore()) {
            List<JobRow> ended = JobsSupport.runInForeground(parent, store, options,
                    engine -> List.of(engine.submit(job)));
            var out = spec.commandLine().getOut();
            JobRow j = ended.getFirst();
            if (j.status() == JobStatus.DONE) {
                List<RunSummary> run = store.runs(null).stream().filter(r -> r.id() == j.runId()).toList();
                out.printf("Stored run %d of %s in %s%n", j.runId(), run.getFirst().modelName(), store.location());
                RunsCommand.printTable(out, run);
            }
            return JobsSupport.summarize(out, ended);
        }
    }
}
