package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.jobs.JobsRejected;
import dev.squeeze.engine.search.SearchSpec;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

@Command(name = "search", description = {
        "Find the best per-layer plan under a size budget, or a whole front of them, and store each as a run.",
        "Every layer is compressed once at every candidate level (the level database, reused by later searches of",
        "the same model and calibration data); the proxy allocator picks the levels that minimise the summed",
        "per-layer sensitivity exactly under the budget; EvoPress (--generations) then refines the plan on KL to",
        "the dense model on calibration data. Budgets count every stored bit of the model's linears (dense layers at",
        "their stored type); a plan never exceeds its budget. Runs as a job: Ctrl-C or a crash keeps the finished",
        "generations and points ('squeeze resume ID').",
        "Example: squeeze search stories260K.bin --front 2:6:0.25 --methods rtn,gptq,sparsegpt,lowrank"})
final class SearchCommand implements Callable<Integer> {
    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "A model file or folder, or a built-in sample.")
    String model;

    static final class Budget {
        @Option(names = "--budget-bpw", paramLabel = "B",
                description = "Bits per weight over the model's linears, every stored bit counted.")
        Double bpw;

        @Option(names = "--budget-bytes", paramLabel = "N", description = "Bytes of the whole model as stored.")
        Long bytes;

        @Option(names = "--front", paramLabel = "FROM:TO:STEP",
                description = "A budget per step from FROM to TO bits per weight, e.g. 2:6:0.25: one run each.")
        String front;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Budget budget;

    @Option(names = "--methods", paramLabel = "M,…", split = ",",
            description = "Method families a layer may take: rtn, gptq, spqr, sparsegpt, magnitude, lowrank"
                    + " (default: rtn,gptq,sparsegpt,lowrank; dense is always allowed).")
    List<String> methods;

    @Option(names = "--generations", paramLabel = "N",
            description = "EvoPress generations after the proxy allocator (default: ${DEFAULT-VALUE} for one budget,"
                    + " 0 for a front unless given).")
    Integer generations;

    @Option(names = "--offspring", paramLabel = "N", description = "EvoPress children per generation (default: ${DEFAULT-VALUE}).")
    int offspring = 32;

    @Option(names = "--time-limit", paramLabel = "DURATION",
            description = "Stop the evolutionary search after this long and keep the best, e.g. 10m, 90s, 1h30m.")
    String timeLimit;

    @Option(names = "--search-seed", paramLabel = "N", description = "Seed of the search (default: ${DEFAULT-VALUE}).")
    long searchSeed;

    @Option(names = "--no-baselines", description = "Do not store the uniform settings inside the budget range for comparison.")
    boolean noBaselines;

    @Option(names = "--tag", paramLabel = "TAG", description = "Tag for every run the search stores (default: search-<date-time>).")
    String tag;

    @Mixin
    RunCommand.LanguageModelOptions lm;

    @Mixin
    JobsSupport.EngineOptions engineOptions;

    @Mixin
    JobsSupport.ImageOptions imageOptions;

    /** EvoPress generations for one budget when none are given. */
    static final int DEFAULT_GENERATIONS = 40;

    @Override
    public Integer call() {
        JobEngine.Options options = engineOptions.toOptions();
        SearchSpec search;
        try {
            search = searchSpec();
        } catch (SqueezeException e) {
            // A budget, a front, a duration or a method that cannot be: a usage error (2), as picocli's own.
            throw new ParameterException(spec.commandLine(), "squeeze search: " + e.getMessage());
        }
        String searchTag = tag != null ? tag
                : "search-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        JobSpec job = new JobSpec(model, null, "search " + searchTag, lm.windows, lm.seed, false,
                lm.evaluationStories, path(imageOptions.images), path(imageOptions.labels), List.of(searchTag), search);
        var out = spec.commandLine().getOut();
        out.printf("Search %s on %s: %s%n", searchTag, model, search.describe());
        try (ResultsStore store = parent.openStore()) {
            List<JobRow> ended = JobsSupport.runInForeground(parent, store, options, engine -> {
                try {
                    return List.of(engine.submit(job));
                } catch (JobsRejected e) {
                    // A search is refused only for its methods (data-hungry ones on a classifier): a usage error.
                    throw new ParameterException(spec.commandLine(), "squeeze search: " + e.getMessage());
                }
            });
            java.util.Map<Long, List<String>> tags = store.tagsByRun(null);
            List<RunSummary> runs = store.runs(null).stream()
                    .filter(r -> tags.getOrDefault(r.id(), List.of()).contains(searchTag)).toList();
            out.printf("Stored %d runs in %s (tag %s); 'squeeze pareto %s --tag %s' shows the front%n", runs.size(),
                    store.location(), searchTag, model, searchTag);
            RunsCommand.printTable(out, runs);
            return JobsSupport.summarize(out, ended);
        }
    }

    private static String path(java.nio.file.Path p) {
        return p == null ? null : p.toAbsolutePath().toString();
    }

    /** The search the options describe; a {@link SqueezeException} names what is wrong with them. */
    private SearchSpec searchSpec() {
        Double from = null;
        Double to = null;
        Double step = null;
        if (budget.front != null) {
            double[] f = front(budget.front);
            from = f[0];
            to = f[1];
            step = f[2];
        }
        int gens = generations != null ? generations : budget.front != null ? 0 : DEFAULT_GENERATIONS;
        if (lm.windows < 1) {
            throw new SqueezeException("--calibration-windows is " + lm.windows, "give at least 1");
        }
        return new SearchSpec(methods, budget.bpw, budget.bytes, from, to, step, gens, offspring,
                timeLimit == null ? 0 : seconds(timeLimit), searchSeed, !noBaselines);
    }

    /** FROM:TO:STEP in bits per weight. */
    static double[] front(String text) {
        String[] parts = text.split(":", -1);
        if (parts.length != 3) {
            throw new SqueezeException("--front '" + text + "' is not FROM:TO:STEP", "write e.g. --front 2:6:0.25");
        }
        try {
            return Arrays.stream(parts).mapToDouble(p -> Double.parseDouble(p.trim())).toArray();
        } catch (NumberFormatException e) {
            throw new SqueezeException("--front '" + text + "' has a part that is not a number",
                    "write e.g. --front 2:6:0.25");
        }
    }

    private static final Pattern DURATION = Pattern.compile("(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?");

    /** 90s, 10m, 1h30m, or a plain number of seconds. */
    static long seconds(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.matches("\\d+")) {
            return Long.parseLong(t);
        }
        Matcher m = DURATION.matcher(t);
        if (t.isEmpty() || !m.matches()) {
            throw new SqueezeException("--time-limit '" + text + "' is not a duration", "write e.g. 90s, 10m or 1h30m");
        }
        long s = 0;
        if (m.group(1) != null) {
            s += Long.parseLong(m.group(1)) * 3600;
        }
        if (m.group(2) != null) {
            s += Long.parseLong(m.group(2)) * 60;
        }
        if (m.group(3) != null) {
            s += Long.parseLong(m.group(3));
        }
        if (s == 0) {
            throw new SqueezeException("--time-limit '" + text + "' is zero", "give a positive duration, or leave it out");
        }
        return s;
    }
}
