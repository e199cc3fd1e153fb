package dev.squeeze.engine.search;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.ImageSet;

import java.util.Arrays;

/**
 * How a classifier's evaluation image set is split for a search, so that selection never sees the images it
 * reports on: the LAST fifth by index calibrates (sensitivity, fitness), the first four fifths evaluate (runs
 * produced by a search and the uniform baselines they are compared to). With {@code n} images the evaluation part
 * is images {@code [0, n − n/5)} and the calibration part {@code [n − n/5, n)}; e.g. MNIST's 10 000 test images give
 * 8 000 and 2 000.
 */
public final class ImageSplit {
    /** The name this split is recorded under in a run's provenance. */
    public static final String NAME = "first four fifths by index (last fifth calibrates the search)";

    private ImageSplit() {
    }

    /** Images in the calibration part of a set of {@code count}: {@code count / 5}. */
    public static int calibrationCount(int count) {
        return count / 5;
    }

    /** The last fifth of {@code images} by index. */
    public static ImageSet calibration(ImageSet images) {
        int n = calibrationCount(images.count());
        if (n < 1) {
            throw new SqueezeException("Image set " + images.name() + " has " + images.count()
                    + " images, too few to set a fifth apart for calibration", "use a set of at least 5 images");
        }
        return slice(images, images.count() - n, images.count(), "calibration");
    }

    /** The first four fifths of {@code images} by index. */
    public static ImageSet evaluation(ImageSet images) {
        int n = calibrationCount(images.count());
        if (n < 1) {
            throw new SqueezeException("Image set " + images.name() + " has " + images.count()
                    + " images, too few to set a fifth apart for calibration", "use a set of at least 5 images");
        }
        return slice(images, 0, images.count() - n, "evaluation");
    }

    private static ImageSet slice(ImageSet images, int from, int to, String part) {
        int size = images.imageSize();
        return new ImageSet(images.name() + "[" + from + ":" + to + "] (" + part + ")", to - from, images.rows(),
                images.cols(), Arrays.copyOfRange(images.pixels(), from * size, to * size),
                Arrays.copyOfRange(images.labels(), from, to));
    }
}
