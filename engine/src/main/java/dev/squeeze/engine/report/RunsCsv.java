package dev.squeeze.engine.report;

import dev.squeeze.engine.store.RunSummary;
import dev.squeeze.engine.util.AtomicFiles;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A report's runs as CSV (RFC 4180: CRLF line ends, a field quoted when it holds a comma, a quote, CR or LF, quotes
 * doubled), one row per run. The first {@link #FIXED} columns never change; one column per metric follows, named
 * {@code split:name} ({@code evaluation:top1}), in {@link ReportData#metricColumns()} order. Numbers are written
 * as Java prints a double ({@link Double#toString}), which reads back to exactly the stored value; an absent value
 * is an empty field. The file is UTF-8 without a byte-order mark.
 */
public final class RunsCsv {
    /** The fixed columns, in order. */
    public static final List<String> FIXED = List.of("run_id", "model", "model_hash", "label", "method_family",
            "baseline", "bits_per_weight", "size_bytes", "fp16_bytes", "pareto_metric", "on_frontier", "status",
            "finished_at", "seed", "tags", "plan");

    private RunsCsv() {
    }

    /** The CSV text of {@code data}'s runs. */
    public static String text(ReportData data) {
        List<ReportData.MetricColumn> metrics = data.metricColumns();
        StringBuilder out = new StringBuilder();
        List<String> header = new ArrayList<>(FIXED);
        metrics.forEach(m -> header.add(m.split() + ":" + m.name()));
        row(out, header);
        for (ReportData.ModelSection section : data.models()) {
            for (ReportData.RunEntry run : section.runs()) {
                RunSummary r = run.summary();
                List<String> cells = new ArrayList<>(List.of(
                        Long.toString(r.id()), r.modelName(), r.modelHash(), r.label(), r.methodFamily(),
                        Boolean.toString(r.baseline()), number(r.bitsPerWeight()), Long.toString(r.sizeBytes()),
                        Long.toString(r.fp16Bytes()), section.metric() == null ? "" : section.metric(),
                        run.notPlotted() != null ? "" : Boolean.toString(run.onFrontier()), r.status(),
                        r.finishedAt() == null ? "" : r.finishedAt().toString(), Long.toString(run.run().seed()),
                        String.join(";", run.run().tags()), nonNull(run.run().planDescription())));
                for (ReportData.MetricColumn m : metrics) {
                    cells.add(number(run.metric(m.name(), m.split())));
                }
                row(out, cells);
            }
        }
        return out.toString();
    }

    /** Writes {@code data}'s runs to {@code file} (atomically: the old file or the whole new one). */
    public static void write(ReportData data, Path file) {
        byte[] bytes = text(data).getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> out.write(bytes));
    }

    private static void row(StringBuilder out, List<String> cells) {
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            out.append(field(cells.get(i)));
        }
        out.append("\r\n");
    }

    /** One field, quoted when RFC 4180 requires it. */
    static String field(String s) {
        if (s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\r') >= 0 || s.indexOf('\n') >= 0) {
            return '"' + s.replace("\"", "\"\"") + '"';
        }
        return s;
    }

    private static String number(Double d) {
        return d == null ? "" : Double.toString(d);
    }

    private static String nonNull(String s) {
        return s == null ? "" : s;
    }
}
