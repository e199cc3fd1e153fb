package dev.squeeze.engine.export.gguf;

/**
 * A tensor of a GGUF file: {@code rows × cols} values stored row after row in {@code type}. GGUF lists a
 * tensor's dimensions innermost first, so a 2-D tensor is {@code [cols, rows]} there; a 1-D tensor (a norm's
 * weights) has one row.
 *
 * @param offset where its data starts, from the start of the file's data section
 */
public record GgufTensor(String name, long rows, long cols, int dimensions, GgmlType type, long offset) {
    /** Its data's size in bytes. */
    public long bytes() {
        return rows * type.rowBytes(cols);
    }
}
