package dev.squeeze.engine.search;

import dev.squeeze.engine.eval.KlDivergence;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.SensitivityRecords;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SensitivityTest {
    private static final long TOKENS = 48;

    @Test
    void everyCellIsTheKlOfTheModelWithOnlyThatLayerCompressed(@TempDir Path root) {
        SearchSubject.Language subject = LevelFixtures.subject(LevelFixtures.model(31, "2".repeat(64)));
        LevelDatabase db = LevelDatabase.build(subject, root, List.of("rtn"), null, null);
        LlamaKlFitness fitness = new LlamaKlFitness(db);
        Sensitivity.Table t = Sensitivity.measure(db, fitness, null, TOKENS, 0, null, null);
        assertEquals(14 * 7, t.cells().size(), "14 layers × RTN 2..8 per row");
        double[][] e = t.errors();
        for (int i = 0; i < db.layers().size(); i++) {
            assertEquals(0.0, e[i][0], "dense costs nothing");
        }
        List<int[]> windows = fitness.windows(TOKENS, 0);
        for (int[] cell : new int[][]{{0, 1}, {6, 4}, {12, 7}}) {
            // Independently: both models' whole forward passes on the same windows.
            var model = subject.network(Map.of(db.layers().get(cell[0]).layer(), db.tensor(cell[0], cell[1])));
            double expected = KlDivergence.evaluate(subject.dense(), model, windows,
                    LevelFixtures.CONFIG.maxSeqLen(), Perplexity.Overflow.TRUNCATE).meanKl();
            assertEquals(expected, e[cell[0]][cell[1]], 1e-4 * expected + 1e-12);
            assertTrue(Double.isNaN(t.cell(cell[0], cell[1]).top1Delta()));
        }
        // Fewer bits, more damage: 2-bit RTN of a layer moves the model more than 8-bit RTN.
        for (int i = 0; i < db.layers().size(); i++) {
            assertTrue(e[i][1] > e[i][7], "layer " + i + ": " + e[i][1] + " vs " + e[i][7]);
        }
    }

    @Test
    void theCacheIsReusedAndMissedWhenTheCalibrationDataOrModelChanges(@TempDir Path root) {
        Model model = LevelFixtures.model(32, "3".repeat(64));
        SearchSubject.Language subject = LevelFixtures.subject(model);
        LevelDatabase db = LevelDatabase.build(subject, root, List.of("rtn"), null, null);
        try (ResultsStore store = ResultsStore.inMemory()) {
            Sensitivity.Table first = measure(store, db);
            assertEquals(first.cells().size(), first.measured());
            assertTrue(first.cells().stream().noneMatch(Sensitivity.Cell::cached));

            Sensitivity.Table second = measure(store, db);
            assertEquals(0, second.measured(), "every cell comes from the cache");
            assertTrue(second.cells().stream().allMatch(Sensitivity.Cell::cached));
            assertEquals(first.errors()[5][3], second.errors()[5][3]);
            for (int i = 0; i < first.cells().size(); i++) {
                assertEquals(first.cells().get(i).kl(), second.cells().get(i).kl());
            }

            // Other calibration data: another hash, nothing cached applies.
            SearchSubject.Language otherData = new SearchSubject.Language(model,
                    LevelFixtures.sequences(12, 0, 48, 70), 4, LevelFixtures.WINDOW, 0);
            LevelDatabase db2 = LevelDatabase.build(otherData, root, List.of("rtn"), null, null);
            Sensitivity.Table third = measure(store, db2);
            assertEquals(third.cells().size(), third.measured(), "changed calibration data: every cell measured");

            // Another model (content hash): nothing cached applies either.
            Model changed = LevelFixtures.model(33, "4".repeat(64));
            LevelDatabase db3 = LevelDatabase.build(LevelFixtures.subject(changed), root, List.of("rtn"), null, null);
            Sensitivity.Table fourth = measure(store, db3);
            assertEquals(fourth.cells().size(), fourth.measured(), "changed model: every cell measured");

            // Another sample size is another key.
            Sensitivity.Table other = Sensitivity.measure(db, new LlamaKlFitness(db),
                    new SensitivityCache(store, subject, SensitivityCache.KL, TOKENS * 2, 0), TOKENS * 2, 0, null, null);
            assertEquals(other.cells().size(), other.measured());

            // The first subject's rows are still there, untouched by the others.
            assertEquals(first.cells().size(), store.sensitivity().find(new SensitivityRecords.Key(
                    subject.modelHash(), subject.calibrationHash(), SensitivityCache.KL, TOKENS, 0)).size());
        }
    }

    @Test
    void aStoppedAnalysisKeepsTheLayersItFinished(@TempDir Path root) {
        SearchSubject.Language subject = LevelFixtures.subject(LevelFixtures.model(34, "5".repeat(64)));
        LevelDatabase db = LevelDatabase.build(subject, root, List.of("rtn"), null, null);
        try (ResultsStore store = ResultsStore.inMemory()) {
            AtomicInteger done = new AtomicInteger();
            assertThrows(dev.squeeze.engine.runs.RunCancelledException.class, () -> Sensitivity.measure(db,
                    new LlamaKlFitness(db), new SensitivityCache(store, subject, SensitivityCache.KL, TOKENS, 0),
                    TOKENS, 0, (l, lv, d, total, cached) -> done.set(d), () -> done.get() >= 10));
            Sensitivity.Table resumed = measure(store, db);
            assertEquals(resumed.cells().size() - 10, resumed.measured(),
                    "the 10 cells measured before the stop are cached");
            assertFalse(resumed.cells().get(10).cached());
        }
    }

    private static Sensitivity.Table measure(ResultsStore store, LevelDatabase db) {
        return Sensitivity.measure(db, new LlamaKlFitness(db),
                new SensitivityCache(store, db.subject(), SensitivityCache.KL, TOKENS, 0), TOKENS, 0, null, null);
    }
}
