package dev.squeeze.engine.bench;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.compress.lowrank.LowRank;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.eval.ClassifierEvaluator;
import dev.squeeze.engine.eval.SizeAccounting;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.nn.MlpLayout;
import dev.squeeze.engine.nn.grad.ClassifierFisher;
import dev.squeeze.engine.runs.ClassifierSubject;
import dev.squeeze.engine.search.ImageSplit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Issue #13's low-rank comparison on the built-in Fashion-MNIST MLP: every linear compressed by each low-rank
 * variant (svd, activation, whitened, lord, fisher) at ⅛, ¼, ½ and ¾ of each layer's largest useful rank, fp16
 * factors; top-1 on the evaluation four fifths of the sample's 1,000 images ({@link ImageSplit#evaluation}).
 * Calibration statistics — the layer Hessians {@code 2/n Σ x xᵀ} of each linear's inputs and the empirical Fisher
 * diagonals — come from the dense model on the other fifth ({@link ImageSplit#calibration}), so nothing reported is
 * selected on the images it is measured on. Post-training only: no fine-tuning after the factorisation.
 *
 * <p>Classifier runs stay data-free ({@code ClassifierRuns.requireDataFree}); this benchmark computes the statistics
 * itself. Usage: {@code bench/sample-fwsvd.sh [REPO_ROOT]}.
 */
public final class SampleFwsvdTable {
    private static final double[] FRACTIONS = {0.125, 0.25, 0.5, 0.75};
    private static final String[] FRACTION_NAMES = {"⅛", "¼", "½", "¾"};
    private static final LowRankVariant[] VARIANTS = {LowRankVariant.SVD, LowRankVariant.ACTIVATION,
            LowRankVariant.WHITENED, LowRankVariant.LORD, LowRankVariant.FISHER};

    private SampleFwsvdTable() {
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        Path dir = root.resolve("sample-models/src/main/resources/dev/squeeze/samples/fashion-mlp");
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            System.err.println("No Fashion-MNIST sample under " + dir + "\nFix: pass the repository root as the"
                    + " first argument (bench/sample-fwsvd.sh does)");
            System.exit(2);
        }
        String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse("unknown");
        Model model = new SafetensorsFormat().read(dir.resolve("model.safetensors"));
        ImageSet all = IdxReader.readImages("fashion-mlp eval subset",
                Files.readAllBytes(dir.resolve("eval-images-idx3-ubyte.gz")),
                Files.readAllBytes(dir.resolve("eval-labels-idx1-ubyte.gz")));
        ImageSet calibration = ImageSplit.calibration(all);
        ImageSet evaluation = ImageSplit.evaluation(all);
        System.out.printf("CPU: %s, %d threads%nModel: %s; calibration %s (%d images), evaluation %s (%d images)%n",
                cpu, Runtime.getRuntime().availableProcessors(), model.name(), calibration.name(),
                calibration.count(), evaluation.name(), evaluation.count());

        try (ClassifierSubject subject = ClassifierSubject.of(model)) {
            List<ClassifierSubject.WeightMatrix> weights = subject.weights();
            long t0 = System.nanoTime();
            ClassifierFisher.Diagonals fisher = ClassifierFisher.compute(subject, calibration);
            long t1 = System.nanoTime();
            Map<String, float[]> hessians = hessians(model, calibration);
            long t2 = System.nanoTime();
            System.out.printf("Fisher diagonals: %.0f ms (mean loss %.4f nats); Hessians: %.0f ms%n",
                    (t1 - t0) / 1e6, fisher.meanLoss(), (t2 - t1) / 1e6);
            double dense = ClassifierEvaluator.evaluate(subject.dense(), evaluation).top1();
            System.out.printf("%nDense fp32: model %,d bytes (fp16 %,d), top-1 %.2f %%%n",
                    SizeAccounting.modelBytes(model, Map.of()), SizeAccounting.fp16Bytes(model), 100 * dense);
            StringBuilder ranks = new StringBuilder();
            for (int f = 0; f < FRACTIONS.length; f++) {
                ranks.append(f == 0 ? "" : "; ").append(FRACTION_NAMES[f]).append(": ");
                for (int l = 0; l < weights.size(); l++) {
                    ClassifierSubject.WeightMatrix w = weights.get(l);
                    ranks.append(l == 0 ? "" : "/").append(rank(w, FRACTIONS[f]));
                }
            }
            System.out.println("Ranks per layer (" + weights.stream().map(ClassifierSubject.WeightMatrix::layer)
                    .reduce((a, b) -> a + "/" + b).orElse("") + "): " + ranks);
            LowRank method = new LowRank();
            String last = weights.getLast().layer();
            for (boolean keepHead : new boolean[] {false, true}) {
                System.out.printf("%n%s%n| variant | rank | bits/weight | model bytes | top-1 %% | Fisher proxy"
                        + " ½ΣF(W−Ŵ)²/n |%n|---|---|---|---|---|---|%n", keepHead ? "Every linear but the output"
                        + " layer " + last + " (kept dense fp32); bits/weight over the compressed ones:"
                        : "Every linear:");
                for (LowRankVariant v : VARIANTS) {
                    for (int f = 0; f < FRACTIONS.length; f++) {
                        Map<String, CompressedTensor> byLayer = new LinkedHashMap<>();
                        Map<String, CompressedTensor> byTensor = new LinkedHashMap<>();
                        double proxy = 0;
                        for (ClassifierSubject.WeightMatrix w : weights) {
                            if (keepHead && w.layer().equals(last)) {
                                continue;
                            }
                            LayerInput in = new LayerInput(w.layer(), w.values(), w.rows(), w.cols(),
                                    hessians.get(w.layer()), fisher.of(w.layer()));
                            CompressedTensor c = method.compress(in, LowRankSettings.of(v, rank(w, FRACTIONS[f])));
                            byLayer.put(w.layer(), c);
                            byTensor.put(w.tensor(), c);
                            proxy += fisher.proxy(w.layer(), w.values(), c.dequantize());
                        }
                        double top1 = ClassifierEvaluator.evaluate(subject.with(byLayer), evaluation).top1();
                        System.out.printf("| %s | %s | %.3f | %,d | %.2f | %.4f |%n", v.key(), FRACTION_NAMES[f],
                                SizeAccounting.bitsPerWeight(byTensor), SizeAccounting.modelBytes(model, byTensor),
                                100 * top1, proxy / fisher.images());
                    }
                }
            }
        }
    }

    /** {@code fraction} of the layer's largest useful rank, at least 1. */
    static int rank(ClassifierSubject.WeightMatrix w, double fraction) {
        return Math.max(1, (int) Math.floor(fraction * LowRankSettings.maxUsefulRank(w.rows(), w.cols())));
    }

    /**
     * The layer Hessian of every linear of the dense MLP over {@code images}: each image is one sample
     * ({@code H = 2/n Σ x xᵀ}), {@code x} the layer's input as the network computes it (scaled pixels for the first
     * layer, the previous layer's ReLU output after).
     */
    static Map<String, float[]> hessians(Model model, ImageSet images) {
        MlpClassifier net = MlpClassifier.dense(model);
        Map<String, HessianAccumulator> acc = new LinkedHashMap<>();
        net.layers().forEach((name, op) -> acc.put(name, new HessianAccumulator(op.inFeatures())));
        float scale = MlpLayout.of(model).inputScale();
        int batch = 256;
        for (int from = 0; from < images.count(); from += batch) {
            int n = Math.min(batch, images.count() - from);
            float[] x = images.batch(from, n);
            for (int i = 0; i < x.length; i++) {
                x[i] *= scale;
            }
            int k = 0;
            for (Map.Entry<String, LinearOp> e : net.layers().entrySet()) {
                acc.get(e.getKey()).addBatch(x, n, n);
                float[] y = new float[n * e.getValue().outFeatures()];
                e.getValue().forward(x, n, y);
                if (++k < net.layers().size()) {
                    for (int i = 0; i < y.length; i++) {
                        y[i] = Math.max(0f, y[i]);
                    }
                }
                x = y;
            }
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        acc.forEach((name, h) -> out.put(name, h.hessian()));
        return out;
    }
}
