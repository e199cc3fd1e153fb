package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.export.gguf.GgmlType;
import dev.squeeze.engine.export.gguf.GgufFile;
import dev.squeeze.engine.export.gguf.GgufTensor;
import dev.squeeze.engine.export.gguf.GgufValue;
import dev.squeeze.engine.export.gguf.GgufWriter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GGUF files ({@link GgufFile}): opening must either refuse cleanly or give a directory whose every row then
 * decodes (the reader checked all offsets against the file's size when it opened it).
 */
public final class GgufFuzz {
    private GgufFuzz() {
    }

    public static void fuzzerInitialize() {
        FuzzFiles.warmUp(GgufFuzz::seeds, GgufFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        Path file = FuzzFiles.write("model.gguf", data);
        FuzzFiles.refusedOnlyCleanly(() -> {
            try (GgufFile g = GgufFile.open(file)) {
                g.metadata().values().forEach(GgufValue::value);
                for (GgufTensor t : g.tensors()) {
                    if (t.rows() * t.cols() <= 1 << 16) {
                        for (long r = 0; r < t.rows(); r++) {
                            g.row(t, r);
                        }
                    } else {
                        g.row(t, t.rows() - 1);
                    }
                }
            }
        });
    }

    static Map<String, byte[]> seeds() throws Exception {
        Map<String, byte[]> out = new LinkedHashMap<>();
        Path dir = Files.createTempDirectory(FuzzFiles.scratch(), "gguf");
        for (GgmlType type : GgmlType.values()) {
            Path f = dir.resolve(type + ".gguf");
            float[] row = new float[Math.max(32, type.blockSize())];
            for (int j = 0; j < row.length; j++) {
                row[j] = (j - 16) / 4f;
            }
            new GgufWriter().put("general.architecture", GgufValue.str("llama"))
                    .put("llama.context_length", GgufValue.u32(64))
                    .put("tokenizer.ggml.tokens", GgufValue.array(GgufValue.STRING, List.of("<unk>", "a")))
                    .put("tokenizer.ggml.scores", GgufValue.array(GgufValue.FLOAT32, List.of(0f, -1f)))
                    .add(new GgufWriter.Input("norm", 1, row.length, 1, type, r -> row))
                    .add(new GgufWriter.Input("w", 2, row.length, 2, type, r -> row))
                    .write(f);
            out.put(type.name().toLowerCase(java.util.Locale.ROOT), Files.readAllBytes(f));
        }
        return out;
    }
}
