package dev.squeeze.engine.cli;

import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.runs.Baselines;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "baseline", description = {
        "Measure a model's baseline (the dense model on its default evaluation data) unless it is stored,",
        "and print it. Classifiers: top-1 (MNIST test set for 28×28 ONNX models; the sample's own subset);",
        "language models: perplexity on TinyStories stories 501–1000 with the tokenizer beside the model."})
final class BaselineCommand implements Callable<Integer> {
    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..1", paramLabel = "MODEL",
            description = "A model file or folder, or a built-in sample (default: fashion-mlp).")
    String model;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (ResultsStore store = parent.openStore()) {
            Model m;
            if (ModelRefs.isBuiltin(model)) {
                var sample = ModelRefs.sample(model);
                m = sample.model();
                dev.squeeze.engine.samples.SampleModels.ensureDefaultRuns(sample, store);
            } else {
                m = ModelRefs.open(model);
            }
            Baselines.Outcome outcome = Baselines.ensure(m, store);
            if (outcome instanceof Baselines.Outcome.NoData nd) {
                throw new SqueezeException("Cannot measure the baseline of " + m.source() + ": " + nd.why(),
                        "put the data in one of those places, or set SQUEEZE_DATA to a folder that has it");
            }
            if (outcome instanceof Baselines.Outcome.Measured measured) {
                out.printf("Measured on %s and stored in %s%n", measured.data(), store.location());
            }
            List<RunSummary> dense = store.runs(m.contentHash()).stream()
                    .filter(RunSummary::isBaseline).toList();
            RunsCommand.printTable(out, dense);
        }
        return 0;
    }
}
