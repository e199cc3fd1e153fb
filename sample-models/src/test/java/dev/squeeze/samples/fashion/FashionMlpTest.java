package dev.squeeze.samples.fashion;

import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.eval.ClassifierEvaluator;
import dev.squeeze.engine.eval.ClassifierMetrics;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.samples.SampleModels;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FashionMlpTest {
    @TempDir
    Path dir;

    /**
     * The committed weights, run through the engine's own forward pass, reach the accuracy the trainer measured
     * with its separate training-side forward pass (recorded in the file's metadata when it was trained).
     */
    @Test
    void committedModelReachesTheAccuracyItsTrainerRecorded() {
        SampleModels.Sample s = SampleModels.fashionMlp();
        assertEquals(TrainFashionMlp.EVAL_SUBSET, s.evaluation().count());
        ClassifierMetrics m = ClassifierEvaluator.evaluate(MlpClassifier.dense(s.model()), s.evaluation());
        double recorded = Double.parseDouble(s.model().metadata().get("squeeze.train.eval_subset_top1"));
        assertEquals(recorded, m.top1(), 0.00051, "metadata is rounded to 4 decimals");
        assertTrue(m.top1() > 0.85, "top-1 " + m.top1());
        assertEquals(10, m.classNames().size());
    }

    /** The full 10k test set (Debian's dataset-fashion-mnist; .ci/run installs it). */
    @Test
    void fullTestSetAccuracyMatchesTheRecordedFigure() {
        Path data = TrainFashionMlp.DEBIAN_DATA;
        if (!Files.exists(data.resolve("t10k-images-idx3-ubyte.gz"))) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new AssertionError("Fashion-MNIST missing at " + data + ": .ci/run must install dataset-fashion-mnist");
            }
            Assumptions.abort("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): skipping the 10k check");
        }
        SampleModels.Sample s = SampleModels.fashionMlp();
        ImageSet test = TrainFashionMlp.load(data, "t10k");
        ClassifierMetrics m = ClassifierEvaluator.evaluate(MlpClassifier.dense(s.model()), test);
        double recorded = Double.parseDouble(s.model().metadata().get("squeeze.train.test_top1"));
        assertEquals(recorded, m.top1(), 0.00051);
        // The committed subset is the first 1,000 test images, byte for byte.
        assertArrayEquals(test.head(1000).pixels(), s.evaluation().pixels());
    }

    /** Training is deterministic: two runs from the same seed give bit-identical weights, and it learns. */
    @Test
    void trainingIsDeterministicAndLearns() {
        ImageSet all = SampleModels.fashionMlp().evaluation();
        ImageSet train = all.head(800);
        var cfg = new TrainFashionMlp.Config(2, 32, 0.05f, 0.9f, 1e-4f, 123);
        Mlp a = TrainFashionMlp.train(train, cfg, e -> { });
        Mlp b = TrainFashionMlp.train(train, cfg, e -> { });
        for (int l = 0; l < a.layers(); l++) {
            assertArrayEquals(a.weightOutByIn(l), b.weightOutByIn(l), 0f);
            assertArrayEquals(a.bias(l), b.bias(l), 0f);
        }
        assertTrue(a.accuracy(train) > 0.6, "train accuracy after 2 epochs " + a.accuracy(train));
    }
}
