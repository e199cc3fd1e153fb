package dev.squeeze.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.StoreHolder;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.squeeze.engine.cli.CliSmokeTest.Result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job commands end to end with real worker processes on a tiny two-layer MLP: sweep (grid and plan folder),
 * runs and pareto by tag, jobs, resume, cancel (directly, and through the request file while another process
 * holds the database) and models.
 */
class JobCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> GRID_LABELS = List.of("method=rtn bits=2 groupSize=16",
            "method=rtn bits=4 groupSize=16", "method=rtn bits=8 groupSize=16");

    @TempDir
    Path dir;

    private Path model;
    private Path[] idx;
    private String db;

    @BeforeEach
    void setUp() throws Exception {
        model = TinyModels.writeMlp(dir, 1);
        idx = TinyModels.writeIdx(dir, TinyModels.images(40, 2));
        db = dir.resolve("db/results").toString();
    }

    private Result cli(String... args) {
        List<String> all = new ArrayList<>(List.of("--db", db));
        all.addAll(List.of(args));
        return CliSmokeTest.run(all.toArray(String[]::new));
    }

    private Result sweep(String... args) {
        List<String> all = new ArrayList<>(List.of("sweep", model.toString()));
        all.addAll(List.of(args));
        all.addAll(List.of("--images", idx[0].toString(), "--labels", idx[1].toString(), "--worker-heap", "256m"));
        return cli(all.toArray(String[]::new));
    }

    /** The data rows of {@code runs --format csv} (header dropped). */
    private List<String[]> csvRuns(String... filter) {
        List<String> args = new ArrayList<>(List.of("runs", "--format", "csv"));
        args.addAll(List.of(filter));
        Result r = cli(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().strip().lines().toList();
        assertTrue(lines.getFirst().startsWith("id,model,label,"), r.out());
        return lines.subList(1, lines.size()).stream().map(l -> l.split(",")).toList();
    }

    private JsonNode jobsJson() throws Exception {
        Result r = cli("jobs", "--format", "json");
        assertEquals(0, r.code(), r.err());
        return JSON.readTree(r.out());
    }

    @Test
    void aGridSweepStoresTaggedRunsWithPlainProgressAndParetoShowsItsFrontier() throws Exception {
        Result s = sweep("--grid", "method=rtn", "--grid", "bits=2,4,8", "--grid", "groupSize=16", "--workers", "2",
                "--tag", "s1");
        assertEquals(0, s.code(), s.out() + s.err());
        assertTrue(s.out().contains("Sweep s1: 3 plans"), s.out());
        assertTrue(s.out().contains("Stored 3 of 3 runs"), s.out());

        // Piped progress: plain lines, no carriage returns, one per finished layer, no "started" layer lines.
        assertFalse(s.out().contains("\r"), s.out());
        for (String label : GRID_LABELS) {
            for (String layer : List.of("1/2 fc1 done", "2/2 fc2 done")) {
                assertTrue(Pattern.compile("(?m)^job \\d+ \\(" + Pattern.quote(label) + "\\): layer "
                        + Pattern.quote(layer) + "$").matcher(s.out()).find(), label + " " + layer + ":\n" + s.out());
            }
            assertTrue(Pattern.compile("(?m)^job \\d+ \\(" + Pattern.quote(label) + "\\): done, run \\d+$")
                    .matcher(s.out()).find(), s.out());
            assertTrue(Pattern.compile("(?m)^job \\d+ \\(" + Pattern.quote(label) + "\\): compression \\(2 layers\\)$")
                    .matcher(s.out()).find(), s.out());
        }
        assertFalse(Pattern.compile("(?m)^job \\d+ \\(.*\\): layer .* started$").matcher(s.out()).find(), s.out());

        // runs --tag: exactly the sweep's three runs.
        List<String[]> tagged = csvRuns("--tag", "s1");
        assertEquals(new TreeSet<>(GRID_LABELS), new TreeSet<>(tagged.stream().map(r -> r[2]).toList()));
        assertEquals(List.of(), csvRuns("--tag", "other"));

        // jobs: three done jobs, each with its run.
        JsonNode jobs = jobsJson();
        assertEquals(3, jobs.size(), jobs.toString());
        Set<Long> runIds = new TreeSet<>();
        for (JsonNode j : jobs) {
            assertEquals("DONE", j.get("status").asText(), j.toString());
            assertEquals(2, j.get("layersDone").asInt());
            runIds.add(j.get("runId").asLong());
        }
        assertEquals(new TreeSet<>(tagged.stream().map(r -> Long.parseLong(r[0])).toList()), runIds);
        Result table = cli("jobs");
        assertEquals(0, table.code(), table.err());
        for (String label : GRID_LABELS) {
            assertTrue(table.out().contains(label), table.out());
        }
        assertEquals(3, table.out().lines().filter(l -> l.contains(" done ")).count(), table.out());

        // A dense run without the tag, so that the tag filter has something to leave out.
        Result dense = cli("rtn", model.toString(), "--bits", "8", "--images", idx[0].toString(), "--labels",
                idx[1].toString());
        assertEquals(0, dense.code(), dense.err());

        // pareto --tag: the frontier, recomputed here from the runs list (size vs top-1, higher is better; a run is
        // dominated by one no larger and no worse that is strictly better in one; exact ties all stay).
        JsonNode runs = JSON.readTree(cli("runs", "--format", "json").out());
        Map<Long, double[]> points = new HashMap<>();
        for (JsonNode r : runs) {
            if (runIds.contains(r.get("id").asLong())) {
                points.put(r.get("id").asLong(), new double[]{r.get("sizeBytes").asDouble(), r.get("metricValue").asDouble()});
            }
        }
        assertEquals(3, points.size());
        Set<Long> expected = new TreeSet<>();
        for (var p : points.entrySet()) {
            boolean dominated = points.values().stream().anyMatch(q -> q[0] <= p.getValue()[0] && q[1] >= p.getValue()[1]
                    && (q[0] < p.getValue()[0] || q[1] > p.getValue()[1]));
            if (!dominated) {
                expected.add(p.getKey());
            }
        }
        Result pj = cli("pareto", model.toString(), "--y", "top1", "--tag", "s1", "--format", "json");
        assertEquals(0, pj.code(), pj.err());
        JsonNode doc = JSON.readTree(pj.out());
        Set<Long> frontier = new TreeSet<>();
        doc.get("frontier").forEach(n -> frontier.add(n.get("runId").asLong()));
        Set<Long> dominated = new TreeSet<>();
        doc.get("dominated").forEach(n -> dominated.add(n.get("runId").asLong()));
        assertEquals(expected, frontier, pj.out());
        Set<Long> rest = new TreeSet<>(points.keySet());
        rest.removeAll(expected);
        assertEquals(rest, dominated, "every other tagged run is dominated, and no untagged run appears");
        doc.get("frontier").forEach(n -> assertEquals(points.get(n.get("runId").asLong())[1], n.get("y").asDouble()));

        Result pt = cli("pareto", "tiny-mlp", "--y", "top1", "--tag", "s1");
        assertEquals(0, pt.code(), pt.err());
        assertTrue(pt.out().contains(expected.size() + " of 3 runs on it"), pt.out());
        Set<Long> printed = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^\\s*(\\d+)  method=rtn").matcher(pt.out());
        while (m.find()) {
            printed.add(Long.parseLong(m.group(1)));
        }
        assertEquals(expected, printed, pt.out());

        // models: the model, with all its runs (the sweep's and rtn's).
        assertTrue(runs.size() > 3, runs.toString());
        Result models = cli("models");
        assertEquals(0, models.code(), models.err());
        String row = models.out().lines().filter(l -> l.contains("tiny-mlp")).findFirst().orElseThrow();
        assertTrue(row.matches(".*\\s" + runs.size() + "\\s+[0-9a-f]{16}\\s+.*"), row);
        assertTrue(row.contains(model.toAbsolutePath().toString()) || row.contains(model.toString()), row);

        // resume with nothing to resume.
        Result resume = cli("resume");
        assertEquals(0, resume.code(), resume.err());
        assertEquals("No job to resume.", resume.out().strip());
    }

    @Test
    void aSweepOverAPlanFolderRunsOneJobPerFile() throws Exception {
        Path plans = Files.createDirectories(dir.resolve("plans"));
        Files.writeString(plans.resolve("low.json"), "{\"schema\": 1, \"defaults\": {\"method\": \"rtn\", \"bits\": 3, \"groupSize\": 16}}");
        Files.writeString(plans.resolve("mixed.json"), """
                {"schema": 1, "defaults": {"method": "rtn", "bits": 4, "groupSize": 16},
                 "overrides": [{"layer": "fc2", "method": "rtn", "bits": 8}]}""");
        Files.writeString(plans.resolve("notes.txt"), "not a plan");
        Result s = sweep("--plans", plans.toString(), "--tag", "folder");
        assertEquals(0, s.code(), s.out() + s.err());
        assertTrue(s.out().contains("Sweep folder: 2 plans"), s.out());
        List<String[]> runs = csvRuns("--tag", "folder");
        assertEquals(List.of("low", "mixed"), runs.stream().map(r -> r[2]).sorted().toList());
        try (ResultsStore store = ResultsStore.openFile(Path.of(db))) {
            long mixed = runs.stream().filter(r -> r[2].equals("mixed")).mapToLong(r -> Long.parseLong(r[0])).sum();
            var layers = store.layerResults(mixed);
            assertTrue(layers.get(0).settings().startsWith("RTN 4-bit") && layers.get(1).settings().startsWith("RTN 8-bit"),
                    layers.toString());
        }
    }

    @Test
    void gridErrorsExitWith3AndQueueNothing() throws Exception {
        record Case(List<String> grid, String message) {
        }
        List<Case> cases = List.of(
                new Case(List.of("bits=2,4"), "no 'method' axis"),
                new Case(List.of("method=rtn", "bits"), "'bits' is not KEY=V1,V2"),
                new Case(List.of("method=rtn", "bits="), "'bits=' is not KEY=V1,V2"),
                new Case(List.of("method=rtn", "bits=2", "bits=4"), "names 'bits' twice"),
                new Case(List.of("method=rtn", "bits=2,,4"), "empty value"),
                // A trailing comma is the same mistake (String.split would drop the empty value silently).
                new Case(List.of("method=rtn", "bits=2,4,"), "empty value"),
                // bits=4 alone would be valid: one invalid plan queues none.
                new Case(List.of("method=rtn", "bits=4,9"), "'bits'"));
        for (Case c : cases) {
            List<String> args = new ArrayList<>();
            c.grid().forEach(g -> args.addAll(List.of("--grid", g)));
            Result r = sweep(args.toArray(String[]::new));
            assertEquals(SqueezeCli.EXIT_INPUT, r.code(), c + ": " + r.out() + r.err());
            assertTrue(r.err().contains(c.message()), c + ": " + r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        }
        assertEquals(0, jobsJson().size(), "nothing was queued");
        Result table = cli("jobs");
        assertTrue(table.out().contains("(no jobs)"), table.out());
        assertEquals(List.of(), csvRuns());
    }

    @Test
    void anInvalidPlanInTheFolderQueuesNoJob() throws Exception {
        Path plans = Files.createDirectories(dir.resolve("plans"));
        Files.writeString(plans.resolve("a-good.json"), "{\"schema\": 1, \"defaults\": {\"method\": \"rtn\", \"bits\": 4}}");
        Files.writeString(plans.resolve("b-bad.json"), "{\"schema\": 1, \"defaults\": {\"method\": \"rtn\", \"bits\": 9}}");
        Result r = sweep("--plans", plans.toString());
        assertEquals(SqueezeCli.EXIT_INPUT, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("fc1") && r.err().contains("'bits'"), r.err());
        assertEquals(0, jobsJson().size(), "the valid plan was not queued either");

        Files.writeString(plans.resolve("b-bad.json"), "{\"schema\": 1, \"defaults\": {\"method\": ");
        Result broken = sweep("--plans", plans.toString());
        assertEquals(SqueezeCli.EXIT_INPUT, broken.code(), broken.out() + broken.err());
        assertTrue(broken.err().contains("b-bad.json"), broken.err());
        assertEquals(0, jobsJson().size());

        Path empty = Files.createDirectories(dir.resolve("empty"));
        Result none = sweep("--plans", empty.toString());
        assertEquals(SqueezeCli.EXIT_INPUT, none.code());
        assertTrue(none.err().contains("No plan files"), none.err());
    }

    @Test
    void aFailedJobIsListedAsResumableAndCancelledForGood() throws Exception {
        long id;
        Path checkpoints;
        try (ResultsStore store = ResultsStore.openFile(Path.of(db))) {
            id = store.jobs().add("{}", "a".repeat(64), model.toString(), "doomed");
            assertTrue(store.jobs().markRunning(id));
            store.jobs().end(id, JobStatus.FAILED, "the worker crashed in native code");
            checkpoints = store.checkpointRoot().resolve("job-" + id);
        }
        Files.createDirectories(checkpoints);
        Files.writeString(checkpoints.resolve("layer-0000.ckpt"), "x");

        Result resumable = cli("resume");
        assertEquals(0, resumable.code(), resumable.err());
        assertTrue(resumable.out().contains("doomed") && resumable.out().contains("native code")
                && resumable.out().contains("squeeze resume"), resumable.out());

        Result cancel = cli("cancel", Long.toString(id));
        assertEquals(0, cancel.code(), cancel.err());
        assertEquals("Cancelled job " + id + ".", cancel.out().strip());
        JsonNode job = jobsJson().get(0);
        assertEquals("CANCELLED", job.get("status").asText());
        assertFalse(Files.exists(checkpoints), "a cancelled job's checkpoints are deleted");
        assertEquals("No job to resume.", cli("resume").out().strip());

        Result again = cli("cancel", Long.toString(id));
        assertEquals(SqueezeCli.EXIT_INPUT, again.code());
        assertTrue(again.err().contains("already cancelled"), again.err());
        Result missing = cli("cancel", "999");
        assertEquals(SqueezeCli.EXIT_INPUT, missing.code());
        assertTrue(missing.err().contains("There is no job 999"), missing.err());
    }

    @Test
    void cancelWhileAnotherProcessHoldsTheDatabaseLeavesARequestFile() throws Exception {
        try (var holder = StoreHolder.hold(Path.of(db))) {
            Result inUse = cli("jobs");
            assertEquals(SqueezeCli.EXIT_INPUT, inUse.code());
            assertTrue(inUse.err().contains("in use by another Squeeze process"), inUse.err());

            Result cancel = cli("cancel", "42", "43");
            assertEquals(0, cancel.code(), cancel.err());
            assertTrue(cancel.out().contains("Asked the running Squeeze process to cancel job 42.")
                    && cancel.out().contains("Asked the running Squeeze process to cancel job 43."), cancel.out());
            Path root = ResultsStore.checkpointRootFor(Path.of(db));
            assertEquals(dir.resolve("db/results-checkpoints").toAbsolutePath(), root);
            assertTrue(Files.exists(JobEngine.cancelRequestFile(root, 42)));
            assertTrue(Files.exists(root.resolve("cancel-43")));
        }
    }
}
