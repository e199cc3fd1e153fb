package dev.squeeze.engine.cli;

import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.samples.SampleModels;

import java.nio.file.Path;

/** Resolves a MODEL argument (see {@link ModelRefs}). */
final class ModelArgument {
    private ModelArgument() {
    }

    static boolean isBuiltin(String arg) {
        return ModelRefs.isBuiltin(arg);
    }

    static String builtinName(String arg) {
        return ModelRefs.builtinName(arg);
    }

    static SampleModels.Sample sample(String arg) {
        return ModelRefs.sample(arg);
    }

    static ImageSet evaluationImages(String arg, Model model, Path images, Path labels) {
        return ModelRefs.evaluationImages(arg, model, images, labels);
    }

    static Model model(String arg) {
        return ModelRefs.open(arg);
    }
}
