package dev.squeeze.app.jobs;

import dev.squeeze.engine.jobs.JobEvent;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import javafx.beans.property.DoubleProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.SimpleDoubleProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * One row of the job table. Its cells are bound to these properties, so an event that moves a job on updates the
 * row in place (a row replaced on every layer would lose the table's selection). Touched where the view-model
 * publishes (the FX thread in the workbench); times come from the view-model's clock.
 *
 * <p>Elapsed time counts from the start of the job's current attempt (seen as a STARTED event), or from the
 * database's start time for a job this view did not see start. The ETA is the time left in the current stage,
 * from the rate of its progress since this view first saw the stage move: the layers (calibration and
 * compression) or the evaluation; "—" while that rate is not known yet.
 */
public final class JobItem {
    /** The phase shown while the worker process starts (before it reports its first phase). */
    static final String STARTING = "starting";
    /** What the ETA says while it cannot be estimated. */
    public static final String UNKNOWN = "—";
    /** The phase progress while it is not known (an indeterminate bar). */
    public static final double PHASE_UNKNOWN = -1;

    private final long id;
    private final String label;
    private final String model;
    private final ObjectProperty<JobStatus> status = new SimpleObjectProperty<>();
    private final StringProperty phase = new SimpleStringProperty("");
    private final DoubleProperty progress = new SimpleDoubleProperty();
    private final StringProperty layers = new SimpleStringProperty("");
    private final StringProperty reason = new SimpleStringProperty("");
    private final DoubleProperty phaseProgress = new SimpleDoubleProperty(PHASE_UNKNOWN);
    private final StringProperty phaseDetail = new SimpleStringProperty("");
    private final StringProperty elapsed = new SimpleStringProperty("");
    private final StringProperty eta = new SimpleStringProperty("");
    private final StringProperty where = new SimpleStringProperty("");
    private Long runId;

    /** Start of the current attempt (from a STARTED event), else the database's start; null before any start. */
    private Instant startedAt;
    private boolean startSeen;
    private Instant finishedAt;
    /** The stage the ETA is estimated for ("layers" or "evaluation"), its first sample and its latest fraction. */
    private String stage;
    private Instant stageFirstAt;
    private double stageFirstFraction;
    private Instant stageLastAt;
    private double stageLastFraction;

    JobItem(JobRow row, Instant now) {
        this.id = row.id();
        this.label = row.label();
        this.model = row.model();
        update(row, now);
    }

    public long id() {
        return id;
    }

    public String label() {
        return label;
    }

    /** The model as the job names it ({@code builtin:<sample>} or a path). */
    public String model() {
        return model;
    }

    public ReadOnlyObjectProperty<JobStatus> status() {
        return status;
    }

    /** The phase a running job is in (loading, calibration, compression, evaluation), else empty. */
    public ReadOnlyStringProperty phase() {
        return phase;
    }

    /** Layers done over layers in the plan, 0..1; 0 while the number of layers is not known yet. */
    public ReadOnlyDoubleProperty progress() {
        return progress;
    }

    /** "done/total" layers, empty while unknown. */
    public ReadOnlyStringProperty layers() {
        return layers;
    }

    /**
     * How far the current phase of a running job is, 0..1 (calibration windows, compressed layers, evaluated tokens
     * or images); {@link #PHASE_UNKNOWN} while the phase has not said; 1 for a finished job, 0 for one not running.
     */
    public ReadOnlyDoubleProperty phaseProgress() {
        return phaseProgress;
    }

    /** What the phase progress counts, e.g. "512/1000 images"; empty while unknown. */
    public ReadOnlyStringProperty phaseDetail() {
        return phaseDetail;
    }

    /** Time since the job (its current attempt) started, "m:ss" or "h:mm:ss"; its run time once ended; empty before. */
    public ReadOnlyStringProperty elapsed() {
        return elapsed;
    }

    /** Time left in the current stage of a running job ("~m:ss"), {@link #UNKNOWN} while unknown; else empty. */
    public ReadOnlyStringProperty eta() {
        return eta;
    }

    /**
     * Where the job runs or ran, as the database says ({@link JobRow#where()}): "local, pid 4711 on host",
     * "Slurm job 12 on node2", "Slurm job 12" while pending; read again when it starts and when its worker says hello.
     */
    public ReadOnlyStringProperty where() {
        return where;
    }

    /** On the FX thread: where the job runs, as the database says now. */
    void setWhere(String text) {
        where.set(text);
    }

    /** Why the job failed, was cancelled or interrupted; empty otherwise. */
    public ReadOnlyStringProperty reason() {
        return reason;
    }

    /** The stored run of a DONE job, else null. */
    public Long runId() {
        return runId;
    }

    /** The run time so far (or of the ended job), or null before it started. */
    Duration runTime(Instant now) {
        if (startedAt == null) {
            return null;
        }
        Instant end = status.get() == JobStatus.RUNNING || finishedAt == null ? now : finishedAt;
        return end.isBefore(startedAt) ? Duration.ZERO : Duration.between(startedAt, end);
    }

    /** Takes the database's view of the job. */
    void update(JobRow row, Instant now) {
        JobStatus before = status.get();
        status.set(row.status());
        phase.set(row.status() != JobStatus.RUNNING ? "" : row.phase() != null ? row.phase() : STARTING);
        setProgress(row.status(), row.layersDone(), row.layersTotal());
        reason.set(row.reason() == null ? "" : row.reason());
        where.set(row.where());
        runId = row.runId();
        if (!startSeen) {
            startedAt = row.startedAt();
        }
        if (row.status() == JobStatus.QUEUED) {
            startSeen = false;
            startedAt = null;
            finishedAt = null;
        } else if (row.status() != JobStatus.RUNNING) {
            finishedAt = finishedAt != null && before == row.status() ? finishedAt
                    : row.finishedAt() != null ? row.finishedAt() : now;
        }
        if (row.status() != JobStatus.RUNNING) {
            endPhase(row.status());
        } else if (before != JobStatus.RUNNING) {
            phaseProgress.set(PHASE_UNKNOWN);
        }
        tick(now);
    }

    /** Takes what an event says about the job. */
    void update(JobEvent e, Instant now) {
        status.set(e.status());
        if (e.status() != JobStatus.RUNNING) {
            phase.set("");
        } else if (e.phase() != null) {
            phase.set(e.phase());
        } else if (e.kind() == JobEvent.Kind.STARTED) {
            phase.set(STARTING);
        }
        setProgress(e.status(), e.layersDone(), e.layersTotal());
        switch (e.kind()) {
            case STARTED -> {
                reason.set("");
                startedAt = now;
                startSeen = true;
                finishedAt = null;
                stage = null;
                phaseProgress.set(PHASE_UNKNOWN);
                phaseDetail.set("");
            }
            case ENDED -> {
                reason.set(e.message() == null ? "" : e.message());
                runId = e.runId();
                finishedAt = now;
                endPhase(e.status());
            }
            case PHASE -> {
                Double f = e.phaseFraction();
                phaseProgress.set(f == null ? PHASE_UNKNOWN : f);
                phaseDetail.set(f == null ? "" : e.layersDone() + "/" + e.layersTotal() + " layers");
            }
            case PROGRESS -> {
                phaseProgress.set(e.progress().fraction());
                phaseDetail.set(e.progress().done() + "/" + e.progress().total() + " " + e.progress().unit());
            }
            case LAYER -> {
                Double f = e.phaseFraction();
                if (f != null) {
                    phaseProgress.set(f);
                    phaseDetail.set(e.layersDone() + "/" + e.layersTotal() + " layers");
                }
            }
            case WARNING, PLACED -> {
            }
        }
        if (e.status() == JobStatus.RUNNING) {
            sample(e, now);
        }
        tick(now);
    }

    /** Moves the elapsed time and the ETA on to {@code now}. */
    void tick(Instant now) {
        Duration run = runTime(now);
        elapsed.set(run == null ? "" : format(run));
        eta.set(status.get() != JobStatus.RUNNING ? "" : etaText(now));
    }

    /** A progress sample for the ETA: layers while calibrating or compressing, the fraction while evaluating. */
    private void sample(JobEvent e, Instant now) {
        String s;
        double f;
        if ("evaluation".equals(e.phase())) {
            if (e.progress() == null) {
                return;
            }
            s = "evaluation";
            f = e.progress().fraction();
        } else if (("calibration".equals(e.phase()) || "compression".equals(e.phase())) && e.layersTotal() > 0) {
            s = "layers";
            f = (double) e.layersDone() / e.layersTotal();
        } else {
            return;
        }
        if (!s.equals(stage)) {
            stage = s;
            stageFirstAt = now;
            stageFirstFraction = f;
        }
        stageLastAt = now;
        stageLastFraction = f;
    }

    private String etaText(Instant now) {
        if (stage == null || stageLastFraction >= 1 || stageLastFraction <= stageFirstFraction) {
            return UNKNOWN;
        }
        double seconds = Duration.between(stageFirstAt, stageLastAt).toMillis() / 1000.0;
        if (seconds <= 0) {
            return UNKNOWN;
        }
        double rate = (stageLastFraction - stageFirstFraction) / seconds; // per second
        double left = (1 - stageLastFraction) / rate - Duration.between(stageLastAt, now).toMillis() / 1000.0;
        return "~" + format(Duration.ofSeconds(Math.max(0, Math.round(left))));
    }

    private void endPhase(JobStatus s) {
        stage = null;
        phaseProgress.set(s == JobStatus.DONE ? 1.0 : 0.0);
        phaseDetail.set("");
    }

    private void setProgress(JobStatus s, int done, int total) {
        progress.set(s == JobStatus.DONE ? 1.0 : progressOf(done, total));
        layers.set(total > 0 ? done + "/" + total : "");
    }

    /** {@code done/total} clamped to 0..1; 0 when the total is not known yet. */
    static double progressOf(int done, int total) {
        return total <= 0 ? 0 : Math.max(0, Math.min(1, (double) done / total));
    }

    /** "0:07", "12:34", "1:02:03": whole seconds, rounded down. */
    static String format(Duration d) {
        long s = Math.max(0, d.getSeconds());
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
