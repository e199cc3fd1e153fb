package dev.squeeze.engine.export;

import java.nio.file.Path;
import java.util.List;

/**
 * What an export wrote: the file (or folder), its size on disk, and one line per tensor whose stored form differs
 * from what the run had or the user asked for (a Q4_0 request written as F16 because its rows are not a multiple
 * of 32, a sparse layer written dense): never silently.
 *
 * @param path   the file or folder written
 * @param format the format name, e.g. {@code gguf}
 * @param bytes  bytes on disk (all files of a folder)
 * @param notes  per-tensor notes, in file order
 */
public record ExportReport(Path path, String format, long bytes, List<TensorNote> notes) {
    public ExportReport {
        notes = List.copyOf(notes);
    }

    /**
     * One tensor's fate.
     *
     * @param tensor  the tensor's name in the written file
     * @param storedAs how it is stored, e.g. {@code Q4_0}, {@code F16}, {@code int4 block 32 + DequantizeLinear}
     * @param exact   true when the stored form gives back exactly the run's weights (bit for bit after
     *                dequantization); false when it is rounded further (for example a plain conversion to Q4_0)
     * @param reason  why it is stored that way, when that is not what was asked; empty otherwise
     */
    public record TensorNote(String tensor, String storedAs, boolean exact, String reason) {
    }
}
