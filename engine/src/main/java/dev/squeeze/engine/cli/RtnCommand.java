package dev.squeeze.engine.cli;

import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.runs.ClassifierRuns;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "rtn", description = {
        "Quantize every linear layer of a classifier with round-to-nearest at each given width,",
        "evaluate each variant (and the dense model) and store the runs in the results database."})
final class RtnCommand implements Callable<Integer> {
    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..1", paramLabel = "MODEL", description = "A model file, or a built-in sample (default: fashion-mlp).")
    String model;

    @Option(names = "--bits", split = ",", paramLabel = "N", description = "Widths, 2 to 8 (default: 8,4).")
    List<Integer> bits = List.of(8, 4);

    @Option(names = "--group-size", paramLabel = "G", description = "Columns per group; 0 = per row (default).")
    int groupSize;

    @Option(names = "--symmetric", description = "Symmetric range (implied zero point) instead of asymmetric.")
    boolean symmetric;

    @Option(names = "--no-dense", description = "Do not also evaluate and store the dense model.")
    boolean noDense;

    @Option(names = "--images", paramLabel = "IDX", description = "Evaluation images (IDX, may be gzipped); default: the sample's subset.")
    Path images;

    @Option(names = "--labels", paramLabel = "IDX", description = "Evaluation labels (IDX), with --images.")
    Path labels;

    @Override
    public Integer call() {
        for (int b : bits) {
            new RtnSettings(b, groupSize, symmetric).validate("(all layers)");
        }
        Model m = ModelRefs.open(model);
        ImageSet eval = ModelRefs.evaluationImages(model, m, images, labels);
        PrintWriter out = spec.commandLine().getOut();
        try (ResultsStore store = parent.openStore()) {
            ClassifierRuns runs = new ClassifierRuns(store);
            if (!noDense) {
                runs.runDense(m, eval);
            }
            for (int b : bits) {
                runs.runRtn(m, eval, new RtnSettings(b, groupSize, symmetric));
            }
            List<RunSummary> all = store.runs(m.contentHash());
            int added = bits.size() + (noDense ? 0 : 1);
            out.printf("Stored %d runs of %s on %s (%d images) in %s%n", added, m.name(), eval.name(), eval.count(),
                    store.location());
            RunsCommand.printTable(out, all.subList(all.size() - added, all.size()));
        }
        return 0;
    }
}
