package dev.squeeze.engine.bench;

import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.data.text.CalibrationWindows;
import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.runs.LanguageModelCompression;
import dev.squeeze.engine.store.ResultsStore;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The issue #4 table: perplexity on TinyStories 501–1000 against bits per weight for each method on stories260K,
 * calibrated on stories 1–500 (seeded windows). Not a test (minutes of work): run
 * {@code bench/stories260k-table.sh [shared dir] [configs...]}; it prints a Markdown table row per configuration and
 * stores every run in an H2 database under target/.
 */
public final class Stories260KCompressionTable {
    /** Calibration: 32 windows of 256 tokens (8,192 tokens) from stories 1–500, seed 0: GPTQ uses 128 × 2048 on
     * 7B models; a 260K-parameter model with 64-wide layers gets well-conditioned Hessians from far fewer, and each
     * block costs one forward pass over all windows on one core. */
    static final int WINDOWS = 32;
    static final int WINDOW_LENGTH = 256;
    static final long SEED = 0;

    private Stories260KCompressionTable() {
    }

    /** Settings per layer, given its shape (some methods need rows divisible by a group, ranks depend on it). */
    interface Config {
        MethodSettings apply(int rows, int cols);
    }

    /** The configurations of the table, by name. */
    static Map<String, Config> configurations() {
        Map<String, Config> c = new LinkedHashMap<>();
        for (int bits : new int[]{4, 3, 2}) {
            c.put("rtn-w" + bits + "-g32", (rows, cols) -> new RtnSettings(bits, 32, false));
        }
        for (int bits : new int[]{4, 3, 2}) {
            // Same grouping and the same float32 scales as the RTN rows, so only the method differs.
            c.put("gptq-w" + bits + "-g32", (rows, cols) -> new GptqSettings(bits, 32, false, false, false,
                    GptqSettings.DEFAULT_PERCDAMP, GptqSettings.DEFAULT_BLOCK_SIZE, GptqSettings.GroupParams.UPDATED,
                    GptqSettings.ScalePrecision.FP32));
        }
        for (int bits : new int[]{4, 3}) {
            // The same, calibrated in GPTQ's --true-sequential order ("-ts": see main).
            c.put("gptq-w" + bits + "-g32-ts", c.get("gptq-w" + bits + "-g32"));
        }
        for (int bits : new int[]{4, 3, 2}) {
            // SpQR's statistics are re-quantized in groups of 16 rows; gate/up have 172 rows (= 4 × 43), so
            // those two use groups of 4 rows. Everything else as the paper recommends (g16, 3/3-bit, tau 0.2).
            c.put("spqr-w" + bits, (rows, cols) -> {
                SpqrSettings r = SpqrSettings.recommended(bits);
                return rows % r.qqGroupSize() == 0 ? r : new SpqrSettings(r.bits(), r.groupSize(), r.qqScaleBits(),
                        r.qqZeroBits(), 4, r.outlierThreshold(), r.percdamp(), r.actOrder(), r.blockSize(),
                        r.referencePrecision());
            });
        }
        c.put("sparsegpt-50", (rows, cols) -> SparseGptSettings.of(Sparsity.unstructured(0.5)));
        c.put("magnitude-50", (rows, cols) -> MagnitudeSettings.of(Sparsity.unstructured(0.5)));
        c.put("sparsegpt-2of4", (rows, cols) -> SparseGptSettings.of(Sparsity.nOfM(2, 4)));
        c.put("magnitude-2of4", (rows, cols) -> MagnitudeSettings.of(Sparsity.nOfM(2, 4)));
        // Low rank: LoRD at half and three quarters of the largest rank that still saves space in each layer
        // (k/v are 32 × 64, so one rank for every layer would either save nothing there or little elsewhere).
        // The other variants at the same ranks (fisher: FWSVD, Fisher diagonals of the dense model on the same
        // calibration windows).
        for (LowRankVariant v : new LowRankVariant[]{LowRankVariant.LORD, LowRankVariant.SVD,
                LowRankVariant.ACTIVATION, LowRankVariant.WHITENED, LowRankVariant.FISHER}) {
            for (double share : new double[]{0.5, 0.75}) {
                c.put(v.key() + "-" + Math.round(share * 100), (rows, cols) -> LowRankSettings.of(v,
                        Math.max(1, (int) (share * LowRankSettings.maxUsefulRank(rows, cols)))));
            }
        }
        return c;
    }

    public static void main(String[] args) {
        Path shared = Path.of(args.length > 0 ? args[0] : "../shared");
        Model model = ModelFormats.open(shared.resolve("models/stories260K/stories260K.bin"));
        var tokenizer = Llama2cTokenizer.read(shared.resolve("models/stories260K/tok512.bin"), 512);
        StoryCorpus corpus = StoryCorpus.read(shared.resolve("data/tinystories/valid-1k.txt"));
        DataSplit split = DataSplit.TINYSTORIES_1K;
        TextEvaluation eval = new TextEvaluation(corpus, split.evaluation(), tokenizer);
        List<int[]> calibration = CalibrationWindows.sample(corpus.tokens(split.calibration(), tokenizer), WINDOWS,
                WINDOW_LENGTH, SEED);
        Map<String, Config> all = configurations();
        List<String> chosen = args.length > 1 ? List.of(args).subList(1, args.length) : new ArrayList<>(all.keySet());
        System.out.println("| configuration | method | bits/weight (linears) | model bytes | perplexity 501–1000 |");
        System.out.println("|---|---|---|---|---|");
        try (ResultsStore store = ResultsStore.openFile(Path.of("engine/target/stories260k-table/results-" + ProcessHandle.current().pid()))) {
            LanguageModelCompression pipeline = new LanguageModelCompression(store);
            for (String name : chosen) {
                Config config = all.get(name);
                if (config == null) {
                    throw new IllegalArgumentException("unknown configuration " + name + "; known: " + all.keySet());
                }
                MethodSettings s = config.apply(64, 64);
                long t0 = System.nanoTime();
                var out = pipeline.run(model, eval, calibration,
                        layer -> {
                            var w = model.tensor(layer + ".weight");
                            return config.apply((int) w.dim(0), (int) w.dim(1));
                        }, name.endsWith("-ts"),
                        s instanceof LowRankSettings l ? l.variant().label() + " "
                                + name.substring(name.lastIndexOf('-') + 1) + "% of the useful rank"
                                : s.describe() + (name.endsWith("-ts") ? " true-sequential" : ""),
                        "{\"schema\":1,\"table\":\"" + name + "\"}", SEED);
                System.out.printf(Locale.ROOT, "| %s | %s | %.3f | %,d | %.4f |   (%.0f s)%n", name, s.describe(),
                        out.bitsPerWeight(), out.sizeBytes(), out.perplexity(), (System.nanoTime() - t0) / 1e9);
            }
        }
    }
}
