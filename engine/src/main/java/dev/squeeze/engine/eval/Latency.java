package dev.squeeze.engine.eval;

import dev.squeeze.engine.nn.ImageClassifier;
import dev.squeeze.engine.nn.llama.LlamaModel;

import java.util.Arrays;

/**
 * How long a model takes to answer, stored with every run as the metric {@value #METRIC} (milliseconds, evaluation
 * split) so that the Pareto explorer can put speed on its x axis:
 * <ul>
 *   <li>language models: the median time of one <em>decode</em> step, batch 1 with the KV cache (what a user waits
 *       for per generated token), over the first tokens of the first evaluation sequence fed one at a time;</li>
 *   <li>classifiers: the median time of one batch of {@value #CLASSIFIER_BATCH} images.</li>
 * </ul>
 * Each measurement runs on the layers as the run evaluates them (packed kernels where a compressed kind has one),
 * after {@value #WARMUP} untimed calls, and stops after {@value #MAX_SAMPLES} timed calls or {@value #BUDGET_MS} ms,
 * whichever comes first (at least {@value #MIN_SAMPLES}). The machine is shared and noisy: the median, not the
 * mean, and runs compare best when measured on the same machine (the run's provenance names it).
 */
public final class Latency {
    /** The stored metric's name. */
    public static final String METRIC = "latency_ms";
    /** Images per timed classifier batch. */
    public static final int CLASSIFIER_BATCH = 64;
    static final int WARMUP = 2;
    static final int MIN_SAMPLES = 3;
    static final int MAX_SAMPLES = 32;
    static final long BUDGET_MS = 2_000;

    private Latency() {
    }

    /**
     * Median milliseconds of one decode step of {@code net}, feeding {@code tokens} (e.g. an evaluation story,
     * BOS first) one at a time from position 0. NaN when the sequence is too short to time even one step after
     * the warm-up.
     */
    public static double perToken(LlamaModel net, int[] tokens) {
        int steps = Math.min(tokens.length, Math.min(net.config().maxSeqLen(), WARMUP + MAX_SAMPLES));
        if (steps <= WARMUP) {
            return Double.NaN;
        }
        LlamaModel.State state = net.newState();
        double[] samples = new double[steps - WARMUP];
        int n = 0;
        long deadline = System.nanoTime() + BUDGET_MS * 1_000_000;
        for (int pos = 0; pos < steps; pos++) {
            long t0 = System.nanoTime();
            net.forward(tokens[pos], pos, state);
            long t1 = System.nanoTime();
            if (pos >= WARMUP) {
                samples[n++] = (t1 - t0) / 1e6;
                if (n >= MIN_SAMPLES && t1 > deadline) {
                    break;
                }
            }
        }
        return median(samples, n);
    }

    /** Median milliseconds of one batch of up to {@value #CLASSIFIER_BATCH} of the given images (raw values). */
    public static double perBatch(ImageClassifier net, float[] images, int count) {
        int batch = Math.min(CLASSIFIER_BATCH, count);
        if (batch <= 0) {
            return Double.NaN;
        }
        float[] in = Arrays.copyOf(images, batch * net.inputSize());
        for (int i = 0; i < WARMUP; i++) {
            net.logits(in, batch);
        }
        double[] samples = new double[MAX_SAMPLES];
        int n = 0;
        long deadline = System.nanoTime() + BUDGET_MS * 1_000_000;
        while (n < MAX_SAMPLES) {
            long t0 = System.nanoTime();
            net.logits(in, batch);
            long t1 = System.nanoTime();
            samples[n++] = (t1 - t0) / 1e6;
            if (n >= MIN_SAMPLES && t1 > deadline) {
                break;
            }
        }
        return median(samples, n);
    }

    static double median(double[] values, int n) {
        if (n == 0) {
            return Double.NaN;
        }
        double[] sorted = Arrays.copyOf(values, n);
        Arrays.sort(sorted);
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
