package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.runs.ClassifierSubject;

import java.nio.file.Path;

/**
 * The path every model takes from "file opened" to "forward pass built", as the CLI's {@code inspect} and a run
 * take it: open by content, list the inventory with sizes, build the network for the architecture and push one
 * input through it.
 */
final class ModelPaths {
    private ModelPaths() {
    }

    /** The file's length, or the total of the files in a model folder. */
    private static long bytesOf(Path file) throws java.io.IOException {
        if (!java.nio.file.Files.isDirectory(file)) {
            return java.nio.file.Files.size(file);
        }
        try (var files = java.nio.file.Files.list(file)) {
            long total = 0;
            for (Path p : files.filter(java.nio.file.Files::isRegularFile).toList()) {
                total += java.nio.file.Files.size(p);
            }
            return total;
        }
    }

    static void openAndRun(Path file) throws Exception {
        run(ModelFormats.open(file), file);
    }

    /** As {@link #openAndRun} for a model already opened from {@code file}. */
    static void run(Model model, Path file) throws Exception {
        long params = 0;
        for (LayerInfo l : model.layers()) {
            params += l.parameters();
        }
        if (params < 0 || model.storedBytes() < 0 || model.parameterCount() < 0) {
            throw new AssertionError("negative sizes in the inventory of " + file + ": " + params);
        }
        // No format Squeeze reads stores a weight in less than one bit: an inventory claiming more is a size that
        // came from a header without being checked against the file (ONNX dims [2^31, 2^31] with no data once gave
        // 4.6·10^18 parameters).
        long bytes = bytesOf(file);
        if (model.parameterCount() > 8 * bytes) {
            throw new AssertionError(file + " (" + bytes + " bytes) opened with " + model.parameterCount()
                    + " parameters");
        }
        switch (model.architecture()) {
            case LlamaConfig.ARCHITECTURE -> {
                LlamaModel net = LlamaModel.from(model);
                net.forward(0, 0, net.newState());
            }
            case MlpClassifier.ARCHITECTURE, OnnxModel.ARCHITECTURE -> {
                try (ClassifierSubject subject = ClassifierSubject.of(model)) {
                    var dense = subject.dense();
                    dense.logits(new float[dense.inputSize()], 1);
                    subject.weights();
                }
            }
            default -> {
                // Other architectures are listed, not run.
            }
        }
    }
}
