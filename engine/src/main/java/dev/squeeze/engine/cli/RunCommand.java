package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.data.EvaluationData;
import dev.squeeze.engine.data.text.CalibrationWindows;
import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.plan.PlanResolver;
import dev.squeeze.engine.runs.ClassifierRuns;
import dev.squeeze.engine.runs.LanguageModelCompression;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "run", description = {
        "Compress a model with a plan (JSON; see the README's \"Plans\"), evaluate it and store the run.",
        "Language models are calibrated on TinyStories stories 1–500 and evaluated on 501–1000, block by block;",
        "classifiers take data-free methods (RTN, magnitude, low-rank SVD) and are evaluated on their test images."})
final class RunCommand implements Callable<Integer> {
    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "A model file or folder, or a built-in sample.")
    String model;

    @Option(names = "--plan", required = true, paramLabel = "FILE", description = "The compression plan (JSON).")
    Path plan;

    @Option(names = "--calibration-windows", paramLabel = "N",
            description = "Calibration windows of 256 tokens for language models (default: ${DEFAULT-VALUE}).")
    int windows = 32;

    @Option(names = "--seed", description = "Seed of the calibration windows (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--true-sequential", description = "Calibrate q/k/v, o, gate/up and down one after the other.")
    boolean trueSequential;

    @Option(names = "--images", paramLabel = "IDX", description = "Evaluation images for a classifier (with --labels).")
    Path images;

    @Option(names = "--labels", paramLabel = "IDX", description = "Evaluation labels (IDX), with --images.")
    Path labels;

    @Override
    public Integer call() {
        CompressionPlan p = CompressionPlan.read(plan);
        Model m = ModelArgument.model(model);
        Map<String, MethodSettings> settings = PlanResolver.resolve(p, m);
        if (settings.isEmpty()) {
            throw new SqueezeException("Plan " + plan + " compresses no layer of " + m.name(),
                    "give the plan defaults or overrides that match the model's layers (./squeeze inspect lists them)");
        }
        String label = p.preset() != null ? p.preset().name() : plan.getFileName().toString().replaceFirst("\\.json$", "");
        try (ResultsStore store = parent.openStore()) {
            long id;
            if (LlamaConfig.ARCHITECTURE.equals(m.architecture())) {
                if (windows < 1) {
                    throw new SqueezeException("--calibration-windows is " + windows, "give at least 1");
                }
                TextEvaluation eval = EvaluationData.textFor(m).orElseThrow(() -> new SqueezeException(
                        "No evaluation text for " + m.source() + ": it needs TinyStories ("
                                + EvaluationData.describeSearch(EvaluationData.TINYSTORIES) + ") and its tokenizer",
                        "put the data in one of those places, or set SQUEEZE_DATA"));
                var calibration = CalibrationWindows.sample(eval.corpus().tokens(DataSplit.TINYSTORIES_1K.calibration(),
                        eval.tokenizer()), windows, 256, seed);
                id = new LanguageModelCompression(store).run(m, eval, calibration, settings::get, trueSequential,
                        label, p.canonicalJson(), seed).runId();
            } else {
                id = new ClassifierRuns(store).run(m, ModelArgument.evaluationImages(model, m, images, labels), settings, p.canonicalJson(), label,
                        "plan " + plan.getFileName());
            }
            List<RunSummary> run = store.runs(m.contentHash()).stream().filter(r -> r.id() == id).toList();
            spec.commandLine().getOut().printf("Stored run %d of %s in %s%n", id, m.name(), store.location());
            RunsCommand.printTable(spec.commandLine().getOut(), run);
        }
        return 0;
    }
}
