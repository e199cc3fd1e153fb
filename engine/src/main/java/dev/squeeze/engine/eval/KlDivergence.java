package dev.squeeze.engine.eval;

import dev.squeeze.engine.nn.llama.LlamaModel;

import java.util.Arrays;
import java.util.List;

/**
 * How far a compressed language model's predictions moved from the dense model's: the mean over positions of
 * {@code KL(P_dense ‖ Q) = Σ_v P(v) (log P(v) − log Q(v))}, in nats, with {@code P} and {@code Q} the two models'
 * next-token distributions given the same context. The positions are exactly those {@link Perplexity} counts
 * (the positions that predict a token, with the same windows and {@link Perplexity.Overflow}), and both
 * perplexities come out of the same pass.
 */
public final class KlDivergence {
    private KlDivergence() {
    }

    /**
     * @param meanKl    mean KL(P_dense ‖ Q) per position, nats
     * @param maxKl     the largest KL at one position
     * @param positions positions compared
     * @param dense     the dense model's perplexity on the same tokens
     * @param compared  the compared model's perplexity on the same tokens
     */
    public record Result(double meanKl, double maxKl, long positions, Perplexity.Result dense,
                         Perplexity.Result compared) {
    }

    /** With the dense model's context as the window and {@link Perplexity.Overflow#TRUNCATE}. */
    public static Result evaluate(LlamaModel dense, LlamaModel compared, List<int[]> sequences) {
        return evaluate(dense, compared, sequences, dense.config().maxSeqLen(), Perplexity.Overflow.TRUNCATE);
    }

    public static Result evaluate(LlamaModel dense, LlamaModel compared, List<int[]> sequences, int window,
                                  Perplexity.Overflow overflow) {
        if (dense.config().vocabSize() != compared.config().vocabSize()) {
            throw new IllegalArgumentException("the models have different vocabularies: "
                    + dense.config().vocabSize() + " and " + compared.config().vocabSize());
        }
        int w = Math.min(Perplexity.checkWindow(dense, window), compared.config().maxSeqLen());
        LlamaModel.State ps = dense.newState();
        LlamaModel.State qs = compared.newState();
        int vocab = dense.config().vocabSize();
        double klSum = 0;
        double klMax = 0;
        double nllP = 0;
        double nllQ = 0;
        long count = 0;
        for (int[] seq : sequences) {
            for (int[] span : Perplexity.spans(seq.length, w, overflow)) {
                int start = span[0];
                int end = span[1];
                ps.reset();
                qs.reset();
                for (int from = start; from < end; from += Perplexity.CHUNK) {
                    int to = Math.min(from + Perplexity.CHUNK, end);
                    int[] chunk = Arrays.copyOfRange(seq, from, to);
                    float[] p = dense.forward(chunk, from - start, ps);
                    float[] q = compared.forward(chunk, from - start, qs);
                    for (int i = from; i < to && i + 1 < end; i++) {
                        int row = (i - from) * vocab;
                        double lseP = Perplexity.logSumExp(p, row, vocab);
                        double lseQ = Perplexity.logSumExp(q, row, vocab);
                        double kl = 0;
                        for (int v = 0; v < vocab; v++) {
                            double lp = p[row + v] - lseP;
                            double lq = q[row + v] - lseQ;
                            kl += Math.exp(lp) * (lp - lq);
                        }
                        klSum += kl;
                        klMax = Math.max(klMax, kl);
                        nllP += lseP - p[row + seq[i + 1]];
                        nllQ += lseQ - q[row + seq[i + 1]];
                        count++;
                    }
                }
            }
        }
        return new Result(count == 0 ? Double.NaN : klSum / count, klMax, count,
                new Perplexity.Result(nllP, count), new Perplexity.Result(nllQ, count));
    }
}
