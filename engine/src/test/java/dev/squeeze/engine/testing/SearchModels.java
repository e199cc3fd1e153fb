package dev.squeeze.engine.testing;

import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;
import dev.squeeze.engine.model.safetensors.SafetensorsWriter;
import dev.squeeze.engine.nn.MlpClassifier;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Small classifiers for the search tests: {@link TinyModels}' quadrant MLP with two 32×32 hidden layers of the same
 * shape (fc2, fc3), so that EvoPress has a size class of two layers to trade bits within.
 */
public final class SearchModels {
    /** Weights of the searched linears: 32×64 + 32×32 + 32×32 + 4×32. */
    public static final long WEIGHTS = 32L * 64 + 32 * 32 + 32 * 32 + 4 * 32;

    private SearchModels() {
    }

    /** Writes the 64-32-32-32-4 MLP as a safetensors file and returns its path. */
    public static Path writeMlp(Path dir, long seed) throws IOException {
        Random rng = new Random(seed);
        int side = TinyModels.SIDE;
        int in = side * side;
        int hidden = TinyModels.HIDDEN;
        int classes = TinyModels.CLASSES;
        float[] w1 = new float[hidden * in];
        for (int h = 0; h < hidden; h++) {
            for (int p = 0; p < in; p++) {
                boolean mine = TinyModels.quadrant(p / side, p % side) == h % classes;
                w1[h * in + p] = (mine ? 0.25f : 0f) + (float) (rng.nextGaussian() * 0.05);
            }
        }
        float[] w2 = identityish(rng, hidden);
        float[] w3 = identityish(rng, hidden);
        float[] w4 = new float[classes * hidden];
        for (int c = 0; c < classes; c++) {
            for (int h = 0; h < hidden; h++) {
                w4[c * hidden + h] = (h % classes == c ? 0.5f : -0.1f) + (float) (rng.nextGaussian() * 0.05);
            }
        }
        Path file = dir.resolve("search-mlp.safetensors");
        SafetensorsWriter.write(file, List.of(
                Tensor.of("fc1.weight", w1, hidden, in), Tensor.of("fc1.bias", new float[hidden], hidden),
                Tensor.of("fc2.weight", w2, hidden, hidden), Tensor.of("fc2.bias", new float[hidden], hidden),
                Tensor.of("fc3.weight", w3, hidden, hidden), Tensor.of("fc3.bias", new float[hidden], hidden),
                Tensor.of("fc4.weight", w4, classes, hidden), Tensor.of("fc4.bias", new float[classes], classes)),
                Map.of(SafetensorsFormat.ARCH_KEY, MlpClassifier.ARCHITECTURE, MlpClassifier.LAYERS_KEY,
                        "fc1,fc2,fc3,fc4", MlpClassifier.INPUT_SCALE_KEY, Float.toString(1f / 255f),
                        MlpClassifier.CLASSES_KEY, "top-left,top-right,bottom-left,bottom-right"));
        return file;
    }

    private static float[] identityish(Random rng, int n) {
        float[] w = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                w[i * n + j] = (i == j ? 1f : 0f) + (float) (rng.nextGaussian() * 0.1);
            }
        }
        return w;
    }
}
