package dev.squeeze.engine.store;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.testing.FaultyDisk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;

import static dev.squeeze.engine.store.MigrationUpgradeTest.dataSource;
import static dev.squeeze.engine.store.MigrationUpgradeTest.versions;
import static dev.squeeze.engine.store.MigrationUpgradeTest.writeV1Database;
import static dev.squeeze.engine.store.ResultsStoreDiskFaultTest.assertClean;
import static dev.squeeze.engine.store.ResultsStoreDiskFaultTest.stderrOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The defect: a schema upgrade (or the creation of a new database) on a disk that fills up must leave the
 * database as it was — byte for byte — with one clear message and nothing on stderr, and succeed once there is
 * space. The disk is simulated ({@link FaultyDisk}) and fills up at every stage of the upgrade in turn: while the
 * copy is written, while Flyway migrates it, while H2 closes it.
 */
class SchemaUpgradeTest {
    private static final String FAULTY = FaultyDisk.SCHEME + ":";
    private static final long MIB = 1L << 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void registerDisk() {
        FaultyDisk.register();
    }

    @AfterEach
    void healDisk() {
        FaultyDisk.heal();
        CrashPoints.onReach(null);
    }

    @Test
    void aV1DatabaseOnADiskThatFillsUpAnywhereInTheUpgradeStaysByteIdenticalAndUpgradesOnceThereIsSpace()
            throws Exception {
        byte[] v1 = Files.readAllBytes(v1(dir.resolve("fixture/results")));
        Path probe = Files.createDirectories(dir.resolve("probe"));
        Files.write(probe.resolve("results.mv.db"), v1);
        long upgradeGrowth = growthUntilMoved(probe.resolve("results"));
        assertTrue(upgradeGrowth > v1.length, "the upgrade writes a copy and migrates it: " + upgradeGrowth);

        // Below what the copy needs the upgrade must fail; higher up it may also succeed (H2 ignores a failed write
        // of its closing compaction, and the copy is complete without it). Never anything in between.
        int failed = 0;
        List<Long> levels = fillLevels(v1.length, upgradeGrowth);
        for (long free : levels) {
            Path base = dir.resolve("at-" + free + "/results");
            Files.createDirectories(base.getParent());
            Path file = Files.write(ResultsStore.fileOf(base), v1);

            SqueezeException[] thrown = new SqueezeException[1];
            String stderr = openOnDiskFillingAfter(free, base, thrown);
            assertEquals(thrown[0] != null ? "" : "upgraded", stderr.isEmpty() ? "" : stderr.contains(
                    "SchemaUpgrade - upgraded the results database") && stderr.lines().count() == 1 ? "upgraded" : stderr,
                    "H2 or Flyway printed on stderr (disk full after " + free + " bytes)");
            assertEquals(List.of("results.mv.db", "results.upgrade.lock"), fileNames(file.getParent()),
                    "the copy is gone (disk full after " + free + ")");
            if (thrown[0] != null) {
                failed++;
                String msg = thrown[0].getMessage();
                assertTrue(msg.startsWith("Cannot upgrade the results database " + file + " from schema version 1 to "
                        + StoreFixtures.latestVersion() + ": the disk is full (No space left on device); the database is unchanged (schema version 1, "
                        + "all its runs intact)"), msg);
                assertTrue(msg.contains("Fix: ") && msg.contains(" on the disk that holds " + file.getParent())
                        && msg.contains("then start Squeeze again"), msg);
                assertClean(msg);
                assertArrayEquals(v1, Files.readAllBytes(file), "the original changed (disk full after " + free + ")");
            } else {
                assertTrue(free > v1.length, "the copy alone needs " + v1.length + " bytes, had " + free);
            }
            // Space again (or already upgraded): the database opens at V2, and the old run is all there.
            try (ResultsStore store = ResultsStore.openFile(base, FAULTY)) {
                StoreFixtures.assertV1RunIntact(store);
            }
            try (Connection c = dataSource(base).getConnection()) {
                assertEquals(StoreFixtures.shippedVersions(), versions(c));
            }
        }
        assertTrue(failed >= levels.size() - 2, "only " + failed + " of " + levels.size() + " levels failed: " + levels);
    }

    @Test
    void aNewDatabaseOnADiskThatFillsUpAnywhereLeavesNothingBehindAndIsCreatedOnceThereIsSpace() throws Exception {
        long growth = growthUntilMoved(dir.resolve("probe/results"));
        int failed = 0;
        List<Long> levels = fillLevels(0, growth);
        for (long free : levels) {
            Path base = dir.resolve("at-" + free + "/results");
            Files.createDirectories(base.getParent());
            SqueezeException[] thrown = new SqueezeException[1];
            String stderr = openOnDiskFillingAfter(free, base, thrown);
            if (thrown[0] != null) {
                failed++;
                String msg = thrown[0].getMessage();
                assertEquals("", stderr, "H2 or Flyway printed on stderr (disk full after " + free + " bytes)");
                assertTrue(msg.startsWith("Cannot create the results database " + ResultsStore.fileOf(base)
                        + ": the disk is full (No space left on device); nothing was left behind"), msg);
                assertClean(msg);
                assertEquals(List.of("results.upgrade.lock"), fileNames(base.getParent()), "after " + free + " bytes");
            } else {
                assertFalse(stderr.contains("\tat "), stderr);
            }
            try (ResultsStore store = ResultsStore.openFile(base, FAULTY)) {
                assertEquals(List.of(), store.runs(null));
                long job = store.jobs().add("{}", "7".repeat(64), "m", "works");
                assertEquals(JobStatus.QUEUED, store.jobs().get(job).orElseThrow().status());
            }
        }
        assertTrue(failed >= levels.size() - 2, "only " + failed + " of " + levels.size() + " levels failed: " + levels);
    }

    @Test
    void tooLittleRoomIsReportedBeforeAnythingIsWritten() throws Exception {
        Path base = dir.resolve("results");
        Path file = v1(base);
        byte[] before = Files.readAllBytes(file);
        long free = 60_000;
        FaultyDisk.fillUpAfter(free);
        ResultsStore.Disk disk = new ResultsStore.Disk(FAULTY, folder -> FaultyDisk.freeBytes());
        SqueezeException e = assertThrows(SqueezeException.class, () -> ResultsStore.openFile(base, disk));

        // The rule the issue asks for: room for a copy and its migration, twice the file plus a margin (1 MiB).
        long need = 2 * before.length + MIB;
        String msg = e.getMessage();
        assertTrue(msg.contains("needs about " + ceilMb(need) + " MB free on the disk that holds " + dir + ", and "
                + free / 1024 + " KB are free; the database is unchanged"), msg);
        assertTrue(msg.contains("Fix: free " + ceilMb(need - free) + " MB on the disk that holds " + dir), msg);
        assertClean(msg);
        assertEquals(free, FaultyDisk.freeBytes(), "nothing was written");
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of("results.mv.db", "results.upgrade.lock"), fileNames(dir));
    }

    @Test
    void aCopyLeftByAnUpgradeThatWasKilledIsDiscardedAndTheUpgradeDoneAgain() throws Exception {
        Path base = dir.resolve("results");
        Path file = v1(base);
        // What a kill -9 mid-copy leaves: the first bytes of the copy (never moved over the original).
        byte[] original = Files.readAllBytes(file);
        Files.write(dir.resolve("results.upgrading-99999-1.mv.db"), java.util.Arrays.copyOf(original, original.length / 3));
        try (ResultsStore store = ResultsStore.openFile(base)) {
            StoreFixtures.assertV1RunIntact(store);
        }
        assertEquals(List.of("results.mv.db", "results.upgrade.lock"), fileNames(dir));
    }

    @Test
    void aV1DatabaseThatAnOlderSqueezeHoldsIsReportedInUseAndNotCopied() throws Exception {
        Path base = dir.resolve("results");
        v1(base);
        try (var holder = StoreHolder.hold(base, true)) {
            SqueezeException e = assertThrows(SqueezeException.class, () -> ResultsStore.openFile(base));
            assertTrue(e.getMessage().contains("in use by another Squeeze process"), e.getMessage());
            assertEquals(List.of(), fileNames(dir).stream().filter(n -> n.startsWith("results.upgrad")).toList(),
                    "no copy, no lock: it stopped at the check");
        }
        try (ResultsStore store = ResultsStore.openFile(base)) {
            StoreFixtures.assertV1RunIntact(store);
        }
    }

    @Test
    void aFileThatAnOlderSqueezeLeftHalfUpgradedOnAFullDiskIsRepairedWithItsRunsIntact() throws Exception {
        byte[] v1 = Files.readAllBytes(v1(dir.resolve("fixture/results")));
        // How much an in-place migration (what older versions did) writes, on a healthy simulated disk.
        Path probe = Files.createDirectories(dir.resolve("probe")).resolve("results");
        Files.write(ResultsStore.fileOf(probe), v1);
        FaultyDisk.fillUpAfter(Long.MAX_VALUE / 4);
        migrateInPlace(probe);
        long growth = FaultyDisk.peakGrowth();
        FaultyDisk.heal();

        int broken = 0;
        for (long free : List.of(growth / 4, growth / 2, growth * 3 / 4)) {
            Path base = Files.createDirectories(dir.resolve("old-" + free)).resolve("results");
            Files.write(ResultsStore.fileOf(base), v1);
            FaultyDisk.fillUpAfter(free);
            try {
                migrateInPlace(base);
            } catch (RuntimeException expected) {
                // The older Squeeze's failure.
            }
            FaultyDisk.heal();
            // The older Squeeze could never open such a file again ("Table JOB already exists", then "Migrations
            // have failed validation"): try it twice on a scratch copy, the second leaves Flyway's failure record.
            Path scratch = Files.createDirectories(dir.resolve("scratch-" + free)).resolve("results");
            Files.copy(ResultsStore.fileOf(base), ResultsStore.fileOf(scratch));
            boolean stuck = !migratesInPlace(scratch);
            if (!stuck) {
                continue;
            }
            broken++;
            assertTrue(!migratesInPlace(scratch), "stays broken for the older Squeeze");
            for (Path damaged : List.of(base, scratch)) {
                try (ResultsStore store = ResultsStore.openFile(damaged)) {
                    StoreFixtures.assertV1RunIntact(store);
                    store.jobs().add("{}", "9".repeat(64), "m", "the V2 tables work");
                }
                try (Connection c = dataSource(damaged).getConnection()) {
                    assertEquals(StoreFixtures.shippedVersions(), versions(c), damaged.toString());
                }
            }
        }
        assertTrue(broken > 0, "no fill level reproduced the older Squeeze's half-upgraded file");
    }

    /**
     * What Squeeze did before: Flyway migrating the file in place (through the simulated disk). Those versions
     * knew migrations up to V2 (every later one came with the copy-and-move upgrade), so the in-place migration
     * stops there.
     */
    private static void migrateInPlace(Path base) {
        // With the settings of the older store: every commit (each DDL statement's, too) written at once.
        org.flywaydb.core.Flyway.configure().dataSource(FaultyDisk.url(base)
                        + ";WRITE_DELAY=0;TRACE_LEVEL_FILE=0;DB_CLOSE_ON_EXIT=FALSE", "sa", "")
                .locations("classpath:db/migration").target("2").loggers(FlywayLogs.class.getName()).load()
                .migrate();
    }

    private static boolean migratesInPlace(Path base) {
        try {
            migrateInPlace(base);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** A V1 database at {@code base} (see {@link MigrationUpgradeTest}); returns its file. */
    private static Path v1(Path base) throws Exception {
        Files.createDirectories(base.getParent());
        writeV1Database(base);
        return ResultsStore.fileOf(base.toAbsolutePath());
    }

    /**
     * The most disk the upgrade (or creation) of a database at {@code base} takes at any moment on a healthy
     * simulated disk, up to the moment the new file is in place (the store's own open, after that, is not counted).
     */
    private static long growthUntilMoved(Path base) throws IOException {
        Files.createDirectories(base.getParent());
        long[] peak = {-1};
        CrashPoints.onReach(point -> {
            if (point.equals(CrashPoints.UPGRADE_MOVED)) {
                peak[0] = FaultyDisk.peakGrowth();
            }
        });
        FaultyDisk.fillUpAfter(Long.MAX_VALUE / 4);
        try {
            ResultsStore.openFile(base, FAULTY).close();
        } finally {
            FaultyDisk.heal();
            CrashPoints.onReach(null);
        }
        assertTrue(peak[0] > 0, "the upgrade never reached " + CrashPoints.UPGRADE_MOVED);
        return peak[0];
    }

    /**
     * Where to let the disk fill up: none at all, inside and at the end of the copy, then spread over the
     * migration, and one byte short of enough.
     */
    private static List<Long> fillLevels(long copySize, long growth) {
        TreeSet<Long> levels = new TreeSet<>(List.of(0L, growth - 1));
        if (copySize > 0) {
            levels.addAll(List.of(copySize / 2, copySize + 1));
        }
        for (int k = 1; k < 5; k++) {
            levels.add(copySize + (growth - copySize) * k / 5);
        }
        return new ArrayList<>(levels);
    }

    private static long ceilMb(long bytes) {
        return (bytes + MIB - 1) / MIB;
    }

    static List<String> fileNames(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /**
     * Opens the database at {@code base} on the simulated disk that fills up after {@code free} more bytes, then
     * heals the disk; returns what reached stderr, and the refusal (if any) in {@code thrown[0]}.
     */
    private static String openOnDiskFillingAfter(long free, Path base, SqueezeException[] thrown) {
        FaultyDisk.fillUpAfter(free);
        try {
            return stderrOf(() -> {
                try {
                    ResultsStore.openFile(base, FAULTY).close();
                } catch (SqueezeException e) {
                    thrown[0] = e;
                }
            });
        } finally {
            FaultyDisk.heal();
        }
    }
}
