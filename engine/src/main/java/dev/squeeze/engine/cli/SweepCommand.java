package dev.squeeze.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
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
        String sweepTag = tag != null ? tag
                : "sweep-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Map<String, String> plans = source.plans != null ? planFiles(source.plans) : grid(source.grid);
        List<JobSpec> specs = new ArrayList<>();
        for (Map.Entry<String, String> e : plans.entrySet()) {
            specs.add(JobsSupport.spec(model, e.getValue(), e.getKey(), lm, imageOptions, List.of(sweepTag)));
        }
        var out = spec.commandLine().getOut();
        out.printf("Sweep %s: %d plans on %s%n", sweepTag, specs.size(), model);
        try (ResultsStore store = parent.openStore()) {
            List<JobRow> ended = JobsSupport.runInForeground(parent, store, engineOptions, engine -> engine.submitAll(specs));
            Set<Long> runIds = new java.util.HashSet<>();
            ended.stream().filter(j -> j.status() == JobStatus.DONE).forEach(j -> runIds.add(j.runId()));
            List<RunSummary> runs = store.runs(null).stream().filter(r -> runIds.contains(r.id())).toList();
            out.printf("Stored %d of %d runs in %s (tag %s)%n", runs.size(), specs.size(), store.location(), sweepTag);
            RunsCommand.printTable(out, runs);
            return JobsSupport.summarize(out, ended);
        }
    }

    /** Every *.json in the folder, by file name; each checked when the jobs are queued. */
    private static Map<String, String> planFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new SqueezeException("--plans " + dir + " is not a folder", "give a folder of plan files (*.json)");
        }
        Map<String, String> out = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList()) {
                CompressionPlan p = CompressionPlan.read(f);
                out.put(f.getFileName().toString().replaceFirst("\\.json$", ""), p.canonicalJson());
            }
        } catch (IOException e) {
            throw new SqueezeException("Cannot list " + dir + ": " + e.getMessage(), "check the folder's permissions", e);
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
            out.put(label.toString(), CompressionPlan.of(plan).canonicalJson());
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
