package dev.squeeze.engine.cli;

import java.util.List;

/**
 * Commands that live outside the engine and join the CLI: the app's {@code report}, which draws charts with AWT
 * (which the engine must not touch). Implementations are found with {@link java.util.ServiceLoader} (a
 * {@code META-INF/services/dev.squeeze.engine.cli.CliExtension} file), so they are there exactly when their module
 * is on the class path, as it is for the {@code ./squeeze} launcher.
 *
 * <p>A command reaches the shared options (the results database) through a
 * {@code @picocli.CommandLine.ParentCommand SqueezeCli} field and {@link SqueezeCli#openStore()}; its failures
 * are reported and mapped to exit codes as the built-in commands' are.
 */
public interface CliExtension {
    /** The subcommands to add: instances of classes annotated with {@code @picocli.CommandLine.Command}. */
    List<Object> subcommands();
}
