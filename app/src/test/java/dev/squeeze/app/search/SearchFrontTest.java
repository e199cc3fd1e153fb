package dev.squeeze.app.search;

import dev.squeeze.app.pareto.ParetoViewModel;
import dev.squeeze.app.pareto.ParetoViewModel.ChartData;
import dev.squeeze.app.pareto.ParetoViewModel.ChartPoint;
import dev.squeeze.app.workbench.InlineExecutor;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.ResultsStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static dev.squeeze.app.pareto.StoredRuns.A;
import static dev.squeeze.app.pareto.StoredRuns.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The explorer draws the runs a search stored (provenance records the search) as a series of their own with a line
 * through them, against the uniform settings, which stay in their families' series.
 */
class SearchFrontTest {
    private ResultsStore store;
    private ParetoViewModel vm;
    private long rtn4;
    private long rtn2;
    private long s25;
    private long s3;
    private long s35;
    private long base3;

    @BeforeEach
    void fill() {
        store = ResultsStore.inMemory();
        rtn4 = run(store, "RTN 4-bit", 120).bpw(4).layer("fc1", "rtn", "bits=4", 400, 4, 0.01).top1(0.84).store();
        rtn2 = run(store, "RTN 2-bit", 60).bpw(2).layer("fc1", "rtn", "bits=2", 200, 2, 0.2).top1(0.40).store();
        // A front of three budgets (stored out of order) and a uniform baseline the search stored under its tag.
        s3 = run(store, "search ≤ 3 bpw", 90).bpw(3).layer("fc1", "rtn", "bits=3", 300, 3, 0.02).top1(0.80)
                .tag("front-1").search("search front 2.5:3.5:0.5; methods rtn,lowrank; seed 0").store();
        s25 = run(store, "search ≤ 2.5 bpw", 75).bpw(2.5).layer("fc1", "lowrank", "rank=16", 250, 2.5, 0.03)
                .top1(0.74).tag("front-1").search("search front 2.5:3.5:0.5; methods rtn,lowrank; seed 0").store();
        s35 = run(store, "search ≤ 3.5 bpw", 105).bpw(3.5).layer("fc1", "rtn", "bits=4", 350, 3.5, 0.015)
                .top1(0.83).tag("front-1").search("search front 2.5:3.5:0.5; methods rtn,lowrank; seed 0").store();
        // As SearchJob records a uniform baseline it stores beside the front.
        base3 = run(store, "uniform RTN 3-bit", 90).bpw(3).layer("fc1", "rtn", "bits=3", 300, 3, 0.05).top1(0.72)
                .tag("front-1").search("search front 2.5:3.5:0.5; methods rtn,lowrank; seed 0; uniform baseline"
                        + " RTN 3-bit asym per-row from the same level database").store();
        vm = new ParetoViewModel(new InlineExecutor(), () -> store);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void aSearchsRunsAreTheirOwnSeriesWithALineThroughThem() {
        vm.xAxis().set(Pareto.XAxis.BITS_PER_WEIGHT);
        vm.showModel(A, "mlp-a", MetricKind.TOP1);
        ChartData c = vm.chart().get();
        Map<Long, ChartPoint> points = c.points().stream()
                .collect(Collectors.toMap(ChartPoint::runId, Function.identity()));
        assertEquals("search · front-1", points.get(s3).series());
        assertEquals("search · front-1", points.get(s25).series());
        assertEquals("search · front-1", points.get(s35).series());
        // Uniform runs, the search's baseline among them, stay in their family.
        assertEquals("rtn", points.get(base3).series());
        assertEquals("rtn", points.get(rtn4).series());
        assertEquals("rtn", points.get(rtn2).series());
        // Families first, the search after them.
        // Families first (the lowrank run is the search's), the search after them.
        assertEquals(List.of("rtn", "search · front-1"), c.series().stream().map(ParetoViewModel.Series::key)
                .toList());

        assertEquals(1, c.searchFronts().size());
        ParetoViewModel.SearchFront front = c.searchFronts().getFirst();
        assertEquals("search · front-1", front.series());
        // By bits per weight, top-1 in percent.
        assertEquals(3, front.points().size());
        assertArrayEquals(new double[]{2.5, 74}, front.points().get(0), 1e-9);
        assertArrayEquals(new double[]{3, 80}, front.points().get(1), 1e-9);
        assertArrayEquals(new double[]{3.5, 83}, front.points().get(2), 1e-9);
        assertTrue(points.get(s3).tooltip().contains("search front 2.5:3.5:0.5; methods rtn,lowrank; seed 0"),
                points.get(s3).tooltip());
    }

    @Test
    void filteredToTheTagTheFrontStandsAgainstTheSearchsBaselines() {
        vm.xAxis().set(Pareto.XAxis.BITS_PER_WEIGHT);
        vm.showModel(A, "mlp-a", MetricKind.TOP1);
        vm.tagFilter().setAll("front-1");
        ChartData c = vm.chart().get();
        assertEquals(List.of(s3, s25, s35, base3).stream().sorted().toList(),
                c.points().stream().map(ChartPoint::runId).sorted().toList());
        assertEquals(List.of("rtn", "search · front-1"), c.series().stream().map(ParetoViewModel.Series::key).toList());
        assertEquals(3, c.searchFronts().getFirst().points().size());
    }

    @Test
    void withoutSearchRunsThereIsNoFront() {
        vm.showModel(A, "mlp-a", MetricKind.TOP1);
        vm.familyFilter().setAll("rtn");
        ChartData c = vm.chart().get();
        // s3 and s35 compress with RTN only, but they are a search's: the family filter keeps them as runs, and they
        // still draw as the search's series.
        assertTrue(c.searchFronts().stream().allMatch(f -> f.points().size() == 2), c.searchFronts().toString());
        vm.familyFilter().clear();
        vm.tagFilter().setAll("nothing-like-it");
        assertTrue(vm.chart().get().searchFronts().isEmpty());
    }
}
