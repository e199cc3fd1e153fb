package dev.squeeze.engine.cli;

import dev.squeeze.engine.samples.SampleModels;
import dev.squeeze.engine.store.ResultsStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "models", description = "List the built-in sample models and the models the results database knows.")
final class ModelsCommand implements Callable<Integer> {
    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        out.println("Built-in samples:");
        for (String name : SampleModels.names()) {
            out.printf("  builtin:%s%n", name);
        }
        try (ResultsStore store = parent.openStore()) {
            var models = store.models();
            out.printf("Models with stored runs (%s):%n", store.location());
            if (models.isEmpty()) {
                out.println("  (none yet: try 'squeeze run' or 'squeeze sweep')");
            }
            out.printf("  %-20s %-12s %-14s %12s %5s  %-16s %s%n", "NAME", "FORMAT", "ARCHITECTURE", "PARAMETERS",
                    "RUNS", "SHA-256", "SOURCE");
            for (var m : models) {
                out.printf(Locale.ROOT, "  %-20s %-12s %-14s %,12d %5d  %-16s %s%n", m.name(), m.format(),
                        m.architecture(), m.parameters(), m.runs(), m.contentHash().substring(0, 16), m.source());
            }
        }
        return 0;
    }
}
