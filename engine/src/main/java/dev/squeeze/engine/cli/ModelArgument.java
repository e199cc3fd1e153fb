package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.EvaluationData;
import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.samples.SampleModels;

import java.nio.file.Path;

/** Resolves a MODEL argument: a built-in sample name ({@code fashion-mlp} or {@code builtin:fashion-mlp}) or a file. */
final class ModelArgument {
    private ModelArgument() {
    }

    static boolean isBuiltin(String arg) {
        return arg == null || arg.startsWith("builtin:") || arg.equals(SampleModels.FASHION_MLP);
    }

    static String builtinName(String arg) {
        return arg == null ? SampleModels.FASHION_MLP : arg.replaceFirst("^builtin:", "");
    }

    static SampleModels.Sample sample(String arg) {
        return SampleModels.load(builtinName(arg));
    }

    /**
     * A classifier's evaluation images: {@code --images/--labels} when given (both or neither), else the built-in
     * sample's subset, else the data set found for the model ({@link EvaluationData#imagesFor}).
     */
    static ImageSet evaluationImages(String arg, Model model, Path images, Path labels) {
        if (images != null || labels != null) {
            if (images == null || labels == null) {
                throw new SqueezeException("--images and --labels must be given together", "pass both IDX files");
            }
            return IdxReader.readImages(images, labels);
        }
        if (isBuiltin(arg)) {
            return sample(arg).evaluation();
        }
        return EvaluationData.imagesFor(model).orElseThrow(() -> new SqueezeException(
                "No evaluation images for " + model.source(), "pass --images and --labels (IDX files)"));
    }

    static dev.squeeze.engine.model.Model model(String arg) {
        return isBuiltin(arg) ? sample(arg).model() : ModelFormats.open(Path.of(arg));
    }
}
