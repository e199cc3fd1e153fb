package dev.squeeze.engine.model;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.onnx.OnnxFormat;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The registry of readable formats; {@link #open(Path)} picks one by file signature. */
public final class ModelFormats {
    private static final List<ModelFormat> FORMATS = List.of(new SafetensorsFormat(), new OnnxFormat());

    private ModelFormats() {
    }

    public static List<ModelFormat> all() {
        return FORMATS;
    }

    public static Model open(Path path) {
        Path file = path.toAbsolutePath().normalize();
        if (!Files.isRegularFile(file)) {
            throw new SqueezeException("Model file not found: " + file.toAbsolutePath(),
                    "check the path; a model is a single file (e.g. model.safetensors)");
        }
        byte[] head;
        long size;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(64);
            size = Files.size(file);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read model file " + file.toAbsolutePath() + ": " + e.getMessage(),
                    "check that the file is readable (permissions, disk)", e);
        }
        for (ModelFormat f : FORMATS) {
            if (f.recognizes(head, size)) {
                return f.read(file);
            }
        }
        throw new SqueezeException("Unrecognised model file " + file.toAbsolutePath()
                + ": its first bytes match none of the supported formats (" + names() + ")",
                "open a file in one of those formats");
    }

    private static String names() {
        return String.join(", ", FORMATS.stream().map(ModelFormat::name).toList());
    }
}
