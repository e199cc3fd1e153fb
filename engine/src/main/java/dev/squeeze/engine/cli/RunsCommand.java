package dev.squeeze.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "runs", description = "List the stored runs.")
final class RunsCommand implements Callable<Integer> {
    enum Format { table, csv, json }

    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "NAME|SHA256", description = "Only runs of this model (name or content hash).")
    String model;

    @Option(names = "--tag", paramLabel = "TAG", description = "Only runs with this tag.")
    String tag;

    @Option(names = "--format", description = "table, csv or json (default: ${DEFAULT-VALUE}).")
    Format format = Format.table;

    @Override
    public Integer call() throws Exception {
        List<RunSummary> runs;
        try (ResultsStore store = parent.openStore()) {
            var tagged = tag == null ? null : store.runsTagged(tag);
            runs = store.runs(null).stream()
                    .filter(r -> model == null || r.modelName().equals(model) || r.modelHash().equals(model))
                    .filter(r -> tagged == null || tagged.contains(r.id()))
                    .toList();
        }
        PrintWriter out = spec.commandLine().getOut();
        switch (format) {
            case table -> printTable(out, runs);
            case csv -> {
                out.println("id,model,label,status,size_bytes,fp16_bytes,bits_per_weight,metric,value,backend,git_commit");
                for (RunSummary r : runs) {
                    out.printf(Locale.ROOT, "%d,%s,%s,%s,%d,%d,%s,%s,%s,%s,%s%n", r.id(), csv(r.modelName()),
                            csv(r.label()), r.status(), r.sizeBytes(), r.fp16Bytes(), num(r.bitsPerWeight()),
                            r.metric() == null ? "" : r.metric().metricName(), num(r.metricValue()),
                            csv(r.kernelBackend()), r.gitCommit());
                }
            }
            case json -> out.println(new ObjectMapper().findAndRegisterModules()
                    .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                    .writerWithDefaultPrettyPrinter().writeValueAsString(runs));
        }
        return 0;
    }

    static void printTable(PrintWriter out, List<RunSummary> runs) {
        // The RUN column is as wide as the longest label (a search's "uniform GPTQ 3-bit asym per-row …"), at least 26.
        int w = Math.max(26, runs.stream().mapToInt(r -> r.label().length()).max().orElse(0));
        out.printf("%5s  %-16s %-" + w + "s %12s %8s  %s%n", "ID", "MODEL", "RUN", "SIZE BYTES", "BITS/W", "METRIC");
        for (RunSummary r : runs) {
            out.printf(Locale.ROOT, "%5d  %-16s %-" + w + "s %,12d %8s  %s%n", r.id(), r.modelName(), r.label(),
                    r.sizeBytes(),
                    r.bitsPerWeight() == null ? "-" : String.format(Locale.ROOT, "%.3f", r.bitsPerWeight()),
                    r.metricText());
        }
        if (runs.isEmpty()) {
            out.println("(no runs stored yet: try 'squeeze rtn')");
        }
    }

    private static String num(Double d) {
        return d == null ? "" : String.format(Locale.ROOT, "%.6f", d);
    }

    private static String csv(String s) {
        return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
