package dev.squeeze.engine.search;

import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * stories260K end to end (skipped when ../shared is absent): the level database, the KL fitness on windows of the
 * calibration stories only, and the sensitivity table with its cache. Prints the times it measured. To stay cheap in
 * CI it leaves low rank out (85 % of the build's compression time) and measures the sensitivity of block 4's layers
 * only; {@code -Dsqueeze.search.benchmark=true} builds every default family and measures every cell of the output-error
 * fronts (the figures of the report).
 */
class Stories260KLevelsTest {
    private static final String MODEL = "models/stories260K/stories260K.bin";
    private static final String TOKENIZER = "models/stories260K/tok512.bin";
    private static final String STORIES = "data/tinystories/valid-1k.txt";

    @Test
    void defaultLevelsFitnessAndSensitivity(@TempDir Path root) {
        Model model = new Llama2cFormat().read(SharedData.require(MODEL));
        Llama2cTokenizer tok = Llama2cTokenizer.read(SharedData.require(TOKENIZER), 512);
        StoryCorpus corpus = StoryCorpus.read(SharedData.require(STORIES));
        List<int[]> calibration = corpus.tokens(DataSplit.TINYSTORIES_1K.calibration(), tok);
        SearchSubject.Language subject = new SearchSubject.Language(model, calibration, 32, 256, 0);

        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean();
        long c0 = os.getProcessCpuTime();
        boolean benchmark = Boolean.getBoolean("squeeze.search.benchmark");
        List<String> families = benchmark ? Candidates.FAMILIES
                : List.of("rtn", "gptq", "spqr", "sparsegpt", "magnitude");
        long t0 = System.nanoTime();
        LevelDatabase db = LevelDatabase.build(subject, root, families, null, null);
        long build = System.nanoTime() - t0;
        long buildCpu = os.getProcessCpuTime() - c0;
        assertEquals(35, db.layers().size());
        int levels = db.stats().levels();
        // Per 64 × 64 layer: rtn 14 + gptq 14 + spqr 3 + sparsegpt 7 + magnitude 5 (+ lowrank 36), and dense.
        assertEquals(benchmark ? 80 : 44, db.layers().get(db.layerIndex("model.layers.0.self_attn.q_proj")).size());

        LevelDatabase pareto = db.paretoByOutputError();
        LevelDatabase front = benchmark ? pareto : pareto.retain((l, lv) -> l.layer().startsWith("model.layers.4."));
        int kept = front.layers().stream().mapToInt(l -> l.size() - 1).sum();

        // Fitness windows come from the calibration stories (1–500) and never from the evaluation ones.
        LlamaKlFitness fitness = new LlamaKlFitness(front);
        List<int[]> windows = fitness.windows(4096, 11);
        assertEquals(16, windows.size());
        List<int[]> evaluation = corpus.tokens(StoryRange.of(501, 1000), tok);
        for (int[] w : windows) {
            assertTrue(calibration.stream().anyMatch(s -> contains(s, w)), "window from stories 1–500");
            assertFalse(evaluation.stream().anyMatch(s -> contains(s, w)), "window not in stories 501–1000");
        }
        int[] dense = new int[front.layers().size()];
        assertEquals(0.0, fitness.evaluate(dense, 4096, 0));

        try (ResultsStore store = ResultsStore.inMemory()) {
            long c1 = os.getProcessCpuTime();
            long t1 = System.nanoTime();
            Sensitivity.Table table = Sensitivity.measure(front, fitness,
                    new SensitivityCache(store, subject, SensitivityCache.KL, Sensitivity.DEFAULT_TOKENS, 0),
                    Sensitivity.DEFAULT_TOKENS, 0, null, null);
            long sens = System.nanoTime() - t1;
            long sensCpu = os.getProcessCpuTime() - c1;
            assertEquals(kept, table.measured());
            long t2 = System.nanoTime();
            Sensitivity.Table again = Sensitivity.measure(front, fitness,
                    new SensitivityCache(store, subject, SensitivityCache.KL, Sensitivity.DEFAULT_TOKENS, 0),
                    Sensitivity.DEFAULT_TOKENS, 0, null, null);
            long cached = System.nanoTime() - t2;
            assertEquals(0, again.measured());
            // Fewer bits, more damage: the cheapest kept level of a layer moves the model more than its costliest.
            int q = front.layerIndex("model.layers.4.self_attn.q_proj");
            LayerLevels ql = front.layers().get(q);
            int cheap = 1;
            int dear = 1;
            for (int j = 1; j < ql.size(); j++) {
                cheap = ql.level(j).bits() < ql.level(cheap).bits() ? j : cheap;
                dear = ql.level(j).bits() > ql.level(dear).bits() ? j : dear;
            }
            double cheapest = table.cell(q, cheap).kl();
            double costliest = table.cell(q, dear).kl();
            assertTrue(cheapest > costliest && costliest >= 0, cheapest + " vs " + costliest);
            assertEquals(cheapest, again.cell(q, cheap).kl());
            System.out.printf(Locale.ROOT, "stories260K: %d levels built in %.1f s (Hessians %.1f s, compression "
                            + "%.1f s), %d on the output-error fronts; sensitivity of %d cells in %.1f s (%.1f ms per "
                            + "cell), cached in %.2f s; %d threads%n",
                    levels, build / 1e9, db.stats().hessianNanos() / 1e9, db.stats().compressNanos() / 1e9, kept,
                    table.cells().size(), sens / 1e9, sens / 1e6 / table.cells().size(), cached / 1e9,
                    dev.squeeze.engine.nn.Parallelism.threads());
            System.out.printf(Locale.ROOT, "stories260K: CPU time: build %.1f s, sensitivity %.1f s; load average %.1f%n",
                    buildCpu / 1e9, sensCpu / 1e9, os.getSystemLoadAverage());
        }
        long t3 = System.nanoTime();
        LevelDatabase reopened = LevelDatabase.build(subject, root, families, null, null);
        System.out.printf(Locale.ROOT, "stories260K: reopened in %.2f s%n", (System.nanoTime() - t3) / 1e9);
        assertEquals(levels, reopened.stats().reused());
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
