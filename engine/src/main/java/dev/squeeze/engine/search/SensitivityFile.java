package dev.squeeze.engine.search;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.store.SensitivityRecords;
import dev.squeeze.engine.util.AtomicFiles;
import dev.squeeze.engine.util.Hashing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The sensitivity cache of a job worker (which never opens the results database): one JSON file per key in a
 * folder, {@code sensitivity-<sha256(key)[:24]>.json}, holding the key and its rows; rewritten atomically
 * ({@link AtomicFiles}) when rows are added. A file that cannot be read, or holds another key, is a miss (and is
 * replaced by the next write), never an error: the cache only saves time.
 */
final class SensitivityFile implements SensitivityCache.Backend {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;

    SensitivityFile(Path dir) {
        this.dir = dir;
    }

    /** What a file holds. */
    record Content(SensitivityRecords.Key key, List<SensitivityRecords.Row> rows) {
    }

    private Path file(SensitivityRecords.Key key) {
        String id = Hashing.sha256((key.modelHash() + "\n" + key.calibrationHash() + "\n" + key.proxy() + "\n"
                + key.samples() + "\n" + key.seed()).getBytes(StandardCharsets.UTF_8)).substring(0, 24);
        return dir.resolve("sensitivity-" + id + ".json");
    }

    @Override
    public List<SensitivityRecords.Row> find(SensitivityRecords.Key key) {
        Path f = file(key);
        if (!Files.isRegularFile(f)) {
            return List.of();
        }
        try {
            Content c = JSON.readValue(f.toFile(), new TypeReference<Content>() {
            });
            return key.equals(c.key()) && c.rows() != null ? c.rows() : List.of();
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    @Override
    public void put(SensitivityRecords.Key key, List<SensitivityRecords.Row> rows) {
        Map<String, SensitivityRecords.Row> all = new LinkedHashMap<>();
        for (SensitivityRecords.Row r : find(key)) {
            all.put(r.layer() + "\n" + r.settingKey(), r);
        }
        for (SensitivityRecords.Row r : rows) {
            all.put(r.layer() + "\n" + r.settingKey(), r);
        }
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(new Content(key, new ArrayList<>(all.values())));
        } catch (IOException e) {
            throw new IllegalStateException("sensitivity rows always serialise", e);
        }
        try {
            AtomicFiles.write(file(key), o -> o.write(bytes));
        } catch (SqueezeException e) {
            // Not cached this time: the measurements are still used; the next search measures them again.
            org.slf4j.LoggerFactory.getLogger(SensitivityFile.class).warn("cannot cache sensitivity in {}: {}", dir,
                    e.getMessage());
        }
    }
}
