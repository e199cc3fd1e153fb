package dev.squeeze.engine.testing;

import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;
import dev.squeeze.engine.model.safetensors.SafetensorsWriter;
import dev.squeeze.engine.nn.MlpClassifier;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A committed generator of small test models and data: a 4-class "which quadrant is bright" task on 8×8 images,
 * and a 64-32-4 MLP built by hand to solve it with a wide margin (hidden unit h sums quadrant h % 4, with small
 * seeded noise so that quantization has something to round).
 */
public final class TinyModels {
    public static final int SIDE = 8;
    public static final int CLASSES = 4;
    public static final int HIDDEN = 32;

    private TinyModels() {
    }

    public static int quadrant(int r, int c) {
        return (r < SIDE / 2 ? 0 : 2) + (c < SIDE / 2 ? 0 : 1);
    }

    /** {@code n} images; image i has class i % 4 and its quadrant bright (200–255), the rest dim (0–60). */
    public static ImageSet images(int n, long seed) {
        Random rng = new Random(seed);
        byte[] px = new byte[n * SIDE * SIDE];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            int cls = i % CLASSES;
            labels[i] = (byte) cls;
            for (int r = 0; r < SIDE; r++) {
                for (int c = 0; c < SIDE; c++) {
                    int v = quadrant(r, c) == cls ? 200 + rng.nextInt(56) : rng.nextInt(61);
                    px[i * SIDE * SIDE + r * SIDE + c] = (byte) v;
                }
            }
        }
        return new ImageSet("quadrants", n, SIDE, SIDE, px, labels);
    }

    /** Writes the MLP as a safetensors file and returns its path. */
    public static Path writeMlp(Path dir, long seed) throws IOException {
        Random rng = new Random(seed);
        int in = SIDE * SIDE;
        float[] w1 = new float[HIDDEN * in];
        float[] b1 = new float[HIDDEN];
        for (int h = 0; h < HIDDEN; h++) {
            for (int p = 0; p < in; p++) {
                boolean mine = quadrant(p / SIDE, p % SIDE) == h % CLASSES;
                w1[h * in + p] = (mine ? 0.25f : 0f) + (float) (rng.nextGaussian() * 0.02);
            }
        }
        float[] w2 = new float[CLASSES * HIDDEN];
        float[] b2 = new float[CLASSES];
        for (int c = 0; c < CLASSES; c++) {
            for (int h = 0; h < HIDDEN; h++) {
                w2[c * HIDDEN + h] = (h % CLASSES == c ? 0.5f : -0.1f) + (float) (rng.nextGaussian() * 0.02);
            }
        }
        Path file = dir.resolve("tiny-mlp.safetensors");
        SafetensorsWriter.write(file, List.of(
                Tensor.of("fc1.weight", w1, HIDDEN, in), Tensor.of("fc1.bias", b1, HIDDEN),
                Tensor.of("fc2.weight", w2, CLASSES, HIDDEN), Tensor.of("fc2.bias", b2, CLASSES)),
                Map.of(SafetensorsFormat.ARCH_KEY, MlpClassifier.ARCHITECTURE, MlpClassifier.LAYERS_KEY, "fc1,fc2",
                        MlpClassifier.INPUT_SCALE_KEY, Float.toString(1f / 255f),
                        MlpClassifier.CLASSES_KEY, "top-left,top-right,bottom-left,bottom-right"));
        return file;
    }

    /**
     * A three-layer version of {@link #writeMlp} (fc1 → fc2, a near-identity hidden layer → fc3), for tests that need
     * a job with several layers; returns its path.
     */
    public static Path writeDeepMlp(Path dir, long seed) throws IOException {
        Random rng = new Random(seed);
        int in = SIDE * SIDE;
        float[] w1 = new float[HIDDEN * in];
        for (int h = 0; h < HIDDEN; h++) {
            for (int p = 0; p < in; p++) {
                boolean mine = quadrant(p / SIDE, p % SIDE) == h % CLASSES;
                w1[h * in + p] = (mine ? 0.25f : 0f) + (float) (rng.nextGaussian() * 0.02);
            }
        }
        float[] w2 = new float[HIDDEN * HIDDEN];
        for (int i = 0; i < HIDDEN; i++) {
            for (int j = 0; j < HIDDEN; j++) {
                w2[i * HIDDEN + j] = (i == j ? 1f : 0f) + (float) (rng.nextGaussian() * 0.02);
            }
        }
        float[] w3 = new float[CLASSES * HIDDEN];
        for (int c = 0; c < CLASSES; c++) {
            for (int h = 0; h < HIDDEN; h++) {
                w3[c * HIDDEN + h] = (h % CLASSES == c ? 0.5f : -0.1f) + (float) (rng.nextGaussian() * 0.02);
            }
        }
        Path file = dir.resolve("tiny-deep-mlp.safetensors");
        SafetensorsWriter.write(file, List.of(
                Tensor.of("fc1.weight", w1, HIDDEN, in), Tensor.of("fc1.bias", new float[HIDDEN], HIDDEN),
                Tensor.of("fc2.weight", w2, HIDDEN, HIDDEN), Tensor.of("fc2.bias", new float[HIDDEN], HIDDEN),
                Tensor.of("fc3.weight", w3, CLASSES, HIDDEN), Tensor.of("fc3.bias", new float[CLASSES], CLASSES)),
                Map.of(SafetensorsFormat.ARCH_KEY, MlpClassifier.ARCHITECTURE, MlpClassifier.LAYERS_KEY, "fc1,fc2,fc3",
                        MlpClassifier.INPUT_SCALE_KEY, Float.toString(1f / 255f),
                        MlpClassifier.CLASSES_KEY, "top-left,top-right,bottom-left,bottom-right"));
        return file;
    }

    /** Writes an image set as two IDX files (images, labels), uncompressed. */
    public static Path[] writeIdx(Path dir, ImageSet set) throws IOException {
        Path images = dir.resolve("images-idx3-ubyte");
        Path labels = dir.resolve("labels-idx1-ubyte");
        try (OutputStream o = Files.newOutputStream(images); DataOutputStream out = new DataOutputStream(o)) {
            out.writeInt(0x0803);
            out.writeInt(set.count());
            out.writeInt(set.rows());
            out.writeInt(set.cols());
            out.write(set.pixels());
        }
        try (OutputStream o = Files.newOutputStream(labels); DataOutputStream out = new DataOutputStream(o)) {
            out.writeInt(0x0801);
            out.writeInt(set.count());
            out.write(set.labels());
        }
        return new Path[]{images, labels};
    }
}
