package dev.squeeze.app.pareto;

import dev.squeeze.app.pareto.ParetoViewModel.ChartData;
import dev.squeeze.app.pareto.ParetoViewModel.ChartPoint;
import dev.squeeze.app.pareto.ParetoViewModel.RunRow;
import dev.squeeze.app.pareto.ParetoViewModel.Series;
import dev.squeeze.app.workbench.InlineExecutor;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.ResultsStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

import static dev.squeeze.app.pareto.StoredRuns.A;
import static dev.squeeze.app.pareto.StoredRuns.B;
import static dev.squeeze.app.pareto.StoredRuns.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Pareto explorer's logic without a JavaFX toolkit: an in-memory store and an inline executor. */
class ParetoViewModelTest {
    private ResultsStore store;
    private ParetoViewModel vm;
    private long dense;
    private long rtn8;
    private long rtn4;
    private long gptq4;
    private long gptq3;

    @BeforeEach
    void fill() {
        store = ResultsStore.inMemory();
        // Model A, (size, top1): gptq3 (50, .70) is the smallest; at 70 bytes GPTQ (.85) beats RTN (.80); rtn8
        // (120, .90) is better still; the dense f32 model (400 bytes, twice its fp16 size) only ties rtn8's .90.
        // So the frontier is gptq3, gptq4, rtn8; rtn4 and dense are dominated.
        dense = run(store, "dense f32", 400).top1(0.90).metric("tokens", 1000).store();
        rtn8 = run(store, "RTN 8-bit", 120).bpw(8).layer("fc1", "rtn", "bits=8", 800, 8, 0.001).top1(0.90).store();
        rtn4 = run(store, "method=rtn bits=4", 70).bpw(4).layer("fc1", "rtn", "bits=4", 400, 4, 0.01).top1(0.80)
                .plan("{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4,\"groupSize\":32}}")
                .tag("sweep-1").store();
        gptq4 = run(store, "GPTQ 4-bit", 70).bpw(4).layer("fc1", "gptq", "bits=4", 400, 4, 0.005).top1(0.85)
                .tag("sweep-1").store();
        gptq3 = run(store, "dense-check", 50).bpw(3).layer("fc1", "gptq", "bits=3", 300, 3, 0.02).top1(0.70)
                .finished(StoredRuns.NOV_01).store();
        vm = new ParetoViewModel(new InlineExecutor(), () -> store);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static Map<Long, ChartPoint> byId(ChartData c) {
        return c.points().stream().collect(Collectors.toMap(ChartPoint::runId, Function.identity()));
    }

    private RunRow row(long id) {
        return vm.rows().stream().filter(r -> r.id() == id).findFirst().orElseThrow();
    }

    @Test
    void frontierIsTheStoreQuerysAndDominatedRunsAreGreyed() {
        vm.showModel(A, "mlp-a", MetricKind.TOP1);
        ChartData c = vm.chart().get();
        assertEquals("top1", vm.metric().get());
        assertEquals("Top-1 accuracy (%)", c.yLabel());
        Map<Long, ChartPoint> points = byId(c);
        assertEquals(Set.of(dense, rtn8, rtn4, gptq4, gptq3), points.keySet());
        assertTrue(points.get(gptq3).frontier());
        assertTrue(points.get(gptq4).frontier());
        assertTrue(points.get(rtn8).frontier());
        assertFalse(points.get(rtn4).frontier(), "RTN 4-bit is dominated by GPTQ 4-bit at the same size");
        assertFalse(points.get(dense).frontier(), "the dense model only ties RTN 8-bit at a larger size");
        // y in percent, as the axis says.
        assertEquals(85.0, points.get(gptq4).y(), 1e-9);
        assertEquals(70.0, points.get(gptq4).x());

        assertEquals(1, c.frontiers().size());
        List<double[]> steps = c.frontiers().getFirst().steps();
        assertEquals(3, steps.size());
        assertArrayEquals(new double[]{50, 70}, steps.get(0), 1e-9);
        assertArrayEquals(new double[]{70, 85}, steps.get(1), 1e-9);
        assertArrayEquals(new double[]{120, 90}, steps.get(2), 1e-9);

        // Labels only for the frontier and the baseline; the dominated RTN 4-bit is named by its tooltip only.
        assertTrue(points.get(gptq4).labelled());
        assertTrue(points.get(dense).labelled());
        assertFalse(points.get(rtn4).labelled());
        assertTrue(points.get(rtn4).tooltip().contains("method=rtn bits=4"), points.get(rtn4).tooltip());
        assertTrue(points.get(rtn4).tooltip().contains("80.00 %"), points.get(rtn4).tooltip());
        assertTrue(points.get(rtn4).tooltip().contains("plan: plan of method=rtn bits=4"), points.get(rtn4).tooltip());

        assertTrue(row(gptq4).onFrontier());
        assertFalse(row(rtn4).onFrontier());
        assertTrue(row(rtn4).onChart());
        assertEquals("5 runs, 5 on the chart, 3 on the frontier", vm.status().get());
    }

    @Test
    void seriesComeFromStoredMethodsNotFromLabels() {
        vm.showModel(A, "mlp-a", MetricKind.TOP1);
        ChartData c = vm.chart().get();
        // "RTN 8-bit" and "method=rtn bits=4" are one series; "dense-check" compresses with GPTQ, so it is GPTQ
        // and not a baseline; the real dense run is the only baseline.
        assertEquals(List.of("dense", "gptq", "rtn"), c.series().stream().map(Series::key).toList());
        Map<Long, ChartPoint> points = byId(c);
        assertEquals("rtn", points.get(rtn8).series());
        assertEquals("rtn", points.get(rtn4).series());
        assertEquals("gptq", points.get(gptq3).series());
        assertFalse(points.get(gptq3).baseline());
        assertTrue(points.get(dense).baseline());
        assertTrue(row(dense).baseline());
        assertEquals("gptq", row(gptq3).family());
    }

    @Test
    void sizeVersusFp16IsAShareOfTheFp16ModelNotAnInvertedRatio() {
        vm.showModel(A, "mlp-a", MetricKind.TOP1);
        // fp16 is 200 bytes: the 400-byte dense f32 model is twice that; the 70-byte run 35 % of it.
        assertEquals(2.0, row(dense).sizeVsFp16(), 1e-12);
        assertEquals(0.35, row(rtn4).sizeVsFp16(), 1e-12);
    }

    @Test
    void onBitsPerWeightTheDenseRunIsABaselineLineAndTheTableSaysWhy() {
        vm.showModel(A, "mlp-a", MetricKind.TOP1);
        vm.xAxis().set(Pareto.XAxis.BITS_PER_WEIGHT);
        ChartData c = vm.chart().get();
        assertEquals(Set.of(rtn8, rtn4, gptq4, gptq3), byId(c).keySet());
        assertEquals(1, c.baselines().size());
        assertEquals(dense, c.baselines().getFirst().runId());
        assertEquals(90.0, c.baselines().getFirst().y(), 1e-9);
        RunRow d = row(dense);
        assertFalse(d.onChart());
        assertTrue(d.notPlotted().contains("no bits per weight"), d.notPlotted());
        // (bpw, top1): gptq3 (3, .70), then at 4 GPTQ's .85, then rtn8 (8, .90).
        assertEquals(List.of(3.0, 4.0, 8.0), c.frontiers().getFirst().steps().stream().map(s -> s[0]).toList());
    }

    @Test
    void anyStoredQualityMetricCanBeTheYAxisButNotACount() {
        run(store, "RTN 4-bit cat", 60).bpw(4).layer("fc1", "rtn", "bits=4", 400, 4, 0.01).top1(0.75)
                .metric("accuracy.cat", 0.6).store();
        vm.showModel(A, "mlp-a", MetricKind.TOP1);
        assertEquals(List.of("accuracy.cat", "top1"), List.copyOf(vm.metricChoices()), "tokens is not a quality");
        vm.metric().set("accuracy.cat");
        ChartData c = vm.chart().get();
        assertEquals("Accuracy of class cat (%)", c.yLabel());
        assertEquals(1, c.points().size());
        assertEquals(60.0, c.points().getFirst().y(), 1e-9);
        assertEquals(5, vm.rows().stream().filter(r -> !r.onChart()).count());
    }

    @Test
    void filtersByFamilyTagAndDateAndTheFrontierIsRedrawnOverWhatIsLeft() {
        vm.showModel(A, "mlp-a", MetricKind.TOP1);
        assertEquals(List.of("dense", "gptq", "rtn"), List.copyOf(vm.familyChoices()));
        assertEquals(List.of("sweep-1"), List.copyOf(vm.tagChoices()));

        vm.familyFilter().setAll("rtn");
        ChartData c = vm.chart().get();
        assertEquals(Set.of(rtn8, rtn4), byId(c).keySet());
        // Without GPTQ, RTN 4-bit is the smallest run left: on the frontier now.
        assertTrue(byId(c).get(rtn4).frontier());
        assertTrue(byId(c).get(rtn8).frontier());
        assertEquals(List.of(rtn8, rtn4), vm.rows().stream().map(RunRow::id).toList());
        assertTrue(vm.status().get().contains("3 hidden by filters"), vm.status().get());

        vm.familyFilter().clear();
        vm.tagFilter().setAll("sweep-1");
        assertEquals(Set.of(rtn4, gptq4), byId(vm.chart().get()).keySet());
        assertTrue(byId(vm.chart().get()).get(gptq4).frontier());
        assertFalse(byId(vm.chart().get()).get(rtn4).frontier());

        vm.tagFilter().clear();
        vm.since().set(LocalDate.of(2026, 11, 15));
        assertFalse(byId(vm.chart().get()).containsKey(gptq3), "finished on 1 November");
        assertEquals(4, vm.rows().size());
        // Without gptq3, GPTQ 4-bit is the smallest.
        assertTrue(byId(vm.chart().get()).get(gptq4).frontier());

        vm.familyFilter().setAll("lowrank");
        assertTrue(vm.chart().get().points().isEmpty());
        assertEquals("No run passes the filters", vm.chart().get().message());
        vm.clearFilters();
        assertEquals(5, vm.chart().get().points().size());
        assertNull(vm.since().get());
    }

    @Test
    void allModelsOnOneChartUseBitsPerWeightWithColoursStablePerFamily() {
        run(store, "RTN 4-bit", 700).model(B).fp16(2000).bpw(4).layer("fc1", "rtn", "bits=4", 4000, 4, 0.01)
                .top1(0.60).store();
        long bGptq = run(store, "GPTQ 4-bit", 700).model(B).fp16(2000).bpw(4)
                .layer("fc1", "gptq", "bits=4", 4000, 4, 0.01).top1(0.65).store();
        long bMixed = run(store, "pruned + 4-bit", 500).model(B).fp16(2000).bpw(3)
                .layer("fc1", "rtn", "bits=4", 3000, 3, 0.02).layer("fc2", "sparsegpt", "50%", 100, 1, 0.03)
                .top1(0.50).store();
        vm.showModel(A, "mlp-a", MetricKind.TOP1);
        Map<String, Integer> colourOnA = vm.chart().get().series().stream()
                .collect(Collectors.toMap(Series::family, Series::rgb));

        vm.allModels().set(true);
        assertEquals(Pareto.XAxis.BITS_PER_WEIGHT, vm.xAxis().get());
        vm.xAxis().set(Pareto.XAxis.SIZE_BYTES);
        assertEquals(Pareto.XAxis.BITS_PER_WEIGHT, vm.xAxis().get(), "sizes of different models do not compare");
        vm.xAxis().set(Pareto.XAxis.LATENCY);
        assertEquals(Pareto.XAxis.LATENCY, vm.xAxis().get(), "latencies of different models do compare");
        vm.xAxis().set(Pareto.XAxis.BITS_PER_WEIGHT);

        ChartData c = vm.chart().get();
        assertEquals(List.of("gptq · mlp-a", "gptq · mlp-b", "rtn · mlp-a", "rtn · mlp-b",
                "rtn+sparsegpt · mlp-b"), c.series().stream().map(Series::key).toList());
        for (Series s : c.series()) {
            if (colourOnA.containsKey(s.family())) {
                assertEquals(colourOnA.get(s.family()), s.rgb(), s.key() + " keeps its family's colour");
            }
        }
        Map<String, List<Series>> byFamily = c.series().stream().collect(Collectors.groupingBy(Series::family));
        assertEquals(byFamily.get("rtn").get(0).rgb(), byFamily.get("rtn").get(1).rgb());
        assertNotEquals(byFamily.get("rtn").get(0).modelIndex(), byFamily.get("rtn").get(1).modelIndex(),
                "models differ by marker");
        int mixed = byFamily.get("rtn+sparsegpt").getFirst().rgb();
        assertNotEquals(byFamily.get("rtn").getFirst().rgb(), mixed);
        assertNotEquals(FamilyColors.DOMINATED_FILL, mixed);
        assertEquals(mixed, FamilyColors.rgb("rtn+sparsegpt"), "an unknown family's colour is the same every time");

        // One frontier per model: mlp-b's (bpw, top1) are rtn+sparsegpt (3, .50) then GPTQ (4, .65).
        assertEquals(2, c.frontiers().size());
        ParetoViewModel.FrontierLine b = c.frontiers().stream().filter(f -> f.modelHash().equals(B)).findFirst()
                .orElseThrow();
        assertEquals(List.of(3.0, 4.0), b.steps().stream().map(s -> s[0]).toList());
        assertTrue(byId(c).get(bGptq).frontier());
        assertTrue(byId(c).get(bMixed).frontier());
        assertEquals(1, c.baselines().size(), "model A's dense run is a baseline line; B has none");

        vm.modelFilter().setAll(B);
        assertEquals(Set.of(B), vm.rows().stream().map(RunRow::modelHash).collect(Collectors.toSet()));
        assertEquals(1, vm.chart().get().frontiers().size());
    }

    @Test
    void withoutADatabaseTheChartSaysSo() {
        ParetoViewModel none = new ParetoViewModel(new InlineExecutor(), () -> null);
        none.showModel(A, "mlp-a", MetricKind.TOP1);
        assertTrue(none.rows().isEmpty());
        assertTrue(none.chart().get().message().contains("No results database"), none.chart().get().message());
    }

    @Test
    void aModelWithoutRunsSaysSoAndAReloadShowsANewRun() {
        ResultsStore empty = ResultsStore.inMemory();
        try {
            ParetoViewModel fresh = new ParetoViewModel(new InlineExecutor(), () -> empty);
            fresh.showModel(B, "mlp-b", MetricKind.TOP1);
            assertEquals("No runs stored yet", fresh.chart().get().message());
            run(empty, "RTN 4-bit", 700).model(B).bpw(4).layer("fc1", "rtn", "bits=4", 4000, 4, 0.01).top1(0.6)
                    .store();
            fresh.reload();
            assertEquals(1, fresh.chart().get().points().size());
            assertNull(fresh.chart().get().message());
        } finally {
            empty.close();
        }
    }
}
