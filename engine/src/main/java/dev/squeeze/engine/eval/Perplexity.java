package dev.squeeze.engine.eval;

import dev.squeeze.engine.nn.Parallelism;
import dev.squeeze.engine.nn.RowKernels;
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
 * <p>
 * How it runs: each span is one window through the model ({@link LlamaModel#embed}, {@link LlamaModel#block},
 * the head in chunks of rows). A model with small matrices ({@link LlamaModel#prefersSequenceParallelism()})
 * evaluates whole sequences on {@link Parallelism#threads()} threads; a large one evaluates them one after another
 * with the threads inside each window's products. Each sequence's NLL is summed on its own and the sums are added
 * in sequence order, so the result is the same for every thread count.
 */
public final class Perplexity {
    /** Tokens run through the model at once inside a span by {@link KlDivergence}; the least head rows at once. */
    static final int CHUNK = 128;
    /** Logits held at once by one evaluating thread: {@code max(CHUNK, HEAD_FLOATS / vocab)} rows. */
    private static final int HEAD_FLOATS = 1 << 22;

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
        int n = sequences.size();
        double[] nll = new double[n];
        long[] count = new long[n];
        if (model.prefersSequenceParallelism() && Parallelism.threads() > 1 && !Parallelism.inWorker()) {
            // Small matrices: whole sequences on separate threads, one state each. Sequences are claimed in order
            // under a lock, and beforeEach runs under it, so its calls come one at a time in sequence order.
            Object lock = new Object();
            int[] next = {0};
            Parallelism.forEach(Math.min(Parallelism.threads(), n), worker -> {
                Evaluator e = new Evaluator(model, w, overflow);
                while (true) {
                    int i;
                    synchronized (lock) {
                        i = next[0]++;
                        if (i >= n) {
                            return;
                        }
                        beforeEach.run();
                    }
                    e.sequence(sequences.get(i), nll, count, i);
                }
            });
        } else {
            // Large matrices: one sequence at a time, the threads inside each window's products.
            Evaluator e = new Evaluator(model, w, overflow);
            for (int i = 0; i < n; i++) {
                beforeEach.run();
                e.sequence(sequences.get(i), nll, count, i);
            }
        }
        // Summed in sequence order, so the result does not depend on which thread evaluated what.
        double total = 0;
        long tokens = 0;
        for (int i = 0; i < n; i++) {
            total += nll[i];
            tokens += count[i];
        }
        return new Result(total, tokens);
    }

    /** Evaluates sequences on one thread with one state: each span as one window, the head in chunks. */
    private static final class Evaluator {
        private final LlamaModel model;
        private final int window;
        private final Overflow overflow;
        private final LlamaModel.State state;
        private final int vocab;
        private final float[] logits;
        private final int headRows;

        Evaluator(LlamaModel model, int window, Overflow overflow) {
            this.model = model;
            this.window = window;
            this.overflow = overflow;
            this.state = model.newState();
            this.vocab = model.config().vocabSize();
            this.headRows = Math.max(CHUNK, HEAD_FLOATS / vocab);
            this.logits = new float[Math.min(headRows, window) * vocab];
        }

        void sequence(int[] seq, double[] nllOut, long[] countOut, int index) {
            double nll = 0;
            long count = 0;
            for (int[] span : spans(seq.length, window, overflow)) {
                int start = span[0];
                int end = span[1];
                int len = end - start;
                state.reset();
                float[] x = model.embed(Arrays.copyOfRange(seq, start, end));
                for (int l = 0; l < model.config().nLayers(); l++) {
                    model.block(l, x, len, 0, state);
                }
                for (int from = 0; from + 1 < len; from += headRows) {
                    // The last position predicts nothing inside the span: its logits are not computed.
                    int rows = Math.min(headRows, len - 1 - from);
                    model.head(x, from, rows, logits);
                    for (int r = 0; r < rows; r++) {
                        int row = r * vocab;
                        nll += RowKernels.logSumExp(logits, row, vocab) - logits[row + seq[start + from + r + 1]];
                        count++;
                    }
                }
            }
            nllOut[index] = nll;
            countOut[index] = count;
        }
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
