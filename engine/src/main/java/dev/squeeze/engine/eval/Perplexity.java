package dev.squeeze.engine.eval;

import dev.squeeze.engine.nn.llama.LlamaModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Teacher-forced perplexity of a language model: {@code exp(mean over predicted tokens of −log p(token | the
 * earlier tokens of its sequence))}, natural logarithms, summed in double precision.
 * <p>
 * What is counted: every sequence (a story with BOS once at its start) is evaluated on its own, never with
 * another story in its context. Within a span evaluated with one KV cache, every token after the span's first
 * is predicted once; BOS itself is never predicted. A sequence no longer than the window ({@code w}, at most the
 * model's context) is one span and contributes {@code n − 1} predictions. A longer one is handled by
 * {@link Overflow}: {@link Overflow#TRUNCATE} (the default, and how the golden stories260K figure was made:
 * 12,802 tokens over the first 40 TinyStories stories) keeps only its first {@code w} tokens, {@code w − 1}
 * predictions; {@link Overflow#SPLIT} cuts it into spans {@code [0, w)}, {@code [w−1, 2w−1)}, … whose first
 * token (the previous span's last) is context only, so every token after BOS is predicted once,
 * {@code n − 1} in all.
 */
public final class Perplexity {
    /** Tokens run through the model at once inside a span; bounds the logits held ({@code CHUNK × vocab}). */
    static final int CHUNK = 128;

    /** What to do with a sequence longer than the window. */
    public enum Overflow {
        /** Evaluate its first {@code window} tokens only. */
        TRUNCATE,
        /** Evaluate all of it in consecutive spans of at most {@code window} tokens, each with a fresh cache. */
        SPLIT
    }

    private Perplexity() {
    }

    /**
     * @param nll    the summed negative log-likelihood, in nats
     * @param tokens the number of predicted tokens
     */
    public record Result(double nll, long tokens) {
        public double meanNll() {
            return tokens == 0 ? Double.NaN : nll / tokens;
        }

        public double perplexity() {
            return Math.exp(meanNll());
        }
    }

    /** Perplexity with the model's context as the window and {@link Overflow#TRUNCATE}. */
    public static Result evaluate(LlamaModel model, List<int[]> sequences) {
        return evaluate(model, sequences, model.config().maxSeqLen(), Overflow.TRUNCATE, () -> { });
    }

    /** As {@link #evaluate(LlamaModel, List)}, calling {@code beforeEach} before each sequence (it may throw to stop). */
    public static Result evaluate(LlamaModel model, List<int[]> sequences, Runnable beforeEach) {
        return evaluate(model, sequences, model.config().maxSeqLen(), Overflow.TRUNCATE, beforeEach);
    }

    /** @param window the longest span evaluated with one cache; at most the model's context length */
    public static Result evaluate(LlamaModel model, List<int[]> sequences, int window, Overflow overflow) {
        return evaluate(model, sequences, window, overflow, () -> { });
    }

    private static Result evaluate(LlamaModel model, List<int[]> sequences, int window, Overflow overflow,
                                   Runnable beforeEach) {
        int w = checkWindow(model, window);
        LlamaModel.State state = model.newState();
        int vocab = model.config().vocabSize();
        double nll = 0;
        long count = 0;
        for (int[] seq : sequences) {
            beforeEach.run();
            for (int[] span : spans(seq.length, w, overflow)) {
                int start = span[0];
                int end = span[1];
                state.reset();
                for (int from = start; from < end; from += CHUNK) {
                    int to = Math.min(from + CHUNK, end);
                    float[] logits = model.forward(Arrays.copyOfRange(seq, from, to), from - start, state);
                    for (int i = from; i < to && i + 1 < end; i++) {
                        int row = (i - from) * vocab;
                        nll += logSumExp(logits, row, vocab) - logits[row + seq[i + 1]];
                        count++;
                    }
                }
            }
        }
        return new Result(nll, count);
    }

    /** The number of predictions {@link #evaluate} makes for these sequences, without running a model. */
    public static long predictions(List<int[]> sequences, int window, Overflow overflow) {
        if (window < 2) {
            throw new IllegalArgumentException("a window must hold at least 2 tokens, got " + window);
        }
        long n = 0;
        for (int[] seq : sequences) {
            for (int[] span : spans(seq.length, window, overflow)) {
                n += span[1] - span[0] - 1;
            }
        }
        return n;
    }

    /** The {@code [start, end)} spans a sequence of {@code length} tokens is evaluated in. */
    static List<int[]> spans(int length, int window, Overflow overflow) {
        List<int[]> out = new ArrayList<>();
        if (length < 2) {
            return out;
        }
        if (overflow == Overflow.TRUNCATE) {
            out.add(new int[]{0, Math.min(length, window)});
            return out;
        }
        for (int start = 0; start + 1 < length; start += window - 1) {
            out.add(new int[]{start, Math.min(start + window, length)});
        }
        return out;
    }

    static int checkWindow(LlamaModel model, int window) {
        if (window < 2) {
            throw new IllegalArgumentException("a window must hold at least 2 tokens, got " + window);
        }
        return Math.min(window, model.config().maxSeqLen());
    }

    /** {@code log Σ exp(x[off .. off+n))}, in double. */
    static double logSumExp(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = off; i < off + n; i++) {
            max = Math.max(max, x[i]);
        }
        double sum = 0;
        for (int i = off; i < off + n; i++) {
            sum += Math.exp(x[i] - max);
        }
        return max + Math.log(sum);
    }
}
