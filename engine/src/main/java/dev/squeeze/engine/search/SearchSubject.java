package dev.squeeze.engine.search;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.data.EvaluationData;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.data.text.CalibrationWindows;
import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.jobs.JobExecution;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.StoredSizes;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.ImageClassifier;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.runs.BlockStreamedCompression;
import dev.squeeze.engine.runs.ClassifierSubject;
import dev.squeeze.engine.util.Hashing;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * What a search works on: a model, its searched linears, and the calibration data the levels, the sensitivity and
 * the fitness are computed from (never the evaluation split). Two kinds: {@link Language} (Llama family, calibrated
 * on TinyStories stories 1–500) and {@link Classifier} (Squeeze MLPs and ONNX classifiers, calibrated on the last
 * fifth of their evaluation images, {@link ImageSplit}; data-free methods only).
 */
public sealed interface SearchSubject extends AutoCloseable permits SearchSubject.Language, SearchSubject.Classifier {

    /**
     * One searched linear.
     *
     * @param layer     the canonical layer name
     * @param tensor    the name of the stored weight tensor it replaces
     * @param rows      out features
     * @param cols      in features
     * @param denseBits the weight's bits as stored in the model file (fp32: 32 per weight)
     */
    record Linear(String layer, String tensor, int rows, int cols, long denseBits) {
    }

    /** Receives the Hessians of one group of layers (Llama: one decoder block) while they are in memory. */
    @FunctionalInterface
    interface HessianConsumer {
        /**
         * @param layers    the group's layers that were asked for
         * @param hessianOf a fresh {@code cols × cols} array per call, or null when there is no calibration data
         */
        void accept(List<String> layers, Function<String, float[]> hessianOf);
    }

    Model model();

    /** The model's content hash (SHA-256 of its file). */
    default String modelHash() {
        return model().contentHash();
    }

    /** Every searched linear, in forward order. */
    List<Linear> linears();

    /** The float32 weights of a searched linear ({@code rows × cols}, a new array). */
    float[] weights(String layer);

    /** Whether layer Hessians can be collected (language models: yes; classifiers: no, data-free methods only). */
    boolean hasCalibrationData();

    /**
     * SHA-256 of the calibration data (token ids of every calibration sequence, or the calibration images and their
     * labels) and how the Hessians are drawn from it: what the level database and the sensitivity cache are keyed by.
     */
    String calibrationHash();

    /**
     * Collects the Hessians of {@code layers} from the DENSE model (every level of every layer is compressed from the
     * same statistics, as EvoPress does) and hands them to {@code consumer} group by group; a group's Hessians are
     * dropped when the consumer returns. Groups without a requested layer are skipped, and no forward pass runs past
     * the last block with one. Without calibration data: one call with every requested layer and null Hessians.
     */
    void hessians(Set<String> layers, HessianConsumer consumer, BooleanSupplier cancelled);

    @Override
    default void close() {
    }

    /** The subject of a model: a Llama-family model with TinyStories calibration text, or a classifier. */
    static SearchSubject of(Model model, ImageSet evaluationImages) {
        if (LlamaConfig.ARCHITECTURE.equals(model.architecture())) {
            return Language.of(model);
        }
        if (evaluationImages == null) {
            throw new SqueezeException("No images to calibrate classifier " + model.source() + " on",
                    "give the model's evaluation images (--images/--labels); the last fifth of them calibrates");
        }
        return new Classifier(ClassifierSubject.of(model), evaluationImages);
    }

    /** The bits a stored tensor of {@code model} takes in its file (the weight at its stored type). */
    private static long denseBits(Model model, Tensor t) {
        return 8L * StoredSizes.of(model, t);
    }

    /**
     * A Llama-family language model with its calibration sequences (token ids of the calibration stories). Level
     * Hessians come from {@code hessianWindows} windows of {@code windowTokens} tokens drawn with {@code hessianSeed}
     * (the job rules: 32 × 256, seed 0); the fitness draws its own windows from the same sequences.
     */
    final class Language implements SearchSubject {
        private final Model model;
        private final LlamaConfig config;
        private final LlamaModel dense;
        private final List<int[]> calibration;
        private final int hessianWindows;
        private final int windowTokens;
        private final long hessianSeed;
        private final List<Linear> linears;
        private final String calibrationHash;

        /**
         * @param calibration    token sequences of the calibration split only (stories 1–500)
         * @param hessianWindows windows the level Hessians are collected on
         * @param windowTokens   tokens per window (Hessians and fitness)
         * @param hessianSeed    the seed of the Hessian windows
         */
        public Language(Model model, List<int[]> calibration, int hessianWindows, int windowTokens,
                        long hessianSeed) {
            this.model = model;
            this.config = LlamaConfig.fromMetadata(model);
            this.dense = LlamaModel.from(model, config);
            this.calibration = List.copyOf(calibration);
            if (this.calibration.isEmpty()) {
                throw new SqueezeException("No calibration text for " + model.source(),
                        "a search needs the calibration stories (TinyStories 1–500)");
            }
            if (hessianWindows < 1 || windowTokens < 2 || windowTokens > config.maxSeqLen()) {
                throw new IllegalArgumentException("need ≥ 1 Hessian window of 2.." + config.maxSeqLen()
                        + " tokens, got " + hessianWindows + " × " + windowTokens);
            }
            this.hessianWindows = hessianWindows;
            this.windowTokens = windowTokens;
            this.hessianSeed = hessianSeed;
            List<Linear> ls = new ArrayList<>();
            for (int b = 0; b < config.nLayers(); b++) {
                for (String n : BlockStreamedCompression.blockLinears(b)) {
                    Tensor t = model.tensor(n + ".weight");
                    ls.add(new Linear(n, t.name(), (int) t.dim(0), (int) t.dim(1), denseBits(model, t)));
                }
            }
            this.linears = List.copyOf(ls);
            MessageDigest md = sha256();
            md.update(("windows " + hessianWindows + "x" + windowTokens + " seed " + hessianSeed + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            ByteBuffer buf = ByteBuffer.allocate(4);
            for (int[] seq : this.calibration) {
                buf.clear();
                buf.putInt(seq.length);
                md.update(buf.array());
                ByteBuffer b = ByteBuffer.allocate(4 * seq.length);
                b.asIntBuffer().put(seq);
                md.update(b.array());
            }
            this.calibrationHash = HexFormat.of().formatHex(md.digest());
        }

        /**
         * The standard subject: TinyStories stories 1–500 ({@link DataSplit#TINYSTORIES_1K}) with the model's
         * tokenizer, Hessians on 32 windows of 256 tokens, seed 0 (as every job calibrates).
         */
        public static Language of(Model model) {
            TextEvaluation text = EvaluationData.textFor(model).orElseThrow(() -> new SqueezeException(
                    "No calibration text for " + model.source() + ": it needs TinyStories ("
                            + EvaluationData.describeSearch(EvaluationData.TINYSTORIES) + ") and its tokenizer",
                    "put the data in one of those places, or set SQUEEZE_DATA"));
            List<int[]> seqs = text.corpus().tokens(DataSplit.TINYSTORIES_1K.calibration(), text.tokenizer());
            return new Language(model, seqs, 32, JobExecution.WINDOW_TOKENS, 0L);
        }

        @Override
        public Model model() {
            return model;
        }

        public LlamaConfig config() {
            return config;
        }

        /** The dense network (shared; immutable). */
        public LlamaModel dense() {
            return dense;
        }

        /** The calibration token sequences (stories 1–500 for the standard subject). */
        public List<int[]> calibration() {
            return calibration;
        }

        public int windowTokens() {
            return windowTokens;
        }

        /** The network with the given layers replaced by compressed tensors; the others dense. */
        public LlamaModel network(Map<String, ? extends CompressedTensor> compressed) {
            Map<String, LinearOp> ops = new LinkedHashMap<>();
            compressed.forEach((l, c) -> ops.put(l, c.asLinearOp()));
            return ops.isEmpty() ? dense : dense.withLinears(ops);
        }

        @Override
        public List<Linear> linears() {
            return linears;
        }

        @Override
        public float[] weights(String layer) {
            return model.tensor(layer + ".weight").floats();
        }

        @Override
        public boolean hasCalibrationData() {
            return true;
        }

        @Override
        public String calibrationHash() {
            return calibrationHash;
        }

        /** The windows the level Hessians are collected on. */
        public List<int[]> hessianWindows() {
            return CalibrationWindows.sample(calibration, hessianWindows, windowTokens, hessianSeed);
        }

        @Override
        public void hessians(Set<String> layers, HessianConsumer consumer, BooleanSupplier cancelled) {
            int last = -1;
            for (int b = 0; b < config.nLayers(); b++) {
                for (String n : BlockStreamedCompression.blockLinears(b)) {
                    if (layers.contains(n)) {
                        last = b;
                    }
                }
            }
            if (last < 0) {
                return;
            }
            List<int[]> windows = hessianWindows();
            float[][] hidden = new float[windows.size()][];
            for (int i = 0; i < windows.size(); i++) {
                hidden[i] = dense.embed(windows.get(i));
            }
            for (int b = 0; b <= last; b++) {
                checkCancelled(cancelled);
                List<String> wanted = BlockStreamedCompression.blockLinears(b).stream().filter(layers::contains).toList();
                Map<String, HessianAccumulator> acc = new HashMap<>();
                LlamaModel.State state = dense.newState();
                LlamaModel listening = wanted.isEmpty() ? dense : dense.withListener((layer, x, rows, cols) -> {
                    String key = BlockStreamedCompression.inputOf(layer);
                    // q/k/v (and gate/up) see the same input: one accumulator, fed once per window by its first user.
                    if (wanted.stream().anyMatch(w -> BlockStreamedCompression.inputOf(w).equals(key)) && firstOfInput(layer)) {
                        acc.computeIfAbsent(key, k -> new HessianAccumulator(cols)).addBatch(x, rows, 1);
                    }
                });
                for (int i = 0; i < windows.size(); i++) {
                    checkCancelled(cancelled);
                    state.reset();
                    listening.block(b, hidden[i], windows.get(i).length, 0, state);
                }
                if (!wanted.isEmpty()) {
                    consumer.accept(wanted, l -> {
                        HessianAccumulator h = acc.get(BlockStreamedCompression.inputOf(l));
                        return h == null ? null : h.hessian();
                    });
                }
            }
        }

        /** The block a searched linear belongs to. */
        int blockOf(String layer) {
            return LlamaLayers.layerIndexOf(layer);
        }

        private static boolean firstOfInput(String layer) {
            return !(layer.endsWith(".k_proj") || layer.endsWith(".v_proj") || layer.endsWith(".up_proj"));
        }
    }

    /**
     * A classifier calibrated on the last fifth of its evaluation images ({@link ImageSplit#calibration}); no
     * Hessians (classifiers take data-free methods only, as {@code ClassifierRuns.requireDataFree} says).
     */
    final class Classifier implements SearchSubject {
        private final ClassifierSubject subject;
        private final ImageSet calibration;
        private final List<Linear> linears;
        private final Map<String, ClassifierSubject.WeightMatrix> byLayer = new LinkedHashMap<>();
        private final String calibrationHash;
        private ImageClassifier dense;

        /** @param evaluationImages the model's whole evaluation image set; only its last fifth is used here */
        public Classifier(ClassifierSubject subject, ImageSet evaluationImages) {
            this.subject = subject;
            this.calibration = ImageSplit.calibration(evaluationImages);
            List<Linear> ls = new ArrayList<>();
            Model m = subject.model();
            for (ClassifierSubject.WeightMatrix w : subject.weights()) {
                byLayer.put(w.layer(), w);
                Tensor t = m.tensors().get(w.tensor());
                long bits = t != null ? denseBits(m, t) : 32L * w.rows() * w.cols();
                ls.add(new Linear(w.layer(), w.tensor(), w.rows(), w.cols(), bits));
            }
            this.linears = List.copyOf(ls);
            MessageDigest md = sha256();
            md.update(("images " + calibration.count() + "x" + calibration.rows() + "x" + calibration.cols() + "\n")
                    .getBytes(StandardCharsets.UTF_8));
            md.update(calibration.pixels());
            md.update(calibration.labels());
            this.calibrationHash = HexFormat.of().formatHex(md.digest());
        }

        @Override
        public Model model() {
            return subject.model();
        }

        public ClassifierSubject subject() {
            return subject;
        }

        /** The calibration images (the last fifth of the evaluation set). */
        public ImageSet calibration() {
            return calibration;
        }

        /** The dense classifier, opened once. */
        public synchronized ImageClassifier dense() {
            if (dense == null) {
                dense = subject.dense();
            }
            return dense;
        }

        /**
         * The classifier with the given layers replaced by compressed tensors; the others dense. A new classifier
         * each time (the caller may close it when it is {@link AutoCloseable}); the dense one when nothing is replaced.
         */
        public ImageClassifier network(Map<String, ? extends CompressedTensor> compressed) {
            return compressed.isEmpty() ? dense() : subject.with(compressed);
        }

        @Override
        public List<Linear> linears() {
            return linears;
        }

        @Override
        public float[] weights(String layer) {
            ClassifierSubject.WeightMatrix w = byLayer.get(layer);
            if (w == null) {
                throw new IllegalArgumentException("no searched layer " + layer);
            }
            return w.values().clone();
        }

        @Override
        public boolean hasCalibrationData() {
            return false;
        }

        @Override
        public String calibrationHash() {
            return calibrationHash;
        }

        @Override
        public void hessians(Set<String> layers, HessianConsumer consumer, BooleanSupplier cancelled) {
            List<String> wanted = linears.stream().map(Linear::layer).filter(layers::contains).toList();
            if (!wanted.isEmpty()) {
                consumer.accept(wanted, l -> null);
            }
        }

        @Override
        public void close() {
            subject.close();
        }
    }

    private static void checkCancelled(BooleanSupplier cancelled) {
        if (cancelled != null && cancelled.getAsBoolean()) {
            throw new dev.squeeze.engine.runs.RunCancelledException("search cancelled");
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** Used by {@link LevelDatabase} for its key. */
    static String sha256(String text) {
        return Hashing.sha256(text.getBytes(StandardCharsets.UTF_8));
    }
}
