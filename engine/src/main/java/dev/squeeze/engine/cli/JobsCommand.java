package dev.squeeze.engine.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "jobs", description = "List the jobs (queued, running, done, failed, cancelled, interrupted).")
final class JobsCommand implements Callable<Integer> {
    enum Format { table, json }

    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Option(names = "--status", paramLabel = "STATUS", split = ",",
            description = "Only jobs in these states (e.g. failed,interrupted).")
    List<String> status;

    @Option(names = "--format", description = "table or json (default: ${DEFAULT-VALUE}).")
    Format format = Format.table;

    @Override
    public Integer call() throws Exception {
        List<JobRow> jobs;
        try (ResultsStore store = parent.openStore()) {
            jobs = status == null ? store.jobs().all()
                    : store.jobs().withStatus(status.stream().map(s -> parseStatus(s)).toArray(JobStatus[]::new));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (format == Format.json) {
            out.println(new ObjectMapper().findAndRegisterModules().disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                    .writerWithDefaultPrettyPrinter().writeValueAsString(jobs));
            return 0;
        }
        printTable(out, jobs);
        if (jobs.isEmpty()) {
            out.println("(no jobs)");
        }
        return 0;
    }

    /**
     * One line a job: the LABEL and WHERE columns are as wide as their longest entry (at least their usual width),
     * measured as printed (a control character in a label is printed as an escape of 4 or 6 characters).
     */
    static void printTable(PrintWriter out, List<JobRow> jobs) {
        int label = Math.max(28, jobs.stream().mapToInt(j -> printedWidth(j.label())).max().orElse(0));
        int where = Math.max(16, jobs.stream().mapToInt(j -> printedWidth(j.where())).max().orElse(0));
        String row = "%5s  %-11s %s %9s %6s  %s  %s%n";
        out.printf(Locale.ROOT, row, "JOB", "STATUS", pad("LABEL", label), "LAYERS", "RUN", pad("WHERE", where),
                "MODEL / REASON");
        for (JobRow j : jobs) {
            out.printf(Locale.ROOT, row, j.id(), j.status().name().toLowerCase(Locale.ROOT), pad(j.label(), label),
                    j.layersDone() + "/" + j.layersTotal(), j.runId() == null ? "-" : j.runId(), pad(j.where(), where),
                    j.reason() == null ? j.model() : j.reason());
        }
    }

    private static int printedWidth(String s) {
        return TerminalText.escape(s).length();
    }

    /** {@code s} followed by the spaces that make it {@code width} characters wide as printed. */
    private static String pad(String s, int width) {
        return s + " ".repeat(Math.max(0, width - printedWidth(s)));
    }

    static JobStatus parseStatus(String s) {
        try {
            return JobStatus.valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new dev.squeeze.engine.SqueezeException("Unknown job status '" + s + "'",
                    "use queued, running, done, failed, cancelled or interrupted");
        }
    }
}
