package dev.squeeze.engine.cli;

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

    static dev.squeeze.engine.model.Model model(String arg) {
        return isBuiltin(arg) ? sample(arg).model() : ModelFormats.open(Path.of(arg));
    }
}
