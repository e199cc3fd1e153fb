package dev.squeeze.engine.store;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.util.Hashing;
import org.flywaydb.core.api.FlywayException;
import org.h2.jdbcx.JdbcDataSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToLongFunction;

/**
 * The H2 results database. The schema is created and upgraded by Flyway migrations
 * ({@code db/migration/V<n>__*.sql}). This class is the single writer: every method holds the one connection
 * for its whole transaction, and a run with its layers and metrics is written all-or-nothing.
 */
public final class ResultsStore implements AutoCloseable {
    private static final AtomicLong MEMORY_DBS = new AtomicLong();

    private final String url;
    private final String where;
    private final Connection connection;
    private final java.nio.file.Path checkpointRoot;
    /** The first write that failed for want of disk (full, read-only): see {@link #diskFailure()}. */
    private volatile SqueezeException diskFailure;

    /** @param migrate run Flyway here (in memory); a file is brought to the current schema before, by {@link SchemaUpgrade} */
    private ResultsStore(String url, String where, java.nio.file.Path checkpointRoot, boolean migrate) {
        this.url = url;
        this.where = where;
        this.checkpointRoot = checkpointRoot;
        JdbcDataSource ds = SchemaUpgrade.dataSource(url);
        try {
            if (migrate) {
                SchemaUpgrade.flyway(ds).load().migrate();
            }
            this.connection = ds.getConnection();
        } catch (FlywayException | SQLException e) {
            throw openFailure(where, e);
        }
    }

    /**
     * How the store reaches its file: H2's file-system prefix ({@code "file:"}; tests pass a simulated disk,
     * {@code "faulty:"}, see testing.FaultyDisk) and how many bytes are free in a folder.
     */
    record Disk(String h2Prefix, ToLongFunction<Path> usableBytes) {
        static final Disk LOCAL = new Disk("file:", Disk::usableBytesOf);

        /** The bytes this JVM may still write in {@code folder}; unknown counts as plenty (the write then says). */
        static long usableBytesOf(Path folder) {
            try {
                return Files.getFileStore(folder).getUsableSpace();
            } catch (java.io.IOException | RuntimeException e) {
                return Long.MAX_VALUE;
            }
        }
    }

    /** Opens (creating or upgrading) the database in the user's data directory. */
    public static ResultsStore openDefault() {
        return openFile(DataDirs.resultsDatabase());
    }

    /** Opens (creating or upgrading) the database at {@code base} ({@code base.mv.db} on disk). */
    public static ResultsStore openFile(Path base) {
        return openFile(base, "file:");
    }

    /**
     * {@link #openFile(Path)} through an H2 file system: {@code "file:"} normally; tests pass a simulated disk
     * ({@code "faulty:"}, see testing.FaultyDisk).
     */
    static ResultsStore openFile(Path base, String fileSystem) {
        return openFile(base, new Disk(fileSystem, Disk.LOCAL.usableBytes()));
    }

    /** {@link #openFile(Path)} on {@code disk}. */
    static ResultsStore openFile(Path base, Disk disk) {
        Path abs = base.toAbsolutePath();
        Path file = fileOf(abs);
        try {
            Files.createDirectories(abs.getParent());
        } catch (Exception e) {
            throw new SqueezeException("Cannot create the folder for the results database " + abs.getParent()
                    + ": " + e.getMessage(), "check its permissions, or set SQUEEZE_HOME to a writable folder", e);
        }
        if (Files.exists(file) && !Files.isReadable(file)) {
            throw new SqueezeException("The results database " + file + " is not readable",
                    "fix its permissions (chmod u+rw), or set SQUEEZE_HOME to another folder");
        }
        // WRITE_DELAY=0: a commit writes its chunk to the file before it returns. With H2's default (a background
        // writer, up to 500 ms later) a run that recordRun reported as stored could still be lost to a kill -9 or
        // a full disk, and the disk error would reach no caller. TRACE_LEVEL_FILE=0: no results.trace.db; on a
        // full or read-only disk H2 could not write it either and would print its stack traces on stderr instead,
        // while every error H2 has reaches us as an exception anyway.
        // DB_CLOSE_ON_EXIT=FALSE: on Ctrl-C or SIGTERM the job engine's shutdown hook still records its jobs as
        // interrupted; H2's own hook would close the database first. Squeeze closes its stores itself.
        SchemaUpgrade.ensureCurrent(abs, disk);
        return new ResultsStore("jdbc:h2:" + disk.h2Prefix() + abs
                + ";WRITE_DELAY=0;TRACE_LEVEL_FILE=0;DB_CLOSE_ON_EXIT=FALSE", file.toString(), checkpointRootFor(abs), false);
    }

    /** The file H2 keeps the database at {@code base} in. */
    static Path fileOf(Path base) {
        return base.resolveSibling(base.getFileName() + ".mv.db");
    }

    /** The folder of job checkpoints that belongs to the database at {@code base}. */
    public static Path checkpointRootFor(Path base) {
        Path abs = base.toAbsolutePath();
        return abs.resolveSibling(abs.getFileName() + "-checkpoints");
    }

    /** A fresh private in-memory database (tests, throw-away sessions). */
    public static ResultsStore inMemory() {
        return new ResultsStore("jdbc:h2:mem:squeeze" + MEMORY_DBS.incrementAndGet() + ";DB_CLOSE_DELAY=-1",
                "in-memory database", null, true);
    }

    public String location() {
        return where;
    }

    /**
     * The error of the first read or write that failed because the disk is full or read-only, or null while none
     * has. It stays: H2 closes a database whose write failed (every later call fails the same way), and a read-only
     * disk refuses every write, so nothing more can be stored through this store. The job engine asks, to stop
     * starting jobs and say so once instead of once per job.
     */
    public SqueezeException diskFailure() {
        return diskFailure;
    }

    /** The job table (background jobs and their state). */
    public JobRecords jobs() {
        return new JobRecords(this);
    }

    /** The sensitivity cache (issue #13): per-layer, per-setting proxy measurements. */
    public SensitivityRecords sensitivity() {
        return new SensitivityRecords(this);
    }

    /** The folder next to the database file where jobs keep their per-layer checkpoints; null in memory. */
    public java.nio.file.Path checkpointRoot() {
        return checkpointRoot;
    }

    /** Work on the one connection, in one transaction, for the store package's other tables (jobs). */
    interface Transaction<T> {
        T run(Connection c) throws SQLException;
    }

    synchronized <T> T inTransaction(String what, Transaction<T> work) {
        return inTransaction(what, "; nothing of it was written", "check free disk space and permissions, then try again",
                work);
    }

    /**
     * Runs {@code work} in one transaction: all of it is committed, or none (rollback). A failure becomes a
     * {@link SqueezeException} "Could not WHAT in DB", said precisely for a full or read-only disk.
     */
    private synchronized <T> T inTransaction(String what, String outcome, String fix, Transaction<T> work) {
        try {
            connection.setAutoCommit(false);
            try {
                T out = work.run(connection);
                connection.commit();
                return out;
            } catch (SQLException | RuntimeException e) {
                connection.rollback();
                throw e;
            } finally {
                connection.setAutoCommit(true);
            }
        } catch (SQLException e) {
            SqueezeException disk = diskError(where, "Could not " + what + " in " + where, outcome, e);
            if (disk != null) {
                if (diskFailure == null) {
                    diskFailure = disk;
                }
                throw disk;
            }
            throw new SqueezeException("Could not " + what + " in " + where + ": " + DiskProblem.firstLine(String.valueOf(
                    e.getMessage())) + " (nothing of it was written)", fix, e);
        }
    }

    /** A read on the one connection; a failure says what could not be read (precisely for a disk error). */
    private <T> T read(String what, Transaction<T> work) {
        return inTransaction(what, "", "check that the database file is intact", work);
    }

    /** The column limit of a free-text provenance field: longer text is cut (with an ellipsis), never refused. */
    private static String clip(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    /** Stores a finished run with its model, dataset, plan, layers and metrics in one transaction. */
    public synchronized long recordRun(RunRecord r) {
        long id = inTransaction("store run '" + r.label() + "'",
                "; nothing of the run was written, the runs stored before are intact",
                "check free disk space and permissions, then run it again", connection -> {
                long runId = insertRun(connection, r);
                if (r.jobId() != null) {
                    // The run and its job's completion commit together: a job is DONE exactly when its run exists.
                    JobRecords.markDone(connection, r.jobId(), runId, r.finishedAt());
                }
                CrashPoints.reach(CrashPoints.RUN_WRITTEN);
                return runId;
        });
        CrashPoints.reach(CrashPoints.RUN_COMMITTED);
        return id;
    }

    /**
     * Stores one of the several runs of a job that makes many (a search's front points), without ending the job,
     * under {@code pointKey}: run and key commit together, and a key the job already stored is not stored again
     * (a resumed search repeating a point). Returns the run's id, the earlier one for a repeated key.
     */
    public synchronized long recordJobPoint(RunRecord r, String pointKey) {
        if (r.jobId() == null) {
            throw new IllegalArgumentException("a job point needs its job");
        }
        return inTransaction("store run '" + r.label() + "'",
                "; nothing of the run was written, the runs stored before are intact",
                "check free disk space and permissions, then resume the job", connection -> {
                try (PreparedStatement ps = connection.prepareStatement(
                        "SELECT run_id FROM job_point WHERE job_id = ? AND point_key = ?")) {
                    ps.setLong(1, r.jobId());
                    ps.setString(2, pointKey);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (rs.next()) {
                            return rs.getLong(1);
                        }
                    }
                }
                long runId = insertRun(connection, r);
                try (PreparedStatement ps = connection.prepareStatement(
                        "INSERT INTO job_point (job_id, point_key, run_id) VALUES (?, ?, ?)")) {
                    ps.setLong(1, r.jobId());
                    ps.setString(2, pointKey);
                    ps.setLong(3, runId);
                    ps.executeUpdate();
                }
                return runId;
        });
    }

    /** Inserts a run with everything that belongs to it, in the caller's transaction. */
    private long insertRun(Connection connection, RunRecord r) throws SQLException {
                long modelId = modelId(r.model());
                long datasetId = datasetId(r.dataset());
                long planId = planId(r.planJson(), r.planDescription());
                long runId;
                try (PreparedStatement ps = connection.prepareStatement("""
                        INSERT INTO run (model_id, plan_id, dataset_id, label, status, started_at, finished_at, seed,
                          squeeze_version, git_commit, host, java_version, kernel_backend, size_bytes, fp16_bytes,
                          bits_per_weight, calibration_dataset_id, baseline, method_family, backends, cpu, search)
                        VALUES (?, ?, ?, ?, 'DONE', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        Statement.RETURN_GENERATED_KEYS)) {
                    Provenance p = r.provenance();
                    ps.setLong(1, modelId);
                    ps.setLong(2, planId);
                    ps.setLong(3, datasetId);
                    ps.setString(4, r.label());
                    ps.setTimestamp(5, Timestamp.from(r.startedAt()));
                    ps.setTimestamp(6, Timestamp.from(r.finishedAt()));
                    ps.setLong(7, r.seed());
                    ps.setString(8, p.squeezeVersion());
                    ps.setString(9, p.gitCommit());
                    ps.setString(10, p.host());
                    ps.setString(11, p.javaVersion());
                    ps.setString(12, p.kernelBackend());
                    ps.setLong(13, r.sizeBytes());
                    ps.setLong(14, r.fp16Bytes());
                    ps.setObject(15, r.bitsPerWeight());
                    ps.setObject(16, r.calibration() == null ? null : datasetId(r.calibration()));
                    ps.setBoolean(17, MethodFamily.isBaseline(r.layers()));
                    ps.setString(18, MethodFamily.of(r.layers()));
                    ps.setString(19, clip(p.backends(), 1000));
                    ps.setString(20, clip(p.cpu(), 1000));
                    ps.setString(21, clip(p.search(), 4000));
                    ps.executeUpdate();
                    runId = generatedKey(ps);
                }
                try (PreparedStatement ps = connection.prepareStatement("""
                        INSERT INTO layer_result (run_id, position, layer, method, settings, stored_bits,
                          bits_per_weight, recon_error, millis) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""")) {
                    int position = 0;
                    for (RunRecord.LayerResult l : r.layers()) {
                        ps.setLong(1, runId);
                        ps.setInt(2, position++);
                        ps.setString(3, l.layer());
                        ps.setString(4, l.method());
                        ps.setString(5, l.settings());
                        ps.setLong(6, l.storedBits());
                        ps.setDouble(7, l.bitsPerWeight());
                        ps.setObject(8, l.reconError());
                        ps.setLong(9, l.millis());
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
                try (PreparedStatement ps = connection.prepareStatement(
                        "INSERT INTO metric (run_id, name, split, metric_value) VALUES (?, ?, ?, ?)")) {
                    for (RunRecord.Metric m : r.metrics()) {
                        ps.setLong(1, runId);
                        ps.setString(2, m.name());
                        ps.setString(3, m.split());
                        ps.setDouble(4, m.value());
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
                for (String tag : r.tags()) {
                    try (PreparedStatement ps = connection.prepareStatement(
                            "MERGE INTO run_tag (run_id, tag) KEY (run_id, tag) VALUES (?, ?)")) {
                        ps.setLong(1, runId);
                        ps.setString(2, tag);
                        ps.executeUpdate();
                    }
                }
                return runId;
    }

    /** All runs of one model (by content hash), oldest first; all runs when {@code modelHash} is null. */
    public synchronized List<RunSummary> runs(String modelHash) {
        return read("read runs", connection -> {
            try (PreparedStatement ps = connection.prepareStatement(summarySql("? IS NULL OR m.content_hash = ?"))) {
                int next = bindHeadlineNames(ps);
                ps.setString(next, modelHash);
                ps.setString(next + 1, modelHash);
                List<RunSummary> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(summary(rs));
                    }
                }
                return out;
            }
        });
    }

    /** Everything stored about run {@code id} but its layers and metrics; empty when there is no such run. */
    public synchronized java.util.Optional<StoredRun> run(long id) {
        return read("read run " + id, connection -> {
            RunSummary summary;
            try (PreparedStatement ps = connection.prepareStatement(summarySql("r.id = ?"))) {
                ps.setLong(bindHeadlineNames(ps), id);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return java.util.Optional.<StoredRun>empty();
                    }
                    summary = summary(rs);
                }
            }
            try (PreparedStatement ps = connection.prepareStatement("""
                    SELECT p.json, p.description, r.squeeze_version, r.git_commit, r.host, r.java_version,
                           r.kernel_backend, e.name, e.source, e.content_hash, e.split, e.items,
                           c.name, c.source, c.content_hash, c.split, c.items, r.started_at, r.seed,
                           COALESCE((SELECT MIN(j.id) FROM job j WHERE j.run_id = r.id),
                                    (SELECT MIN(jp.job_id) FROM job_point jp WHERE jp.run_id = r.id)),
                           r.backends, r.cpu, r.search
                    FROM run r JOIN plan p ON p.id = r.plan_id JOIN dataset e ON e.id = r.dataset_id
                    LEFT JOIN dataset c ON c.id = r.calibration_dataset_id
                    WHERE r.id = ?""")) {
                ps.setLong(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    Provenance provenance = new Provenance(rs.getString(3), rs.getString(4), rs.getString(5),
                            rs.getString(6), rs.getString(7), rs.getString(21), rs.getString(22), rs.getString(23));
                    RunRecord.DatasetRecord evaluation = new RunRecord.DatasetRecord(rs.getString(8), rs.getString(9),
                            rs.getString(10), rs.getString(11), rs.getLong(12));
                    RunRecord.DatasetRecord calibration = rs.getString(13) == null ? null
                            : new RunRecord.DatasetRecord(rs.getString(13), rs.getString(14), rs.getString(15),
                            rs.getString(16), rs.getLong(17));
                    Long job = (Long) rs.getObject(20);
                    return java.util.Optional.of(new StoredRun(summary, rs.getString(1), rs.getString(2), provenance,
                            evaluation, calibration, rs.getTimestamp(18).toInstant(), rs.getLong(19),
                            tags(connection, id), job));
                }
            }
        });
    }

    /**
     * The run summaries' query with {@code where}. The headline metric is the first of {@link MetricKind}'s order
     * that the run has on the evaluation split: one sub-select per kind, its name bound as a parameter (see
     * {@link #bindHeadlineNames}), so a new kind needs no change here.
     */
    private static String summarySql(String where) {
        StringBuilder sql = new StringBuilder("""
                SELECT r.id, m.name, m.content_hash, r.label, r.status, r.finished_at, r.size_bytes, r.fp16_bytes,
                       r.bits_per_weight, r.kernel_backend, r.git_commit, r.baseline, r.method_family""");
        for (int i = 0; i < MetricKind.values().length; i++) {
            sql.append(",\n       (SELECT x.metric_value FROM metric x WHERE x.run_id = r.id AND x.name = ?"
                    + " AND x.split = '").append(Pareto.SPLIT).append("')");
        }
        return sql.append("\nFROM run r JOIN model m ON m.id = r.model_id\nWHERE ").append(where)
                .append("\nORDER BY r.id").toString();
    }

    /** Binds the metric names of {@link #summarySql}; returns the index of the first parameter of its WHERE. */
    private static int bindHeadlineNames(PreparedStatement ps) throws SQLException {
        MetricKind[] kinds = MetricKind.values();
        for (int i = 0; i < kinds.length; i++) {
            ps.setString(i + 1, kinds[i].metricName());
        }
        return kinds.length + 1;
    }

    private static final int SUMMARY_METRICS = 14;

    private static RunSummary summary(ResultSet rs) throws SQLException {
        MetricKind kind = null;
        Double value = null;
        MetricKind[] kinds = MetricKind.values();
        for (int i = 0; i < kinds.length && kind == null; i++) {
            value = (Double) rs.getObject(SUMMARY_METRICS + i);
            if (value != null) {
                kind = kinds[i];
            }
        }
        Timestamp fin = rs.getTimestamp(6);
        return new RunSummary(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                fin == null ? null : fin.toInstant(), rs.getLong(7), rs.getLong(8), (Double) rs.getObject(9), kind,
                value, rs.getString(10), rs.getString(11), rs.getBoolean(12), rs.getString(13));
    }

    /** The ids of the runs that carry {@code tag}. */
    public Set<Long> runsTagged(String tag) {
        return inTransaction("read tags", c -> {
            Set<Long> out = new java.util.TreeSet<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT run_id FROM run_tag WHERE tag = ?")) {
                ps.setString(1, tag);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getLong(1));
                    }
                }
            }
            return out;
        });
    }

    /** The tags of one run, sorted. */
    public List<String> tags(long runId) {
        return inTransaction("read tags", c -> tags(c, runId));
    }

    private static List<String> tags(Connection c, long runId) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT tag FROM run_tag WHERE run_id = ? ORDER BY tag")) {
            ps.setLong(1, runId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    /** Every tag any run carries, each once, sorted. */
    public List<String> allTags() {
        return read("read tags", c -> {
            List<String> out = new ArrayList<>();
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT DISTINCT tag FROM run_tag ORDER BY tag")) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        });
    }

    /** Every stored model: (content hash, name, source, format, architecture, parameters, runs). */
    public List<StoredModel> models() {
        return models(null);
    }

    /** The stored model with this content hash, if the database knows it. */
    public java.util.Optional<StoredModel> model(String contentHash) {
        return models(contentHash).stream().findFirst();
    }

    private List<StoredModel> models(String contentHash) {
        return inTransaction("read models", c -> {
            List<StoredModel> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT m.content_hash, m.name, m.source, m.format, m.architecture, m.parameters, m.stored_bytes,
                      (SELECT COUNT(*) FROM run r WHERE r.model_id = m.id) FROM model m"""
                    + (contentHash == null ? "" : " WHERE m.content_hash = ?") + " ORDER BY m.id")) {
                if (contentHash != null) {
                    ps.setString(1, contentHash);
                }
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new StoredModel(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                                rs.getString(5), rs.getLong(6), rs.getLong(7), rs.getInt(8)));
                    }
                }
            }
            return out;
        });
    }

    /** A model the database knows, with how many runs it has. */
    public record StoredModel(String contentHash, String name, String source, String format, String architecture,
                              long parameters, long storedBytes, int runs) {
    }

    /** Metrics of one run, as (name, split, value). */
    public synchronized List<RunRecord.Metric> metrics(long runId) {
        return read("read metrics", connection -> {
            try (PreparedStatement ps = connection.prepareStatement(
                    "SELECT name, split, metric_value FROM metric WHERE run_id = ? ORDER BY name, split")) {
                ps.setLong(1, runId);
                List<RunRecord.Metric> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new RunRecord.Metric(rs.getString(1), rs.getString(2), rs.getDouble(3)));
                    }
                }
                return out;
            }
        });
    }

    /** Per-layer results of one run, in the order they were stored. */
    public synchronized List<RunRecord.LayerResult> layerResults(long runId) {
        return read("read layer results", connection -> {
            try (PreparedStatement ps = connection.prepareStatement("""
                    SELECT layer, method, settings, stored_bits, bits_per_weight, recon_error, millis
                    FROM layer_result WHERE run_id = ? ORDER BY position""")) {
                ps.setLong(1, runId);
                List<RunRecord.LayerResult> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new RunRecord.LayerResult(rs.getString(1), rs.getString(2), rs.getString(3),
                                rs.getLong(4), rs.getDouble(5), (Double) rs.getObject(6), rs.getLong(7)));
                    }
                }
                return out;
            }
        });
    }

    /**
     * The value of one metric on one split for every run of a model (all models when {@code modelHash} is null)
     * that has it, by run id. Runs without the metric are absent (the Pareto query counts them as skipped).
     */
    public synchronized Map<Long, Double> metricValues(String modelHash, String name, String split) {
        return read("read metrics", connection -> {
            try (PreparedStatement ps = connection.prepareStatement("""
                    SELECT x.run_id, x.metric_value FROM metric x JOIN run r ON r.id = x.run_id
                    JOIN model m ON m.id = r.model_id
                    WHERE (? IS NULL OR m.content_hash = ?) AND x.name = ? AND x.split = ? ORDER BY x.run_id""")) {
                ps.setString(1, modelHash);
                ps.setString(2, modelHash);
                ps.setString(3, name);
                ps.setString(4, split);
                Map<Long, Double> out = new LinkedHashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getLong(1), rs.getDouble(2));
                    }
                }
                return out;
            }
        });
    }

    /** The distinct metric names stored on one split for any run of a model (any model when null), sorted. */
    public synchronized List<String> metricNames(String modelHash, String split) {
        return read("read metric names", connection -> {
            try (PreparedStatement ps = connection.prepareStatement("""
                    SELECT DISTINCT x.name FROM metric x JOIN run r ON r.id = x.run_id JOIN model m ON m.id = r.model_id
                    WHERE (? IS NULL OR m.content_hash = ?) AND x.split = ? ORDER BY x.name""")) {
                ps.setString(1, modelHash);
                ps.setString(2, modelHash);
                ps.setString(3, split);
                List<String> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getString(1));
                    }
                }
                return out;
            }
        });
    }

    /**
     * The plan description of each run of a model (all models when {@code modelHash} is null), by run id, in one
     * read (the explorer's tooltips; {@link #run(long)} reads a run's whole record).
     */
    public synchronized Map<Long, String> planDescriptions(String modelHash) {
        return textByRun("read plans", """
                SELECT r.id, p.description FROM run r JOIN model m ON m.id = r.model_id
                JOIN plan p ON p.id = r.plan_id
                WHERE ? IS NULL OR m.content_hash = ? ORDER BY r.id""", modelHash);
    }

    /** One text per run from {@code sql} (run id, text; the model hash bound twice), in one read. */
    private Map<Long, String> textByRun(String what, String sql, String modelHash) {
        return read(what, connection -> {
            try (PreparedStatement ps = connection.prepareStatement(sql)) {
                ps.setString(1, modelHash);
                ps.setString(2, modelHash);
                Map<Long, String> out = new LinkedHashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getLong(1), rs.getString(2));
                    }
                }
                return out;
            }
        });
    }

    /**
     * The search description ({@link Provenance#search()}) of each run of a model that a search made (all models
     * when {@code modelHash} is null), by run id, in one read; runs no search made are not in the map.
     */
    public synchronized Map<Long, String> searchDescriptions(String modelHash) {
        return textByRun("read searches", """
                SELECT r.id, r.search FROM run r JOIN model m ON m.id = r.model_id
                WHERE (? IS NULL OR m.content_hash = ?) AND r.search <> '' ORDER BY r.id""", modelHash);
    }

    /**
     * The tags of each tagged run of a model (all models when {@code modelHash} is null), by run id, each run's
     * tags sorted, in one read.
     */
    public synchronized Map<Long, List<String>> tagsByRun(String modelHash) {
        return read("read tags", connection -> {
            try (PreparedStatement ps = connection.prepareStatement("""
                    SELECT t.run_id, t.tag FROM run_tag t JOIN run r ON r.id = t.run_id
                    JOIN model m ON m.id = r.model_id
                    WHERE ? IS NULL OR m.content_hash = ? ORDER BY t.run_id, t.tag""")) {
                ps.setString(1, modelHash);
                ps.setString(2, modelHash);
                Map<Long, List<String>> out = new LinkedHashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getString(2));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public synchronized void close() {
        try {
            connection.close();
        } catch (SQLException ignored) {
            // Closing a connection that failed already leaves nothing to release.
        }
    }

    private long modelId(RunRecord.ModelRecord m) throws SQLException {
        Long id = findId("SELECT id FROM model WHERE content_hash = ?", m.contentHash());
        if (id != null) {
            return id;
        }
        try (PreparedStatement ps = connection.prepareStatement("""
                INSERT INTO model (content_hash, name, source, format, architecture, parameters, stored_bytes)
                VALUES (?, ?, ?, ?, ?, ?, ?)""", Statement.RETURN_GENERATED_KEYS)) {
            ps.setString(1, m.contentHash());
            ps.setString(2, m.name());
            ps.setString(3, m.source());
            ps.setString(4, m.format());
            ps.setString(5, m.architecture());
            ps.setLong(6, m.parameters());
            ps.setLong(7, m.storedBytes());
            ps.executeUpdate();
            return generatedKey(ps);
        }
    }

    private long datasetId(RunRecord.DatasetRecord d) throws SQLException {
        Long id = findId("SELECT id FROM dataset WHERE content_hash = ? AND split = ?", d.contentHash(), d.split());
        if (id != null) {
            return id;
        }
        try (PreparedStatement ps = connection.prepareStatement(
                "INSERT INTO dataset (name, source, content_hash, split, items) VALUES (?, ?, ?, ?, ?)",
                Statement.RETURN_GENERATED_KEYS)) {
            ps.setString(1, d.name());
            ps.setString(2, d.source());
            ps.setString(3, d.contentHash());
            ps.setString(4, d.split());
            ps.setLong(5, d.items());
            ps.executeUpdate();
            return generatedKey(ps);
        }
    }

    private long planId(String json, String description) throws SQLException {
        String hash = Hashing.sha256(json.getBytes(StandardCharsets.UTF_8));
        Long id = findId("SELECT id FROM plan WHERE content_hash = ?", hash);
        if (id != null) {
            return id;
        }
        try (PreparedStatement ps = connection.prepareStatement(
                "INSERT INTO plan (content_hash, json, description) VALUES (?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
            ps.setString(1, hash);
            ps.setString(2, json);
            ps.setString(3, description);
            ps.executeUpdate();
            return generatedKey(ps);
        }
    }

    private Long findId(String sql, String... args) throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setString(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : null;
            }
        }
    }

    private static long generatedKey(PreparedStatement ps) throws SQLException {
        try (ResultSet keys = ps.getGeneratedKeys()) {
            if (!keys.next()) {
                throw new SQLException("the database returned no generated id");
            }
            return keys.getLong(1);
        }
    }

    /**
     * The clear error for a write that failed because the disk is full or not writable, or null when {@code e} has
     * another cause. Looks through the whole cause chain (and suppressed exceptions): H2 reports a failed chunk
     * write as an MVStoreException around the operating system's IOException ("No space left on device",
     * "Read-only file system"), closes the store at once (every later call gets "The database has been closed"
     * with that cause), and opens a file it may not write read-only, where every write fails with
     * DATABASE_IS_READ_ONLY (90097). What was committed before stays on disk: reopening needs nothing special.
     */
    static SqueezeException diskError(String where, String what, String outcome, Throwable e) {
        DiskProblem problem = DiskProblem.of(e);
        String full = problem != null && problem.kind() == DiskProblem.Kind.FULL ? problem.detail() : null;
        String readOnly = problem != null && problem.kind() == DiskProblem.Kind.READ_ONLY ? problem.detail() : null;
        boolean endOfFile = DiskProblem.endOfFile(e);
        Path parent = where.contains(java.io.File.separator) ? Path.of(where).getParent() : null;
        String folder = parent != null ? parent.toString() : where;
        if (full != null) {
            return new SqueezeException(what + ": the disk is full (" + full + ")" + outcome,
                    "free space on the disk that holds " + folder + ", or set SQUEEZE_HOME to a folder on another "
                            + "disk; then start Squeeze again and repeat what failed", e);
        }
        if (readOnly != null) {
            return new SqueezeException(what + ": the disk or folder is read-only (" + readOnly + ")" + outcome,
                    "make " + folder + " writable (remount the disk read-write or fix its permissions), or set "
                            + "SQUEEZE_HOME to a writable folder; then start Squeeze again and repeat what failed", e);
        }
        // A disk that was full while H2 created the file leaves it shorter than H2's two 4 KiB headers, which
        // come before any data: H2 cannot open it again (EOFException), and it cannot hold a single run.
        long size = fileSize(parent == null ? null : Path.of(where));
        if (endOfFile && size >= 0 && size < 8192) {
            return new SqueezeException(what + ": the file is cut short at " + size + " bytes (the disk was probably "
                    + "full when it was created) and holds no runs",
                    "delete " + where + " (Squeeze then creates a new, empty one) after freeing disk space", e);
        }
        return null;
    }

    private static long fileSize(Path file) {
        try {
            return file == null ? -1 : Files.size(file);
        } catch (java.io.IOException e) {
            return -1;
        }
    }

    /** The clear error for a database file that could not be opened (in use, damaged, disk full or read-only, …). */
    static SqueezeException openFailure(String where, Exception e) {
        if (e instanceof SqueezeException se) {
            return se;
        }
        SqueezeException disk = diskError(where, "Cannot open the results database " + where, "", e);
        return disk != null ? disk : openError(where, e);
    }

    private static SqueezeException openError(String where, Exception e) {
        String msg = String.valueOf(e.getMessage());
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        String rootMsg = String.valueOf(root.getMessage());
        if (rootMsg.contains("already in use") || rootMsg.contains("file is locked")
                || rootMsg.contains("locked by another process")) {
            return new SqueezeException("The results database " + where + " is in use by another Squeeze process",
                    "close the other Squeeze window or command, or set SQUEEZE_HOME to another folder", e);
        }
        if (rootMsg.contains("corrupted") || rootMsg.contains("File corrupted") || rootMsg.contains("not a valid")
                || msg.contains("90030") || rootMsg.contains("Unsupported database file version")) {
            return new SqueezeException("The results database " + where + " is damaged or not an H2 database ("
                    + DiskProblem.firstLine(rootMsg) + ")",
                    "move the file aside (Squeeze then creates a new, empty one) or restore it from a backup", e);
        }
        return new SqueezeException("Cannot open the results database " + where + ": " + DiskProblem.firstLine(rootMsg),
                "check the file's permissions and free disk space, or set SQUEEZE_HOME to another folder", e);
    }

    @Override
    public String toString() {
        return "ResultsStore[" + url + "]";
    }
}
