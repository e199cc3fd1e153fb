package dev.squeeze.engine.store;

import dev.squeeze.engine.testing.FaultyDisk;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** For tests outside this package: databases on the simulated disk, and the V1 database of {@link MigrationUpgradeTest}. */
public final class StoreFixtures {
    private StoreFixtures() {
    }

    /**
     * The schema versions this Squeeze ships, oldest first: the V*.sql files of db/migration. An upgrade must run
     * each exactly once, whatever their number.
     */
    public static java.util.List<String> shippedVersions() {
        try {
            java.net.URL dir = StoreFixtures.class.getClassLoader().getResource("db/migration");
            try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(Path.of(dir.toURI()))) {
                return files.map(f -> f.getFileName().toString()).filter(n -> n.matches("V\\d+__.*\\.sql"))
                        .map(n -> n.substring(1, n.indexOf("__"))).sorted(java.util.Comparator.comparingInt(Integer::parseInt))
                        .toList();
            }
        } catch (java.io.IOException | java.net.URISyntaxException e) {
            throw new IllegalStateException("cannot list db/migration", e);
        }
    }

    /** The newest schema version this Squeeze ships. */
    public static String latestVersion() {
        return shippedVersions().getLast();
    }

    /** {@link ResultsStore#openFile(Path)} with every file operation going through {@link FaultyDisk}. */
    public static ResultsStore openOnFaultyDisk(Path base) {
        FaultyDisk.register();
        return ResultsStore.openFile(base, FaultyDisk.SCHEME + ":");
    }

    /** A database at {@code base} as a V1-era Squeeze wrote it: schema version 1, one run (see {@link #assertV1RunIntact}). */
    public static void writeV1Database(Path base) throws Exception {
        MigrationUpgradeTest.writeV1Database(base);
    }

    /** The file of the database at {@code base}. */
    public static Path fileOf(Path base) {
        return ResultsStore.fileOf(base.toAbsolutePath());
    }

    /** The run of {@link #writeV1Database} is in {@code store}, exactly as written, and nothing else is. */
    public static void assertV1RunIntact(ResultsStore store) {
        List<RunSummary> runs = store.runs(null);
        assertEquals(1, runs.size());
        RunSummary r = runs.getFirst();
        assertEquals("old rtn4", r.label());
        assertEquals(MigrationUpgradeTest.MODEL_HASH, r.modelHash());
        assertEquals(0.875, r.metricValue());
        assertEquals(List.of(
                new RunRecord.Metric("accuracy.cat", "evaluation", 0.5),
                new RunRecord.Metric("top1", "calibration", 0.9),
                new RunRecord.Metric("top1", "evaluation", 0.875)), store.metrics(r.id()));
        assertEquals(List.of(
                new RunRecord.LayerResult("fc1", "rtn", "RTN 4-bit g16", 8704, 4.25, 0.0625, 12),
                new RunRecord.LayerResult("fc2", "rtn", "RTN 4-bit g16", 1088, 4.25, null, 3)),
                store.layerResults(r.id()));
        assertEquals(List.of(), store.jobs().all());
    }
}
