package dev.squeeze.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static dev.squeeze.engine.cli.CliSmokeTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParetoCommandTest {
    @TempDir
    Path dir;

    @Test
    void paretoOverRtnRuns() throws Exception {
        Path model = TinyModels.writeMlp(dir, 1);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(40, 2));
        String db = dir.resolve("db/results").toString();
        CliSmokeTest.Result rtn = run("--db", db, "rtn", model.toString(), "--bits", "8,4", "--images",
                idx[0].toString(), "--labels", idx[1].toString());
        assertEquals(0, rtn.code(), rtn.err());

        CliSmokeTest.Result table = run("--db", db, "pareto", "tiny-mlp", "--x", "size", "--y", "top1");
        assertEquals(0, table.code(), table.err());
        assertTrue(table.out().contains("Pareto frontier: top1 vs size_bytes (higher is better)"), table.out());

        // The JSON result is checked against the runs table (an independent read of the same database): every
        // stored run is either on the frontier or dominated, and the frontier is the smallest run plus every
        // larger run with strictly better top-1 than all smaller ones.
        CliSmokeTest.Result json = run("--db", db, "pareto", "tiny-mlp", "--x", "size", "--y", "top1", "--format", "json");
        assertEquals(0, json.code(), json.err());
        JsonNode doc = new ObjectMapper().readTree(json.out());
        JsonNode runs = new ObjectMapper().readTree(run("--db", db, "runs", "--format", "json").out());
        assertEquals(3, runs.size());
        assertEquals(3, doc.get("frontier").size() + doc.get("dominated").size());
        assertEquals(0, doc.get("skipped").asInt());
        List<JsonNode> sorted = new java.util.ArrayList<>();
        runs.forEach(sorted::add);
        sorted.sort(java.util.Comparator.comparingLong((JsonNode n) -> n.get("sizeBytes").asLong())
                .thenComparing(n -> -n.get("metricValue").asDouble()));
        List<Long> expected = new java.util.ArrayList<>();
        double best = Double.NEGATIVE_INFINITY;
        long lastSize = -1;
        for (JsonNode n : sorted) {
            if (n.get("metricValue").asDouble() > best) {
                expected.add(n.get("id").asLong());
                best = n.get("metricValue").asDouble();
                lastSize = n.get("sizeBytes").asLong();
            }
        }
        assertTrue(lastSize > 0);
        List<Long> frontier = new java.util.ArrayList<>();
        doc.get("frontier").forEach(n -> frontier.add(n.get("runId").asLong()));
        assertEquals(expected, frontier, json.out());

        // bits per weight: the dense run has none and is reported as skipped.
        CliSmokeTest.Result bpw = run("--db", db, "pareto", "tiny-mlp", "--x", "bpw", "--y", "top1", "--format", "csv",
                "--all");
        assertEquals(0, bpw.code(), bpw.err());
        assertEquals(3, bpw.out().strip().lines().count(), bpw.out());
        assertTrue(bpw.out().startsWith("frontier,id,label,bits_per_weight,top1"), bpw.out());
        assertFalse(bpw.out().contains("dense f32"), bpw.out());
        CliSmokeTest.Result bpwTable = run("--db", db, "pareto", "tiny-mlp", "--x", "bpw", "--y", "top1");
        assertTrue(bpwTable.out().contains("1 run skipped"), bpwTable.out());

        // The model file itself names the model by its content hash.
        CliSmokeTest.Result byFile = run("--db", db, "pareto", model.toString(), "--y", "top1", "--method", "rtn");
        assertEquals(0, byFile.code(), byFile.err());
        assertTrue(byFile.out().contains("RTN 4-bit") || byFile.out().contains("RTN 8-bit"), byFile.out());
        assertFalse(byFile.out().contains("dense f32"), byFile.out());
    }

    @Test
    void unknownMetricOrModelExitsWith3AndSaysWhatExists() throws Exception {
        Path model = TinyModels.writeMlp(dir, 1);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(40, 2));
        String db = dir.resolve("db/results").toString();
        assertEquals(0, run("--db", db, "rtn", model.toString(), "--bits", "8", "--images", idx[0].toString(),
                "--labels", idx[1].toString()).code());

        CliSmokeTest.Result ppl = run("--db", db, "pareto", "tiny-mlp", "--y", "perplexity");
        assertEquals(SqueezeCli.EXIT_INPUT, ppl.code());
        assertTrue(ppl.err().contains("'perplexity'") && ppl.err().contains("top1") && ppl.err().contains("accuracy."),
                ppl.err());
        assertFalse(ppl.err().contains("\tat "), ppl.err());

        CliSmokeTest.Result noModel = run("--db", db, "pareto", "no-such-model", "--y", "top1");
        assertEquals(SqueezeCli.EXIT_INPUT, noModel.code());
        assertTrue(noModel.err().contains("'no-such-model'") && noModel.err().contains("tiny-mlp"), noModel.err());

        CliSmokeTest.Result axis = run("--db", db, "pareto", "tiny-mlp", "--x", "width", "--y", "top1");
        assertEquals(SqueezeCli.EXIT_INPUT, axis.code());

        assertEquals(SqueezeCli.EXIT_USAGE, run("--db", db, "pareto", "tiny-mlp").code(), "--y is required");
    }
}
