package dev.squeeze.engine.compress;

/**
 * One compression method (RTN, GPTQ, SpQR, SparseGPT, magnitude pruning, low rank, …). Implementations are
 * stateless; only the method registry refers to the concrete classes.
 */
public interface CompressionMethod {
    /** The registry name, e.g. {@code gptq}; equals {@link MethodSettings#method()} of its settings. */
    String name();

    /** The settings type this method takes. */
    Class<? extends MethodSettings> settingsType();

    /** Compresses one layer; {@code settings} are already validated for its shape. */
    CompressedTensor compress(LayerInput input, MethodSettings settings);
}
