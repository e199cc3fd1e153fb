package dev.squeeze.engine.eval;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.nn.ImageClassifier;

/** Top-1 and per-class accuracy of a classifier on an image set. */
public final class ClassifierEvaluator {
    private static final int BATCH = 256;

    private ClassifierEvaluator() {
    }

    /** Reports evaluation progress: {@code done} of {@code total} images; may throw to stop the evaluation. */
    @FunctionalInterface
    public interface Progress {
        void images(long done, long total);
    }

    public static ClassifierMetrics evaluate(ImageClassifier net, ImageSet images) {
        return evaluate(net, images, (done, total) -> { });
    }

    /** As {@link #evaluate(ImageClassifier, ImageSet)}, calling {@code progress} before each batch and at the end. */
    public static ClassifierMetrics evaluate(ImageClassifier net, ImageSet images, Progress progress) {
        if (images.imageSize() != net.inputSize()) {
            throw new SqueezeException("Image set " + images.name() + " has " + images.rows() + "×" + images.cols()
                    + " images but the model takes " + net.inputSize() + " inputs", "evaluate on matching data");
        }
        int classes = net.classNames().size();
        long[] seen = new long[classes];
        long[] right = new long[classes];
        long correct = 0;
        for (int from = 0; from < images.count(); from += BATCH) {
            progress.images(from, images.count());
            int n = Math.min(BATCH, images.count() - from);
            float[] logits = net.logits(images.batch(from, n), n);
            for (int i = 0; i < n; i++) {
                int best = argmax(logits, i * classes, classes);
                int label = images.label(from + i);
                if (label >= classes) {
                    throw new SqueezeException("Image " + (from + i) + " of " + images.name() + " has label " + label
                            + " but the model has " + classes + " classes", "evaluate on matching data");
                }
                seen[label]++;
                if (best == label) {
                    right[label]++;
                    correct++;
                }
            }
        }
        progress.images(images.count(), images.count());
        double[] perClass = new double[classes];
        for (int c = 0; c < classes; c++) {
            perClass[c] = seen[c] == 0 ? Double.NaN : (double) right[c] / seen[c];
        }
        return new ClassifierMetrics(images.count(), (double) correct / images.count(), perClass, net.classNames());
    }

    /** Index of the largest value; the first one wins a tie. */
    static int argmax(float[] v, int offset, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (v[offset + i] > v[offset + best]) {
                best = i;
            }
        }
        return best;
    }
}
