package dev.squeeze.engine.model;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.gguf.GgufModelFormat;
import dev.squeeze.engine.model.hf.HfModelFormat;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;
import dev.squeeze.engine.model.onnx.OnnxFormat;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The registry of readable formats; {@link #open(Path)} picks one by file signature. Hugging Face models are
 * folders: a folder with a {@code config.json}, that file or the index, or a {@code .safetensors} file beside a
 * {@code config.json} opens the whole folder.
 */
public final class ModelFormats {
    private static final HfModelFormat HF = new HfModelFormat();
    private static final List<ModelFormat> FORMATS = List.of(new SafetensorsFormat(), new OnnxFormat(), new GgufModelFormat(),
            new Llama2cFormat(), HF, new dev.squeeze.engine.export.sqz.SqzModelFormat());

    private ModelFormats() {
    }

    public static List<ModelFormat> all() {
        return FORMATS;
    }

    public static Model open(Path path) {
        Path file = path.toAbsolutePath().normalize();
        if (HfModelFormat.accepts(file) || isShardOfHfFolder(file)) {
            return HF.read(file);
        }
        if (!Files.isRegularFile(file)) {
            // Never opened: reading a FIFO would wait for a writer forever, a device such as /dev/zero never ends.
            String what = Files.isDirectory(file) ? "Model not found: " + file + " is a folder without a config.json"
                    : Files.exists(file) ? "Cannot open model " + file + ": it is " + notAFile(file) + ", not a file"
                    : "Model not found: " + file + " does not exist";
            throw new SqueezeException(what,
                    "open a model file (.safetensors, .onnx, .gguf, llama2.c .bin, .sqz bundle) or a Hugging Face"
                            + " model folder");
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

    /** What a path that exists but is neither a file nor a folder is: "a character device", "a FIFO (named pipe)". */
    private static String notAFile(Path path) {
        try {
            int type = (Integer) Files.getAttribute(path, "unix:mode") & 0170000; // S_IFMT of st_mode
            return switch (type) {
                case 0010000 -> "a FIFO (named pipe)";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> "not a regular file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return "not a regular file"; // no "unix" attribute view (e.g. Windows)
        }
    }

    private static boolean isShardOfHfFolder(Path file) {
        Path dir = file.getParent();
        return file.getFileName().toString().endsWith(".safetensors") && dir != null
                && Files.isRegularFile(dir.resolve(HfModelFormat.CONFIG));
    }

    private static String names() {
        return String.join(", ", FORMATS.stream().map(ModelFormat::name).toList());
    }
}
