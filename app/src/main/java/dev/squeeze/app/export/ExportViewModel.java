package dev.squeeze.app.export;

import dev.squeeze.app.workbench.TaskExecutor;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.export.Exports;
import dev.squeeze.engine.export.PlanTranslation;
import dev.squeeze.engine.export.gguf.GgmlType;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.runs.RunCancelledException;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.StoredRun;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Exporting one stored run: the formats its model can be written in, their options, the target, and the run's plan
 * in llama.cpp's and GPTQModel's words. The export recomputes the run's weights (minutes for a large model), so it
 * runs on its own executor, reports its phase, and can be cancelled; the file appears only when complete.
 */
public final class ExportViewModel {
    private final TaskExecutor reads;
    private final TaskExecutor work;
    private final Supplier<ResultsStore> store;
    private final Consumer<String> announce;

    private final ObservableList<Exports.Format> formats = FXCollections.observableArrayList();
    private final ObjectProperty<Exports.Format> format = new SimpleObjectProperty<>();
    private final ObjectProperty<GgmlType> ggufType = new SimpleObjectProperty<>(GgmlType.F32);
    private final ObjectProperty<DType> hfType = new SimpleObjectProperty<>(DType.F16);
    private final StringProperty target = new SimpleStringProperty("");
    private final StringProperty title = new SimpleStringProperty("Export");
    private final StringProperty status = new SimpleStringProperty("");
    private final StringProperty error = new SimpleStringProperty();
    private final StringProperty result = new SimpleStringProperty("");
    private final StringProperty llamaQuantize = new SimpleStringProperty("");
    private final StringProperty gptqModel = new SimpleStringProperty("");
    private final ReadOnlyBooleanWrapper running = new ReadOnlyBooleanWrapper(false);
    private final BooleanProperty loaded = new SimpleBooleanProperty(false);
    private volatile boolean cancelRequested;
    private long runId = -1;
    private String modelName = "model";

    /**
     * @param reads    the workbench's executor, for the short reads
     * @param work     where the export itself runs ({@link TaskExecutor#dedicated})
     * @param announce where a finished or failed export is announced (the notification banner)
     */
    public ExportViewModel(TaskExecutor reads, TaskExecutor work, Supplier<ResultsStore> store,
                           Consumer<String> announce) {
        this.reads = reads;
        this.work = work;
        this.store = store;
        this.announce = announce;
        format.addListener((o, was, now) -> {
            if (now != null) {
                target.set(suggestedTarget(now));
            }
        });
    }

    /** What the dialog shows first: the run, the formats its model allows, and the plan's translations. */
    record Prepared(StoredRun run, String architecture, String llamaQuantize, String gptqModel) {
    }

    /** Reads run {@code id}: its model's architecture decides the formats offered. */
    public void load(long id) {
        this.runId = id;
        loaded.set(false);
        error.set(null);
        reads.submit(() -> prepare(id), p -> {
            modelName = p.run().summary().modelName();
            title.set("Export run " + id + " — " + p.run().summary().label() + " (" + modelName + ")");
            formats.setAll(Arrays.stream(Exports.Format.values()).filter(f -> f.holds(p.architecture())).toList());
            format.set(formats.isEmpty() ? null : formats.getFirst());
            llamaQuantize.set(p.llamaQuantize());
            gptqModel.set(p.gptqModel());
            loaded.set(true);
        }, error::set);
    }

    private Prepared prepare(long id) {
        ResultsStore s = requireStore();
        StoredRun run = s.run(id).orElseThrow(() -> new SqueezeException("Run " + id + " is not in "
                + s.location(), "reload the runs list"));
        ResultsStore.StoredModel model = s.model(run.summary().modelHash())
                .orElseThrow(() -> new SqueezeException("Run " + id + " names no model the database knows",
                        "re-run its plan"));
        String llama;
        String gptq;
        if (!"llama".equals(model.architecture())) {
            llama = gptq = "(only for Llama-family models)";
        } else {
            try {
                PlanTranslation.RunPlan plan = PlanTranslation.ofRun(s, id);
                llama = text(plan.llamaCpp());
                gptq = text(plan.gptqModel());
            } catch (SqueezeException e) {
                llama = gptq = "(no translation: " + e.getMessage() + ")";
            }
        }
        return new Prepared(run, model.architecture(), llama, gptq);
    }

    private static String text(PlanTranslation.Translation t) {
        if (t.unexpressed().isEmpty()) {
            return t.text();
        }
        return t.text() + "\n\nNot expressed exactly (" + t.unexpressed().size() + "):\n  "
                + String.join("\n  ", t.unexpressed());
    }

    private String suggestedTarget(Exports.Format f) {
        String base = modelName.replaceAll("[^A-Za-z0-9._-]+", "_") + "-run" + runId + "-" + f.word();
        Path dir = target.get().isBlank() ? Path.of(System.getProperty("user.home"))
                : parentOf(Path.of(target.get()));
        return dir.resolve(base + f.extension()).toString();
    }

    private static Path parentOf(Path p) {
        Path parent = p.toAbsolutePath().getParent();
        return parent == null ? p.toAbsolutePath() : parent;
    }

    /** Starts the export; {@link #running()} until it ends, then {@link #result()} or {@link #error()}. */
    public void export() {
        Exports.Format f = format.get();
        if (f == null || running.get()) {
            return;
        }
        if (target.get() == null || target.get().isBlank()) {
            error.set("Choose where to write the export");
            return;
        }
        Path out = Path.of(target.get().trim());
        Exports.Options options = new Exports.Options(ggufType.get(), hfType.get());
        long id = runId;
        cancelRequested = false;
        running.set(true);
        error.set(null);
        result.set("");
        status.set("Starting…");
        work.submit(() -> {
            try {
                return Exports.exportRun(requireStore(), id, f, out, options, hooks());
            } catch (RunCancelledException e) {
                throw new SqueezeException(e.getMessage(), null);
            }
        }, r -> {
            running.set(false);
            status.set("");
            result.set(describe(r));
            announce.accept("Exported run " + id + " to " + r.path() + " (" + human(r.bytes()) + ")");
        }, message -> {
            running.set(false);
            status.set("");
            error.set(message);
            announce.accept("Export of run " + id + " failed: " + message);
        });
    }

    /** Asks a running export to stop at its next layer; nothing is written. */
    public void cancel() {
        cancelRequested = true;
        status.set("Cancelling…");
    }

    private RunHooks hooks() {
        return new RunHooks() {
            @Override
            public void phase(Phase phase, String detail) {
                String words = switch (phase) {
                    case LOADING -> "Opening the model";
                    case CALIBRATION -> "Recomputing the run: calibration, " + detail;
                    case COMPRESSION -> "Recomputing the run: compression, " + detail;
                    case EVALUATION -> "Writing";
                    case SENSITIVITY, SEARCH -> "Recomputing the run: " + phase.word() + ", " + detail;
                };
                reads.publish(() -> status.set(words));
            }

            @Override
            public void layerDone(int index, int total, String layer, boolean restored) {
                reads.publish(() -> status.set("Recomputing the run: layer " + (index + 1) + " of " + total));
            }

            @Override
            public void checkCancelled() {
                if (cancelRequested) {
                    throw new RunCancelledException("Export cancelled: nothing was written");
                }
            }
        };
    }

    static String describe(ExportReport r) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "Wrote %s%n%s, %,d bytes (%s)", r.path(),
                r.format(), r.bytes(), human(r.bytes())));
        List<ExportReport.TensorNote> noted = r.notes().stream().filter(n -> !n.reason().isEmpty()).toList();
        long exact = r.notes().stream().filter(ExportReport.TensorNote::exact).count();
        if (!r.notes().isEmpty()) {
            sb.append(String.format(Locale.ROOT, "%n%d of %d tensors give back the run's weights exactly",
                    exact, r.notes().size()));
        }
        if (!noted.isEmpty()) {
            sb.append(String.format(Locale.ROOT, "%nStored otherwise than asked (%d):", noted.size()));
            noted.forEach(n -> sb.append("\n  ").append(n.tensor()).append(": ").append(n.storedAs())
                    .append(" — ").append(n.reason()));
        }
        return sb.toString();
    }

    private static String human(long bytes) {
        return dev.squeeze.app.models.Bytes.human(bytes);
    }

    private ResultsStore requireStore() {
        ResultsStore s = store.get();
        if (s == null) {
            throw new SqueezeException("There is no results database to export from",
                    "open or create one in the settings");
        }
        return s;
    }

    public ObservableList<Exports.Format> formats() {
        return formats;
    }

    public ObjectProperty<Exports.Format> format() {
        return format;
    }

    public ObjectProperty<GgmlType> ggufType() {
        return ggufType;
    }

    public ObjectProperty<DType> hfType() {
        return hfType;
    }

    public StringProperty target() {
        return target;
    }

    public StringProperty title() {
        return title;
    }

    /** What a running export is doing now. */
    public StringProperty status() {
        return status;
    }

    /** Why the last load or export failed, or null. */
    public StringProperty error() {
        return error;
    }

    /** What the last export wrote. */
    public StringProperty result() {
        return result;
    }

    public StringProperty llamaQuantize() {
        return llamaQuantize;
    }

    public StringProperty gptqModel() {
        return gptqModel;
    }

    public ReadOnlyBooleanProperty running() {
        return running.getReadOnlyProperty();
    }

    public BooleanProperty loaded() {
        return loaded;
    }
}
