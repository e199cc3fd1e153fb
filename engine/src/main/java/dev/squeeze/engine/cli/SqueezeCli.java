package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.store.DataDirs;
import dev.squeeze.engine.store.ResultsStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * The headless command line: everything the workbench does, without a window.
 *
 * <p>Exit codes: 0 success; 1 an unexpected internal error (a bug: please report it); 2 a usage error (unknown
 * option, missing argument); 3 bad input (a file that cannot be read, an invalid setting, a database in use).
 */
@Command(name = "squeeze", mixinStandardHelpOptions = true, versionProvider = SqueezeCli.Version.class,
        description = "Squeeze: neural-network compression workbench (headless CLI).",
        subcommands = {InspectCommand.class, BaselineCommand.class, RtnCommand.class, RunCommand.class,
                RunsCommand.class, ParetoCommand.class,
                CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:internal error (a bug; please report it)", "2:usage error",
                "3:bad input (unreadable file, invalid setting, database in use)"})
public final class SqueezeCli implements Runnable {
    public static final int EXIT_INTERNAL = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_INPUT = 3;

    @Option(names = "--db", paramLabel = "PATH",
            description = "Results database base path (default: ${DEFAULT-VALUE}; H2 adds .mv.db).")
    Path database = DataDirs.resultsDatabase();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    ResultsStore openStore() {
        return ResultsStore.openFile(database);
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams and returns the exit code (tests call this). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new SqueezeCli());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof SqueezeException se) {
                commandLine.getErr().println("squeeze: " + se.getMessage());
                return EXIT_INPUT;
            }
            commandLine.getErr().println("squeeze: internal error: " + ex
                    + "\n  This is a bug in Squeeze; please report it with the command you ran.");
            if (Boolean.getBoolean("squeeze.debug")) {
                ex.printStackTrace(commandLine.getErr());
            }
            return EXIT_INTERNAL;
        });
        return cl.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            var p = dev.squeeze.engine.store.Provenance.current("-");
            return new String[]{"squeeze " + p.squeezeVersion() + " (commit " + p.gitCommit() + ", Java "
                    + p.javaVersion() + ")"};
        }
    }
}
