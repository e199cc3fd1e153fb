package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.model.hf.HfModelFormat;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A sharded Hugging Face folder whose {@code model.safetensors.index.json} is the input, beside its valid config
 * and shards (about 1 kB each): the index's weight map is read, the shards it names opened and merged, every
 * tensor's shard checked against the index, and the model run on one token. The first byte picks the folder.
 */
public final class HfIndexFuzz {
    /** Small shards, so that every folder has several. */
    static final long SHARD_BYTES = 900;
    private static final List<HfFolders.Folder> FOLDERS = HfFolders.write(FuzzFiles.folder("hf-index"), SHARD_BYTES);

    private HfIndexFuzz() {
    }

    public static void fuzzerInitialize() throws Exception {
        FuzzFiles.warmUp(seeds(), HfIndexFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        if (data.length == 0) {
            return;
        }
        HfFolders.Folder f = FOLDERS.get((data[0] & 0xff) % FOLDERS.size());
        FuzzFiles.write(f.dir(), HfModelFormat.INDEX, Arrays.copyOfRange(data, 1, data.length));
        FuzzFiles.refusedOnlyCleanly(() -> ModelPaths.openAndRun(f.dir()));
    }

    static Map<String, byte[]> seeds() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (int i = 0; i < FOLDERS.size(); i++) {
            HfFolders.Folder f = FOLDERS.get(i);
            if (f.file(HfModelFormat.INDEX) == null || f.shards().size() < 2) {
                throw new IllegalStateException(f.dir() + " is not sharded: " + f.files().keySet());
            }
            out.put(f.dir().getFileName().toString(), HfFolders.prefixed(i, f.file(HfModelFormat.INDEX)));
        }
        return out;
    }
}
