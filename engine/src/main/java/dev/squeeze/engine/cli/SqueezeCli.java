package dev.squeeze.engine.cli;

import dev.squeeze.engine.ResourceErrors;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.backend.Backends;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.store.DataDirs;
import dev.squeeze.engine.store.ResultsStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * The headless command line: everything the workbench does, without a window.
 *
 * <p>Exit codes: 0 success; 1 an unexpected internal error (a bug: please report it); 2 a usage error (unknown
 * option, missing argument); 3 bad input (a file that cannot be read, an invalid setting, a database in use).
 */
@Command(name = "squeeze", mixinStandardHelpOptions = true, versionProvider = SqueezeCli.Version.class,
        description = "Squeeze: neural-network compression workbench (headless CLI).",
        subcommands = {ModelsCommand.class, InspectCommand.class, BaselineCommand.class, RtnCommand.class,
                RunCommand.class, SweepCommand.class, SearchCommand.class, SensitivityCommand.class, JobsCommand.class, ResumeCommand.class, CancelCommand.class,
                RunsCommand.class, ParetoCommand.class, ExportCommand.class, EvalCommand.class, ClusterCommand.class,
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
    public ResultsStore openStore() {
        ResultsStore store = ResultsStore.openFile(database());
        try {
            JobsSupport.noticeInterrupted(spec.commandLine().getErr(), JobEngine.recoverInterrupted(store.jobs()));
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        return store;
    }

    /**
     * The database's base path, checked: H2 appends {@code .mv.db} to whatever it is given, so an empty path made
     * a database named {@code .mv.db} in the working folder and a folder made one beside it, both silently.
     */
    Path database() {
        String text = database.toString();
        if (text.isBlank()) {
            throw new SqueezeException("--db is empty", "give the database's base path, e.g. --db /tmp/scratch/results"
                    + " (Squeeze adds .mv.db), or leave --db out for " + DataDirs.resultsDatabase());
        }
        if (Files.isDirectory(database)) {
            throw new SqueezeException("--db " + database + " is a folder; it names the database file, not where it goes",
                    "give a base path in that folder, e.g. --db " + database.resolve("results") + " (Squeeze adds .mv.db)");
        }
        Path name = database.getFileName();
        if (name != null && name.toString().endsWith(".mv.db") && name.toString().length() > ".mv.db".length()) {
            // The file's own name: H2 would make results.mv.db.mv.db beside it.
            return Path.of(text.substring(0, text.length() - ".mv.db".length()));
        }
        return database;
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        System.exit(execute(args, out, new PrintWriter(System.err, true), out));
    }

    /** Runs the CLI with the given streams and returns the exit code (tests call this). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        return execute(args, out, err, null);
    }

    private static int execute(String[] args, PrintWriter rawOut, PrintWriter rawErr, PrintWriter systemOut) {
        // Everything printed goes through one escaping layer (file and layer names may hold escape sequences).
        PrintWriter out = TerminalText.escaping(rawOut);
        PrintWriter err = TerminalText.escaping(rawErr);
        SqueezeCli root = new SqueezeCli();
        root.systemOut = systemOut == rawOut ? out : systemOut;
        CommandLine cl = new CommandLine(root);
        cl.setOut(out);
        cl.setErr(err);
        addExtensions(cl, err);
        addHelpOptions(cl);
        cl.setExecutionStrategy(SqueezeCli::executeWithRawHelp);
        cl.setParameterExceptionHandler(SqueezeCli::usageError);
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) ->
                failed(ex, commandLine.getErr(), doing(commandLine)));
        try {
            return cl.execute(args);
        } catch (Error e) {
            // picocli hands only Exceptions to the handler above; an OutOfMemoryError or a StackOverflowError
            // would otherwise end the JVM with a raw stack trace.
            return failed(e, err, doing(cl));
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** Adds the commands of every {@link CliExtension} on the class path (the app's {@code report}). */
    private static void addExtensions(CommandLine cl, PrintWriter err) {
        try {
            for (CliExtension extension : ServiceLoader.load(CliExtension.class)) {
                extension.subcommands().forEach(cl::addSubcommand);
            }
        } catch (ServiceConfigurationError e) {
            // The built-in commands still work; only the extension's are missing.
            err.println("squeeze: a command from outside the engine could not be loaded (" + e.getMessage()
                    + "); the engine's own commands still work. Fix: rebuild with ./squeeze build.");
        }
    }

    /** Every subcommand takes -h/--help (and -V/--version), as the top command does: "run --help" is no error. */
    private static void addHelpOptions(CommandLine cl) {
        for (CommandLine sub : cl.getSubcommands().values()) {
            CommandLine.Model.CommandSpec s = sub.getCommandSpec();
            if (s.findOption("--help") == null) {
                s.mixinStandardHelpOptions(true);
                s.versionProvider(new Version());
            }
            addHelpOptions(sub);
        }
    }

    /**
     * picocli's own execution, with help and version text written unescaped: it is Squeeze's own, and picocli
     * styles it with ANSI codes on a terminal. Before a command runs, the {@code -Dsqueeze.backend*} properties are
     * checked ({@link Backends#checkSystemProperties()}), so that a typo stops the CLI at start as a usage error
     * rather than a job halfway through.
     */
    private static int executeWithRawHelp(CommandLine.ParseResult parsed) {
        CommandLine top = parsed.commandSpec().commandLine();
        PrintWriter out = top.getOut();
        PrintWriter err = top.getErr();
        Integer help;
        top.setOut(TerminalText.raw(out));
        top.setErr(TerminalText.raw(err));
        try {
            help = CommandLine.executeHelpRequest(parsed);
        } finally {
            top.setOut(out);
            top.setErr(err);
        }
        if (help != null) {
            return help;
        }
        try {
            Backends.checkSystemProperties();
        } catch (SqueezeException e) {
            err.println("squeeze: " + e.getMessage());
            return EXIT_USAGE;
        }
        return new CommandLine.RunLast().execute(parsed);
    }

    /** A usage error: picocli's message (escaped: it quotes what was typed), then the usage (raw, styled). */
    private static int usageError(CommandLine.ParameterException ex, String[] args) {
        CommandLine c = ex.getCommandLine();
        PrintWriter err = c.getErr();
        err.println(ex.getMessage());
        if (!CommandLine.UnmatchedArgumentException.printSuggestions(ex, err)) {
            c.usage(TerminalText.raw(err), c.getColorScheme());
        }
        return c.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** What the CLI was doing, for a message: "running 'squeeze run'". */
    private static String doing(CommandLine cl) {
        CommandLine.ParseResult p = cl.getParseResult();
        if (p == null) {
            return "starting";
        }
        while (p.hasSubcommand()) {
            p = p.subcommand();
        }
        return "running '" + p.commandSpec().qualifiedName() + "'";
    }

    /**
     * Prints why a command failed and returns the exit code: bad input (a {@link SqueezeException}) and running
     * out of memory are 3 with what to do; anything else is an internal error, 1, without a stack trace unless
     * {@code -Dsqueeze.debug=true}.
     */
    static int failed(Throwable ex, PrintWriter err, String doing) {
        if (ex instanceof SqueezeException se) {
            err.println("squeeze: " + se.getMessage());
            return EXIT_INPUT;
        }
        Error limit = ResourceErrors.limitIn(ex);
        if (limit instanceof OutOfMemoryError) {
            err.println("squeeze: " + ResourceErrors.describe(limit, doing));
            return EXIT_INPUT;
        }
        err.println("squeeze: internal error while " + doing + ": " + ex
                + "\n  This is a bug in Squeeze; please report it with the command you ran"
                + " (-Dsqueeze.debug=true, e.g. in JAVA_TOOL_OPTIONS, prints the stack trace).");
        if (Boolean.getBoolean("squeeze.debug")) {
            ex.printStackTrace(err);
        }
        return EXIT_INTERNAL;
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
