package dev.squeeze.engine.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The job table of the results database. Like every table it is written only by the process that holds the
 * database (the CLI or the workbench); worker processes never open it. A job becomes DONE in the same
 * transaction that stores its run ({@link ResultsStore#recordRun}), so a job is DONE exactly when its run exists.
 */
public final class JobRecords {
    private static final String COLUMNS = """
            id, spec_json, spec_hash, model, label, status, created_at, started_at, finished_at, attempts,
            layers_done, layers_total, phase, reason, run_id, launcher, launcher_settings, worker_id, node, job_root""";

    private final ResultsStore store;

    JobRecords(ResultsStore store) {
        this.store = store;
    }

    /** Adds a queued job whose worker runs on this machine; returns its id. */
    public long add(String specJson, String specHash, String model, String label) {
        return add(specJson, specHash, model, label, "local", null, null);
    }

    /**
     * Adds a queued job; returns its id.
     *
     * @param launcher         {@code local} or {@code slurm}
     * @param launcherSettings the Slurm settings as JSON, null for local
     * @param jobRoot          the folder of a Slurm job's files under the shared directory, null for local
     */
    public long add(String specJson, String specHash, String model, String label, String launcher,
                    String launcherSettings, String jobRoot) {
        return store.inTransaction("queue job '" + label + "'", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO job (spec_json, spec_hash, model, label, status, launcher, launcher_settings, job_root)"
                            + " VALUES (?, ?, ?, ?, 'QUEUED', ?, ?, ?)",
                    Statement.RETURN_GENERATED_KEYS)) {
                ps.setString(1, specJson);
                ps.setString(2, specHash);
                ps.setString(3, model);
                ps.setString(4, label);
                ps.setString(5, launcher);
                ps.setString(6, launcherSettings);
                ps.setString(7, jobRoot);
                ps.executeUpdate();
                try (ResultSet keys = ps.getGeneratedKeys()) {
                    keys.next();
                    return keys.getLong(1);
                }
            }
        });
    }

    /** Every job, oldest first. */
    public List<JobRow> all() {
        return query("SELECT " + COLUMNS + " FROM job ORDER BY id");
    }

    public Optional<JobRow> get(long id) {
        return query("SELECT " + COLUMNS + " FROM job WHERE id = " + id).stream().findFirst();
    }

    /** Jobs in any of the given states, oldest first. */
    public List<JobRow> withStatus(JobStatus... states) {
        return query("SELECT " + COLUMNS + " FROM job WHERE status IN (" + inList(states) + ") ORDER BY id");
    }

    /** {@code 'A', 'B'} for an SQL IN list (enum names: no quoting issues). */
    private static String inList(JobStatus... states) {
        StringBuilder in = new StringBuilder();
        for (JobStatus s : states) {
            in.append(in.isEmpty() ? "" : ", ").append('\'').append(s.name()).append('\'');
        }
        return in.toString();
    }

    /** QUEUED → RUNNING, one more attempt. Returns false if the job was not queued (someone cancelled it). */
    public boolean markRunning(long id) {
        return update(id, "start job", """
                UPDATE job SET status = 'RUNNING', attempts = attempts + 1, reason = NULL, phase = NULL,
                  started_at = COALESCE(started_at, CURRENT_TIMESTAMP) WHERE id = ? AND status = 'QUEUED'""") == 1;
    }

    /**
     * Where the job's current attempt runs: its worker's process id or Slurm job id, and its machine (null: not known
     * yet, keeps what is recorded).
     */
    public void placed(long id, String workerId, String node) {
        store.inTransaction("record where job " + id + " runs", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE job SET worker_id = ?, node = COALESCE(?, node) WHERE id = ?")) {
                ps.setString(1, workerId);
                ps.setString(2, node);
                ps.setLong(3, id);
                return ps.executeUpdate();
            }
        });
    }

    /** Moves a job that is not running to another launcher (a resume with {@code --launcher}). */
    public void relaunch(long id, String launcher, String launcherSettings, String jobRoot) {
        store.inTransaction("move job " + id + " to the " + launcher + " launcher", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE job SET launcher = ?, launcher_settings = ?,"
                    + " job_root = ?, worker_id = NULL, node = NULL WHERE id = ? AND status <> 'RUNNING'")) {
                ps.setString(1, launcher);
                ps.setString(2, launcherSettings);
                ps.setString(3, jobRoot);
                ps.setLong(4, id);
                return ps.executeUpdate();
            }
        });
    }

    /** Progress of a running job. */
    public void progress(long id, int layersDone, int layersTotal, String phase) {
        store.inTransaction("record progress of job " + id, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE job SET layers_done = ?, layers_total = ?, phase = ? WHERE id = ? AND status = 'RUNNING'")) {
                ps.setInt(1, layersDone);
                ps.setInt(2, layersTotal);
                ps.setString(3, phase);
                ps.setLong(4, id);
                return ps.executeUpdate();
            }
        });
    }

    /** Ends a job that is not DONE: FAILED, CANCELLED or INTERRUPTED, with the reason shown to the user. */
    public void end(long id, JobStatus status, String reason) {
        if (status == JobStatus.DONE || !status.ended()) {
            throw new IllegalArgumentException("a job becomes DONE only with its run; not " + status);
        }
        store.inTransaction("mark job " + id + " " + status, c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    UPDATE job SET status = ?, reason = ?, phase = NULL, finished_at = CURRENT_TIMESTAMP
                    WHERE id = ? AND status <> 'DONE'""")) {
                ps.setString(1, status.name());
                ps.setString(2, reason == null ? null : clip(reason, 4000));
                ps.setLong(3, id);
                return ps.executeUpdate();
            }
        });
    }

    /** A FAILED, INTERRUPTED or CANCELLED job back to QUEUED. Returns false if it was in another state. */
    public boolean requeue(long id) {
        return update(id, "queue job again", "UPDATE job SET status = 'QUEUED', finished_at = NULL, phase = NULL"
                + " WHERE id = ? AND status IN (" + inList(java.util.Arrays.stream(JobStatus.values())
                .filter(JobStatus::canResume).toArray(JobStatus[]::new)) + ")") == 1;
    }

    /**
     * Jobs left RUNNING by a process that ended without finishing them (crash, kill -9, power loss) become
     * INTERRUPTED. Only the process that holds the database calls this, right after opening it: H2's file lock
     * means no other process can be running them. Returns the jobs it marked.
     */
    public List<JobRow> interruptOrphans() {
        List<JobRow> running = withStatus(JobStatus.RUNNING);
        for (JobRow j : running) {
            if (j.onSlurm() && j.workerId() != null) {
                String after = j.layersTotal() > 0 ? " after " + j.layersDone() + " of " + j.layersTotal() + " layers" : "";
                end(j.id(), JobStatus.INTERRUPTED, "Squeeze stopped while the job ran as " + j.where() + after
                        + "; it may still be running there: resume it to reconnect (or to submit it again if Slurm no"
                        + " longer runs it)");
                continue;
            }
            end(j.id(), JobStatus.INTERRUPTED, "Squeeze stopped while the job ran (a crash, a kill, a power loss, or a full disk under the "
                    + "database) after "
                    + j.layersDone() + " of " + j.layersTotal() + " layers");
        }
        return running.stream().map(j -> get(j.id()).orElseThrow()).toList();
    }

    /** Called inside {@link ResultsStore#recordRun}'s transaction. */
    static void markDone(Connection c, long jobId, long runId, Instant finishedAt) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE job SET status = 'DONE', run_id = ?, finished_at = ?, reason = NULL, phase = NULL,
                  layers_done = layers_total WHERE id = ?""")) {
            ps.setLong(1, runId);
            ps.setTimestamp(2, Timestamp.from(finishedAt));
            ps.setLong(3, jobId);
            if (ps.executeUpdate() != 1) {
                throw new SQLException("job " + jobId + " does not exist");
            }
        }
    }

    private int update(long id, String what, String sql) {
        return store.inTransaction(what + " " + id, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setLong(1, id);
                return ps.executeUpdate();
            }
        });
    }

    private List<JobRow> query(String sql) {
        return store.inTransaction("read jobs", c -> {
            List<JobRow> out = new ArrayList<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                while (rs.next()) {
                    Long runId = (Long) rs.getObject(15);
                    out.add(new JobRow(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getString(5), JobStatus.valueOf(rs.getString(6)), instant(rs.getTimestamp(7)),
                            instant(rs.getTimestamp(8)), instant(rs.getTimestamp(9)), rs.getInt(10), rs.getInt(11),
                            rs.getInt(12), rs.getString(13), rs.getString(14), runId, rs.getString(16),
                            rs.getString(17), rs.getString(18), rs.getString(19), rs.getString(20)));
                }
            }
            return out;
        });
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }

    private static String clip(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }
}
