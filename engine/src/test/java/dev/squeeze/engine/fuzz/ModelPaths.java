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

    static void openAndRun(Path file) throws Exception {
        Model model = ModelFormats.open(file);
        long params = 0;
        for (LayerInfo l : model.layers()) {
            params += l.parameters();
        }
        if (params < 0 || model.storedBytes() < 0 || model.parameterCount() < 0) {
            throw new AssertionError("negative sizes in the inventory of " + file + ": " + params);
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
