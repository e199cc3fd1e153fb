package dev.squeeze.app.report;

import javafx.stage.FileChooser;
import javafx.stage.Window;

import java.io.File;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/** The save dialog of "Report…": HTML, PDF or CSV, the format named by the extension or the chosen filter. */
public final class ReportFiles {
    private ReportFiles() {
    }

    /** Asks where to write a report; empty when cancelled. A name without our extension gets the filter's. */
    public static Optional<Path> choose(Window owner) {
        FileChooser chooser = new FileChooser();
        chooser.setTitle("Write a comparison report");
        FileChooser.ExtensionFilter html = new FileChooser.ExtensionFilter("HTML report (charts as SVG)", "*.html");
        chooser.getExtensionFilters().addAll(html,
                new FileChooser.ExtensionFilter("PDF report", "*.pdf"),
                new FileChooser.ExtensionFilter("Runs as CSV", "*.csv"));
        chooser.setSelectedExtensionFilter(html);
        chooser.setInitialFileName("squeeze-report.html");
        File f = chooser.showSaveDialog(owner);
        if (f == null) {
            return Optional.empty();
        }
        FileChooser.ExtensionFilter chosen = chooser.getSelectedExtensionFilter();
        String name = f.getName().toLowerCase(Locale.ROOT);
        boolean known = name.endsWith(".html") || name.endsWith(".pdf") || name.endsWith(".csv");
        if (!known && chosen != null) {
            return Optional.of(f.toPath().resolveSibling(f.getName() + chosen.getExtensions().getFirst().substring(1)));
        }
        return Optional.of(f.toPath());
    }
}
