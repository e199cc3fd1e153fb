package dev.squeeze.engine.model;

import java.nio.file.Path;

/** One file format Squeeze reads. Formats are recognised by their first bytes, never by the file extension. */
public interface ModelFormat {
    /** Short lower-case name stored with every run, e.g. {@code safetensors}. */
    String name();

    /**
     * Whether the file starts like this format.
     *
     * @param head     up to the first 64 bytes of the file (fewer if the file is shorter)
     * @param fileSize the whole file's size in bytes
     */
    boolean recognizes(byte[] head, long fileSize);

    /** Reads the model; problems are reported as {@link dev.squeeze.engine.SqueezeException} naming the file. */
    Model read(Path file);
}
