package dev.squeeze.app.report;

import dev.squeeze.app.compare.CompareViewModel;
import dev.squeeze.app.models.Bytes;
import dev.squeeze.app.pareto.ParetoViewModel;
import dev.squeeze.app.workbench.Notification;
import dev.squeeze.app.workbench.TaskExecutor;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.ResultsStore;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;

import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * "Report…" in the Pareto explorer and the comparison view: what to report on (the explorer's shown runs through
 * its filters, or the compared runs), written off the FX thread, with success or failure announced as a
 * notification. Plain properties and records: tested without a JavaFX toolkit.
 */
public final class ReportViewModel {
    /** The heading of reports made in the workbench. */
    public static final String TITLE = "Squeeze comparison report";

    private final TaskExecutor executor;
    private final Supplier<ResultsStore> store;
    private final Consumer<Notification> notify;
    private final ReadOnlyBooleanWrapper busy = new ReadOnlyBooleanWrapper(false);
    private final ReadOnlyObjectWrapper<Reports.Written> lastWritten = new ReadOnlyObjectWrapper<>();

    public ReportViewModel(TaskExecutor executor, Supplier<ResultsStore> store, Consumer<Notification> notify) {
        this.executor = executor;
        this.store = store;
        this.notify = notify;
    }

    /**
     * The runs the explorer shows (its model or all models, through its current filters), on its axes: its y
     * metric and its x axis.
     */
    public static Reports.Request explorerRequest(ParetoViewModel vm) {
        List<Long> ids = vm.rows().stream().map(ParetoViewModel.RunRow::id).toList();
        List<String> filters = new ArrayList<>();
        if (!vm.familyFilter().isEmpty()) {
            filters.add("method " + String.join(" or ", vm.familyFilter()));
        }
        if (!vm.tagFilter().isEmpty()) {
            filters.add("tagged " + String.join(" or ", vm.tagFilter()));
        }
        if (vm.allModels().get() && !vm.modelFilter().isEmpty()) {
            filters.add(vm.modelFilter().size() + " of the stored models");
        }
        LocalDate since = vm.since().get();
        if (since != null) {
            filters.add("finished since " + since);
        }
        String shown = vm.title().get().replaceFirst("^Runs — ", "");
        String selection = "runs of " + shown + " in the Pareto explorer"
                + (filters.isEmpty() ? "" : " (" + String.join("; ", filters) + ")");
        return new Reports.Request(TITLE, selection, ids, vm.metric().get(), vm.xAxis().get());
    }

    /** The compared runs, the reference first, against model size and each model's headline metric. */
    public static Reports.Request compareRequest(CompareViewModel.Comparison c) {
        List<Long> ids = c.runs().stream().map(CompareViewModel.RunHeader::id).toList();
        String runs = String.join(", ", c.runs().stream().map(h -> "#" + h.id()).toList());
        return new Reports.Request(TITLE, "the compared runs " + runs + " (reference #" + ids.getFirst() + ")", ids,
                null, Pareto.XAxis.SIZE_BYTES);
    }

    /** Writes the report of {@code request} to {@code file}, in the format its extension names (HTML otherwise). */
    public void write(Reports.Request request, Path file) {
        write(request, ReportFormat.ofFile(file), file);
    }

    /** Writes the report of {@code request} to {@code file} in {@code format}, off the FX thread. */
    public void write(Reports.Request request, ReportFormat format, Path file) {
        if (busy.get()) {
            notify.accept(Notification.of("A report is being written already; wait for it to finish."));
            return;
        }
        busy.set(true);
        executor.submit(() -> {
            ResultsStore s = store.get();
            if (s == null) {
                throw new SqueezeException("No report: there is no results database",
                        "open or create one in the settings");
            }
            return Reports.write(s, request, format, file);
        }, written -> {
            busy.set(false);
            lastWritten.set(written);
            notify.accept(Notification.of("Report written: " + written.file() + " (" + format.extension() + ", "
                    + Bytes.human(written.bytes()) + ", " + written.runs() + " run" + (written.runs() == 1 ? "" : "s")
                    + " of " + written.models() + " model" + (written.models() == 1 ? "" : "s") + ")"));
        }, message -> {
            busy.set(false);
            notify.accept(Notification.of("The report was not written: " + message));
        });
    }

    /** Whether a report is being written. */
    public ReadOnlyBooleanProperty busy() {
        return busy.getReadOnlyProperty();
    }

    /** The last report written, or null. */
    public ReadOnlyObjectProperty<Reports.Written> lastWritten() {
        return lastWritten.getReadOnlyProperty();
    }
}
