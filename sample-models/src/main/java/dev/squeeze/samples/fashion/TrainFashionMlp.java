package dev.squeeze.samples.fashion;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;
import dev.squeeze.engine.model.safetensors.SafetensorsWriter;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.util.AtomicFiles;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/**
 * Trains the built-in Fashion-MNIST MLP (784-256-128-10, ReLU) and writes its weights and evaluation subset.
 *
 * <p>Deterministic: one thread, a fixed seed, a fixed order of every float operation (Java float arithmetic is
 * IEEE-754 exact and the same on every JVM), so re-running gives bit-identical weights.
 *
 * <p>Usage: {@code TrainFashionMlp [--data DIR] [--out DIR] [--epochs N]}; DIR defaults to Debian's
 * {@code /usr/share/datasets/fashion-mnist} (package {@code dataset-fashion-mnist}).
 */
public final class TrainFashionMlp {
    public static final String[] CLASSES = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
            "Sneaker", "Bag", "Ankle boot"};
    public static final int[] WIDTHS = {784, 256, 128, 10};
    public static final long SEED = 20261127L;
    public static final int EVAL_SUBSET = 1000;
    static final Path DEBIAN_DATA = Path.of("/usr/share/datasets/fashion-mnist");

    private TrainFashionMlp() {
    }

    /** Training hyper-parameters. */
    public record Config(int epochs, int batch, float learningRate, float momentum, float weightDecay, long seed) {
        static Config defaults() {
            return new Config(12, 64, 0.05f, 0.9f, 1e-4f, SEED);
        }
    }

    public static void main(String[] args) throws IOException {
        Path data = DEBIAN_DATA;
        Path out = Path.of("sample-models/src/main/resources/dev/squeeze/samples/fashion-mlp");
        Config cfg = Config.defaults();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--data" -> data = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--epochs" -> cfg = new Config(Integer.parseInt(args[++i]), cfg.batch(), cfg.learningRate(),
                        cfg.momentum(), cfg.weightDecay(), cfg.seed());
                default -> {
                    System.err.println("usage: TrainFashionMlp [--data DIR] [--out DIR] [--epochs N]");
                    System.exit(2);
                }
            }
        }
        try {
            ImageSet train = load(data, "train");
            ImageSet test = load(data, "t10k");
            long t0 = System.nanoTime();
            Mlp net = train(train, cfg, epoch -> System.out.printf(Locale.ROOT,
                    "epoch %d/%d  loss %.4f  test top-1 %.2f%%%n", epoch.epoch(), epoch.of(), epoch.loss(),
                    100 * epoch.net().accuracy(test)));
            double testAcc = net.accuracy(test);
            ImageSet subset = test.head(EVAL_SUBSET);
            double subsetAcc = net.accuracy(subset);
            System.out.printf(Locale.ROOT, "trained in %.1f s; test top-1 %.2f%% (10,000 images), eval subset %.2f%% (%d)%n",
                    (System.nanoTime() - t0) / 1e9, 100 * testAcc, 100 * subsetAcc, subset.count());
            write(out, net, cfg, testAcc, subsetAcc, subset);
            System.out.println("wrote " + out.toAbsolutePath());
        } catch (SqueezeException e) {
            System.err.println("train: " + e.getMessage());
            System.exit(3);
        }
    }

    static ImageSet load(Path dir, String prefix) {
        Path images = dir.resolve(prefix + "-images-idx3-ubyte.gz");
        Path labels = dir.resolve(prefix + "-labels-idx1-ubyte.gz");
        if (!Files.exists(images)) {
            throw new SqueezeException("Fashion-MNIST not found: " + images + " is missing",
                    "install Debian's package: sudo apt-get install dataset-fashion-mnist (or pass --data DIR)");
        }
        return IdxReader.readImages(images, labels);
    }

    /** Progress after each epoch. */
    public record Epoch(int epoch, int of, double loss, Mlp net) {
    }

    /** Trains from scratch: He-initialised weights, SGD with momentum, cosine learning-rate decay. */
    public static Mlp train(ImageSet train, Config cfg, java.util.function.Consumer<Epoch> progress) {
        Random rng = new Random(cfg.seed());
        Mlp net = new Mlp(WIDTHS, rng);
        int n = train.count();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        int stepsPerEpoch = (n + cfg.batch() - 1) / cfg.batch();
        int totalSteps = stepsPerEpoch * cfg.epochs();
        int step = 0;
        for (int e = 1; e <= cfg.epochs(); e++) {
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            double lossSum = 0;
            for (int s = 0; s < n; s += cfg.batch()) {
                int b = Math.min(cfg.batch(), n - s);
                float lr = (float) (cfg.learningRate() * 0.5 * (1 + Math.cos(Math.PI * step / totalSteps)));
                lossSum += net.step(train, order, s, b, lr, cfg.momentum(), cfg.weightDecay()) * b;
                step++;
            }
            progress.accept(new Epoch(e, cfg.epochs(), lossSum / n, net));
        }
        return net;
    }

    static void write(Path dir, Mlp net, Config cfg, double testAcc, double subsetAcc, ImageSet subset) {
        List<Tensor> tensors = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int l = 0; l < net.layers(); l++) {
            String name = "fc" + (l + 1);
            names.add(name);
            tensors.add(Tensor.of(name + ".weight", net.weightOutByIn(l), net.out(l), net.in(l)));
            tensors.add(Tensor.of(name + ".bias", net.bias(l), net.out(l)));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(SafetensorsFormat.ARCH_KEY, MlpClassifier.ARCHITECTURE);
        meta.put(MlpClassifier.LAYERS_KEY, String.join(",", names));
        meta.put(MlpClassifier.INPUT_SCALE_KEY, Float.toString(1f / 255f));
        meta.put(MlpClassifier.CLASSES_KEY, String.join(",", CLASSES));
        meta.put("squeeze.input.shape", "1x28x28");
        meta.put("squeeze.train.data", "Fashion-MNIST (Zalando Research, MIT), 60,000 training images");
        meta.put("squeeze.train.recipe", String.format(Locale.ROOT,
                "SGD momentum %.2f, batch %d, lr %.3f cosine, weight decay %.0e, %d epochs, seed %d",
                cfg.momentum(), cfg.batch(), cfg.learningRate(), cfg.weightDecay(), cfg.epochs(), cfg.seed()));
        meta.put("squeeze.train.test_top1", String.format(Locale.ROOT, "%.4f", testAcc));
        meta.put("squeeze.train.eval_subset_top1", String.format(Locale.ROOT, "%.4f", subsetAcc));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, meta);
        writeIdx(dir.resolve("eval-images-idx3-ubyte.gz"), 0x0803,
                new int[]{subset.count(), subset.rows(), subset.cols()}, subset.pixels());
        writeIdx(dir.resolve("eval-labels-idx1-ubyte.gz"), 0x0801, new int[]{subset.count()}, subset.labels());
    }

    static void writeIdx(Path file, int magic, int[] dims, byte[] data) {
        AtomicFiles.write(file, raw -> {
            // GZIPOutputStream writes a zero modification time, so the file is byte-identical on every run.
            try (OutputStream gz = new GZIPOutputStream(raw); DataOutputStream out = new DataOutputStream(gz)) {
                out.writeInt(magic);
                for (int d : dims) {
                    out.writeInt(d);
                }
                out.write(data);
            }
        });
    }
}
