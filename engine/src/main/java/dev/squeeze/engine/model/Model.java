package dev.squeeze.engine.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A model as read from a file: its named tensors in file order, the architecture they belong to, the file's
 * metadata and a content hash that identifies it in the results database.
 *
 * @param name         a short display name (file name without extension, or the sample's name)
 * @param source       where it came from (a path or {@code builtin:<name>})
 * @param format       the {@link ModelFormat#name()} that read it
 * @param architecture e.g. {@code mlp}; readers take it from the file's metadata or config
 * @param contentHash  SHA-256 of the file bytes, hex
 * @param declaredLayers the layer inventory as the format knows it (e.g. from an ONNX graph, where weights are
 *                       named after nodes, not {@code <layer>.weight}); null to derive it from tensor names
 */
public record Model(String name, String source, String format, String architecture, String contentHash,
                    Map<String, Tensor> tensors, Map<String, String> metadata, List<LayerInfo> declaredLayers) {

    public Model {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        declaredLayers = declaredLayers == null ? null : List.copyOf(declaredLayers);
    }

    /** A model whose layers follow from its tensor names. */
    public Model(String name, String source, String format, String architecture, String contentHash,
                 Map<String, Tensor> tensors, Map<String, String> metadata) {
        this(name, source, format, architecture, contentHash, tensors, metadata, null);
    }

    public Tensor tensor(String tensorName) {
        Tensor t = tensors.get(tensorName);
        if (t == null) {
            throw new IllegalArgumentException("model " + name + " has no tensor '" + tensorName + "'");
        }
        return t;
    }

    public Optional<Tensor> findTensor(String tensorName) {
        return Optional.ofNullable(tensors.get(tensorName));
    }

    public long parameterCount() {
        return tensors.values().stream().mapToLong(Tensor::numel).sum();
    }

    /** Bytes the tensors take in the model's file (a reader may record less than the decoded size, e.g. int8). */
    public long storedBytes() {
        return StoredSizes.total(this);
    }

    /**
     * The layer inventory: the declared one when the format gave it, else derived from names. A layer is a {@code <prefix>.weight} tensor of rank 2 (linear, out × in) or 4
     * (convolution); its {@code <prefix>.bias}, when present, counts towards its parameters and bytes.
     */
    public List<LayerInfo> layers() {
        if (declaredLayers != null) {
            return declaredLayers;
        }
        List<LayerInfo> out = new ArrayList<>();
        for (Tensor t : tensors.values()) {
            if (!t.name().endsWith(".weight") || (t.rank() != 2 && t.rank() != 4)) {
                continue;
            }
            String prefix = t.name().substring(0, t.name().length() - ".weight".length());
            long params = t.numel();
            long bytes = StoredSizes.of(this, t);
            Tensor bias = tensors.get(prefix + ".bias");
            if (bias != null) {
                params += bias.numel();
                bytes += StoredSizes.of(this, bias);
            }
            LayerRole role = LayerRoles.infer(prefix, t.rank());
            out.add(new LayerInfo(prefix, role, t.shape(), params, bytes));
        }
        return out;
    }
}
