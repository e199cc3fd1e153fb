package dev.squeeze.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.ResultsStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "pareto", description = {
        "Print the size/quality Pareto frontier of a model's stored runs.",
        "A run is dominated when another is no larger and no worse, and strictly better in one of the two; "
                + "runs with equal size and equal metric are all kept on the frontier."})
final class ParetoCommand implements Callable<Integer> {
    enum Format { table, csv, json }

    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL",
            description = "A stored model's name or content hash, or a model file / built-in sample (its content hash is used).")
    String model;

    @Option(names = "--x", paramLabel = "AXIS", description = "size (bytes), bpw (bits per weight; dense runs have none) or latency (ms per decoded token or per batch of 64 images, measured with each run). Default: ${DEFAULT-VALUE}.")
    String x = "size";

    @Option(names = "--y", paramLabel = "METRIC", required = true,
            description = "A metric on the evaluation split: top1, accuracy.<class>, perplexity, nll_per_token, kl, ...")
    String y;

    @Option(names = "--method", paramLabel = "M", description = "Only runs with a layer compressed by method M ('dense' for runs with none).")
    String method;

    @Option(names = "--label", paramLabel = "TEXT", description = "Only runs whose label contains TEXT (case-insensitive).")
    String label;

    @Option(names = "--tag", paramLabel = "TAG", description = "Only runs with this tag (e.g. a sweep's).")
    String tag;

    @Option(names = "--all", description = "Also list the dominated runs (table and csv; json always has them).")
    boolean all;

    @Option(names = "--format", description = "table, csv or json (default: ${DEFAULT-VALUE}).")
    Format format = Format.table;

    @Override
    public Integer call() throws Exception {
        Pareto.XAxis axis = Pareto.XAxis.parse(x);
        Pareto.Result result;
        try (ResultsStore store = parent.openStore()) {
            String hash = resolve(store);
            result = Pareto.query(store, new Pareto.Query(hash, axis, y, method, label, tag));
        }
        PrintWriter out = spec.commandLine().getOut();
        switch (format) {
            case table -> printTable(out, result);
            case csv -> {
                out.println("frontier,id,label," + axis.columnName() + "," + csv(y));
                print(out, result.frontier(), true);
                if (all) {
                    print(out, result.dominated(), false);
                }
            }
            case json -> {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("model_hash", result.modelHash());
                doc.put("x", axis.columnName());
                doc.put("y", y);
                doc.put("higher_is_better", result.higherIsBetter());
                doc.put("considered", result.considered());
                doc.put("skipped", result.skipped());
                doc.put("frontier", result.frontier());
                doc.put("dominated", result.dominated());
                out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(doc));
            }
        }
        return 0;
    }

    private String resolve(ResultsStore store) {
        return dev.squeeze.engine.report.RunSelection.modelHash(store, model);
    }

    private void printTable(PrintWriter out, Pareto.Result r) {
        String dir = r.higherIsBetter() ? "higher is better" : "lower is better";
        out.printf("Pareto frontier: %s vs %s (%s), %d of %d runs on it%n", y, r.x().columnName(), dir,
                r.frontier().size(), r.considered() - r.skipped());
        out.printf("%5s  %-34s %16s %14s%n", "ID", "RUN", r.x().columnName().toUpperCase(Locale.ROOT),
                y.toUpperCase(Locale.ROOT));
        List<Pareto.Point> rows = new ArrayList<>(r.frontier());
        for (Pareto.Point p : rows) {
            out.printf(Locale.ROOT, "%5d  %-34s %16s %14.6f%n", p.runId(), p.label(), xText(r.x(), p.x()), p.y());
        }
        if (all && !r.dominated().isEmpty()) {
            out.println("Dominated:");
            for (Pareto.Point p : r.dominated()) {
                out.printf(Locale.ROOT, "%5d  %-34s %16s %14.6f%n", p.runId(), p.label(), xText(r.x(), p.x()), p.y());
            }
        }
        if (r.frontier().isEmpty()) {
            out.println("(no run has both " + r.x().columnName() + " and " + y + ")");
        }
        if (r.skipped() > 0) {
            out.printf("(%d run%s skipped: no %s or no %s)%n", r.skipped(), r.skipped() == 1 ? "" : "s",
                    r.x().columnName(), y);
        }
    }

    private static void print(PrintWriter out, List<Pareto.Point> points, boolean onFrontier) {
        for (Pareto.Point p : points) {
            out.printf(Locale.ROOT, "%s,%d,%s,%s,%.9g%n", onFrontier, p.runId(), csv(p.label()),
                    p.x() == Math.rint(p.x()) ? String.valueOf((long) p.x()) : String.format(Locale.ROOT, "%.6f", p.x()),
                    p.y());
        }
    }

    private static String xText(Pareto.XAxis axis, double x) {
        return axis == Pareto.XAxis.SIZE_BYTES ? String.format(Locale.ROOT, "%,d", (long) x)
                : String.format(Locale.ROOT, "%.3f", x);
    }

    private static String csv(String s) {
        return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
