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

        for (long free : fillLevels(v1.length, upgradeGrowth)) {
            Path base = dir.resolve("at-" + free + "/results");
            Files.createDirectories(base.getParent());
            Path file = Files.write(ResultsStore.fileOf(base), v1);
            byte[] before = Files.readAllBytes(file);

            FaultyDisk.fillUpAfter(free);
            SqueezeException[] thrown = new SqueezeException[1];
            String stderr = stderrOf(() -> thrown[0] = assertThrows(SqueezeException.class,
                    () -> ResultsStore.openFile(base, FAULTY), "disk full after " + free + " bytes"));
            FaultyDisk.heal();

            String msg = thrown[0].getMessage();
            assertEquals("", stderr, "H2 or Flyway printed on stderr (disk full after " + free + " bytes)");
            assertTrue(msg.startsWith("Cannot upgrade the results database " + file + " from schema version 1 to 2: "
                    + "the disk is full (No space left on device); the database is unchanged (schema version 1, "
                    + "all its runs intact)"), msg);
            assertTrue(msg.contains("Fix: ") && msg.contains(" on the disk that holds " + file.getParent())
                    && msg.contains("then start Squeeze again"), msg);
            assertClean(msg);
            assertArrayEquals(before, Files.readAllBytes(file), "the original changed (disk full after " + free + ")");
            assertEquals(List.of("results.mv.db", "results.upgrade.lock"), fileNames(file.getParent()),
                    "the copy is deleted (disk full after " + free + ")");

            // Space again: the next open upgrades, and the old run is all there.
            try (ResultsStore store = ResultsStore.openFile(base, FAULTY)) {
                StoreFixtures.assertV1RunIntact(store);
            }
            try (Connection c = dataSource(base).getConnection()) {
                assertEquals(List.of("1", "2"), versions(c));
            }
        }
    }

    @Test
    void aNewDatabaseOnADiskThatFillsUpAnywhereLeavesNothingBehindAndIsCreatedOnceThereIsSpace() throws Exception {
        long growth = growthUntilMoved(dir.resolve("probe/results"));
        for (long free : fillLevels(0, growth)) {
            Path base = dir.resolve("at-" + free + "/results");
            Files.createDirectories(base.getParent());
            FaultyDisk.fillUpAfter(free);
            SqueezeException[] thrown = new SqueezeException[1];
            String stderr = stderrOf(() -> thrown[0] = assertThrows(SqueezeException.class,
                    () -> ResultsStore.openFile(base, FAULTY), "disk full after " + free + " bytes"));
            FaultyDisk.heal();
            String msg = thrown[0].getMessage();
            assertEquals("", stderr, "H2 or Flyway printed on stderr (disk full after " + free + " bytes)");
            assertTrue(msg.startsWith("Cannot create the results database " + ResultsStore.fileOf(base)
                    + ": the disk is full (No space left on device); nothing was left behind"), msg);
            assertClean(msg);
            assertEquals(List.of("results.upgrade.lock"), fileNames(base.getParent()), "after " + free + " bytes");

            try (ResultsStore store = ResultsStore.openFile(base, FAULTY)) {
                assertEquals(List.of(), store.runs(null));
                long job = store.jobs().add("{}", "7".repeat(64), "m", "works");
                assertEquals(JobStatus.QUEUED, store.jobs().get(job).orElseThrow().status());
            }
        }
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
            assertEquals(List.of("results.mv.db"), fileNames(dir), "no copy, no lock: it stopped at the check");
        }
        try (ResultsStore store = ResultsStore.openFile(base)) {
            StoreFixtures.assertV1RunIntact(store);
        }
    }

    /** A V1 database at {@code base} (see {@link MigrationUpgradeTest}); returns its file. */
    private static Path v1(Path base) throws Exception {
        Files.createDirectories(base.getParent());
        writeV1Database(base);
        return ResultsStore.fileOf(base.toAbsolutePath());
    }

    /**
     * The bytes the upgrade (or creation) of a database at {@code base} writes beyond the files' length on a healthy
     * simulated disk, up to the moment the new file is in place (the store's own open, after that, is not counted).
     */
    private static long growthUntilMoved(Path base) throws IOException {
        Files.createDirectories(base.getParent());
        long start = Long.MAX_VALUE / 4;
        long[] atMove = {-1};
        CrashPoints.onReach(point -> {
            if (point.equals(CrashPoints.UPGRADE_MOVED)) {
                atMove[0] = FaultyDisk.freeBytes();
            }
        });
        FaultyDisk.fillUpAfter(start);
        try {
            ResultsStore.openFile(base, FAULTY).close();
        } finally {
            FaultyDisk.heal();
            CrashPoints.onReach(null);
        }
        assertTrue(atMove[0] > 0, "the upgrade never reached " + CrashPoints.UPGRADE_MOVED);
        return start - atMove[0];
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
        for (int k = 1; k < 6; k++) {
            levels.add(copySize + (growth - copySize) * k / 6);
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
}
