package dev.squeeze.engine.runs;

import dev.squeeze.engine.data.EvaluationData;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;

import java.util.Optional;

/** The baseline of a model: its dense run on its default evaluation data, measured once and stored. */
public final class Baselines {
    private Baselines() {
    }

    /** What {@link #ensure} found or did. */
    public sealed interface Outcome {
        /** The baseline was already stored. */
        record Stored(RunSummary run) implements Outcome {
        }

        /** It was measured now and stored as run {@code runId}. */
        record Measured(long runId, String data) implements Outcome {
        }

        /** It cannot be measured: no evaluation data was found; {@code why} says where it looked. */
        record NoData(String why) implements Outcome {
        }
    }

    /** Returns the stored baseline, or measures and stores it when the model's evaluation data can be found. */
    public static Outcome ensure(Model model, ResultsStore store) {
        Optional<RunSummary> stored = store.runs(model.contentHash()).stream()
                .filter(RunSummary::isBaseline).findFirst();
        if (stored.isPresent()) {
            return new Outcome.Stored(stored.get());
        }
        Optional<ImageSet> images = EvaluationData.imagesFor(model);
        if (images.isPresent()) {
            long id = new ClassifierRuns(store).runDense(model, images.get());
            return new Outcome.Measured(id, images.get().name() + " (" + images.get().count() + " images)");
        }
        Optional<TextEvaluation> text = EvaluationData.textFor(model);
        if (text.isPresent()) {
            long id = new LanguageModelRuns(store).runDense(model, text.get());
            return new Outcome.Measured(id, text.get().describe());
        }
        return new Outcome.NoData(noDataReason(model));
    }

    static String noDataReason(Model model) {
        if (model.architecture().equals(dev.squeeze.engine.model.onnx.OnnxModel.ARCHITECTURE)) {
            return "no MNIST test set found for this 28×28 classifier (looked for "
                    + EvaluationData.describeSearch(EvaluationData.MNIST_IMAGES) + ")";
        }
        if (model.architecture().equals(dev.squeeze.engine.nn.llama.LlamaConfig.ARCHITECTURE)) {
            int vocab = dev.squeeze.engine.nn.llama.LlamaConfig.fromMetadata(model).vocabSize();
            return "it needs TinyStories (looked for " + EvaluationData.describeSearch(EvaluationData.TINYSTORIES)
                    + ") and the model's tokenizer (looked for "
                    + dev.squeeze.engine.data.text.Tokenizers.describeSearch(model, vocab) + ")";
        }
        return "Squeeze does not know the evaluation data of a '" + model.architecture() + "' model";
    }
}
