package dev.squeeze.engine.model;

/**
 * What a tensor takes in its file when that differs from its decoded form. A reader that expands stored values
 * for the forward pass (e.g. llama2.c's int8 groups, dequantized to float32) records the bytes actually stored
 * under {@value #KEY_PREFIX}{@code <tensor name>} in the model's metadata, so that the inventory and size
 * accounting report the file's truth rather than the expanded copy.
 */
public final class StoredSizes {
    public static final String KEY_PREFIX = "squeeze.stored_bytes.";
    /** Optional companion: how the tensor is stored, e.g. {@code Q8_0 (group 4)}. */
    public static final String FORMAT_PREFIX = "squeeze.stored_format.";

    private StoredSizes() {
    }

    /** The bytes {@code tensor} takes in the model's file. */
    public static long of(Model model, Tensor tensor) {
        String v = model.metadata().get(KEY_PREFIX + tensor.name());
        if (v != null) {
            try {
                return Long.parseLong(v.strip());
            } catch (NumberFormatException ignored) {
                // A damaged entry: fall back to the decoded size rather than fail an inventory.
            }
        }
        return tensor.storedBytes();
    }

    /** The sum of {@link #of} over all tensors. */
    public static long total(Model model) {
        return model.tensors().values().stream().mapToLong(t -> of(model, t)).sum();
    }

    /** How the tensor is stored when a reader said so, else its dtype name (e.g. {@code F32}). */
    public static String formatOf(Model model, Tensor tensor) {
        return model.metadata().getOrDefault(FORMAT_PREFIX + tensor.name(), tensor.dtype().name());
    }
}
