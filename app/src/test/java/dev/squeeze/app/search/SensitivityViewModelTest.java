package dev.squeeze.app.search;

import dev.squeeze.app.plan.PlanEditorViewModel;
import dev.squeeze.app.plan.PlanRow;
import dev.squeeze.app.workbench.InlineExecutor;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.samples.SampleModels;
import dev.squeeze.engine.search.Level;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sensitivity column's look-up and the "Compute sensitivity" action, without a JavaFX toolkit. */
class SensitivityViewModelTest {
    private static final Model SAMPLE = SampleModels.fashionMlp().model();
    /** RTN 4-bit, groups of 128, asymmetric, as a plan stores it: sorted keys, canonical JSON. */
    static final String RTN4_G128 = "{\"bits\":4,\"groupSize\":128,\"method\":\"rtn\",\"symmetric\":false}";
    static final String RTN2_ROW = "{\"bits\":2,\"groupSize\":0,\"method\":\"rtn\",\"symmetric\":false}";

    /** Three layers of the sample at two levels; fc3 at RTN 2-bit was not measured. */
    static SensitivityTable table() {
        return new SensitivityTable(List.of(
                new SensitivityTable.Entry("fc1", RTN4_G128, "RTN 4-bit g128", 1_023_312, 200_704, 0.0125),
                new SensitivityTable.Entry("fc1", RTN2_ROW, "RTN 2-bit", 401_408 + 256 * 34, 200_704, 0.41),
                new SensitivityTable.Entry("fc2", RTN4_G128, "RTN 4-bit g128", 135_680, 32_768, 0.0031),
                new SensitivityTable.Entry("fc2", RTN2_ROW, "RTN 2-bit", 65_536 + 128 * 34, 32_768, 0.2),
                new SensitivityTable.Entry("fc3", RTN4_G128, "RTN 4-bit g128", 5_480, 1_280, 0.0007),
                new SensitivityTable.Entry("fc1", Level.DENSE, "dense", 6_422_528, 200_704, 0.0)));
    }

    private static PlanRow row(PlanEditorViewModel vm, String name) {
        return vm.rows().stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void theKeysAreThePlansCanonicalSettings() {
        assertEquals(RTN4_G128, Level.keyOf(new RtnSettings(4, 128, false)));
        assertEquals(RTN2_ROW, Level.keyOf(new RtnSettings(2, 0, false)));
    }

    @Test
    void theColumnShowsTheLayersValueAtItsSettingAndNothingWhenUnknown() {
        PlanEditorViewModel plan = new PlanEditorViewModel(new InlineExecutor());
        plan.show(SAMPLE);
        plan.setMethod(plan.rowsMatching(".*"), "rtn");
        plan.setColumn(plan.rowsMatching(".*"), "bits", "4");
        plan.setColumn(plan.rowsMatching(".*"), "groupSize", "128");
        assertNull(plan.sensitivityOf(row(plan, "fc1")), "nothing known yet");
        plan.sensitivity().set(table());
        assertEquals(0.0125, plan.sensitivityOf(row(plan, "fc1")));
        assertEquals(0.0031, plan.sensitivityOf(row(plan, "fc2")));
        assertEquals(0.0007, plan.sensitivityOf(row(plan, "fc3")));

        // fc3 at 2 bits per row was not measured: blank; fc2 at 2 bits was.
        plan.setColumn(plan.rowsMatching("fc[23]"), "bits", "2");
        plan.setColumn(plan.rowsMatching("fc[23]"), "groupSize", "row");
        assertEquals(0.2, plan.sensitivityOf(row(plan, "fc2")));
        assertNull(plan.sensitivityOf(row(plan, "fc3")));
        // A setting differing in any field is another level: symmetric 4-bit g128 was not measured.
        plan.setColumn(plan.rowsMatching("fc1"), "symmetric", "true");
        assertNull(plan.sensitivityOf(row(plan, "fc1")));
        // Kept dense: the dense level's entry.
        plan.keepDense(plan.rowsMatching("fc1"));
        assertEquals(0.0, plan.sensitivityOf(row(plan, "fc1")));
        plan.sensitivity().set(SensitivityTable.EMPTY);
        assertNull(plan.sensitivityOf(row(plan, "fc2")));
    }

    @Test
    void theTableListsLevelsByBitsAndLayersInOrder() {
        SensitivityTable t = table();
        assertEquals(List.of("fc1", "fc2", "fc3"), t.layers());
        // Mean bits per weight over the layers measured at the level: 2-bit rows first, dense last.
        List<String> keys = t.levels().stream().map(SensitivityTable.LevelChoice::key).toList();
        assertEquals(List.of(RTN2_ROW, RTN4_G128, Level.DENSE), keys);
        assertEquals((1_023_312 + 135_680 + 5_480) / (double) (200_704 + 32_768 + 1_280),
                t.levels().get(1).bitsPerWeight(), 1e-12);
        assertEquals(List.of(RTN2_ROW, RTN4_G128, Level.DENSE), t.ofLayer("fc1").stream()
                .map(SensitivityTable.Entry::key).toList());
    }

    /** A source that measures the table's entries one by one, reporting progress, until cancelled. */
    static final class FakeSource implements SensitivitySource {
        SensitivityTable stored = SensitivityTable.EMPTY;
        List<String> methods;
        boolean fail;

        @Override
        public SensitivityTable stored(Model model) {
            return stored;
        }

        @Override
        public SensitivityTable compute(Model model, List<String> methods, Progress p, BooleanSupplier cancelled) {
            this.methods = methods;
            if (fail) {
                throw new SqueezeException("Cannot measure sensitivity: no calibration images", "reinstall");
            }
            List<SensitivityTable.Entry> all = table().entries();
            List<SensitivityTable.Entry> done = new ArrayList<>();
            for (SensitivityTable.Entry e : all) {
                if (cancelled.getAsBoolean()) {
                    break;
                }
                p.report(done.size(), all.size(), e.layer() + " at " + e.level());
                done.add(e);
            }
            return new SensitivityTable(done);
        }
    }

    @Test
    void computingShowsProgressAndTheResult() {
        FakeSource source = new FakeSource();
        SensitivityViewModel vm = new SensitivityViewModel(new InlineExecutor());
        vm.show(SAMPLE);
        assertFalse(vm.available().get());
        assertEquals("Sensitivity is not available in this build", vm.status().get());
        List<String> statuses = new ArrayList<>();
        vm.status().addListener((o, a, b) -> statuses.add(b));
        vm.source().set(source);
        assertTrue(vm.available().get());
        assertEquals("No sensitivity stored for this model yet: Compute sensitivity measures it", vm.status().get());
        vm.compute();
        // The sample is a classifier: the data-free default families.
        assertEquals(List.of("rtn", "lowrank"), source.methods);
        assertTrue(statuses.contains("Measuring 1 of 6: fc1 at RTN 4-bit g128"), statuses.toString());
        assertTrue(statuses.contains("Measuring 6 of 6: fc1 at dense"), statuses.toString());
        assertFalse(vm.computing().get());
        assertEquals(6, vm.table().get().entries().size());
        assertEquals("Sensitivity of 3 layers at 3 levels (KL to the dense model on calibration data)",
                vm.status().get());
    }

    @Test
    void aStoredTableIsShownWhenTheModelOpensAndFailuresAreWords() {
        FakeSource source = new FakeSource();
        source.stored = table();
        SensitivityViewModel vm = new SensitivityViewModel(new InlineExecutor());
        vm.source().set(source);
        vm.show(SAMPLE);
        assertEquals(table().entries(), vm.table().get().entries());
        source.fail = true;
        vm.compute();
        assertEquals("Cannot measure sensitivity: no calibration images\n  Fix: reinstall", vm.error().get());
        assertEquals("Sensitivity failed", vm.status().get());
        assertFalse(vm.computing().get());
    }
}
