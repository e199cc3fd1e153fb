package dev.squeeze.engine.store;

import dev.squeeze.engine.SqueezeException;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.h2.jdbcx.JdbcDataSource;
import org.h2.store.fs.FilePath;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Creates or upgrades a results database file all-or-nothing, before the store opens it for use.
 *
 * <p>Why not let Flyway migrate the file in place: H2 commits every DDL statement on its own, so a migration cut
 * short — a full disk, a kill -9 — leaves a file that is half old and half new schema, which Flyway can neither
 * finish ("Table JOB already exists") nor undo, and every run in it becomes unreachable. So:
 * <ol>
 *   <li>The file is first opened <em>read-only</em> to ask Flyway whether migrations are pending. Reading writes
 *       nothing, needs no free space, and takes H2's shared file lock, so a file another Squeeze process holds is
 *       reported "in use" as before. Nothing pending (the usual case): done.</li>
 *   <li>Otherwise, holding that read-only connection (no other process can open the file for writing meanwhile)
 *       and the upgrade lock ({@code <base>.upgrade.lock}; two upgrading processes would each move their copy
 *       over the other's):
 *       check that the disk has room for a copy and its migration; copy the file to {@code <base>.upgrading-<pid>-<n>.mv.db}
 *       beside it; migrate the copy; close it; check the copy (no migration pending or failed, every table's rows
 *       still there); fsync it; move it over the original in one atomic rename.</li>
 *   <li>A new database is made the same way: created and migrated under the temporary name, moved into place only
 *       when complete. A full disk leaves no half-created file behind.</li>
 *   <li>A file that an older Squeeze left half-migrated (it migrated in place) is repaired on the copy: see
 *       {@link #migrate}.</li>
 * </ol>
 * Any failure deletes the copy and leaves the original exactly as it was (byte for byte), with one
 * {@link SqueezeException} saying what, where and what to do. A copy left by a process killed mid-upgrade is
 * deleted by the next upgrade (under the lock) and ignored otherwise: only a finished, verified copy is ever moved.
 *
 * <p>All file operations go through H2's {@link FilePath}, so tests can put the whole sequence on a simulated
 * disk that fills up at any byte.
 */
final class SchemaUpgrade {
    private static final Logger LOG = LoggerFactory.getLogger(SchemaUpgrade.class);

    /**
     * Room beyond the copy for H2's chunks while it migrates and closes the copy. Measured V1 → V2 upgrades peaked
     * at 0.7 × the file plus ~250 KB on top of the copy (40 KB → 266 KB; 25 MB → 42 MB after the closing
     * compaction); V3 (two columns on the run table, filled from the layer results) adds about 280 KB more on a
     * small file (V1 → V3 of the 52 KB test database peaks at 648 KB, copy included), so 2 × the file plus 1 MiB
     * is still enough.
     */
    static final long MARGIN = 1L << 20;
    private static final long MB = 1L << 20;
    private static final String H2_OPTIONS = ";WRITE_DELAY=0;TRACE_LEVEL_FILE=0;DB_CLOSE_ON_EXIT=FALSE";

    private final ResultsStore.Disk disk;
    private final Path dir;
    private final Path file;
    private static final AtomicLong ATTEMPTS = new AtomicLong();

    private final String copyPrefix;
    private final Path copyBase;
    private final Path copyFile;
    private final Path lockFile;
    private final String where;

    private SchemaUpgrade(Path base, ResultsStore.Disk disk) {
        this.disk = disk;
        this.dir = base.getParent();
        this.file = ResultsStore.fileOf(base);
        this.copyPrefix = base.getFileName() + ".upgrading";
        // A name of its own for every attempt: H2 keeps a database whose write failed in its table of open
        // databases (its close throws the write's error before it unregisters), and would hand that dead one to a
        // second attempt in this JVM under the same name.
        this.copyBase = base.resolveSibling(copyPrefix + "-" + ProcessHandle.current().pid() + "-"
                + ATTEMPTS.incrementAndGet());
        this.copyFile = ResultsStore.fileOf(copyBase);
        this.lockFile = base.resolveSibling(base.getFileName() + ".upgrade.lock");
        this.where = file.toString();
    }

    /**
     * Makes the database at {@code base} ({@code base.mv.db}) exist at the current schema: creates it, upgrades
     * it, or (the usual case) finds it current. Throws a {@link SqueezeException} for a file in use, damaged, or on
     * a disk without room; the file is then as it was.
     */
    static void ensureCurrent(Path base, ResultsStore.Disk disk) {
        new SchemaUpgrade(base.toAbsolutePath(), disk).run();
    }

    /** Flyway over {@code ds}: our migrations, its log at debug level, the crash points after each migration. */
    static FluentConfiguration flyway(JdbcDataSource ds) {
        return Flyway.configure().dataSource(ds).locations("classpath:db/migration")
                .loggers(FlywayLogs.class.getName()).callbacks(new MigrationCrashPoints());
    }

    static JdbcDataSource dataSource(String url) {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL(url);
        ds.setUser("sa");
        ds.setPassword("");
        return ds;
    }

    private void run() {
        if (exists(file)) {
            try (SchemaCheck.ReadOnly original = SchemaCheck.ReadOnly.open(where, readOnlyUrl(file))) {
                if (original.schema.current()) {
                    return;
                }
            }
        }
        try (UpgradeLock ignored = UpgradeLock.acquire(h2(lockFile), where)) {
            // Under the lock no other process is upgrading: whatever copy lies here was left by a killed one.
            removeCopy();
            if (exists(file)) {
                upgrade();
            } else {
                create();
            }
        }
    }

    private void upgrade() {
        // This read-only connection holds H2's shared lock on the original until the new file is in place: no
        // Squeeze process can open it for writing (and then lose what it wrote to our rename) in between.
        try (SchemaCheck.ReadOnly original = SchemaCheck.ReadOnly.open(where, readOnlyUrl(file))) {
            SchemaCheck.Schema before = original.schema;
            if (before.current()) {
                return; // another process upgraded it while this one waited for the lock
            }
            long need = 2 * size(file) + MARGIN;
            requireRoom(need, "upgrade", before);
            long started = System.nanoTime();
            try {
                copy(file, copyFile);
                CrashPoints.reach(CrashPoints.UPGRADE_COPIED);
                migrate(before.failed());
                verify(before.rows());
                CrashPoints.reach(CrashPoints.UPGRADE_READY);
                moveIntoPlace();
            } catch (SQLException | IOException | RuntimeException e) {
                removeCopy();
                throw failure("Cannot upgrade the results database " + where + " from schema version "
                        + before.version() + " to " + before.latest(), "; the database is unchanged (schema version "
                        + before.version() + ", all its runs intact)", "upgrade", need, e);
            }
            LOG.info("upgraded the results database {} from schema version {} to {}{} ({} ms)", where,
                    before.version(), before.latest(), before.failed() ? ", undoing what an older Squeeze left of a"
                            + " failed upgrade" : "", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        }
        CrashPoints.reach(CrashPoints.UPGRADE_MOVED);
    }

    private void create() {
        requireRoom(MARGIN, "create", null);
        try {
            migrate(false);
            verify(Map.of());
            CrashPoints.reach(CrashPoints.UPGRADE_READY);
            moveIntoPlace();
        } catch (SQLException | IOException | RuntimeException e) {
            removeCopy();
            throw failure("Cannot create the results database " + where, "; nothing was left behind", "create", MARGIN,
                    e);
        }
        CrashPoints.reach(CrashPoints.UPGRADE_MOVED);
    }

    /**
     * Migrates the copy to the newest schema and closes it (H2 writes its last chunk on SHUTDOWN). First it undoes
     * what an older Squeeze, which migrated files in place, may have left of a migration cut short: Flyway's record
     * of the failure ({@code repair}) and, for every migration not yet applied, whatever of its tables and columns
     * exist ({@code db/undo/U<n>.sql}, newest first). Nothing can have used those yet: Squeeze uses a database only
     * once every migration has succeeded. On a sound file this finds nothing to undo.
     */
    private void migrate(boolean failedBefore) throws SQLException, IOException {
        JdbcDataSource ds = dataSource("jdbc:h2:" + disk.h2Prefix() + copyBase + H2_OPTIONS);
        try (Connection anchor = ds.getConnection()) {
            Flyway flyway = flyway(ds).load();
            if (failedBefore) {
                flyway.repair();
            }
            MigrationInfo[] pending = flyway.info().pending();
            for (int i = pending.length - 1; i >= 0; i--) {
                undoPartial(anchor, pending[i].getVersion().getVersion());
            }
            flyway.migrate();
            try (Statement st = anchor.createStatement()) {
                st.execute("SHUTDOWN");
            }
        }
    }

    private static void undoPartial(Connection c, String version) throws SQLException, IOException {
        String name = "db/undo/U" + version + ".sql";
        try (var in = SchemaUpgrade.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("no " + name + " for migration V" + version + " (every migration needs one)");
            }
            String script = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                    .replaceAll("(?m)^--.*$", "");
            try (Statement st = c.createStatement()) {
                for (String sql : script.split(";")) {
                    if (!sql.isBlank()) {
                        st.execute(sql);
                    }
                }
            }
        }
    }

    /**
     * Opens the closed copy read-only, as the store will find it: at the newest schema, no migration failed, and
     * every table of the original with at least its rows (migrations add rows and tables, never drop them).
     */
    private void verify(Map<String, Long> rowsBefore) {
        try (SchemaCheck.ReadOnly copy = SchemaCheck.ReadOnly.open(where, readOnlyUrl(copyFile))) {
            if (!copy.schema.current()) {
                throw new IllegalStateException("the migrated copy is at schema version " + copy.schema.version()
                        + " with " + copy.schema.pending() + " migration(s) pending");
            }
            for (Map.Entry<String, Long> t : rowsBefore.entrySet()) {
                Long now = copy.schema.rows().get(t.getKey());
                if (now == null || now < t.getValue()) {
                    throw new IllegalStateException("the migrated copy has " + now + " rows in " + t.getKey()
                            + ", the original " + t.getValue());
                }
            }
        }
    }

    /** Byte for byte, through the (possibly simulated) disk; fsync before it counts as complete. */
    private void copy(Path from, Path to) throws IOException {
        try (FileChannel in = FilePath.get(h2(from)).open("r"); FileChannel out = FilePath.get(h2(to)).open("rw")) {
            out.truncate(0);
            ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
            long position = 0;
            while (true) {
                buffer.clear();
                int n = in.read(buffer, position);
                if (n < 0) {
                    break;
                }
                buffer.flip();
                while (buffer.hasRemaining()) {
                    position += out.write(buffer, position);
                }
            }
            out.force(true);
        }
    }

    /** fsync the copy, rename it over the original (atomic: rename(2)), fsync the folder so the rename lasts. */
    private void moveIntoPlace() throws IOException {
        try (FileChannel ch = FilePath.get(h2(copyFile)).open("r")) {
            ch.force(true);
        }
        // H2's moveTo(…, true) is Files.move(REPLACE_EXISTING, ATOMIC_MOVE) on a real disk.
        FilePath.get(h2(copyFile)).moveTo(FilePath.get(h2(file)), true);
        try (FileChannel folder = FileChannel.open(dir, StandardOpenOption.READ)) {
            folder.force(true);
        } catch (IOException | RuntimeException e) {
            // Not every file system lets a folder be opened and synced; the rename itself is already atomic.
        }
    }

    /** Copies and whatever H2 put beside them ({@code <base>.upgrading-*}); never the lock or the original. */
    private void removeCopy() {
        String prefix = copyPrefix + "-";
        try {
            for (FilePath p : FilePath.get(h2(dir)).newDirectoryStream()) {
                if (p.getName().startsWith(prefix)) {
                    p.delete();
                }
            }
        } catch (RuntimeException e) {
            // A read-only disk: the copy (if any) stays and is deleted by the next upgrade; it is never used.
            LOG.debug("could not delete the leftover copy {}: {}", copyFile, e.toString());
        }
    }

    private void requireRoom(long need, String verb, SchemaCheck.Schema before) {
        long free = disk.usableBytes().applyAsLong(dir);
        if (free >= need) {
            return;
        }
        String what = before == null ? "Cannot create the results database " + where
                : "Cannot upgrade the results database " + where + " from schema version " + before.version()
                + " to " + before.latest();
        throw new SqueezeException(what + ": to " + verb + " it Squeeze needs about " + amount(need, true)
                + " free on the disk that holds " + dir + ", and " + amount(free, false) + " are free" + (before == null ? ""
                : "; the database is unchanged (schema version " + before.version() + ", all its runs intact)"),
                freeSpaceFix(need, verb));
    }

    private SqueezeException failure(String what, String outcome, String verb, long need, Exception e) {
        DiskProblem p = DiskProblem.of(e);
        if (p != null && p.kind() == DiskProblem.Kind.FULL) {
            return new SqueezeException(what + ": " + p.describe() + outcome,
                    freeSpaceFix(need, verb), e);
        }
        if (p != null) {
            return new SqueezeException(what + ": " + p.describe() + outcome,
                    "make " + dir + " writable (remount the disk read-write or fix its permissions), or set "
                            + "SQUEEZE_HOME to a writable folder; then start Squeeze again", e);
        }
        return new SqueezeException(what + ": " + rootMessage(e) + outcome,
                "check free disk space and the folder's permissions, then start Squeeze again; if it fails again, "
                        + "keep the file and report the problem", e);
    }

    /** "free N MB on the disk that holds DIR …" with N what is missing now (all of it when the probe saw enough). */
    private String freeSpaceFix(long need, String verb) {
        long missing = need - disk.usableBytes().applyAsLong(dir);
        String amount = missing > 0 ? "free " + amount(missing, true) : "make sure " + amount(need, true) + " are free";
        return amount + " on the disk that holds " + dir + " (to " + verb + " the database Squeeze needs about "
                + amount(need, true) + (verb.equals("upgrade") ? ": a copy of it and room to migrate the copy" : "")
                + "), or set SQUEEZE_HOME to a folder on another disk; then start Squeeze again";
    }

    /** "3 MB", or "60 KB" below a megabyte; rounded up for what is needed, down for what is free. */
    static String amount(long bytes, boolean up) {
        long unit = bytes >= MB ? MB : 1024;
        long n = up ? (bytes + unit - 1) / unit : bytes / unit;
        return n + (unit == MB ? " MB" : " KB");
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return DiskProblem.firstLine(String.valueOf(root.getMessage()));
    }

    private String h2(Path p) {
        return disk.h2Prefix() + p;
    }

    private String readOnlyUrl(Path mvFile) {
        String name = mvFile.toString();
        // ACCESS_MODE_DATA=r: H2 writes nothing to the file (a read-write open writes a chunk even for a read).
        return "jdbc:h2:" + disk.h2Prefix() + name.substring(0, name.length() - ".mv.db".length())
                + ";ACCESS_MODE_DATA=r;TRACE_LEVEL_FILE=0;DB_CLOSE_ON_EXIT=FALSE";
    }

    private boolean exists(Path p) {
        return FilePath.get(h2(p)).exists();
    }

    private long size(Path p) {
        return FilePath.get(h2(p)).size();
    }

    /** Reaches {@link CrashPoints#migrated} after each migration Flyway applies (the durability tests stop there). */
    private static final class MigrationCrashPoints implements Callback {
        @Override
        public boolean supports(Event event, Context context) {
            return event == Event.AFTER_EACH_MIGRATE;
        }

        @Override
        public boolean canHandleInTransaction(Event event, Context context) {
            return true;
        }

        @Override
        public void handle(Event event, Context context) {
            MigrationInfo m = context.getMigrationInfo();
            CrashPoints.reach(CrashPoints.migrated(m == null || m.getVersion() == null ? "?"
                    : m.getVersion().getVersion()));
        }

        @Override
        public String getCallbackName() {
            return "squeeze-crash-points";
        }
    }
}
