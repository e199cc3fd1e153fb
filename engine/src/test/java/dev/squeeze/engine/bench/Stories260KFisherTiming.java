package dev.squeeze.engine.bench;

import dev.squeeze.engine.data.text.CalibrationWindows;
import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.nn.grad.FisherDiagonals;
import dev.squeeze.engine.nn.grad.LlamaFisher;
import dev.squeeze.engine.nn.grad.LlamaGradients;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Time of {@link LlamaFisher} on stories260K with the table's calibration (32 windows of 256 tokens from stories
 * 1–500, seed 0): the first (cold) run and three more. Not a test; run with the table's class path.
 */
public final class Stories260KFisherTiming {
    private Stories260KFisherTiming() {
    }

    public static void main(String[] args) {
        Path shared = Path.of(args.length > 0 ? args[0] : "../shared");
        Model model = ModelFormats.open(shared.resolve("models/stories260K/stories260K.bin"));
        var tokenizer = Llama2cTokenizer.read(shared.resolve("models/stories260K/tok512.bin"), 512);
        StoryCorpus corpus = StoryCorpus.read(shared.resolve("data/tinystories/valid-1k.txt"));
        List<int[]> windows = CalibrationWindows.sample(corpus.tokens(DataSplit.TINYSTORIES_1K.calibration(),
                tokenizer), Stories260KCompressionTable.WINDOWS, Stories260KCompressionTable.WINDOW_LENGTH,
                Stories260KCompressionTable.SEED);
        LlamaGradients g = LlamaGradients.of(model);
        for (int run = 0; run < 4; run++) {
            long t0 = System.nanoTime();
            FisherDiagonals f = LlamaFisher.compute(g, windows);
            System.out.printf(Locale.ROOT, "run %d: %d windows, mean loss %.4f, %.2f s%n", run, f.samples(),
                    f.meanLoss(), (System.nanoTime() - t0) / 1e9);
        }
        long t0 = System.nanoTime();
        g.reference().compute(windows.get(0));
        System.out.printf(Locale.ROOT, "reference path, one window: %.2f s%n", (System.nanoTime() - t0) / 1e9);
    }
}
