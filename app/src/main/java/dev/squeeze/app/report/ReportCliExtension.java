package dev.squeeze.app.report;

import dev.squeeze.engine.cli.CliExtension;

import java.util.List;

/** Adds {@code report} to the CLI when the app is on the class path (META-INF/services). */
public final class ReportCliExtension implements CliExtension {
    @Override
    public List<Object> subcommands() {
        return List.of(new ReportCommand());
    }
}
