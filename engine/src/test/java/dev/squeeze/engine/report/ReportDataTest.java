package dev.squeeze.engine.report;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.RunSummary;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a report reads: the selection, each model's frontier over the selected runs, and the CSV of its runs. */
class ReportDataTest {
    static final String MLP = "a".repeat(64);
    static final String LM = "b".repeat(64);

    @TempDir
    Path dir;

    private ResultsStore store;
    private final Map<Long, RunRecord> stored = new HashMap<>();

    @BeforeEach
    void fill() {
        store = ResultsStore.inMemory();
        // A classifier (top1, higher is better) and a language model (perplexity, lower is better).
        run(MLP, "dense f32", 400, null, List.of(), List.of(m("top1", 0.90), m("accuracy.cat", 0.5)), "grid");
        run(MLP, "rtn 8", 120, 8.0, layers("rtn", 8), List.of(m("top1", 0.90)), "grid");
        run(MLP, "rtn 4, \"quoted\"", 70, 4.0, layers("rtn", 4), List.of(m("top1", 0.80)), "grid");
        run(MLP, "gptq 4\nsecond line", 70, 4.0, layers("gptq", 4), List.of(m("top1", 0.85)), "other");
        run(MLP, "gptq 3", 50, 3.0, layers("gptq", 3), List.of(m("top1", 0.70),
                new RunRecord.Metric("top1", "calibration", 0.71)), "grid");
        run(MLP, "no metric", 60, 3.5, layers("rtn", 3), List.of(), "grid");
        run(LM, "dense", 1000, null, List.of(), List.of(m("perplexity", 5.2), m("nll_per_token", 1.65)), "grid");
        run(LM, "gptq 4", 250, 4.3, layers("gptq", 4), List.of(m("perplexity", 5.6), m("nll_per_token", 1.72)), "grid");
        run(LM, "rtn 4", 260, 4.5, layers("rtn", 4), List.of(m("perplexity", 5.75), m("nll_per_token", 1.75)),
                "grid");
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static RunRecord.Metric m(String name, double v) {
        return new RunRecord.Metric(name, "evaluation", v);
    }

    private static List<RunRecord.LayerResult> layers(String method, int bits) {
        return List.of(new RunRecord.LayerResult("fc1", method, method + " " + bits + "-bit", 100L * bits, bits, 0.01, 3),
                new RunRecord.LayerResult("fc2", method, method + " " + bits + "-bit", 50L * bits, bits, 0.02, 2));
    }

    private void run(String model, String label, long size, Double bpw, List<RunRecord.LayerResult> layers,
                     List<RunRecord.Metric> metrics, String tag) {
        String name = model.equals(MLP) ? "mlp" : "lm";
        RunRecord r = new RunRecord(new RunRecord.ModelRecord(model, name, "/m/" + name, "safetensors", "mlp", 100, 400),
                new RunRecord.DatasetRecord("eval", "/d/eval", "e".repeat(64), "evaluation", 10),
                "{\"schema\":1}", "plan of " + label, label, Instant.parse("2026-11-27T10:00:00Z"),
                Instant.parse("2026-11-27T10:00:03Z"), 42, new Provenance("0.1.0", "abc123", "host-1", "25", "java"),
                size, 200, bpw, layers, metrics, null, List.of(tag), null);
        stored.put(store.recordRun(r), r);
    }

    private long id(String label) {
        return store.runs(null).stream().filter(r -> r.label().equals(label)).findFirst().orElseThrow().id();
    }

    /** The frontier by the definition, pairwise: no other point is no larger, no worse and better in one. */
    private static Set<Long> bruteForceFrontier(Map<Long, double[]> points, boolean higherIsBetter) {
        Set<Long> front = new HashSet<>();
        for (var a : points.entrySet()) {
            boolean dominated = false;
            for (var b : points.entrySet()) {
                double ya = higherIsBetter ? a.getValue()[1] : -a.getValue()[1];
                double yb = higherIsBetter ? b.getValue()[1] : -b.getValue()[1];
                double xa = a.getValue()[0];
                double xb = b.getValue()[0];
                if (xb <= xa && yb >= ya && (xb < xa || yb > ya)) {
                    dominated = true;
                }
            }
            if (!dominated) {
                front.add(a.getKey());
            }
        }
        return front;
    }

    @Test
    void selectionByModelAndTag() {
        RunSelection all = RunSelection.of(store, List.of(), null);
        assertEquals(9, all.runIds().size());
        assertEquals("runs of every model", all.description());
        RunSelection mlpGrid = RunSelection.of(store, List.of("mlp"), "grid");
        assertEquals(5, mlpGrid.runIds().size());
        assertTrue(!mlpGrid.runIds().contains(id("gptq 4\nsecond line")));
        assertEquals("runs of mlp tagged grid", mlpGrid.description());
        assertEquals(RunSelection.of(store, List.of(LM), null).runIds(),
                List.of(id("dense"), id("gptq 4"), id("rtn 4")));
        SqueezeException unknown = assertThrows(SqueezeException.class,
                () -> RunSelection.of(store, List.of("nope"), null));
        assertTrue(unknown.getMessage().contains("stored models: mlp (aaaaaaaaaaaa), lm (bbbbbbbbbbbb)"),
                unknown.getMessage());
        SqueezeException none = assertThrows(SqueezeException.class,
                () -> RunSelection.of(store, List.of("lm"), "other"));
        assertTrue(none.getMessage().contains("No stored runs of lm tagged other"), none.getMessage());
    }

    @Test
    void eachModelsFrontierIsTheDefinitionsOverTheSelectedRuns() {
        List<Long> ids = RunSelection.of(store, List.of(), null).runIds();
        ReportData data = ReportData.load(store, "t", "all", ids, null, Pareto.XAxis.SIZE_BYTES);
        assertEquals(List.of("mlp", "lm"), data.models().stream().map(ReportData.ModelSection::modelName).toList());
        for (ReportData.ModelSection m : data.models()) {
            String metric = m.modelHash().equals(MLP) ? "top1" : "perplexity";
            assertEquals(metric, m.metric(), "each model's headline metric");
            Map<Long, double[]> points = new HashMap<>();
            for (RunSummary r : store.runs(m.modelHash())) {
                stored.get(r.id()).metrics().stream().filter(x -> x.name().equals(metric) && x.split().equals("evaluation"))
                        .findFirst().ifPresent(x -> points.put(r.id(), new double[]{r.sizeBytes(), x.value()}));
            }
            Set<Long> expected = bruteForceFrontier(points, metric.equals("top1"));
            Set<Long> marked = new HashSet<>();
            m.runs().stream().filter(ReportData.RunEntry::onFrontier).forEach(r -> marked.add(r.id()));
            assertEquals(expected, marked, m.modelName());
            assertEquals(expected, new HashSet<>(m.frontierRuns().stream().map(ReportData.RunEntry::id).toList()));
        }
        ReportData.RunEntry noMetric = data.runs().stream().filter(r -> r.summary().label().equals("no metric"))
                .findFirst().orElseThrow();
        assertEquals("no top1 stored", noMetric.notPlotted());
        // With bits per weight as x, dense runs are not points (they have no bits per weight).
        ReportData bpw = ReportData.load(store, "t", "all", ids, "nll_per_token", Pareto.XAxis.BITS_PER_WEIGHT);
        ReportData.ModelSection lm = bpw.models().get(1);
        assertEquals("nll_per_token", lm.metric(), "the preferred metric where the model's runs have it");
        assertEquals("top1", bpw.models().getFirst().metric(), "else the headline metric");
        assertEquals("dense: no bits per weight (a baseline)", lm.runs().getFirst().notPlotted());
    }

    @Test
    void aRunNotInTheStoreOrAnEmptySelectionIsAnErrorInWords() {
        SqueezeException missing = assertThrows(SqueezeException.class,
                () -> ReportData.load(store, "t", "x", List.of(id("dense"), 999L), null, Pareto.XAxis.SIZE_BYTES));
        assertTrue(missing.getMessage().contains("Run 999 is not in the results database"), missing.getMessage());
        SqueezeException empty = assertThrows(SqueezeException.class,
                () -> ReportData.load(store, "t", "nothing", List.of(), null, Pareto.XAxis.SIZE_BYTES));
        assertTrue(empty.getMessage().contains("No runs to report on (nothing)"), empty.getMessage());
    }

    @Test
    void csvParsedBackEqualsTheStoredValues() throws Exception {
        ReportData data = ReportData.load(store, "t", "all", RunSelection.of(store, List.of(), null).runIds(), null,
                Pareto.XAxis.SIZE_BYTES);
        Path file = dir.resolve("runs.csv");
        RunsCsv.write(data, file);
        String text = Files.readString(file, StandardCharsets.UTF_8);
        assertTrue(text.endsWith("\r\n"), "RFC 4180 line ends");
        List<List<String>> rows = parseRfc4180(text);
        List<String> header = rows.getFirst();
        assertEquals(List.of("run_id", "model", "model_hash", "label", "method_family", "baseline", "bits_per_weight",
                "size_bytes", "fp16_bytes", "pareto_metric", "on_frontier", "status", "finished_at", "seed", "tags",
                "plan", "evaluation:accuracy.cat", "evaluation:nll_per_token", "evaluation:perplexity",
                "evaluation:top1", "calibration:top1"), header);
        assertEquals(stored.size() + 1, rows.size());
        for (List<String> row : rows.subList(1, rows.size())) {
            assertEquals(header.size(), row.size());
            long id = Long.parseLong(row.get(0));
            RunRecord r = stored.get(id);
            assertEquals(r.label(), row.get(3), "labels with commas, quotes and newlines survive");
            assertEquals(r.model().name(), row.get(1));
            assertEquals(r.model().contentHash(), row.get(2));
            assertEquals(r.sizeBytes(), Long.parseLong(row.get(7)));
            assertEquals(r.fp16Bytes(), Long.parseLong(row.get(8)));
            if (r.bitsPerWeight() == null) {
                assertEquals("", row.get(6));
            } else {
                assertEquals(r.bitsPerWeight(), Double.parseDouble(row.get(6)));
            }
            assertEquals(r.finishedAt(), Instant.parse(row.get(12)));
            assertEquals(String.join(";", r.tags()), row.get(14));
            for (int c = 16; c < header.size(); c++) {
                String[] col = header.get(c).split(":", 2);
                Double expected = r.metrics().stream().filter(x -> x.split().equals(col[0]) && x.name().equals(col[1]))
                        .map(RunRecord.Metric::value).findFirst().orElse(null);
                if (expected == null) {
                    assertEquals("", row.get(c), header.get(c) + " of run " + id);
                } else {
                    assertEquals(expected, Double.parseDouble(row.get(c)), header.get(c) + " of run " + id);
                }
            }
        }
        // The frontier column agrees with the report; an undrawn run has none.
        for (ReportData.RunEntry e : data.runs()) {
            List<String> row = rows.stream().filter(x -> x.get(0).equals(Long.toString(e.id()))).findFirst().orElseThrow();
            assertEquals(e.notPlotted() != null ? "" : Boolean.toString(e.onFrontier()), row.get(10));
        }
        assertNull(data.runs().stream().filter(e -> e.summary().label().equals("rtn 8")).findFirst().orElseThrow()
                .notPlotted());
    }

    /** A CSV reader written from RFC 4180's grammar (not from the writer): quoted fields, doubled quotes, CRLF. */
    static List<List<String>> parseRfc4180(String text) {
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        int i = 0;
        boolean quoted = false;
        boolean fieldStart = true;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    field.append('"');
                    i += 2;
                    continue;
                }
                if (c == '"') {
                    quoted = false;
                } else {
                    field.append(c);
                }
                i++;
                continue;
            }
            if (c == '"' && fieldStart) {
                quoted = true;
                fieldStart = false;
                i++;
            } else if (c == ',') {
                row.add(field.toString());
                field.setLength(0);
                fieldStart = true;
                i++;
            } else if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                row.add(field.toString());
                field.setLength(0);
                rows.add(row);
                row = new ArrayList<>();
                fieldStart = true;
                i += 2;
            } else {
                if (c == '"' || c == '\n' || c == '\r') {
                    throw new AssertionError("unquoted " + (int) c + " at " + i);
                }
                field.append(c);
                fieldStart = false;
                i++;
            }
        }
        if (!row.isEmpty() || field.length() > 0) {
            throw new AssertionError("the last record lacks its CRLF");
        }
        return rows;
    }
}
