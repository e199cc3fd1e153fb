package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.model.hf.HfModelFormat;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face folder whose {@code config.json} is the input, beside valid weights (one
 * {@code model.safetensors}): the config is parsed, every tensor checked against the shapes it implies, the
 * Llama forward pass built from it and one token run. The first byte picks the folder (Llama, Qwen2, Mistral).
 */
public final class HfConfigFuzz {
    private static final List<HfFolders.Folder> FOLDERS = HfFolders.write(FuzzFiles.folder("hf-config"), 0);

    private HfConfigFuzz() {
    }

    public static void fuzzerInitialize() throws Exception {
        FuzzFiles.warmUp(seeds(), HfConfigFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        if (data.length == 0) {
            return;
        }
        HfFolders.Folder f = FOLDERS.get((data[0] & 0xff) % FOLDERS.size());
        FuzzFiles.write(f.dir(), HfModelFormat.CONFIG, Arrays.copyOfRange(data, 1, data.length));
        FuzzFiles.refusedOnlyCleanly(() -> ModelPaths.openAndRun(f.dir()));
    }

    static Map<String, byte[]> seeds() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (int i = 0; i < FOLDERS.size(); i++) {
            HfFolders.Folder f = FOLDERS.get(i);
            out.put(f.dir().getFileName().toString(), HfFolders.prefixed(i, f.file(HfModelFormat.CONFIG)));
        }
        return out;
    }
}
