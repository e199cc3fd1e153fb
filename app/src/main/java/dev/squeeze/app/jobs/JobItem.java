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

/**
 * One row of the job table. Its cells are bound to these properties, so an event that moves a job on updates the
 * row in place (a row replaced on every layer would lose the table's selection). Touched on the FX thread only.
 */
public final class JobItem {
    /** The phase shown while the worker process starts (before it reports its first phase). */
    static final String STARTING = "starting";

    private final long id;
    private final String label;
    private final String model;
    private final ObjectProperty<JobStatus> status = new SimpleObjectProperty<>();
    private final StringProperty phase = new SimpleStringProperty("");
    private final DoubleProperty progress = new SimpleDoubleProperty();
    private final StringProperty layers = new SimpleStringProperty("");
    private final StringProperty reason = new SimpleStringProperty("");
    private Long runId;

    JobItem(JobRow row) {
        this.id = row.id();
        this.label = row.label();
        this.model = row.model();
        update(row);
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

    /** Why the job failed, was cancelled or interrupted; empty otherwise. */
    public ReadOnlyStringProperty reason() {
        return reason;
    }

    /** The stored run of a DONE job, else null. */
    public Long runId() {
        return runId;
    }

    /** Takes the database's view of the job. */
    void update(JobRow row) {
        status.set(row.status());
        phase.set(row.status() != JobStatus.RUNNING ? "" : row.phase() != null ? row.phase() : STARTING);
        setProgress(row.status(), row.layersDone(), row.layersTotal());
        reason.set(row.reason() == null ? "" : row.reason());
        runId = row.runId();
    }

    /** Takes what an event says about the job. */
    void update(JobEvent e) {
        status.set(e.status());
        if (e.status() != JobStatus.RUNNING) {
            phase.set("");
        } else if (e.phase() != null) {
            phase.set(e.phase());
        } else if (e.kind() == JobEvent.Kind.STARTED) {
            phase.set(STARTING);
        }
        setProgress(e.status(), e.layersDone(), e.layersTotal());
        if (e.kind() == JobEvent.Kind.STARTED) {
            reason.set("");
        } else if (e.kind() == JobEvent.Kind.ENDED) {
            reason.set(e.message() == null ? "" : e.message());
            runId = e.runId();
        }
    }

    private void setProgress(JobStatus s, int done, int total) {
        progress.set(s == JobStatus.DONE ? 1.0 : progressOf(done, total));
        layers.set(total > 0 ? done + "/" + total : "");
    }

    /** {@code done/total} clamped to 0..1; 0 when the total is not known yet. */
    static double progressOf(int done, int total) {
        return total <= 0 ? 0 : Math.max(0, Math.min(1, (double) done / total));
    }
}
