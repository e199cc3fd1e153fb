package dev.squeeze.engine.export;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.model.Model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What an exporter writes: a model as read from its file, with some of its layers replaced by the compressed
 * tensors a run produced. Every other tensor (embeddings, norms, biases, dense layers) is written as the model
 * stores it.
 *
 * @param base       the model the run started from
 * @param compressed the compressed weight of each compressed layer, keyed by layer name ({@code LayerInfo.name()},
 *                   e.g. {@code model.layers.0.self_attn.q_proj}); for a convolution the tensor is the weight
 *                   flattened to {@code out × (in·kh·kw)}
 * @param settings   the settings each compressed layer was made with, keyed like {@code compressed}
 * @param label      what the export came from, e.g. {@code run 12: GPTQ 4-bit g32} or {@code stories260K}
 * @param runId      the stored run it came from, or null for a plain conversion
 */
public record CompressedModel(Model base, Map<String, CompressedTensor> compressed,
                              Map<String, MethodSettings> settings, String label, Long runId) {
    public CompressedModel {
        compressed = Collections.unmodifiableMap(new LinkedHashMap<>(compressed));
        settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        if (!compressed.keySet().equals(settings.keySet())) {
            throw new IllegalArgumentException("compressed layers " + compressed.keySet()
                    + " and their settings " + settings.keySet() + " differ");
        }
    }

    /** The model as its file has it: nothing compressed. */
    public static CompressedModel dense(Model model) {
        return new CompressedModel(model, Map.of(), Map.of(), model.name(), null);
    }

    /** The compressed tensor of layer {@code layer}, if the run compressed it. */
    public Optional<CompressedTensor> layer(String layer) {
        return Optional.ofNullable(compressed.get(layer));
    }
}
