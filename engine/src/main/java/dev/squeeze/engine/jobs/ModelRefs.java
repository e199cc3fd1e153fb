package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.EvaluationData;
import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.samples.SampleModels;

import java.nio.file.Path;

/**
 * A model as the user names it: a built-in sample ({@code fashion-mlp} or {@code builtin:fashion-mlp}) or a file
 * or folder. The CLI, the workbench and job workers resolve names the same way.
 */
public final class ModelRefs {
    private ModelRefs() {
    }

    public static boolean isBuiltin(String ref) {
        return ref == null || ref.startsWith("builtin:") || ref.equals(SampleModels.FASHION_MLP);
    }

    public static String builtinName(String ref) {
        return ref == null ? SampleModels.FASHION_MLP : ref.replaceFirst("^builtin:", "");
    }

    /**
     * The reference a job stores: {@code builtin:<name>} for a sample, an absolute normalised path for a file or
     * folder (a worker, or a later resume, may not share this process's working directory).
     */
    public static String canonical(String ref) {
        return isBuiltin(ref) ? "builtin:" + builtinName(ref) : Path.of(ref).toAbsolutePath().normalize().toString();
    }

    public static SampleModels.Sample sample(String ref) {
        return SampleModels.load(builtinName(ref));
    }

    public static Model open(String ref) {
        return isBuiltin(ref) ? sample(ref).model() : ModelFormats.open(Path.of(ref));
    }

    /**
     * A classifier's evaluation images: {@code images/labels} when given (both or neither), else the built-in
     * sample's subset, else the data set found for the model ({@link EvaluationData#imagesFor}).
     */
    public static ImageSet evaluationImages(String ref, Model model, Path images, Path labels) {
        if (images != null || labels != null) {
            if (images == null || labels == null) {
                throw new SqueezeException("--images and --labels must be given together", "pass both IDX files");
            }
            return IdxReader.readImages(images, labels);
        }
        if (isBuiltin(ref)) {
            return sample(ref).evaluation();
        }
        return EvaluationData.imagesFor(model).orElseThrow(() -> new SqueezeException(
                "No evaluation images for " + model.source(), "pass --images and --labels (IDX files)"));
    }
}
