package dev.squeeze.app.jobs;

import dev.squeeze.engine.plan.Presets;
import dev.squeeze.engine.store.JobStatus;
import javafx.beans.binding.Bindings;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.MenuButton;
import javafx.scene.control.MenuItem;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.SeparatorMenuItem;
import javafx.scene.control.Spinner;
import javafx.scene.control.SpinnerValueFactory;
import javafx.scene.control.TableCell;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import javafx.stage.FileChooser;
import javafx.stage.Window;

import java.io.File;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The job table (id, label, model, status, phase, a progress bar over the layers, the reason a job stopped) with
 * a "Queue job" menu (a preset or a plan file, for the open model), a worker-count spinner, and Cancel and Resume
 * buttons for the selected job.
 */
public final class JobsView {
    private final VBox root;
    private final TableView<JobItem> table;

    public JobsView(JobsViewModel vm, Supplier<Window> owner) {
        Label title = new Label("Jobs");
        title.getStyleClass().add("section-title");

        MenuButton queue = new MenuButton("Queue job…");
        queue.setId("queue-job");
        for (Presets.Preset p : Presets.all()) {
            MenuItem item = new MenuItem(p.name() + " — " + p.description());
            item.setId("queue-preset-" + p.name());
            item.setOnAction(e -> vm.queuePreset(p.name()));
            queue.getItems().add(item);
        }
        MenuItem file = new MenuItem("Plan file (JSON)…");
        file.setId("queue-plan-file");
        file.setOnAction(e -> {
            FileChooser chooser = new FileChooser();
            chooser.setTitle("Choose a compression plan");
            chooser.getExtensionFilters().addAll(new FileChooser.ExtensionFilter("Plans", "*.json"),
                    new FileChooser.ExtensionFilter("All files", "*"));
            File f = chooser.showOpenDialog(owner.get());
            if (f != null) {
                vm.queuePlanFile(f.toPath());
            }
        });
        queue.getItems().addAll(new SeparatorMenuItem(), file);
        queue.disableProperty().bind(vm.available().not().or(vm.openModelName().isNull()));
        queue.setTooltip(new Tooltip("Compress the open model in a background worker process"));
        Label forModel = new Label();
        forModel.getStyleClass().add("summary");
        forModel.textProperty().bind(Bindings.when(vm.openModelName().isNull()).then("")
                .otherwise(Bindings.concat("for ", vm.openModelName())));

        Spinner<Integer> workers = new Spinner<>(new SpinnerValueFactory.IntegerSpinnerValueFactory(1,
                JobsViewModel.MAX_WORKERS, vm.workers().get()));
        workers.setId("job-workers");
        workers.setPrefWidth(70);
        workers.getValueFactory().valueProperty().addListener((obs, old, n) -> vm.workers().set(n));
        workers.setTooltip(new Tooltip("Jobs running at once, each in its own worker process; a change applies "
                + "when no job is queued or running"));
        Label workersLabel = new Label("Workers");

        table = new TableView<>(vm.jobs());
        table.setId("job-table");
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        Label placeholder = new Label();
        placeholder.textProperty().bind(vm.unavailableReason());
        table.setPlaceholder(placeholder);
        table.getColumns().add(text("#", 40, j -> new SimpleObjectProperty<>(Long.toString(j.id()))));
        table.getColumns().add(text("Job", 200, j -> new SimpleObjectProperty<>(j.label())));
        table.getColumns().add(text("Model", 130, j -> new SimpleObjectProperty<>(modelName(j.model()))));
        TableColumn<JobItem, JobStatus> status = new TableColumn<>("Status");
        status.setCellValueFactory(c -> c.getValue().status());
        status.setCellFactory(c -> new StatusCell());
        status.setPrefWidth(95);
        table.getColumns().add(status);
        table.getColumns().add(text("Phase", 100, j -> j.phase()));
        TableColumn<JobItem, JobItem> progress = new TableColumn<>("Layers");
        progress.setCellValueFactory(c -> new SimpleObjectProperty<>(c.getValue()));
        progress.setCellFactory(c -> new ProgressCell());
        progress.setPrefWidth(170);
        table.getColumns().add(progress);
        TableColumn<JobItem, String> reason = text("Reason", 300, j -> j.reason());
        reason.setCellFactory(c -> new ReasonCell());
        table.getColumns().add(reason);
        VBox.setVgrow(table, Priority.ALWAYS);

        // The buttons follow the selected job's status, also when an event changes it while selected.
        ObjectProperty<JobStatus> selected = new SimpleObjectProperty<>();
        table.getSelectionModel().selectedItemProperty().addListener((obs, old, item) -> {
            selected.unbind();
            if (item == null) {
                selected.set(null);
            } else {
                selected.bind(item.status());
            }
        });
        Button cancel = new Button("Cancel");
        cancel.setId("cancel-job");
        cancel.disableProperty().bind(Bindings.createBooleanBinding(
                () -> !JobsViewModel.canCancel(selected.get()), selected));
        cancel.setOnAction(e -> withSelected(vm::cancel));
        cancel.setTooltip(new Tooltip("A queued job is dropped; a running one stops after its current layer; "
                + "a failed or interrupted one is given up (its checkpoints are deleted)"));
        Button resume = new Button("Resume");
        resume.setId("resume-job");
        resume.disableProperty().bind(Bindings.createBooleanBinding(
                () -> !JobsViewModel.canResume(selected.get()), selected));
        resume.setOnAction(e -> withSelected(vm::resume));
        resume.setTooltip(new Tooltip("Queue the job again; it continues from its last finished layer"));

        Region spacer = new Region();
        HBox.setHgrow(spacer, Priority.ALWAYS);
        HBox bar = new HBox(8, title, queue, forModel, spacer, workersLabel, workers, cancel, resume);
        bar.setAlignment(Pos.CENTER_LEFT);

        root = new VBox(6, bar, table);
        root.setPadding(new Insets(6, 10, 10, 10));
        root.setId("jobs-pane");
    }

    public VBox root() {
        return root;
    }

    public TableView<JobItem> table() {
        return table;
    }

    private void withSelected(java.util.function.LongConsumer action) {
        JobItem item = table.getSelectionModel().getSelectedItem();
        if (item != null) {
            action.accept(item.id());
        }
    }

    /** "builtin:fashion-mlp" → "fashion-mlp"; a path → its last element. */
    static String modelName(String ref) {
        if (ref == null) {
            return "";
        }
        if (ref.startsWith("builtin:")) {
            return ref.substring("builtin:".length());
        }
        String s = ref.replaceFirst("[/\\\\]+$", "");
        int slash = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
        return slash < 0 ? s : s.substring(slash + 1);
    }

    private static TableColumn<JobItem, String> text(String name, double width,
                                                     Function<JobItem, javafx.beans.value.ObservableValue<String>> value) {
        TableColumn<JobItem, String> c = new TableColumn<>(name);
        c.setCellValueFactory(cell -> value.apply(cell.getValue()));
        c.setPrefWidth(width);
        return c;
    }

    /** The status in lower case, coloured by outcome (see squeeze.css). */
    private static final class StatusCell extends TableCell<JobItem, JobStatus> {
        @Override
        protected void updateItem(JobStatus s, boolean empty) {
            super.updateItem(s, empty);
            getStyleClass().removeIf(c -> c.startsWith("job-"));
            if (empty || s == null) {
                setText(null);
            } else {
                setText(s.name().toLowerCase(Locale.ROOT));
                getStyleClass().add("job-" + s.name().toLowerCase(Locale.ROOT));
            }
        }
    }

    /** The reason on one line (messages carry a "Fix:" line), the whole of it in a tooltip. */
    private static final class ReasonCell extends TableCell<JobItem, String> {
        @Override
        protected void updateItem(String reason, boolean empty) {
            super.updateItem(reason, empty);
            if (empty || reason == null || reason.isEmpty()) {
                setText(null);
                setTooltip(null);
            } else {
                setText(reason.replaceAll("\\s*\\R\\s*", " — "));
                Tooltip t = new Tooltip(reason);
                t.setWrapText(true);
                t.setMaxWidth(600);
                setTooltip(t);
            }
        }
    }

    /** A progress bar over the layers with "done/total" beside it; indeterminate while a job has not counted them. */
    private static final class ProgressCell extends TableCell<JobItem, JobItem> {
        private final ProgressBar bar = new ProgressBar();
        private final Label count = new Label();
        private final HBox box = new HBox(6, bar, count);
        private JobItem bound;

        ProgressCell() {
            bar.setMaxWidth(Double.MAX_VALUE);
            HBox.setHgrow(bar, Priority.ALWAYS);
            box.setAlignment(Pos.CENTER_LEFT);
            count.setMinWidth(Region.USE_PREF_SIZE);
        }

        @Override
        protected void updateItem(JobItem item, boolean empty) {
            super.updateItem(item, empty);
            if (bound != null) {
                bar.progressProperty().unbind();
                count.textProperty().unbind();
                bound = null;
            }
            if (empty || item == null) {
                setGraphic(null);
                return;
            }
            bound = item;
            bar.progressProperty().bind(Bindings.createDoubleBinding(() ->
                    item.status().get() == JobStatus.RUNNING && item.layers().get().isEmpty()
                            ? ProgressBar.INDETERMINATE_PROGRESS : item.progress().get(),
                    item.status(), item.layers(), item.progress()));
            count.textProperty().bind(item.layers());
            setGraphic(box);
        }
    }
}
