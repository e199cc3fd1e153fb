package dev.squeeze.engine.eval;

import java.util.List;

/**
 * Classification results on one image set.
 *
 * @param top1          fraction of images whose highest logit is the label
 * @param perClass      accuracy of each class (NaN for a class with no images)
 * @param classNames    names of the classes, same order
 */
public record ClassifierMetrics(int images, double top1, double[] perClass, List<String> classNames) {
    public ClassifierMetrics {
        perClass = perClass.clone();
        classNames = List.copyOf(classNames);
    }

    @Override
    public double[] perClass() {
        return perClass.clone();
    }
}
