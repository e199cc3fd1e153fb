package dev.squeeze.engine.compress;

import dev.squeeze.engine.SqueezeException;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The method registry: the one place that names the concrete method classes. Everything else asks it for a
 * method by name and compresses through {@link CompressionMethod}.
 */
public final class Methods {
    private static final List<CompressionMethod> ALL = List.of(new Rtn(), new dev.squeeze.engine.compress.gptq.Gptq(), new dev.squeeze.engine.compress.spqr.Spqr(),
            new dev.squeeze.engine.compress.sparse.SparseGpt(), new dev.squeeze.engine.compress.sparse.MagnitudePruning(),
            new dev.squeeze.engine.compress.lowrank.LowRank());
    private static final Map<String, CompressionMethod> BY_NAME =
            ALL.stream().collect(Collectors.toUnmodifiableMap(CompressionMethod::name, Function.identity()));

    private Methods() {
    }

    public static List<CompressionMethod> all() {
        return ALL;
    }

    /** The method called {@code name}, or an error naming the layer, the field and the known methods. */
    public static CompressionMethod byName(String layer, String name) {
        CompressionMethod m = BY_NAME.get(name);
        if (m == null) {
            throw new SqueezeException("Layer " + layer + ": field 'method' is '" + name + "', which is not a known"
                    + " method", "use one of " + String.join(", ", BY_NAME.keySet().stream().sorted().toList()));
        }
        return m;
    }

    /** Validates, then compresses one layer with the method its settings name. */
    public static CompressedTensor compress(LayerInput input, MethodSettings settings) {
        CompressionMethod m = byName(input.layer(), settings.method());
        if (!m.settingsType().isInstance(settings)) {
            throw new IllegalArgumentException(settings.getClass().getSimpleName() + " are not settings of " + m.name());
        }
        settings.validate(input.layer(), input.rows(), input.cols());
        return m.compress(input, settings);
    }
}
