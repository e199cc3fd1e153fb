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
        out.printf("%5s  %-11s %-28s %9s %6s  %s%n", "JOB", "STATUS", "LABEL", "LAYERS", "RUN", "MODEL / REASON");
        for (JobRow j : jobs) {
            out.printf(Locale.ROOT, "%5d  %-11s %-28s %9s %6s  %s%n", j.id(), j.status().name().toLowerCase(Locale.ROOT),
                    j.label(), j.layersDone() + "/" + j.layersTotal(), j.runId() == null ? "-" : j.runId(),
                    j.reason() == null ? j.model() : j.reason());
        }
        if (jobs.isEmpty()) {
            out.println("(no jobs)");
        }
        return 0;
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
