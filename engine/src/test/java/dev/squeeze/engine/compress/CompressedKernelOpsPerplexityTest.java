package dev.squeeze.engine.compress;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankTensor;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.SparseTensor;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.compress.spqr.SpqrTensor;
import dev.squeeze.engine.data.text.CalibrationWindows;
import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.kernels.SparseKernels;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.runs.LanguageModelCompression;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.testing.SharedData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * stories260K with blocks 0 and 1 (14 linears; the rest keeps CI cheap) compressed with SparseGPT 2:4, SpQR
 * (3-bit, act-order, outliers) and low rank: perplexity on
 * stories 501–505 through the layers' kernel ops ({@code asLinearOp} on the Java reference and, where built, on
 * the native kernels) equals the perplexity with every compressed layer replaced by its dequantized dense matrix
 * ({@link FastDenseLinear} of {@code dequantize()}), to {@value #REL_TOL} relative. The ops differ from the
 * dense path only in float32 summation order (about 1e-7 relative per output); a wrong weight, position or
 * permutation moves perplexity by far more than 1e-4.
 */
class CompressedKernelOpsPerplexityTest {
    static final double REL_TOL = 1e-4;

    @Test
    void stories260kPerplexityThroughTheKernelsEqualsTheDequantizedPath() throws IOException {
        Path bin = SharedData.require("models/stories260K/stories260K.bin");
        Path text = SharedData.require("data/tinystories/valid-1k.txt");
        Model model = ModelFormats.open(bin);
        StoryCorpus corpus = StoryCorpus.read(text);
        var tokenizer = Llama2cTokenizer.read(bin.resolveSibling("tok512.bin"), 512);
        List<int[]> sequences = corpus.tokens(StoryRange.of(501, 505), tokenizer);
        var calibration = CalibrationWindows.sample(corpus.tokens(DataSplit.TINYSTORIES_1K.calibration(), tokenizer),
                8, 128, 0);
        Map<String, MethodSettings> methods = new LinkedHashMap<>();
        methods.put("SparseGPT 2:4", SparseGptSettings.of(Sparsity.nOfM(2, 4)));
        // Second-level groups of 4 rows: stories260K's 172-row MLP projections are not a multiple of 16.
        methods.put("SpQR 3-bit", new SpqrSettings(3, 16, 3, 3, 4, 0.2, 1.0, true, 128, false));
        methods.put("low rank r16", LowRankSettings.of(LowRankVariant.SVD, 16));
        LlamaModel dense = LlamaModel.from(model);
        try (ResultsStore store = ResultsStore.inMemory()) {
            for (var e : methods.entrySet()) {
                long t0 = System.nanoTime();
                var compressed = new LanguageModelCompression(store::recordRun, dev.squeeze.engine.runs.RunHooks.NONE)
                        .compress(model, calibration, layer -> layer.contains("layers.0.") || layer.contains("layers.1.")
                                ? e.getValue() : null, true, e.getKey());
                long t1 = System.nanoTime();
                Map<String, LinearOp> dequantized = new LinkedHashMap<>();
                Map<String, LinearOp> javaOps = new LinkedHashMap<>();
                Map<String, LinearOp> nativeOps = new LinkedHashMap<>();
                for (var t : compressed.byTensor().entrySet()) {
                    CompressedTensor c = t.getValue();
                    String linear = t.getKey().replaceFirst("\\.weight$", "");
                    dequantized.put(linear, new FastDenseLinear(c.rows(), c.cols(), c.dequantize(), null));
                    javaOps.put(linear, op(c, SparseKernels.Backend.JAVA));
                    nativeOps.put(linear, op(c, SparseKernels.Backend.NATIVE));
                }
                assertTrue(compressed.byTensor().size() == 14, "the 7 linears of blocks 0 and 1 are compressed");
                double reference = Perplexity.evaluate(dense.withLinears(dequantized), sequences).perplexity();
                double viaRun = Perplexity.evaluate(compressed.network(), sequences).perplexity();
                double viaJava = Perplexity.evaluate(dense.withLinears(javaOps), sequences).perplexity();
                System.out.printf("stories260K %s: perplexity dequantized dense %.6f, run's ops (%s) %.6f, Java ops %.6f",
                        e.getKey(), reference, SparseKernels.name(SparseKernels.preferred()), viaRun, viaJava);
                check(e.getKey() + " run's ops", viaRun, reference);
                check(e.getKey() + " Java ops", viaJava, reference);
                if (SparseKernels.preferred() == SparseKernels.Backend.NATIVE) {
                    double viaNative = Perplexity.evaluate(dense.withLinears(nativeOps), sequences).perplexity();
                    System.out.printf(", native ops %.6f", viaNative);
                    check(e.getKey() + " native ops", viaNative, reference);
                }
                System.out.printf(" (compression %.1f s, evaluations %.1f s)%n", (t1 - t0) / 1e9,
                        (System.nanoTime() - t1) / 1e9);
            }
        }
    }

    private static LinearOp op(CompressedTensor c, SparseKernels.Backend b) {
        if (b == SparseKernels.Backend.NATIVE && SparseKernels.preferred() != SparseKernels.Backend.NATIVE) {
            return c.asLinearOp();
        }
        return switch (c) {
            case SparseTensor s -> s.asLinearOp(b);
            case SpqrTensor s -> s.asLinearOp(b);
            case LowRankTensor s -> s.asLinearOp(b);
            default -> throw new AssertionError("unexpected tensor " + c.getClass());
        };
    }

    private static void check(String what, double got, double want) {
        double rel = Math.abs(got - want) / want;
        assertTrue(Double.isFinite(got) && rel <= REL_TOL, what + ": perplexity " + got + " vs dequantized " + want
                + " (relative " + rel + ")");
    }
}
