package dev.squeeze.engine.data;

import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.data.text.Tokenizer;
import dev.squeeze.engine.data.text.Tokenizers;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.store.DataDirs;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Finds the evaluation data a model's baseline is measured on, in the data folders: {@code -Dsqueeze.data},
 * {@code $SQUEEZE_DATA}, {@code $SQUEEZE_HOME/data}, and, in a development checkout, the {@code shared/data}
 * folder beside the project ({@code -Dsqueeze.root} names the project; the launcher sets it). Layout inside a data
 * folder: {@code mnist-test/t10k-images-idx3-ubyte.gz} + labels (MNIST digits) and
 * {@code tinystories/valid-1k.txt} (TinyStories validation stories).
 */
public final class EvaluationData {
    public static final String MNIST_IMAGES = "mnist-test/t10k-images-idx3-ubyte.gz";
    public static final String MNIST_LABELS = "mnist-test/t10k-labels-idx1-ubyte.gz";
    public static final String TINYSTORIES = "tinystories/valid-1k.txt";

    private EvaluationData() {
    }

    /** The data folders, in the order they are searched. */
    public static List<Path> searchPath() {
        List<Path> out = new ArrayList<>();
        String prop = System.getProperty("squeeze.data");
        if (prop != null && !prop.isBlank()) {
            out.add(Path.of(prop));
        }
        String env = System.getenv("SQUEEZE_DATA");
        if (env != null && !env.isBlank()) {
            out.add(Path.of(env));
        }
        out.add(DataDirs.home().resolve("data"));
        String root = System.getProperty("squeeze.root");
        if (root != null && !root.isBlank()) {
            out.add(Path.of(root).toAbsolutePath().normalize().resolveSibling("shared").resolve("data"));
        }
        return out;
    }

    /** The first data folder holding {@code relative}. */
    public static Optional<Path> find(String relative) {
        return searchPath().stream().map(d -> d.resolve(relative)).filter(Files::isRegularFile).findFirst();
    }

    /**
     * The test images for a classifier whose data set can be told from the model: an ONNX model with a single
     * 1×28×28 input is taken as an MNIST digit classifier (the model zoo's convention).
     */
    public static Optional<ImageSet> imagesFor(Model model) {
        if (OnnxModel.ARCHITECTURE.equals(model.architecture())
                && model.metadata().getOrDefault("onnx.inputs", "").matches("\\S+ FLOAT \\[(1|-?\\w+),1,28,28]")) {
            Optional<Path> images = find(MNIST_IMAGES);
            Optional<Path> labels = find(MNIST_LABELS);
            if (images.isPresent() && labels.isPresent()) {
                return Optional.of(IdxReader.readImages(images.get(), labels.get()));
            }
        }
        return Optional.empty();
    }

    /**
     * The evaluation text of a language model: the TinyStories validation stories of the evaluation split
     * (501–1000, {@link DataSplit#TINYSTORIES_1K}) with the tokenizer that sits beside the model.
     */
    public static Optional<TextEvaluation> textFor(Model model) {
        if (!LlamaConfig.ARCHITECTURE.equals(model.architecture())) {
            return Optional.empty();
        }
        int vocab = LlamaConfig.fromMetadata(model).vocabSize();
        Optional<Path> text = find(TINYSTORIES);
        Optional<Tokenizer> tokenizer = Tokenizers.besideModel(model, vocab);
        if (text.isEmpty() || tokenizer.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new TextEvaluation(StoryCorpus.read(text.get()),
                DataSplit.TINYSTORIES_1K.evaluation(), tokenizer.get()));
    }

    /** Where the search looked, for messages. */
    public static String describeSearch(String relative) {
        return String.join(", ", searchPath().stream().map(d -> d.resolve(relative).toString()).toList());
    }
}
