package dev.squeeze.engine.cli;

import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.Model;
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
        Model m = ModelArgument.model(model);
        PrintWriter out = spec.commandLine().getOut();
        out.printf("model         %s%n", m.name());
        out.printf("source        %s%n", m.source());
        out.printf("format        %s%n", m.format());
        out.printf("architecture  %s%n", m.architecture());
        out.printf("parameters    %,d%n", m.parameterCount());
        out.printf("stored bytes  %,d%n", m.storedBytes());
        out.printf("sha256        %s%n%n", m.contentHash());
        out.printf("%-24s %-8s %-16s %12s %14s%n", "LAYER", "ROLE", "SHAPE", "PARAMETERS", "STORED BYTES");
        for (LayerInfo l : m.layers()) {
            out.printf("%-24s %-8s %-16s %,12d %,14d%n", l.name(), l.role().name().toLowerCase(java.util.Locale.ROOT),
                    l.shapeText(), l.parameters(), l.storedBytes());
        }
        return 0;
    }
}
