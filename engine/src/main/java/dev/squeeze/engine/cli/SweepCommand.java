package dev.squeeze.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.jobs.JobsRejected;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

@Command(name = "sweep", description = {
        "Run many plans on one model as a queue of jobs, and store every run.",
        "Plans come from a folder of JSON files (--plans) or from a grid of settings (--grid, repeatable:",
        "each KEY=V1,V2,... multiplies the plans; e.g. --grid method=rtn --grid bits=2,3,4,8 --grid groupSize=-1,128).",
        "Every plan is checked before any job starts. The runs are tagged (--tag, default sweep-<date-time>);",
        "'squeeze pareto MODEL --y METRIC --tag TAG' then shows the sweep's frontier."})
final class SweepCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "A model file or folder, or a built-in sample.")
    String model;

    static final class Source {
        @Option(names = "--plans", paramLabel = "DIR", description = "A folder of plan files (*.json), one job each.")
        Path plans;

        @Option(names = "--grid", paramLabel = "KEY=V1,V2", description = "A grid axis over the plan defaults (repeatable).")
        List<String> grid;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Mixin
    RunCommand.LanguageModelOptions lm;

    @Mixin
    JobsSupport.EngineOptions engineOptions;

    @Option(names = "--tag", paramLabel = "TAG", description = "Tag for every run of the sweep (default: sweep-<date-time>).")
    String tag;

    @Mixin
    JobsSupport.ImageOptions imageOptions;

    @Override
    public Integer call() {
        JobEngine.Options options = engineOptions.toOptions(); // before anything is opened: a bad heap is bad input
        String sweepTag = tag != null ? tag
                : "sweep-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Map<String, String> plans = source.plans != null ? planFiles(source.plans) : grid(source.grid);
        if (source.plans == null) {
            plans.keySet().forEach(label -> whereFrom.put(label, "Grid plan '" + label + "'"));
        }
        List<JobSpec> specs = new ArrayList<>();
        for (Map.Entry<String, String> e : plans.entrySet()) {
            specs.add(JobsSupport.spec(model, e.getValue(), e.getKey(), lm, imageOptions, List.of(sweepTag)));
        }
        var out = spec.commandLine().getOut();
        out.printf("Sweep %s: %d plans on %s%n", sweepTag, specs.size(), model);
        try (ResultsStore store = parent.openStore()) {
            List<JobRow> ended = JobsSupport.runInForeground(parent, store, options, engine -> {
                try {
                    return engine.submitAll(specs);
                } catch (JobsRejected rejected) {
                    throw namePlans(rejected, specs.size());
                }
            });
            Set<Long> runIds = new java.util.HashSet<>();
            ended.stream().filter(j -> j.status() == JobStatus.DONE).forEach(j -> runIds.add(j.runId()));
            List<RunSummary> runs = store.runs(null).stream().filter(r -> runIds.contains(r.id())).toList();
            out.printf("Stored %d of %d runs in %s (tag %s)%n", runs.size(), specs.size(), store.location(), sweepTag);
            RunsCommand.printTable(out, runs);
            return JobsSupport.summarize(out, ended);
        }
    }

    /** Where each plan came from, by label, for messages: "Plan file plans/b.json", "Grid plan 'bits=9'". */
    private final Map<String, String> whereFrom = new LinkedHashMap<>();

    /** Plans shown in one message when many do not fit; the rest are counted. */
    private static final int PLANS_SHOWN = 10;

    /**
     * The engine checks every plan against the model before it queues any and names the plans that do not fit by
     * label; the message names them by where they came from (the plan file, or the grid point).
     */
    private SqueezeException namePlans(JobsRejected rejected, int plans) {
        List<String> failures = new ArrayList<>();
        for (JobsRejected.Refusal r : rejected.refusals()) {
            String where = whereFrom.getOrDefault(r.spec().label(), "Plan '" + r.spec().label() + "'");
            failures.add(where + ": " + r.reason().getMessage());
        }
        StringBuilder b = new StringBuilder(String.format(java.util.Locale.ROOT,
                "%d of %d plans %s not fit %s; no job was queued:", failures.size(), plans,
                failures.size() == 1 ? "does" : "do", rejected.refusals().getFirst().modelName()));
        failures.stream().limit(PLANS_SHOWN).forEach(f -> b.append("\n").append(f));
        if (failures.size() > PLANS_SHOWN) {
            b.append("\n… and ").append(failures.size() - PLANS_SHOWN).append(" more plans");
        }
        return new SqueezeException(b.toString(), null, rejected);
    }

    /** Every *.json in the folder, by file name; every file is read, and all that cannot be are reported together. */
    private Map<String, String> planFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new SqueezeException("--plans " + dir + " is not a folder", "give a folder of plan files (*.json)");
        }
        Map<String, String> out = new LinkedHashMap<>();
        List<String> failures = new ArrayList<>();
        int files = 0;
        try (Stream<Path> listing = Files.list(dir)) {
            for (Path f : listing.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList()) {
                files++;
                try {
                    CompressionPlan p = CompressionPlan.read(f);
                    String label = f.getFileName().toString().replaceFirst("\\.json$", "");
                    out.put(label, p.canonicalJson());
                    whereFrom.put(label, "Plan file " + f);
                } catch (SqueezeException e) {
                    failures.add(e.getMessage()); // "Plan file <f>: ..." or "Cannot read plan file <f>: ..."
                }
            }
        } catch (IOException e) {
            throw new SqueezeException("Cannot list " + dir + ": " + e.getMessage(), "check the folder's permissions", e);
        }
        if (failures.size() == 1) {
            throw new SqueezeException(failures.getFirst(), null);
        }
        if (!failures.isEmpty()) {
            StringBuilder b = new StringBuilder(String.format(java.util.Locale.ROOT,
                    "%d of %d plan files in %s cannot be read; no job was queued:", failures.size(), files, dir));
            failures.stream().limit(PLANS_SHOWN).forEach(f -> b.append("\n").append(f));
            if (failures.size() > PLANS_SHOWN) {
                b.append("\n… and ").append(failures.size() - PLANS_SHOWN).append(" more files");
            }
            throw new SqueezeException(b.toString(), null);
        }
        if (out.isEmpty()) {
            throw new SqueezeException("No plan files (*.json) in " + dir, "put plans there, or use --grid");
        }
        return out;
    }

    /**
     * The cartesian product of the axes, as plans whose defaults hold one value of each axis (label: the values,
     * e.g. {@code method=rtn bits=4 groupSize=128}). Values are JSON scalars: numbers, true/false, or text.
     */
    static Map<String, String> grid(List<String> axes) {
        List<String> keys = new ArrayList<>();
        List<List<JsonNode>> values = new ArrayList<>();
        for (String axis : axes) {
            int eq = axis.indexOf('=');
            if (eq <= 0 || eq == axis.length() - 1) {
                throw new SqueezeException("--grid '" + axis + "' is not KEY=V1,V2,...",
                        "write e.g. --grid bits=2,3,4 (see the README's \"Plans\" for the keys)");
            }
            String key = axis.substring(0, eq).trim();
            if (keys.contains(key)) {
                throw new SqueezeException("--grid names '" + key + "' twice", "give each key once, with all its values");
            }
            List<JsonNode> vs = new ArrayList<>();
            for (String v : axis.substring(eq + 1).split(",", -1)) {
                vs.add(scalar(v.trim()));
            }
            keys.add(key);
            values.add(vs);
        }
        if (!keys.contains("method")) {
            throw new SqueezeException("--grid has no 'method' axis", "add e.g. --grid method=rtn");
        }
        Map<String, String> out = new LinkedHashMap<>();
        int[] at = new int[keys.size()];
        while (true) {
            ObjectNode defaults = JSON.createObjectNode();
            StringBuilder label = new StringBuilder();
            for (int i = 0; i < keys.size(); i++) {
                JsonNode v = values.get(i).get(at[i]);
                defaults.set(keys.get(i), v);
                label.append(i == 0 ? "" : " ").append(keys.get(i)).append('=').append(v.asText());
            }
            ObjectNode plan = JSON.createObjectNode();
            plan.put("schema", CompressionPlan.SCHEMA);
            plan.set("defaults", defaults);
            try {
                out.put(label.toString(), CompressionPlan.of(plan).canonicalJson());
            } catch (SqueezeException e) {
                throw new SqueezeException("Grid plan '" + label + "': " + e.getMessage(), null, e);
            }
            int i = keys.size() - 1;
            while (i >= 0 && ++at[i] == values.get(i).size()) {
                at[i--] = 0;
            }
            if (i < 0) {
                return out;
            }
        }
    }

    private static JsonNode scalar(String v) {
        if (v.isEmpty()) {
            throw new SqueezeException("--grid has an empty value", "remove the extra comma");
        }
        try {
            JsonNode n = JSON.readTree(v);
            if (n != null && n.isValueNode()) {
                return n;
            }
        } catch (IOException notJson) {
            // Plain text, below.
        }
        return JSON.getNodeFactory().textNode(v);
    }
}
