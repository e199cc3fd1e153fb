package dev.squeeze.engine.search;

import dev.squeeze.engine.eval.KlDivergence;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LlamaKlFitnessTest {
    @TempDir
    static Path root;
    private static LevelDatabase db;
    private static SearchSubject.Language subject;

    @BeforeAll
    static void build() {
        Model model = LevelFixtures.model(21, "1".repeat(64));
        subject = LevelFixtures.subject(model);
        db = LevelDatabase.build(subject, root, List.of("rtn"), null, null);
    }

    /** Layer {@code layer} at RTN 2-bit per row (level 1: RTN candidates start at 2 bits per row). */
    private static int[] oneLayer(int layer, int level) {
        int[] c = new int[db.layers().size()];
        c[layer] = level;
        return c;
    }

    @Test
    void denseIsZeroAndACompressedLayerIsPositive() {
        LlamaKlFitness f = new LlamaKlFitness(db);
        assertEquals(0.0, f.evaluate(new int[db.layers().size()], 64, 3));
        assertTrue(f.evaluate(oneLayer(0, 1), 64, 3) > 0);
        assertTrue(f.evaluate(oneLayer(13, 1), 64, 3) > 0);
    }

    @Test
    void equalsTheKlOfTheWholeForwardPassesOnTheSameWindows() {
        LlamaKlFitness f = new LlamaKlFitness(db);
        for (int[] choice : List.of(oneLayer(0, 1), oneLayer(9, 2), mixed())) {
            List<int[]> windows = f.windows(80, 5);
            LlamaModel compressed = subject.network(db.tensors(choice));
            // eval.KlDivergence: the full forward pass of both models from the embedding, every position but the
            // last of each window (windows are shorter than the context: one span each).
            KlDivergence.Result expected = KlDivergence.evaluate(subject.dense(), compressed, windows,
                    LevelFixtures.CONFIG.maxSeqLen(), Perplexity.Overflow.TRUNCATE);
            assertEquals(windows.size() * (LevelFixtures.WINDOW - 1), expected.positions());
            double got = f.evaluate(choice, 80, 5);
            assertEquals(expected.meanKl(), got, 1e-4 * expected.meanKl() + 1e-12);
        }
    }

    @Test
    void deterministicForASeedAndFreshWindowsForAnother() {
        LlamaKlFitness f = new LlamaKlFitness(db);
        int[] c = mixed();
        double a = f.evaluate(c, 64, 7);
        double other = f.evaluate(c, 64, 8);
        assertEquals(a, new LlamaKlFitness(db).evaluate(c, 64, 7), "a new fitness, same seed");
        assertEquals(a, f.evaluate(c, 64, 7), "the cached dense side gives the same value");
        assertNotEquals(a, other);
        assertEquals(4, f.windows(64, 7).size(), "64 tokens = 4 windows of 16");
        assertEquals(5, f.windows(65, 7).size(), "at least the tokens asked for");
        assertArrayEquals(f.windows(64, 7).get(0), f.windows(64, 7).get(0));
    }

    @Test
    void windowsComeOnlyFromTheCalibrationSequences() {
        // The calibration sequences use tokens 0–47 only; every window is a run of one of them.
        LlamaKlFitness f = new LlamaKlFitness(db);
        for (int[] w : f.windows(16 * 40, 99)) {
            assertEquals(LevelFixtures.WINDOW, w.length);
            assertTrue(subject.calibration().stream().anyMatch(s -> contains(s, w)));
        }
    }

    @Test
    void topKEqualsFullWhenKIsTheVocabularyAndBoundsItFromBelowOtherwise() {
        int vocab = LevelFixtures.CONFIG.vocabSize();
        LlamaKlFitness full = new LlamaKlFitness(db, 0, LlamaKlFitness.DEFAULT_MEMORY_BYTES);
        // A tiny memory bound forces top-K with K = vocab given explicitly, and no kept hidden states.
        LlamaKlFitness topAll = new LlamaKlFitness(db, vocab, 1);
        LlamaKlFitness top8 = new LlamaKlFitness(db, 8, LlamaKlFitness.DEFAULT_MEMORY_BYTES);
        assertEquals(vocab, full.keptPerPosition(64, 1));
        assertEquals(8, top8.keptPerPosition(64, 1));
        // When the full log-probabilities do not fit the bound, the default K is kept.
        assertEquals(Math.min(vocab, LlamaKlFitness.DEFAULT_TOP_K), new LlamaKlFitness(db, 0, 1024)
                .keptPerPosition(64, 1));
        for (int[] c : List.of(oneLayer(3, 1), mixed())) {
            double f = full.evaluate(c, 64, 1);
            assertEquals(f, topAll.evaluate(c, 64, 1), 1e-9 + 1e-6 * f);
            double k8 = top8.evaluate(c, 64, 1);
            assertTrue(k8 > 0 && k8 <= f + 1e-9, k8 + " ≤ " + f);
        }
    }

    private static int[] mixed() {
        int[] c = new int[db.layers().size()];
        for (int i = 0; i < c.length; i++) {
            c[i] = i % 3 == 0 ? 0 : 1 + i % (db.layers().get(i).size() - 1);
        }
        return c;
    }

    private static boolean contains(int[] seq, int[] w) {
        outer:
        for (int s = 0; s + w.length <= seq.length; s++) {
            for (int i = 0; i < w.length; i++) {
                if (seq[s + i] != w[i]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
