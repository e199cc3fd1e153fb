package dev.squeeze.app.report;

import dev.squeeze.engine.SqueezeException;

import java.nio.file.Path;
import java.util.Locale;

/** The formats a report is written in. */
public enum ReportFormat {
    /** One self-contained HTML file with the charts as inline SVG. */
    HTML("html"),
    /** A PDF with the same content, charts as vector graphics (OrsonPDF). */
    PDF("pdf"),
    /** The runs as CSV, one row per run. */
    CSV("csv");

    private final String extension;

    ReportFormat(String extension) {
        this.extension = extension;
    }

    /** The file name extension, without the dot. */
    public String extension() {
        return extension;
    }

    /** {@code html}, {@code pdf} or {@code csv} (any case). */
    public static ReportFormat parse(String s) {
        for (ReportFormat f : values()) {
            if (f.extension.equalsIgnoreCase(s == null ? "" : s.strip())) {
                return f;
            }
        }
        throw new SqueezeException("Unknown report format '" + s + "'", "use html, pdf or csv");
    }

    /** The format a file name asks for by its extension ({@code report.pdf}); HTML when it has none of ours. */
    public static ReportFormat ofFile(Path file) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        for (ReportFormat f : values()) {
            if (name.endsWith("." + f.extension)) {
                return f;
            }
        }
        return HTML;
    }
}
