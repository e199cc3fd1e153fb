package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEngine;
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
        subcommands = {ModelsCommand.class, InspectCommand.class, BaselineCommand.class, RtnCommand.class,
                RunCommand.class, SweepCommand.class, JobsCommand.class, ResumeCommand.class, CancelCommand.class,
                RunsCommand.class, ParetoCommand.class,
                CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:internal error (a bug; please report it)", "2:usage error",
                "3:bad input (unreadable file, invalid setting, database in use), or a job that did not finish"})
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

    /** The process's standard output when run from {@link #main}; null under tests (never a terminal). */
    PrintWriter systemOut;

    /**
     * Opens the results database. Jobs that a previous process left running or queued (it crashed or was killed:
     * no other process can hold the database now) become INTERRUPTED, and a notice says how to resume them.
     */
    ResultsStore openStore() {
        ResultsStore store = ResultsStore.openFile(database);
        try {
            JobsSupport.noticeInterrupted(spec.commandLine().getErr(), JobEngine.recoverInterrupted(store.jobs()));
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        return store;
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        System.exit(execute(args, out, new PrintWriter(System.err, true), out));
    }

    /** Runs the CLI with the given streams and returns the exit code (tests call this). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return execute(args, out, err, null);
    }

    private static int execute(String[] args, PrintWriter out, PrintWriter err, PrintWriter systemOut) {
        SqueezeCli root = new SqueezeCli();
        root.systemOut = systemOut;
        CommandLine cl = new CommandLine(root);
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
