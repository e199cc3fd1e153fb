package dev.squeeze.app.search;

import dev.squeeze.app.workbench.TaskExecutor;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.plan.PlanCheck;
import dev.squeeze.engine.search.SearchSpec;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleObjectProperty;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The open model's per-layer sensitivity for the plan editor: what is stored is read when a model opens; "Compute
 * sensitivity" measures the rest on a background thread of its own (it takes minutes on a language model and must
 * not hold up the workbench's reads), with progress, and can be cancelled (what was measured stays stored).
 */
public final class SensitivityViewModel {
    /** Families measured for a model with calibration data (the data-free ones for the others). */
    static List<String> methodsFor(Model model) {
        return PlanCheck.hasCalibration(model) ? SearchSpec.DEFAULT_METHODS
                : SearchSpec.DEFAULT_METHODS.stream().filter(m -> !FindPlanViewModel.DATA_HUNGRY.contains(m)).toList();
    }

    private final TaskExecutor executor;
    private final ObjectProperty<SensitivitySource> source = new SimpleObjectProperty<>();
    private final ReadOnlyObjectWrapper<SensitivityTable> table = new ReadOnlyObjectWrapper<>(SensitivityTable.EMPTY);
    private final ReadOnlyBooleanWrapper computing = new ReadOnlyBooleanWrapper();
    private final ReadOnlyDoubleWrapper progress = new ReadOnlyDoubleWrapper();
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("");
    private final ReadOnlyStringWrapper error = new ReadOnlyStringWrapper();
    private final ReadOnlyBooleanWrapper available = new ReadOnlyBooleanWrapper();
    private Model model;
    private AtomicBoolean cancel = new AtomicBoolean();
    private long generation;

    /** @param executor where measurements run (the workbench gives a dedicated background thread) */
    public SensitivityViewModel(TaskExecutor executor) {
        this.executor = executor;
        source.addListener((obs, old, s) -> {
            available.set(s != null && model != null);
            if (model != null) {
                show(model);
            }
        });
    }

    /** The engine's sensitivity (null: not available in this build; the action is then disabled and says why). */
    public ObjectProperty<SensitivitySource> source() {
        return source;
    }

    /** What is known for the open model ({@link SensitivityTable#EMPTY} until something is). */
    public ReadOnlyObjectProperty<SensitivityTable> table() {
        return table.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty computing() {
        return computing.getReadOnlyProperty();
    }

    /** Whether "Compute sensitivity" can run: a model is open and the engine provides sensitivity. */
    public ReadOnlyBooleanProperty available() {
        return available.getReadOnlyProperty();
    }

    /** 0..1 while computing (-1 while the total is not known yet). */
    public ReadOnlyDoubleProperty progress() {
        return progress.getReadOnlyProperty();
    }

    /** One line: what is known, or what the computation does now. */
    public ReadOnlyStringProperty status() {
        return status.getReadOnlyProperty();
    }

    /** The last failure in words, or null. */
    public ReadOnlyStringProperty error() {
        return error.getReadOnlyProperty();
    }

    /** Follows the open model: shows its stored sensitivity (a computation for another model is cancelled). */
    public void show(Model m) {
        if (model != m) {
            cancel();
            computing.set(false); // its result is for the other model and is dropped
        }
        model = m;
        long gen = ++generation;
        table.set(SensitivityTable.EMPTY);
        error.set(null);
        SensitivitySource s = source.get();
        available.set(s != null && m != null);
        if (m == null) {
            status.set("");
            return;
        }
        if (s == null) {
            status.set("Sensitivity is not available in this build");
            return;
        }
        status.set("Reading stored sensitivity…");
        executor.submit(() -> s.stored(m), t -> {
            if (gen == generation) {
                table.set(t);
                status.set(describe(t));
            }
        }, message -> {
            if (gen == generation) {
                error.set(message);
                status.set("Stored sensitivity could not be read");
            }
        });
    }

    /** Measures the open model's sensitivity in the background (what is stored is reused). */
    public void compute() {
        SensitivitySource s = source.get();
        Model m = model;
        if (m == null || s == null || computing.get()) {
            if (m == null) {
                error.set("Open a model first: sensitivity is measured on the open model");
            }
            return;
        }
        AtomicBoolean stop = new AtomicBoolean();
        cancel = stop;
        long gen = ++generation;
        computing.set(true);
        progress.set(-1);
        error.set(null);
        List<String> methods = methodsFor(m);
        status.set("Measuring sensitivity (" + String.join(", ", methods) + ")…");
        executor.submit(() -> s.compute(m, methods, (done, total, what) -> executor.publish(() -> {
            if (gen == generation && !stop.get()) {
                progress.set(total <= 0 ? -1 : (double) done / total);
                status.set(String.format(Locale.ROOT, "Measuring %d of %d%s", Math.min(done + 1, total), total,
                        what == null || what.isBlank() ? "" : ": " + what));
            }
        }), stop::get), t -> {
            if (gen == generation) {
                computing.set(false);
                table.set(t);
                status.set((stop.get() ? "Stopped; " : "") + describe(t));
            }
        }, message -> {
            if (gen == generation) {
                computing.set(false);
                error.set(message);
                status.set("Sensitivity failed");
            }
        });
    }

    /** Stops a computation at its next measurement; what was measured stays stored and is shown. */
    public void cancel() {
        if (computing.get()) {
            cancel.set(true);
            status.set("Stopping after the current measurement…");
        }
    }

    static String describe(SensitivityTable t) {
        if (t.isEmpty()) {
            return "No sensitivity stored for this model yet: Compute sensitivity measures it";
        }
        return String.format(Locale.ROOT, "Sensitivity of %d layers at %d levels (KL to the dense model on"
                + " calibration data)", t.layers().size(), t.levels().size());
    }
}
