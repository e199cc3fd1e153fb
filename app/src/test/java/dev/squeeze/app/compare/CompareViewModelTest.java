package dev.squeeze.app.compare;

import dev.squeeze.app.compare.CompareViewModel.Comparison;
import dev.squeeze.app.compare.CompareViewModel.Field;
import dev.squeeze.app.compare.CompareViewModel.LayerDiff;
import dev.squeeze.app.compare.CompareViewModel.MetricDelta;
import dev.squeeze.app.pareto.StoredRuns;
import dev.squeeze.app.workbench.InlineExecutor;
import dev.squeeze.engine.store.ResultsStore;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CompareViewModelTest {
    @Test
    void metricDeltasAgainstTheFirstRunAndAPerLayerDiff() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long rtn = StoredRuns.run(store, "RTN 4-bit", 100).bpw(4)
                    .layer("fc1", "rtn", "bits=4 group=64", 4000, 4.0, 0.020)
                    .layer("fc2", "rtn", "bits=4 group=64", 400, 4.0, 0.010)
                    .top1(0.80).metric("perplexity", 12.5).store();
            long gptq = StoredRuns.run(store, "GPTQ 4-bit", 100).bpw(4)
                    .layer("fc1", "gptq", "bits=4 group=64 damp=0.01", 4000, 4.0, 0.012)
                    .layer("fc2", "rtn", "bits=4 group=64", 400, 4.0, 0.010)
                    .top1(0.85).metric("perplexity", 12.0).store();
            long mixed = StoredRuns.run(store, "fc1 8-bit only", 150).bpw(8)
                    .layer("fc1", "rtn", "bits=8 group=64", 8000, 8.0, 0.001)
                    .top1(0.88).store();
            CompareViewModel vm = new CompareViewModel(new InlineExecutor(), () -> store);
            vm.load(List.of(rtn, gptq, mixed));
            assertNull(vm.error().get());
            Comparison c = vm.comparison().get();
            assertEquals(List.of(rtn, gptq, mixed), c.runs().stream().map(CompareViewModel.RunHeader::id).toList());

            MetricDelta top1 = c.metric("top1", "evaluation");
            assertEquals(0.05, top1.deltas().get(1), 1e-12);
            assertEquals("+5.00 pp", top1.deltaText(1));
            assertEquals("+8.00 pp", top1.deltaText(2));
            assertEquals("", top1.deltaText(0));
            assertEquals(1, top1.better(1));
            MetricDelta ppl = c.metric("perplexity", "evaluation");
            assertEquals(-0.5, ppl.deltas().get(1), 1e-12);
            assertEquals(1, ppl.better(1), "lower perplexity is better");
            assertNull(ppl.values().get(2));
            assertEquals("—", ppl.deltaText(2));
            MetricDelta size = c.metric(CompareViewModel.SIZE, "");
            assertEquals(50.0, size.deltas().get(2));
            assertEquals(-1, size.better(2), "bigger is worse");
            assertEquals("+50 B (+50.0 %)", size.deltaText(2));

            LayerDiff fc1 = c.layer("fc1");
            assertTrue(fc1.differs(1, Field.METHOD));
            assertTrue(fc1.differs(1, Field.SETTINGS));
            assertFalse(fc1.differs(1, Field.BITS), "same stored bits");
            assertTrue(fc1.differs(1, Field.ERROR));
            assertTrue(fc1.differs(2, Field.BITS));
            assertFalse(fc1.differs(2, Field.METHOD));
            for (Field f : Field.values()) {
                assertFalse(fc1.differs(0, f), "the reference never differs from itself");
            }
            LayerDiff fc2 = c.layer("fc2");
            assertFalse(fc2.differs(1, Field.METHOD));
            assertFalse(fc2.differs(1, Field.ERROR));
            assertFalse(fc2.cells().get(2).present(), "the third run left fc2 dense");
            assertTrue(fc2.differs(2, Field.METHOD));
            assertTrue(fc2.anyDifference());
            assertTrue(vm.title().get().startsWith("Comparing 3 runs — reference #" + rtn), vm.title().get());
        }
    }

    @Test
    void errorsThatDifferOnlyByRoundingAreNotDifferences() {
        CompareViewModel.LayerCell a = new CompareViewModel.LayerCell("rtn", "bits=4", 10L, 4.0, 0.0100000001, 1L);
        CompareViewModel.LayerCell b = new CompareViewModel.LayerCell("rtn", "bits=4", 10L, 4.0, 0.0100000002, 2L);
        CompareViewModel.LayerCell c = new CompareViewModel.LayerCell("rtn", "bits=4", 10L, 4.0, 0.0101, 2L);
        LayerDiff d = new LayerDiff("fc1", List.of(a, b, c));
        assertFalse(d.differs(1, Field.ERROR));
        assertTrue(d.differs(2, Field.ERROR));
    }

    @Test
    void fewerThanTwoRunsOrAMissingRunIsAnErrorForTheUser() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long one = StoredRuns.run(store, "RTN", 100).bpw(4).layer("fc1", "rtn", "bits=4", 10, 4, 0.1)
                    .top1(0.5).store();
            CompareViewModel vm = new CompareViewModel(new InlineExecutor(), () -> store);
            vm.load(List.of(one, one));
            assertTrue(vm.error().get().startsWith("Select at least two runs to compare (1 selected)"),
                    vm.error().get());
            vm.load(List.of(one, 77L));
            assertTrue(vm.error().get().startsWith("Run 77 is not in the results database"), vm.error().get());
            assertNull(vm.comparison().get());
        }
    }
}
