package dev.squeeze.engine.fuzz;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One shard of a sharded Hugging Face folder is the input; config, index and the other shards are valid. Beyond
 * what {@code safetensors-model} covers (the safetensors header), this reaches the checks across files: a tensor
 * in two shards, a tensor the index puts elsewhere, shapes against the config. The first byte picks the folder
 * and which of its shards is replaced; the original is written back afterwards.
 */
public final class HfShardFuzz {
    private static final List<HfFolders.Folder> FOLDERS =
            HfFolders.write(FuzzFiles.folder("hf-shard"), HfIndexFuzz.SHARD_BYTES);

    private HfShardFuzz() {
    }

    public static void fuzzerInitialize() throws Exception {
        FuzzFiles.warmUp(seeds(), HfShardFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        if (data.length == 0) {
            return;
        }
        int pick = data[0] & 0xff;
        HfFolders.Folder f = FOLDERS.get(pick % FOLDERS.size());
        List<String> shards = f.shards();
        String victim = shards.get((pick / FOLDERS.size()) % shards.size());
        FuzzFiles.write(f.dir(), victim, Arrays.copyOfRange(data, 1, data.length));
        try {
            FuzzFiles.refusedOnlyCleanly(() -> ModelPaths.openAndRun(f.dir()));
        } finally {
            FuzzFiles.write(f.dir(), victim, f.file(victim));
        }
    }

    static Map<String, byte[]> seeds() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (int i = 0; i < FOLDERS.size(); i++) {
            HfFolders.Folder f = FOLDERS.get(i);
            List<String> shards = f.shards();
            for (int s = 0; s < shards.size(); s++) {
                int pick = i + FOLDERS.size() * s;
                out.put(f.dir().getFileName() + "-" + s, HfFolders.prefixed(pick, f.file(shards.get(s))));
            }
        }
        return out;
    }
}
