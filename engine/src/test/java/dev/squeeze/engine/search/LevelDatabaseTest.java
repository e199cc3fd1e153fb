package dev.squeeze.engine.search;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.runs.RunCancelledException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LevelDatabaseTest {
    private static final List<String> FAMILIES = List.of("rtn", "gptq");

    @Test
    void everyLayerHasDenseFirstThenEveryCandidateWithItsExactStoredBits(@TempDir Path root) {
        Model model = LevelFixtures.model(1, "a".repeat(64));
        SearchSubject.Language subject = LevelFixtures.subject(model);
        List<String> families = List.of("rtn", "gptq", "sparsegpt", "lowrank");
        LevelDatabase db = LevelDatabase.build(subject, root, families, null, null);
        assertEquals(14, db.layers().size(), "2 blocks × 7 linears");
        int total = 0;
        for (int i = 0; i < db.layers().size(); i++) {
            LayerLevels l = db.layers().get(i);
            List<String> expectedKeys = Candidates.forLayer(l.layer(), l.rows(), l.cols(), families, true).stream()
                    .map(Level::keyOf).toList();
            assertEquals(expectedKeys.size() + 1, l.size());
            assertTrue(l.level(0).dense());
            // Stored as float32 in memory: 32 bits per weight.
            assertEquals(32L * l.rows() * l.cols(), l.level(0).bits());
            for (int j = 1; j < l.size(); j++) {
                assertEquals(expectedKeys.get(j - 1), l.level(j).key());
                CompressedTensor t = db.tensor(i, j);
                assertEquals(t.storedBits(), l.level(j).bits(), l.layer() + " " + l.level(j).describe());
                assertEquals(l.rows(), t.rows());
                assertEquals(l.cols(), t.cols());
                double err = db.entry(i, j).relativeError();
                assertTrue(err > 0 && err < 1.5, "relative error " + err);
                total++;
            }
        }
        assertEquals(total, db.stats().levels());
        assertEquals(total, db.stats().computed());
        assertEquals(0, db.stats().reused());
        assertTrue(Files.isRegularFile(db.dir().resolve("manifest.json")));
        int[] choice = new int[db.layers().size()];
        assertEquals(Map.of(), db.tensors(choice), "the all-zero assignment is dense");
        choice[3] = 2;
        assertEquals(List.of(db.layers().get(3).layer()), List.copyOf(db.tensors(choice).keySet()));
    }

    @Test
    void gptqLevelsUseHessiansOfTheDenseModelOnTheCalibrationWindows(@TempDir Path root) {
        Model model = LevelFixtures.model(2, "b".repeat(64));
        SearchSubject.Language subject = LevelFixtures.subject(model);
        LevelDatabase db = LevelDatabase.build(subject, root, List.of("gptq"), null, null);
        // Independently: whole-model dense forward passes (not the block API) with a listener on every linear.
        Map<String, HessianAccumulator> acc = new HashMap<>();
        LlamaModel listening = LlamaModel.from(model).withListener((layer, x, rows, cols) -> {
            if (!layer.equals(LlamaLayers.HEAD)) {
                acc.computeIfAbsent(layer, k -> new HessianAccumulator(cols)).addBatch(x, rows, 1);
            }
        });
        for (int[] w : subject.hessianWindows()) {
            listening.logits(w);
        }
        for (String layer : List.of(LlamaLayers.v(1), LlamaLayers.down(1), LlamaLayers.q(0))) {
            int i = db.layerIndex(layer);
            LayerLevels l = db.layers().get(i);
            int j = 1 + Candidates.forLayer(layer, l.rows(), l.cols(), List.of("gptq"), true).stream()
                    .map(Level::keyOf).toList().indexOf(Level.keyOf(GptqSettings.of(3, 0)
                            .withScalePrecision(GptqSettings.ScalePrecision.FP32)));
            assertTrue(j >= 1);
            float[] w = model.tensor(layer + ".weight").floats();
            CompressedTensor expected = Methods.compress(new LayerInput(layer, w, l.rows(), l.cols(),
                    acc.get(layer).hessian()), l.level(j).settings());
            assertArrayEquals(expected.dequantize(), db.tensor(i, j).dequantize(), 1e-5f, layer);
            // The layer-output error tr(ΔW H ΔWᵀ) / tr(W H Wᵀ), in double from the independent Hessian.
            float[] h = acc.get(layer).hessian();
            float[] q = expected.dequantize();
            double num = 0;
            double den = 0;
            for (int r = 0; r < l.rows(); r++) {
                for (int a = 0; a < l.cols(); a++) {
                    for (int b = 0; b < l.cols(); b++) {
                        double hab = h[a * l.cols() + b];
                        num += (w[r * l.cols() + a] - q[r * l.cols() + a]) * hab * (w[r * l.cols() + b] - q[r * l.cols() + b]);
                        den += w[r * l.cols() + a] * hab * w[r * l.cols() + b];
                    }
                }
            }
            assertEquals(num / den, db.entry(i, j).outputError(), 1e-3 * num / den);
        }
    }

    @Test
    void theOutputErrorParetoViewKeepsExactlyTheUndominatedLevels(@TempDir Path root) {
        Model model = LevelFixtures.model(7, "8".repeat(64));
        LevelDatabase db = LevelDatabase.build(LevelFixtures.subject(model), root, List.of("rtn", "gptq", "magnitude"),
                null, null);
        LevelDatabase view = db.paretoByOutputError();
        assertEquals(db.layers().size(), view.layers().size());
        int kept = 0;
        for (int i = 0; i < db.layers().size(); i++) {
            LayerLevels all = db.layers().get(i);
            LayerLevels front = view.layers().get(i);
            assertTrue(front.level(0).dense());
            kept += front.size();
            for (Level a : all.levels()) {
                boolean dominated = false;
                for (Level b : all.levels()) {
                    double ea = db.outputError(all.layer(), a);
                    double eb = db.outputError(all.layer(), b);
                    if (b != a && b.bits() <= a.bits() && eb <= ea && (b.bits() < a.bits() || eb < ea)) {
                        dominated = true;
                    }
                }
                assertEquals(!dominated, front.levels().contains(a), all.layer() + " " + a.describe());
            }
            // The view's tensors are the database's.
            for (int j = 1; j < front.size(); j++) {
                assertArrayEquals(db.tensor(i, all.levels().indexOf(front.level(j))).dequantize(),
                        view.tensor(i, j).dequantize());
            }
        }
        assertTrue(kept < db.layers().stream().mapToInt(LayerLevels::size).sum(), "something is pruned");
    }

    @Test
    void aSecondBuildReusesEveryLevel(@TempDir Path root) {
        Model model = LevelFixtures.model(3, "c".repeat(64));
        LevelDatabase first = LevelDatabase.build(LevelFixtures.subject(model), root, FAMILIES, null, null);
        AtomicInteger compressions = new AtomicInteger();
        LevelDatabase second = LevelDatabase.build(LevelFixtures.subject(model), root, FAMILIES,
                (layer, level, done, total) -> {
                    if (!layer.isEmpty()) {
                        compressions.incrementAndGet();
                    }
                }, null);
        assertEquals(first.stats().levels(), second.stats().reused());
        assertEquals(0, second.stats().computed());
        assertEquals(0, compressions.get());
        assertEquals(first.layers(), second.layers());
        for (int i = 0; i < first.layers().size(); i++) {
            for (int j = 1; j < first.layers().get(i).size(); j++) {
                assertArrayEquals(first.tensor(i, j).dequantize(), second.tensor(i, j).dequantize());
            }
        }
        // More families: the levels already built are reused, only the new family's are computed.
        LevelDatabase more = LevelDatabase.build(LevelFixtures.subject(model), root,
                List.of("rtn", "gptq", "magnitude"), null, null);
        assertEquals(first.stats().levels(), more.stats().reused());
        assertEquals(14 * 5, more.stats().computed(), "5 magnitude levels per layer");
        assertEquals(first.stats().levels() + 14 * 5, more.stats().levels());
    }

    @Test
    void anotherModelOrOtherCalibrationDataGetsAnotherDatabase(@TempDir Path root) {
        Model model = LevelFixtures.model(4, "d".repeat(64));
        SearchSubject.Language a = LevelFixtures.subject(model);
        SearchSubject.Language otherData = new SearchSubject.Language(model, LevelFixtures.sequences(12, 0, 48, 8),
                4, LevelFixtures.WINDOW, 0);
        SearchSubject.Language otherSeed = new SearchSubject.Language(model, LevelFixtures.sequences(12, 0, 48, 7),
                4, LevelFixtures.WINDOW, 1);
        SearchSubject.Language otherModel = LevelFixtures.subject(LevelFixtures.model(4, "e".repeat(64)));
        Path dir = LevelDatabase.dirOf(root, a);
        assertNotEquals(dir, LevelDatabase.dirOf(root, otherData));
        assertNotEquals(dir, LevelDatabase.dirOf(root, otherSeed));
        assertNotEquals(dir, LevelDatabase.dirOf(root, otherModel));
        assertEquals(dir, LevelDatabase.dirOf(root, LevelFixtures.subject(model)));
    }

    @Test
    void anInterruptedBuildResumesAndADamagedOrHalfWrittenLevelIsRecomputed(@TempDir Path root) throws Exception {
        Model model = LevelFixtures.model(5, "f".repeat(64));
        LevelDatabase reference = LevelDatabase.build(LevelFixtures.subject(model), root.resolve("reference"),
                FAMILIES, null, null);
        int total = reference.stats().levels();
        Path work = root.resolve("work");
        AtomicInteger finished = new AtomicInteger();
        int stopAfter = total / 2 + 3;
        assertThrows(RunCancelledException.class, () -> LevelDatabase.build(LevelFixtures.subject(model), work,
                FAMILIES, (layer, level, done, t) -> finished.set(done), () -> finished.get() >= stopAfter));
        int saved;
        Path dir = LevelDatabase.dirOf(work, LevelFixtures.subject(model));
        try (Stream<Path> files = Files.walk(dir.resolve("levels"))) {
            saved = (int) files.filter(p -> p.getFileName().toString().endsWith(".ckpt")).count();
        }
        assertTrue(saved >= stopAfter && saved < total, saved + " of " + total + " levels saved");
        // A finished level whose file was cut short (a torn write on a disk that lied), and a temp file left by a
        // kill in the middle of a write of the next level.
        LayerLevels l0 = reference.layers().get(0);
        Path damaged = LevelDatabase.levelFile(dir, l0.layer(), l0.level(1).key());
        byte[] bytes = Files.readAllBytes(damaged);
        Files.write(damaged, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        LayerLevels last = reference.layers().getLast();
        Path next = LevelDatabase.levelFile(dir, last.layer(), last.level(last.size() - 1).key());
        assertTrue(!Files.exists(next), "the last level cannot have been finished");
        Files.createDirectories(next.getParent());
        Files.write(next.resolveSibling(".00000.ckpt12345.part"), java.util.Arrays.copyOf(bytes, 100));
        Files.write(next, java.util.Arrays.copyOf(bytes, 40)); // half-written under the final name

        LevelDatabase resumed = LevelDatabase.build(LevelFixtures.subject(model), work, FAMILIES, null, null);
        assertEquals(saved - 1, resumed.stats().reused(), "every intact finished level is reused");
        assertEquals(total - saved + 1, resumed.stats().computed());
        assertEquals(reference.layers(), resumed.layers());
        for (int i = 0; i < reference.layers().size(); i++) {
            for (int j = 1; j < reference.layers().get(i).size(); j++) {
                assertArrayEquals(reference.tensor(i, j).dequantize(), resumed.tensor(i, j).dequantize(),
                        "layer " + i + " level " + j + " equals the uninterrupted build's");
            }
        }
    }

    @Test
    void aLevelFileRemovedAfterTheBuildIsAClearError(@TempDir Path root) throws Exception {
        Model model = LevelFixtures.model(6, "9".repeat(64));
        LevelDatabase db = LevelDatabase.build(LevelFixtures.subject(model), root, List.of("rtn"), null, null);
        LayerLevels l = db.layers().get(2);
        Files.delete(LevelDatabase.levelFile(db.dir(), l.layer(), l.level(1).key()));
        var e = assertThrows(dev.squeeze.engine.SqueezeException.class, () -> db.tensor(2, 1));
        assertTrue(e.getMessage().contains(l.layer()), e.getMessage());
        assertTrue(e.fix().contains("build the level database again"), e.fix());
        // And the next build recomputes exactly that level, though the manifest lists it.
        LevelDatabase again = LevelDatabase.build(LevelFixtures.subject(model), root, List.of("rtn"), null, null);
        assertEquals(1, again.stats().computed());
        assertEquals(l.level(1).bits(), again.tensor(2, 1).storedBits());
    }
}
