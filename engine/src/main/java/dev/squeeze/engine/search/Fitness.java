package dev.squeeze.engine.search;

/**
 * How good an assignment of levels is, lower is better: for a language model the mean KL divergence from the dense
 * model's next-token distributions (nats per position) on calibration tokens; for a classifier the mean KL of the
 * class distributions on calibration images. Never measured on the evaluation split.
 *
 * <p>Implementations draw their own calibration samples: {@code samples} tokens (or images) picked with
 * {@code sampleSeed}, so that the search can ask for fresh windows at each stage and the same seed gives the same
 * samples (determinism).
 */
public interface Fitness {
    /**
     * @param choice     the level index of each layer, in the order of the search's {@link LayerLevels} list
     * @param samples    how many calibration tokens (language models) or images (classifiers) to use, at least
     * @param sampleSeed picks which ones
     */
    double evaluate(int[] choice, long samples, long sampleSeed);
}
