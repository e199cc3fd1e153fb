package dev.squeeze.app.search;

import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.samples.SampleModels;
import dev.squeeze.engine.search.Level;
import dev.squeeze.engine.store.ResultsStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine's sensitivity on the built-in sample, cached in an in-memory results database. */
class EngineSensitivitySourceTest {
    @TempDir
    Path levels;

    @Test
    void measuresTheSampleStoresItAndReadsItBack() {
        Model model = SampleModels.fashionMlp().model();
        try (ResultsStore store = ResultsStore.inMemory()) {
            EngineSensitivitySource source = new EngineSensitivitySource(() -> store, levels);
            assertTrue(source.stored(model).isEmpty(), "nothing stored yet");
            // Stopped before the first cell: nothing measured, nothing stored.
            assertTrue(source.compute(model, List.of("rtn"), (d, t, w) -> { }, () -> true).isEmpty());

            List<long[]> progress = new ArrayList<>();
            SensitivityTable t = source.compute(model, List.of("rtn"), (d, total, w) -> progress.add(
                    new long[]{d, total}), () -> false);
            assertEquals(List.of("fc1", "fc2", "fc3"), t.layers());
            assertFalse(progress.isEmpty());
            assertEquals(progress.getLast()[1], progress.getLast()[0], "the last report is the last cell");
            String rtn2 = Level.keyOf(new RtnSettings(2, 0, false));
            String rtn8 = Level.keyOf(new RtnSettings(8, 0, false));
            for (String layer : t.layers()) {
                Double two = t.deltaKl(layer, rtn2);
                Double eight = t.deltaKl(layer, rtn8);
                assertNotNull(two, layer);
                assertNotNull(eight, layer);
                assertTrue(eight >= 0 && two > eight, layer + ": 2-bit rows " + two + " vs 8-bit rows " + eight);
                assertEquals(0.0, t.deltaKl(layer, Level.DENSE));
            }
            // 2 bits per weight plus a 32-bit scale and a 2-bit zero per row of fc1 (256 × 784).
            SensitivityTable.Entry e = t.entry("fc1", rtn2);
            assertEquals(256L * 784 * 2 + 256L * 34, e.bits());
            assertEquals(256L * 784, e.weights());
            assertEquals(new RtnSettings(2, 0, false).describe(), e.level());

            // Read back from the database: the same cells.
            SensitivityTable again = source.stored(model);
            assertEquals(t.entries().size(), again.entries().size());
            for (SensitivityTable.Entry x : t.entries()) {
                assertEquals(x.deltaKl(), again.deltaKl(x.layer(), x.key()), x.layer() + " " + x.level());
                assertEquals(x.level(), again.entry(x.layer(), x.key()).level());
                assertEquals(x.bits(), again.entry(x.layer(), x.key()).bits());
            }
        }
    }
}
