package dev.squeeze.engine.cli;

import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.StoredSizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

@Command(name = "inspect", description = "Show a model's format, architecture, size and layers.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "MODEL",
            description = "A model file, or a built-in sample (default: fashion-mlp).")
    String model;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Model m = ModelRefs.open(model);
        PrintWriter out = spec.commandLine().getOut();
        out.printf("model         %s%n", m.name());
        out.printf("source        %s%n", m.source());
        out.printf("format        %s%n", m.format());
        out.printf("architecture  %s%n", m.architecture());
        out.printf("parameters    %,d%n", m.parameterCount());
        out.printf("stored bytes  %,d%n", m.storedBytes());
        out.printf("sha256        %s%n%n", m.contentHash());
        int nameWidth = Math.max(5, m.layers().stream().mapToInt(l -> l.name().length()).max().orElse(5));
        String row = "%-" + nameWidth + "s  %-9s %-16s %,12d %,14d  %s%n";
        out.printf("%-" + nameWidth + "s  %-9s %-16s %12s %14s  %s%n", "LAYER", "ROLE", "SHAPE", "PARAMETERS",
                "STORED BYTES", "STORED AS");
        for (LayerInfo l : m.layers()) {
            String storedAs = m.findTensor(l.name() + ".weight").or(() -> m.findTensor(l.name()))
                    .map(t -> StoredSizes.formatOf(m, t)).orElse("");
            out.printf(row, l.name(), l.role().name().toLowerCase(java.util.Locale.ROOT), l.shapeText(),
                    l.parameters(), l.storedBytes(), storedAs);
        }
        return 0;
    }
}
