package dev.squeeze.engine.search;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.nn.ImageClassifier;
import dev.squeeze.engine.nn.RowKernels;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Random;

/**
 * The fitness of a classifier's assignment: the mean over calibration images of {@code KL(P_dense ‖ Q)} between the
 * class distributions (softmax of the logits), in nats. The images come from the subject's calibration part (the
 * last fifth of the evaluation set, {@link ImageSplit}): all of them when {@code samples} is at least their number,
 * else {@code samples} of them drawn without replacement with the seed. The dense model's class probabilities of a
 * sample are computed once and kept (the last {@value #KEPT_SETS} samples). {@link #top1} gives the top-1 accuracy
 * on the same images (the sensitivity's Δtop-1). The all-dense assignment has fitness exactly 0.
 */
public final class ClassifierKlFitness implements Fitness {
    private static final int KEPT_SETS = 2;
    private static final int BATCH = 256;

    private final LevelDatabase db;
    private final SearchSubject.Classifier subject;
    private final LinkedHashMap<String, Reference> references = new LinkedHashMap<>();

    public ClassifierKlFitness(LevelDatabase db) {
        this.db = Objects.requireNonNull(db, "db");
        if (!(db.subject() instanceof SearchSubject.Classifier c)) {
            throw new IllegalArgumentException("ClassifierKlFitness needs a classifier subject, not "
                    + db.subject().getClass().getSimpleName());
        }
        this.subject = c;
    }

    /** The calibration image indices {@link #evaluate} uses for these arguments (into the calibration part). */
    public int[] sample(long samples, long sampleSeed) {
        int n = subject.calibration().count();
        if (samples >= n) {
            int[] all = new int[n];
            for (int i = 0; i < n; i++) {
                all[i] = i;
            }
            return all;
        }
        int k = (int) Math.max(1, samples);
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        Random random = new Random(sampleSeed);
        for (int i = 0; i < k; i++) {
            int j = i + random.nextInt(n - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        int[] out = java.util.Arrays.copyOf(idx, k);
        java.util.Arrays.sort(out);
        return out;
    }

    @Override
    public double evaluate(int[] choice, long samples, long sampleSeed) {
        Map<String, CompressedTensor> tensors = db.tensors(choice);
        if (tensors.isEmpty()) {
            return 0.0;
        }
        return measure(tensors, samples, sampleSeed)[0];
    }

    /** Top-1 accuracy (0–1) of the assignment on the same images as {@link #evaluate}. */
    public double top1(int[] choice, long samples, long sampleSeed) {
        Map<String, CompressedTensor> tensors = db.tensors(choice);
        if (tensors.isEmpty()) {
            return reference(samples, sampleSeed).top1;
        }
        return measure(tensors, samples, sampleSeed)[1];
    }

    /** {mean KL, top-1 accuracy} of the classifier with these layers replaced. */
    public double[] measure(Map<String, ? extends CompressedTensor> tensors, long samples, long sampleSeed) {
        Reference ref = reference(samples, sampleSeed);
        ImageClassifier net = subject.network(tensors);
        try {
            float[] logits = logits(net, ref.images);
            int classes = ref.classes;
            double kl = 0;
            int correct = 0;
            for (int i = 0; i < ref.images.count(); i++) {
                int row = i * classes;
                double lse = RowKernels.logSumExp(logits, row, classes);
                double sum = 0;
                int best = 0;
                for (int c = 0; c < classes; c++) {
                    double lp = ref.logp[row + c];
                    sum += Math.exp(lp) * (lp - (logits[row + c] - lse));
                    if (logits[row + c] > logits[row + best]) {
                        best = c;
                    }
                }
                kl += sum;
                if (best == ref.images.label(i)) {
                    correct++;
                }
            }
            return new double[]{kl / ref.images.count(), (double) correct / ref.images.count()};
        } finally {
            if (!tensors.isEmpty() && net instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // A runtime session that fails to close holds memory only; the subject closes it again.
                }
            }
        }
    }

    private static float[] logits(ImageClassifier net, ImageSet images) {
        float[] out = null;
        int classes = -1;
        for (int from = 0; from < images.count(); from += BATCH) {
            int n = Math.min(BATCH, images.count() - from);
            float[] l = net.logits(images.batch(from, n), n);
            if (out == null) {
                classes = l.length / n;
                out = new float[images.count() * classes];
            }
            System.arraycopy(l, 0, out, from * classes, l.length);
        }
        return out;
    }

    private synchronized Reference reference(long samples, long seed) {
        String id = samples + "/" + seed;
        Reference r = references.remove(id);
        if (r == null) {
            r = new Reference(sample(samples, seed));
            while (references.size() >= KEPT_SETS) {
                references.remove(references.keySet().iterator().next());
            }
        }
        references.put(id, r);
        return r;
    }

    /** The dense classifier's log-probabilities on one sample of calibration images. */
    private final class Reference {
        final ImageSet images;
        final float[] logp;
        final int classes;
        final double top1;

        Reference(int[] indices) {
            ImageSet all = subject.calibration();
            int size = all.imageSize();
            byte[] pixels = new byte[indices.length * size];
            byte[] labels = new byte[indices.length];
            for (int i = 0; i < indices.length; i++) {
                System.arraycopy(all.pixels(), indices[i] * size, pixels, i * size, size);
                labels[i] = all.labels()[indices[i]];
            }
            images = new ImageSet(all.name() + " sample", indices.length, all.rows(), all.cols(), pixels, labels);
            float[] l = logits(subject.dense(), images);
            classes = l.length / indices.length;
            int correct = 0;
            for (int i = 0; i < indices.length; i++) {
                int row = i * classes;
                double lse = RowKernels.logSumExp(l, row, classes);
                int best = 0;
                for (int c = 0; c < classes; c++) {
                    if (l[row + c] > l[row + best]) {
                        best = c;
                    }
                }
                for (int c = 0; c < classes; c++) {
                    l[row + c] = (float) (l[row + c] - lse);
                }
                if (best == images.label(i)) {
                    correct++;
                }
            }
            logp = l;
            top1 = (double) correct / indices.length;
        }
    }
}
