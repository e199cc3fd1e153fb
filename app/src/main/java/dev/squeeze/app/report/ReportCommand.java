package dev.squeeze.app.report;

import dev.squeeze.app.models.Bytes;
import dev.squeeze.engine.cli.SqueezeCli;
import dev.squeeze.engine.report.RunSelection;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.ResultsStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code squeeze report [MODEL…] [--tag T] --format html|pdf|csv --out PATH}: the app's command, added to the CLI
 * through {@link ReportCliExtension}; it draws its charts headless.
 */
@Command(name = "report", description = {
        "Write a comparison report of stored runs: a self-contained HTML file (charts as inline SVG), a PDF with "
                + "the same content, or the runs as CSV.",
        "Per model: the quality-vs-size chart with the Pareto frontier of the selected runs, the run table, "
                + "per-layer charts of the frontier runs, and each run's plan and provenance."})
public final class ReportCommand implements Callable<Integer> {
    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..*", paramLabel = "MODEL",
            description = "Models whose runs to report: a stored model's name or content hash, or a model file / "
                    + "built-in sample. None: every model.")
    List<String> models = new ArrayList<>();

    @Option(names = "--tag", paramLabel = "TAG", description = "Only runs with this tag (e.g. a sweep's).")
    String tag;

    @Option(names = "--format", paramLabel = "FORMAT",
            description = "html, pdf or csv (default: from the --out file's extension, else html).")
    String format;

    @Option(names = "--out", paramLabel = "PATH", required = true, description = "The file to write.")
    Path out;

    @Option(names = "--y", paramLabel = "METRIC", description = "The charts' quality metric (default: each "
            + "model's headline metric, top1 for classifiers and perplexity for language models).")
    String metric;

    @Option(names = "--x", paramLabel = "AXIS", description = "size (bytes) or bpw (bits per weight). Default: "
            + "${DEFAULT-VALUE}.")
    String x = "size";

    @Option(names = "--title", paramLabel = "TEXT", description = "The report's heading (default: "
            + "'Squeeze comparison report').")
    String title = "Squeeze comparison report";

    @Override
    public Integer call() {
        // Charts are drawn off screen: no display is needed, and none is opened if one happens to be there.
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        ReportFormat f = format == null ? ReportFormat.ofFile(out) : ReportFormat.parse(format);
        Pareto.XAxis axis = Pareto.XAxis.parse(x);
        Reports.Written written;
        try (ResultsStore store = parent.openStore()) {
            RunSelection selection = RunSelection.of(store, models, tag);
            written = Reports.write(store, new Reports.Request(title, selection.description(), selection.runIds(),
                    metric, axis), f, out);
        }
        spec.commandLine().getOut().printf("Wrote %s (%s, %s): %d run%s of %d model%s%n", written.file(),
                f.extension(), Bytes.human(written.bytes()), written.runs(), written.runs() == 1 ? "" : "s",
                written.models(), written.models() == 1 ? "" : "s");
        return 0;
    }
}
