package dev.squeeze.app.jobs;

import dev.squeeze.engine.plan.Presets;
import dev.squeeze.engine.store.JobStatus;
import javafx.animation.Animation;
import javafx.animation.KeyFrame;
import javafx.animation.PauseTransition;
import javafx.animation.Timeline;
import javafx.beans.binding.Bindings;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.ButtonType;
import javafx.scene.control.Dialog;
import javafx.scene.control.TextArea;
import javafx.scene.control.ToggleButton;
import javafx.scene.control.ToggleGroup;
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
import javafx.scene.layout.StackPane;
import javafx.scene.layout.VBox;
import javafx.stage.FileChooser;
import javafx.stage.Modality;
import javafx.stage.Window;
import javafx.util.Duration;
import org.controlsfx.control.SegmentedButton;

import java.io.File;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The job table (id, label, model, status, the phase with a bar of its own progress, a progress bar over the
 * layers, elapsed time, ETA, the reason a job stopped) with a "Queue job" menu (a preset or a plan file, for the
 * open model), a "This model / All" filter, a worker-count spinner, and Cancel, Resume and Log buttons for the
 * selected job. A job that finishes or fails is announced in the bar for a few seconds, without taking focus.
 */
public final class JobsView {
    /** How long an announcement stays in the bar. */
    static final Duration ANNOUNCEMENT_TIME = Duration.seconds(12);

    private final VBox root;
    private final TableView<JobItem> table;
    private final Label announcement = new Label();
    private final Timeline ticker;
    private Dialog<Void> logDialog;
    private TextArea logText;

    private final MenuButton queue;
    private JobsViewModel model;

    /**
     * Offers {@code offers} in Queue job… (kept up to date): the presets valid for the open model, each queued as
     * its plan adapted to the model (see {@link Presets#offeredFor}). Without offers the menu has plan files only.
     */
    public void offerPresets(javafx.collections.ObservableList<Presets.Offer> offers) {
        Runnable rebuild = () -> {
            queue.getItems().removeIf(i -> i.getId() != null && i.getId().startsWith("queue-preset-"));
            int at = 0;
            for (Presets.Offer o : offers) {
                MenuItem item = new MenuItem(o.preset().name() + " — " + o.preset().description()
                        + (o.note() == null ? "" : " (adapted)"));
                item.setId("queue-preset-" + o.preset().name());
                String json = o.plan().canonicalJson();
                item.setOnAction(e -> model.queuePlanJson(o.preset().name(), json));
                queue.getItems().add(at++, item);
            }
            if (at > 0) {
                SeparatorMenuItem line = new SeparatorMenuItem();
                line.setId("queue-preset-separator");
                queue.getItems().add(at, line);
            }
        };
        offers.addListener((javafx.collections.ListChangeListener<Presets.Offer>) c -> rebuild.run());
        rebuild.run();
    }

    public JobsView(JobsViewModel vm, Supplier<Window> owner) {
        this.model = vm;
        Label title = new Label("Jobs");
        title.getStyleClass().add("section-title");

        queue = new MenuButton("Queue job…");
        queue.setId("queue-job");
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
        queue.getItems().add(file);
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
        workers.setTooltip(new Tooltip("Jobs running at once, each in its own worker process. More starts queued "
                + "jobs at once; fewer lets the running ones finish"));
        Label workersLabel = new Label("Workers");

        ToggleButton thisModel = new ToggleButton("This model");
        thisModel.setId("jobs-this-model");
        thisModel.setTooltip(new Tooltip("Show only the jobs of the open model"));
        ToggleButton all = new ToggleButton("All");
        all.setId("jobs-all");
        all.setTooltip(new Tooltip("Show the jobs of every model"));
        SegmentedButton filter = new SegmentedButton(thisModel, all);
        filter.setId("job-filter");
        filter.setToggleGroup(new ToggleGroup());
        (vm.onlyOpenModel().get() ? thisModel : all).setSelected(true);
        filter.getToggleGroup().selectedToggleProperty().addListener((obs, old, now) -> {
            if (now == null) {
                old.setSelected(true); // one of the two is always chosen
            } else {
                vm.onlyOpenModel().set(now == thisModel);
            }
        });
        vm.onlyOpenModel().addListener((obs, old, only) -> (only ? thisModel : all).setSelected(true));

        table = new TableView<>(vm.shownJobs());
        table.setId("job-table");
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        Label placeholder = new Label();
        placeholder.textProperty().bind(vm.unavailableReason());
        table.setPlaceholder(placeholder);
        TableColumn<JobItem, String> id = text("#", 40, j -> new SimpleObjectProperty<>(Long.toString(j.id())));
        id.setComparator(dev.squeeze.app.workbench.NaturalOrder.TEXT); // job 9 before job 10
        table.getColumns().add(id);
        table.getColumns().add(text("Job", 170, j -> new SimpleObjectProperty<>(j.label())));
        table.getColumns().add(text("Model", 130, j -> new SimpleObjectProperty<>(modelName(j.model()))));
        TableColumn<JobItem, JobStatus> status = new TableColumn<>("Status");
        status.setCellValueFactory(c -> c.getValue().status());
        status.setCellFactory(c -> new StatusCell());
        status.setPrefWidth(95);
        table.getColumns().add(status);
        TableColumn<JobItem, JobItem> phase = new TableColumn<>("Phase");
        phase.setCellValueFactory(c -> new SimpleObjectProperty<>(c.getValue()));
        phase.setCellFactory(c -> new PhaseCell());
        phase.setPrefWidth(170);
        phase.setComparator(java.util.Comparator.comparing((JobItem j) -> j.phase().get(),
                java.util.Comparator.nullsLast(java.util.Comparator.naturalOrder())));
        table.getColumns().add(phase);
        TableColumn<JobItem, JobItem> progress = new TableColumn<>("Layers");
        progress.setCellValueFactory(c -> new SimpleObjectProperty<>(c.getValue()));
        progress.setCellFactory(c -> new ProgressCell());
        progress.setPrefWidth(150);
        progress.setComparator(java.util.Comparator.comparingDouble((JobItem j) -> j.progress().get()));
        table.getColumns().add(progress);
        TableColumn<JobItem, String> elapsed = text("Elapsed", 80, j -> j.elapsed());
        elapsed.setId("job-elapsed");
        elapsed.setMinWidth(76); // its header in full
        elapsed.setComparator(dev.squeeze.app.workbench.NaturalOrder.TEXT);
        elapsed.setStyle("-fx-alignment: CENTER-RIGHT;");
        table.getColumns().add(elapsed);
        TableColumn<JobItem, String> eta = text("ETA", 65, j -> j.eta());
        eta.setId("job-eta");
        eta.setComparator(dev.squeeze.app.workbench.NaturalOrder.TEXT);
        eta.setStyle("-fx-alignment: CENTER-RIGHT;");
        Label etaHeader = new Label("ETA");
        etaHeader.setTooltip(new Tooltip("Time left in the current stage (the layers, then the evaluation), from "
                + "its progress so far; — while it cannot be told yet"));
        eta.setGraphic(etaHeader);
        eta.setText("");
        table.getColumns().add(eta);
        TableColumn<JobItem, String> where = text("Where", 210, j -> j.where());
        where.setId("job-where");
        where.setCellFactory(c -> new WhereCell());
        Label whereHeader = new Label("Where");
        whereHeader.setTooltip(new Tooltip("Where the job's worker runs or ran: this computer (its process id and"
                + " host) or the Slurm job and its node; File ▸ Settings… ▸ Run jobs on chooses it for new jobs"));
        where.setGraphic(whereHeader);
        where.setText("");
        table.getColumns().add(where);
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
        Button log = new Button("Log");
        log.setId("job-log");
        log.disableProperty().bind(selected.isNull());
        log.setOnAction(e -> withSelected(vm::showLog));
        log.setTooltip(new Tooltip("The end of the selected job's worker log (the last "
                + JobsViewModel.LOG_LINES + " lines)"));
        vm.jobLog().addListener((obs, old, shown) -> {
            if (shown != null) {
                showLog(shown, owner.get());
            }
        });

        announcement.setId("job-announcement");
        announcement.getStyleClass().add("summary");
        announcement.setVisible(false);
        announcement.setMinWidth(0);
        PauseTransition fade = new PauseTransition(ANNOUNCEMENT_TIME);
        fade.setOnFinished(e -> announcement.setVisible(false));
        vm.lastAnnouncement().addListener((obs, old, said) -> {
            if (said == null) {
                return;
            }
            // A label in the bar: seen, and nothing takes the keyboard focus from where the user is working.
            announcement.setText(said.text());
            announcement.setTooltip(new Tooltip(said.text()));
            announcement.getStyleClass().removeIf(c -> c.startsWith("job-"));
            announcement.getStyleClass().add("job-" + said.status().name().toLowerCase(Locale.ROOT));
            announcement.setVisible(true);
            fade.playFromStart();
        });

        // Elapsed times and ETAs move on every second, also between events.
        ticker = new Timeline(new KeyFrame(Duration.seconds(1), e -> vm.tick()));
        ticker.setCycleCount(Animation.INDEFINITE);
        ticker.play();

        // The announcement takes the room between the controls (cut short, never squeezing them, never moving them).
        StackPane middle = new StackPane(announcement);
        middle.setAlignment(Pos.CENTER_LEFT);
        middle.setMinWidth(0);
        HBox.setHgrow(middle, Priority.ALWAYS);
        HBox bar = new HBox(8, title, queue, forModel, filter, middle, workersLabel, workers, cancel, resume, log);
        for (javafx.scene.Node n : bar.getChildren()) {
            if (n != middle && n instanceof Region r) {
                r.setMinWidth(Region.USE_PREF_SIZE);
            }
        }
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

    /** The label that shows a finished job's announcement for a while (hidden otherwise). */
    public Label announcement() {
        return announcement;
    }

    /** The log dialog: one, non-modal, reused for every job's log (shown again on top when asked again). */
    private void showLog(JobsViewModel.JobLog log, Window owner) {
        if (logDialog == null) {
            logText = new TextArea();
            logText.setId("job-log-text");
            logText.setEditable(false);
            logText.setWrapText(false);
            logText.setPrefColumnCount(110);
            logText.setPrefRowCount(30);
            logText.setStyle("-fx-font-family: monospace;");
            logDialog = new Dialog<>();
            logDialog.initModality(Modality.NONE);
            if (owner != null) {
                logDialog.initOwner(owner);
            }
            logDialog.setResizable(true);
            logDialog.getDialogPane().setContent(logText);
            logDialog.getDialogPane().getButtonTypes().add(ButtonType.CLOSE);
            logDialog.getDialogPane().setId("job-log-dialog");
            logDialog.getDialogPane().setPrefSize(900, 560); // log lines are long: room for most of them
        }
        logDialog.setTitle("Log of job #" + log.jobId() + (log.label().isEmpty() ? "" : " " + log.label()));
        String ranAt = log.where() == null || log.where().isEmpty() ? "" : "\nWhere: " + log.where();
        logDialog.setHeaderText((log.found() ? "The last " + JobsViewModel.LOG_LINES + " lines of " + log.file()
                : "No log yet") + ranAt);
        logText.setText(log.text());
        logText.setWrapText(!log.found()); // a log keeps its lines; a sentence saying why there is none wraps
        logText.positionCaret(log.text().length());
        logText.setScrollTop(Double.MAX_VALUE);
        if (!logDialog.isShowing()) {
            logDialog.show();
        }
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

    /** Where the job runs, the whole of it in a tooltip too (a long host name may not fit). */
    private static final class WhereCell extends TableCell<JobItem, String> {
        @Override
        protected void updateItem(String where, boolean empty) {
            super.updateItem(where, empty);
            if (empty || where == null || where.isEmpty()) {
                setText(null);
                setTooltip(null);
            } else {
                setText(where);
                setTooltip(new Tooltip(where));
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

    /**
     * The phase's name over a thin bar of its own progress ("evaluation", 512/1000 images): indeterminate while a
     * running phase has not said how far it is; nothing for a job that is not running.
     */
    private static final class PhaseCell extends TableCell<JobItem, JobItem> {
        private final Label name = new Label();
        private final ProgressBar bar = new ProgressBar();
        private final Label percent = new Label();
        private final HBox box = new HBox(6, name, bar, percent);
        private final Tooltip detail = new Tooltip();
        private JobItem bound;

        PhaseCell() {
            bar.getStyleClass().add("phase-progress");
            bar.setMaxWidth(Double.MAX_VALUE);
            bar.setMinWidth(24);
            HBox.setHgrow(bar, Priority.ALWAYS);
            name.setMinWidth(Region.USE_PREF_SIZE);
            percent.setMinWidth(Region.USE_PREF_SIZE);
            box.setAlignment(Pos.CENTER_LEFT);
        }

        @Override
        protected void updateItem(JobItem item, boolean empty) {
            super.updateItem(item, empty);
            if (bound != null) {
                name.textProperty().unbind();
                bar.progressProperty().unbind();
                bar.visibleProperty().unbind();
                percent.textProperty().unbind();
                detail.textProperty().unbind();
                bound = null;
            }
            if (empty || item == null) {
                setGraphic(null);
                setTooltip(null);
                return;
            }
            bound = item;
            name.textProperty().bind(item.phase());
            bar.progressProperty().bind(Bindings.createDoubleBinding(() ->
                    item.phaseProgress().get() < 0 ? ProgressBar.INDETERMINATE_PROGRESS : item.phaseProgress().get(),
                    item.phaseProgress()));
            bar.visibleProperty().bind(item.status().isEqualTo(JobStatus.RUNNING));
            percent.textProperty().bind(Bindings.createStringBinding(() ->
                    item.status().get() != JobStatus.RUNNING || item.phaseProgress().get() < 0 ? ""
                            : Math.round(100 * item.phaseProgress().get()) + "%",
                    item.status(), item.phaseProgress()));
            detail.textProperty().bind(Bindings.createStringBinding(() -> item.phaseDetail().get().isEmpty()
                    ? item.phase().get() : item.phase().get() + ": " + item.phaseDetail().get(),
                    item.phase(), item.phaseDetail()));
            setTooltip(detail);
            setGraphic(box);
        }
    }

    /** A progress bar over the layers with "done/total" beside it; indeterminate while a job has not counted them. */
    private static final class ProgressCell extends TableCell<JobItem, JobItem> {
        private final ProgressBar bar = new ProgressBar();
        private final Label count = new Label();
        private final HBox box = new HBox(6, bar, count);
        private JobItem bound;

        ProgressCell() {
            bar.getStyleClass().add("layers-progress");
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
