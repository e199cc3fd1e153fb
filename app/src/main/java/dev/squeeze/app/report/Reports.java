package dev.squeeze.app.report;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.report.ReportData;
import dev.squeeze.engine.report.RunsCsv;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.ResultsStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Comparison reports, the one entry point the CLI's {@code report} and the workbench share: read the runs
 * ({@link ReportData#load}) and write them as HTML, PDF or CSV. Works headless (AWT draws the charts off screen;
 * no JavaFX toolkit is needed).
 */
public final class Reports {
    private Reports() {
    }

    /**
     * What a report of {@code runIds} says and where it goes.
     *
     * @param title     the heading
     * @param selection the selection in words ("runs of stories260K tagged sweep-1")
     * @param metric    the y metric to prefer (null: each model's headline metric)
     * @param x         the size axis
     */
    public record Request(String title, String selection, List<Long> runIds, String metric, Pareto.XAxis x) {
        public Request {
            runIds = List.copyOf(runIds);
        }
    }

    /** What was written. */
    public record Written(Path file, ReportFormat format, int runs, int models, long bytes) {
    }

    /** Reads the request's runs from {@code store} and writes the report to {@code file} in {@code format}. */
    public static Written write(ResultsStore store, Request request, ReportFormat format, Path file) {
        ReportData data = ReportData.load(store, request.title(), request.selection(), request.runIds(),
                request.metric(), request.x());
        return write(data, format, file);
    }

    /** Writes {@code data} to {@code file} in {@code format} (atomically: the old file or the whole new one). */
    public static Written write(ReportData data, ReportFormat format, Path file) {
        switch (format) {
            case HTML -> HtmlReport.write(data, file);
            case PDF -> PdfReport.write(data, file);
            case CSV -> RunsCsv.write(data, file);
        }
        long bytes;
        try {
            bytes = Files.size(file);
        } catch (IOException e) {
            throw new SqueezeException("The report was written to " + file + " but cannot be read back: "
                    + e.getMessage(), "check the file and the disk");
        }
        return new Written(file, format, data.runs().size(), data.models().size(), bytes);
    }
}
