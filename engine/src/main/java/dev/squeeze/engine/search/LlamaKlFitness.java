package dev.squeeze.engine.search;

import dev.squeeze.engine.data.text.CalibrationWindows;
import dev.squeeze.engine.nn.RowKernels;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.Parallelism;
import dev.squeeze.engine.nn.llama.LlamaModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The fitness of a language model's assignment: the mean over predicted positions of {@code KL(P_dense ‖ Q)} (nats),
 * token-weighted, every position of a window but the last (EvoPress's fitness), on calibration windows of the
 * subject's window length drawn with {@link CalibrationWindows} from the calibration sequences only (stories 1–500)
 * with the given seed: {@code ceil(samples / windowTokens)} windows, at least one.
 *
 * <p>The dense model's side of each window set is computed once and kept (the last {@value #KEPT_SETS} window sets):
 * its logits and probabilities, either all of them ({@code 2 × positions × vocab} floats) or, when that would exceed the memory
 * bound, only the top {@code K} per position with the rest of the mass in one bucket (the reference's
 * {@code sparse_kl}: {@code Σ_{v∈K} p_v (log p_v − log q_v) + p_rest (log p_rest − log q_rest)}, the KL of the
 * distributions coarsened to K tokens and "other": a lower bound of the full KL, equal to it when K = vocab). It also
 * keeps the dense hidden states at every block's input (when they fit the same bound), so an assignment whose first
 * compressed layer is in block {@code b} runs only blocks {@code b..} and the head: a one-layer change (the
 * sensitivity analysis) costs on average half a forward pass.
 *
 * <p>Windows run on separate threads ({@link Parallelism}) when the model prefers it (small matrices), else one after
 * another with the threads inside the products; sums are combined in window order, so the result does not depend on
 * the thread count. The all-dense assignment has fitness exactly 0.
 */
public final class LlamaKlFitness implements Fitness {
    /** Default bound on the floats kept per window set (dense log-probabilities and hidden states): 256 MiB. */
    public static final long DEFAULT_MEMORY_BYTES = 256L << 20;
    /** Top-K used when the full log-probabilities do not fit the bound. */
    public static final int DEFAULT_TOP_K = 256;
    private static final int KEPT_SETS = 2;

    private final LevelDatabase db;
    private final SearchSubject.Language subject;
    private final LlamaModel dense;
    private final int topK;
    private final long memoryBytes;
    private final LinkedHashMap<String, Reference> references = new LinkedHashMap<>();

    /** Full dense log-probabilities when they fit {@link #DEFAULT_MEMORY_BYTES}, else the top {@value #DEFAULT_TOP_K}. */
    public LlamaKlFitness(LevelDatabase db) {
        this(db, 0, DEFAULT_MEMORY_BYTES);
    }

    /**
     * @param topK        dense log-probabilities kept per position: 0 chooses (all when they fit {@code memoryBytes},
     *                    else {@link #DEFAULT_TOP_K}); {@code K ≥ vocab} keeps all; {@code 1 ≤ K < vocab} keeps the top K
     * @param memoryBytes bound on what is kept per window set
     */
    public LlamaKlFitness(LevelDatabase db, int topK, long memoryBytes) {
        this.db = Objects.requireNonNull(db, "db");
        if (!(db.subject() instanceof SearchSubject.Language lang)) {
            throw new IllegalArgumentException("LlamaKlFitness needs a language-model subject, not "
                    + db.subject().getClass().getSimpleName());
        }
        if (topK < 0 || memoryBytes <= 0) {
            throw new IllegalArgumentException("topK must be ≥ 0 and the memory bound positive");
        }
        this.subject = lang;
        this.dense = lang.dense();
        this.topK = topK;
        this.memoryBytes = memoryBytes;
    }

    /** The windows {@link #evaluate} uses for these arguments (token ids from the calibration sequences only). */
    public List<int[]> windows(long samples, long sampleSeed) {
        int t = subject.windowTokens();
        long count = Math.max(1, (samples + t - 1) / t);
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(samples + " samples is too many");
        }
        return CalibrationWindows.sample(subject.calibration(), (int) count, t, sampleSeed);
    }

    /** How many dense log-probabilities per position {@link #evaluate} keeps for these arguments (vocab: all). */
    public int keptPerPosition(long samples, long sampleSeed) {
        return reference(samples, sampleSeed).k;
    }

    @Override
    public double evaluate(int[] choice, long samples, long sampleSeed) {
        Map<String, LinearOp> ops = db.ops(choice);
        if (ops.isEmpty()) {
            return 0.0;
        }
        int first = Integer.MAX_VALUE;
        for (String layer : ops.keySet()) {
            first = Math.min(first, subject.blockOf(layer));
        }
        return kl(dense.withLinears(ops), first, samples, sampleSeed);
    }

    /**
     * The same measure for any network with the dense model's architecture whose blocks before {@code firstBlock}
     * are dense (0: any network).
     */
    public double kl(LlamaModel network, int firstBlock, long samples, long sampleSeed) {
        Reference ref = reference(samples, sampleSeed);
        int n = ref.windows.size();
        double[] sums = new double[n];
        long[] counts = new long[n];
        if (network.prefersSequenceParallelism()) {
            Parallelism.forEach(n, i -> window(network, ref, i, firstBlock, sums, counts));
        } else {
            for (int i = 0; i < n; i++) {
                window(network, ref, i, firstBlock, sums, counts);
            }
        }
        double sum = 0;
        long count = 0;
        for (int i = 0; i < n; i++) {
            sum += sums[i];
            count += counts[i];
        }
        return sum / count;
    }

    private void window(LlamaModel net, Reference ref, int i, int firstBlock, double[] sums, long[] counts) {
        int[] tokens = ref.windows.get(i);
        int len = tokens.length;
        int dim = dense.config().dim();
        int vocab = dense.config().vocabSize();
        float[] x;
        int from;
        if (ref.hidden != null && firstBlock > 0) {
            from = Math.min(firstBlock, dense.config().nLayers());
            x = Arrays.copyOf(ref.hidden[i][from], len * dim);
        } else {
            from = 0;
            x = net.embed(tokens);
        }
        LlamaModel.State state = net.newState();
        for (int b = from; b < dense.config().nLayers(); b++) {
            state.reset();
            net.block(b, x, len, 0, state);
        }
        float[] logits = new float[(len - 1) * vocab];
        net.head(x, 0, len - 1, logits);
        double sum = 0;
        for (int t = 0; t < len - 1; t++) {
            sum += ref.kl(i, t, logits, t * vocab, vocab);
        }
        sums[i] = sum;
        counts[i] = len - 1;
    }

    private synchronized Reference reference(long samples, long seed) {
        String id = samples + "/" + seed;
        Reference r = references.remove(id);
        if (r == null) {
            r = new Reference(windows(samples, seed));
            while (references.size() >= KEPT_SETS) {
                references.remove(references.keySet().iterator().next());
            }
        }
        references.put(id, r);
        return r;
    }

    /** The dense model's side of one window set. */
    private final class Reference {
        final List<int[]> windows;
        final int k;
        /**
         * Full mode: [window][position × vocab] raw logits and probabilities, and per position the log of the
         * normaliser. Each KL term is {@code p_v ((x_v − lse_x) − (y_v − lse_y))} in double, the logit difference taken
         * first: no cancellation between large sums when the two models are close.
         */
        final float[][] logit;
        final float[][] prob;
        final double[][] lse;
        /**
         * Top-K mode: [window][position × k] token ids and raw logits, per position the log of the normaliser and
         * of the rest's mass.
         */
        final int[][] topIds;
        final float[][] topLogit;
        final double[][] topLse;
        final double[][] restLogp;
        /** [window][block][tokens × dim]: dense hidden states at each block's input, or null when they do not fit. */
        final float[][][] hidden;

        Reference(List<int[]> windows) {
            this.windows = windows;
            int vocab = dense.config().vocabSize();
            int dim = dense.config().dim();
            int layers = dense.config().nLayers();
            long positions = windows.stream().mapToLong(w -> w.length - 1).sum();
            long tokens = windows.stream().mapToLong(w -> w.length).sum();
            int chosen;
            if (topK == 0) {
                chosen = positions * vocab * 8L <= memoryBytes ? vocab : Math.min(vocab, DEFAULT_TOP_K);
            } else {
                chosen = Math.min(topK, vocab);
            }
            this.k = chosen;
            boolean full = chosen == vocab;
            long kept = full ? positions * vocab * 8L : positions * chosen * 8L + positions * 8L;
            boolean keepHidden = kept + tokens * dim * (long) layers * 4L <= memoryBytes;
            int n = windows.size();
            logit = full ? new float[n][] : null;
            prob = full ? new float[n][] : null;
            lse = full ? new double[n][] : null;
            topIds = full ? null : new int[n][];
            topLogit = full ? null : new float[n][];
            topLse = full ? null : new double[n][];
            restLogp = full ? null : new double[n][];
            hidden = keepHidden ? new float[n][][] : null;
            Parallelism.forEach(n, i -> denseWindow(i, vocab, dim, layers));
        }

        private void denseWindow(int i, int vocab, int dim, int layers) {
            int[] w = windows.get(i);
            int len = w.length;
            float[] x = dense.embed(w);
            LlamaModel.State s = dense.newState();
            if (hidden != null) {
                hidden[i] = new float[layers][];
            }
            for (int b = 0; b < layers; b++) {
                if (hidden != null) {
                    hidden[i][b] = x.clone();
                }
                s.reset();
                dense.block(b, x, len, 0, s);
            }
            float[] logits = new float[(len - 1) * vocab];
            dense.head(x, 0, len - 1, logits);
            if (prob != null) {
                float[] p = new float[logits.length];
                double[] norm = new double[len - 1];
                for (int t = 0; t < len - 1; t++) {
                    double z = RowKernels.logSumExp(logits, t * vocab, vocab);
                    norm[t] = z;
                    for (int v = t * vocab; v < (t + 1) * vocab; v++) {
                        p[v] = (float) Math.exp(logits[v] - z);
                    }
                }
                logit[i] = logits;
                prob[i] = p;
                lse[i] = norm;
                return;
            }
            double[] norm = new double[len - 1];
            for (int t = 0; t < len - 1; t++) {
                norm[t] = RowKernels.logSumExp(logits, t * vocab, vocab);
            }
            int[] ids = new int[(len - 1) * k];
            float[] lp = new float[(len - 1) * k];
            double[] rest = new double[len - 1];
            Integer[] order = new Integer[vocab];
            for (int t = 0; t < len - 1; t++) {
                int row = t * vocab;
                for (int v = 0; v < vocab; v++) {
                    order[v] = v;
                }
                // Largest first; ties by token id, so the choice is deterministic.
                Arrays.sort(order, (a, b) -> {
                    int c = Float.compare(logits[row + b], logits[row + a]);
                    return c != 0 ? c : Integer.compare(a, b);
                });
                double mass = 0;
                for (int j = 0; j < k; j++) {
                    ids[t * k + j] = order[j];
                    lp[t * k + j] = logits[row + order[j]];
                    mass += Math.exp(logits[row + order[j]] - norm[t]);
                }
                rest[t] = mass >= 1 ? Double.NEGATIVE_INFINITY : Math.log1p(-mass);
            }
            topIds[i] = ids;
            topLogit[i] = lp;
            topLse[i] = norm;
            restLogp[i] = rest;
        }

        /** KL(P_dense ‖ Q) at position t of window i, Q from the compared model's raw logits at {@code q[off..]}. */
        double kl(int i, int t, float[] q, int off, int vocab) {
            double lseQ = RowKernels.logSumExp(q, off, vocab);
            if (prob != null) {
                float[] x = logit[i];
                float[] p = prob[i];
                int row = t * vocab;
                double shift = lseQ - lse[i][t];
                double kl = 0;
                for (int v = 0; v < vocab; v++) {
                    kl += p[row + v] * ((double) x[row + v] - q[off + v] + shift);
                }
                return kl;
            }
            double kl = 0;
            double qMass = 0;
            double shift = lseQ - topLse[i][t];
            for (int j = 0; j < k; j++) {
                float x = topLogit[i][t * k + j];
                float y = q[off + topIds[i][t * k + j]];
                kl += Math.exp(x - topLse[i][t]) * ((double) x - y + shift);
                qMass += Math.exp(y - lseQ);
            }
            double restP = restLogp[i][t];
            if (restP != Double.NEGATIVE_INFINITY) {
                double restQ = qMass >= 1 ? Math.log(Double.MIN_NORMAL) : Math.log1p(-qMass);
                kl += Math.exp(restP) * (restP - restQ);
            }
            return kl;
        }
    }

    /** The layers of the database this fitness reads (for callers that build choices by name). */
    public List<String> layerNames() {
        List<String> out = new ArrayList<>();
        db.layers().forEach(l -> out.add(l.layer()));
        return out;
    }
}
