package dev.squeeze.app.runs;

import dev.squeeze.app.pareto.StoredRuns;
import dev.squeeze.app.workbench.InlineExecutor;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunDetailViewModelTest {
    private static final String PLAN = "{\"schema\":1,\"defaults\":{\"method\":\"gptq\",\"bits\":4},"
            + "\"layers\":{\"fc3\":{\"method\":\"rtn\",\"bits\":8}}}";

    @Test
    void showsThePlanMetricsProvenanceAndLayersOfAStoredRun() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long id = StoredRuns.run(store, "GPTQ 4-bit, fc3 8-bit", 90).bpw(4.5).plan(PLAN)
                    .layer("fc1", "gptq", "bits=4 group=64", 4000, 4.25, 0.012)
                    .layer("fc3", "rtn", "bits=8", 800, 8.0, 0.0004)
                    .top1(0.8512).metric("accuracy.cat", 0.5).metric("top1", "calibration", 0.9)
                    .tag("sweep-7").tag("nightly").store();
            RunDetailViewModel vm = new RunDetailViewModel(new InlineExecutor(), () -> store);
            vm.load(id);
            assertNull(vm.error().get());
            RunDetailViewModel.Detail d = vm.detail().get();
            assertEquals("Run " + id + " — GPTQ 4-bit, fc3 8-bit (mlp-a)", vm.title().get());
            // "Plan from this run" gets the plan as stored; the view shows it indented.
            assertEquals(PLAN, d.planJson());
            assertTrue(d.planPretty().contains("\n  \"defaults\" : {\n    \"method\" : \"gptq\""), d.planPretty());
            assertEquals(List.of("fc1", "fc3"), d.layers().stream().map(RunRecord.LayerResult::layer).toList());
            assertEquals("bits=4 group=64", d.layers().getFirst().settings());
            assertEquals(0.0004, d.layers().get(1).reconError());
            assertEquals(3, d.metrics().size());
            RunDetailViewModel.MetricRow top1 = d.metrics().stream()
                    .filter(m -> m.name().equals("top1") && m.split().equals("evaluation")).findFirst().orElseThrow();
            assertEquals("85.12 %", top1.text());
            assertEquals("gptq+rtn", d.fact("Method family"));
            assertEquals("no", d.fact("Baseline"));
            assertEquals("nightly, sweep-7", d.fact("Tags"));
            assertEquals("abc123", d.fact("Git commit"));
            assertEquals("host-1", d.fact("Host"));
            assertEquals("java", d.fact("Kernel backend"));
            assertEquals("gemm=java-vector-512 ×2 threads, cholesky=java, trinv=java, eigen=nd4j-openblas, int4=unused",
                    d.fact("Op backends"));
            assertEquals("Test CPU; 2 logical CPUs; avx2 fma", d.fact("CPU"));
            assertEquals("42", d.fact("Seed"));
            assertEquals("3.0 s", d.fact("Duration"));
            assertTrue(d.fact("Size of the model in fp16").endsWith("this run is 45.0 % of it"),
                    d.fact("Size of the model in fp16"));
            assertTrue(d.fact("Evaluated on").startsWith("eval (evaluation, 10 items"), d.fact("Evaluated on"));
        }
    }

    @Test
    void aRunThatIsGoneOrNoDatabaseIsAnErrorForTheUser() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            RunDetailViewModel vm = new RunDetailViewModel(new InlineExecutor(), () -> store);
            vm.load(999);
            assertNull(vm.detail().get());
            assertTrue(vm.error().get().startsWith("Run 999 is not in the results database"), vm.error().get());
            assertTrue(vm.error().get().contains("reload the runs list"), vm.error().get());
        }
        RunDetailViewModel none = new RunDetailViewModel(new InlineExecutor(), () -> null);
        none.load(1);
        assertTrue(none.error().get().contains("there is no results database"), none.error().get());
    }

    @Test
    void aPlanThatIsNotJsonIsShownAsStored() {
        assertEquals("not json {", RunDetailViewModel.pretty("not json {"));
        assertEquals("(no plan stored)", RunDetailViewModel.pretty(""));
    }
}
