package dev.squeeze.app.settings;

import dev.squeeze.app.workbench.WorkbenchViewModel;
import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.scene.control.ButtonType;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Dialog;
import javafx.scene.control.Label;
import javafx.scene.control.Spinner;
import javafx.scene.control.SpinnerValueFactory;
import javafx.scene.control.TextField;
import javafx.scene.layout.ColumnConstraints;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.stage.FileChooser;
import javafx.stage.Modality;
import javafx.stage.Stage;

import java.io.File;
import java.nio.file.Path;

/**
 * File ▸ Settings… : database location, kernel backend, workers, where jobs run (this computer or a Slurm cluster,
 * with the cluster's settings and a "Check cluster" button), theme and recent models. Changes apply at once
 * (the database after it opened) and are saved; there is nothing to confirm.
 */
public final class SettingsView {
    private final Dialog<Void> dialog = new Dialog<>();

    public SettingsView(SettingsViewModel settings, WorkbenchViewModel workbench, Stage owner) {
        dialog.initOwner(owner);
        dialog.initModality(Modality.WINDOW_MODAL);
        dialog.setTitle("Settings");
        dialog.setHeaderText("Changes apply at once and are kept in "
                + (settings.storePath() == null ? "memory (this session only)" : settings.storePath()));
        dialog.getDialogPane().getButtonTypes().add(ButtonType.CLOSE);
        dialog.getDialogPane().setId("settings-dialog");
        dialog.setResizable(true);

        GridPane grid = new GridPane();
        grid.setHgap(10);
        grid.setVgap(10);
        grid.setPadding(new Insets(12));
        ColumnConstraints labels = new ColumnConstraints();
        labels.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        ColumnConstraints fields = new ColumnConstraints();
        fields.setHgrow(Priority.ALWAYS);
        grid.getColumnConstraints().addAll(labels, fields);

        // Results database: a new or an existing file; opened in the background, kept only if it opens.
        TextField path = new TextField(settings.effectiveDatabase() + ".mv.db");
        path.setId("settings-database");
        path.setPrefColumnCount(36);
        Button create = new Button("New…");
        create.setId("settings-database-new");
        Button existing = new Button("Existing…");
        existing.setId("settings-database-open");
        Button use = new Button("Use this database");
        use.setId("settings-database-use");
        use.setDefaultButton(false);
        Label dbMessage = new Label();
        dbMessage.setId("settings-database-message");
        dbMessage.setWrapText(true);
        dbMessage.setMaxWidth(560);
        create.setOnAction(e -> {
            FileChooser chooser = new FileChooser();
            chooser.setTitle("New results database");
            chooser.setInitialFileName("results.mv.db");
            File f = chooser.showSaveDialog(dialog.getDialogPane().getScene().getWindow());
            if (f != null) {
                path.setText(f.getPath());
            }
        });
        existing.setOnAction(e -> {
            FileChooser chooser = new FileChooser();
            chooser.setTitle("Open a results database");
            chooser.getExtensionFilters().addAll(
                    new FileChooser.ExtensionFilter("Squeeze results database", "*.mv.db"),
                    new FileChooser.ExtensionFilter("All files", "*"));
            File f = chooser.showOpenDialog(dialog.getDialogPane().getScene().getWindow());
            if (f != null) {
                path.setText(f.getPath());
            }
        });
        use.disableProperty().bind(workbench.busy().or(path.textProperty().isEmpty()));
        use.setOnAction(e -> {
            Path base = SettingsViewModel.databaseBase(path.getText());
            dbMessage.getStyleClass().setAll("label", "settings-message");
            dbMessage.setText("Opening " + base + ".mv.db…");
            workbench.switchDatabase(base, () -> {
                settings.setDatabase(base);
                dbMessage.getStyleClass().setAll("label", "settings-message");
                dbMessage.setText("Now using " + base + ".mv.db");
            }, message -> {
                dbMessage.getStyleClass().setAll("label", "settings-error");
                dbMessage.setText(message);
            });
        });
        create.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        existing.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        HBox dbRow = new HBox(6, path, create, existing);
        HBox.setHgrow(path, Priority.ALWAYS);
        grid.addRow(0, new Label("Results database"), dbRow);
        grid.add(new HBox(6, use), 1, 1);
        grid.add(dbMessage, 1, 2);

        ChoiceBox<KernelBackend> kernels = new ChoiceBox<>();
        kernels.setId("settings-kernels");
        kernels.getItems().setAll(KernelBackend.values());
        kernels.valueProperty().bindBidirectional(settings.kernelBackend());
        Label kernelNote = new Label();
        kernelNote.getStyleClass().add("settings-note");
        kernelNote.setWrapText(true);
        kernelNote.setMaxWidth(560);
        kernelNote.textProperty().bind(settings.kernelNote());
        settings.readBackendInUse();
        grid.addRow(3, new Label("Kernel backend"), kernels);
        grid.add(kernelNote, 1, 4);

        Spinner<Integer> workers = new Spinner<>();
        workers.setId("settings-workers");
        SpinnerValueFactory.IntegerSpinnerValueFactory factory =
                new SpinnerValueFactory.IntegerSpinnerValueFactory(1, settings.maxWorkers(), settings.workers().get());
        workers.setValueFactory(factory);
        factory.valueProperty().addListener((obs, old, n) -> {
            if (n != null) {
                settings.workers().set(n);
            }
        });
        settings.workers().addListener((obs, old, n) -> factory.setValue(n.intValue()));
        workers.setPrefWidth(90);
        Label workersNote = new Label("Jobs running at once, each in its own worker process; applied at once: more"
                + " starts queued jobs now, fewer lets the running ones finish.");
        workersNote.getStyleClass().add("settings-note");
        workersNote.setWrapText(true);
        workersNote.setMaxWidth(560);
        grid.addRow(5, new Label("Workers"), workers);
        grid.add(workersNote, 1, 6);

        ChoiceBox<Theme> theme = new ChoiceBox<>();
        theme.setId("settings-theme");
        theme.getItems().setAll(Theme.values());
        theme.valueProperty().bindBidirectional(settings.theme());
        int row = addCluster(grid, 7, settings.cluster());
        grid.addRow(row, new Label("Theme"), theme);

        Button clearRecent = new Button("Clear recent models");
        clearRecent.setId("settings-clear-recent");
        clearRecent.disableProperty().bind(javafx.beans.binding.Bindings.isEmpty(settings.recentModels()));
        clearRecent.setOnAction(e -> settings.clearRecent());
        grid.addRow(row + 1, new Label("Recent models"), clearRecent);

        // Taller than some screens with the cluster's settings: it scrolls (and the dialog can be resized).
        javafx.scene.control.ScrollPane scroll = new javafx.scene.control.ScrollPane(grid);
        scroll.setId("settings-scroll");
        scroll.setFitToWidth(true);
        scroll.setHbarPolicy(javafx.scene.control.ScrollPane.ScrollBarPolicy.NEVER);
        scroll.setPrefViewportHeight(620);
        dialog.getDialogPane().setContent(scroll);
        // Room for paths and the notes beside their fields (AtlantaFX's stylesheet caps dialogs at 600 px; a style
        // set on the node wins over a stylesheet's).
        dialog.getDialogPane().setStyle("-fx-max-width: 1200px;");
        dialog.getDialogPane().setPrefWidth(780);
        dialog.setOnHidden(e -> {
            kernels.valueProperty().unbindBidirectional(settings.kernelBackend());
            theme.valueProperty().unbindBidirectional(settings.theme());
            unbind.forEach(Runnable::run);
        });
    }

    /** Unbinds the cluster fields from the settings when the dialog closes. */
    private final java.util.List<Runnable> unbind = new java.util.ArrayList<>();

    /**
     * "Run jobs on" and, for a Slurm cluster, its settings (each checked as typed: its problem under it) and
     * "Check cluster"; from grid row {@code row}. Returns the next free row.
     */
    private int addCluster(GridPane grid, int row, ClusterSettingsViewModel cluster) {
        ChoiceBox<RunOn> runOn = new ChoiceBox<>();
        runOn.setId("settings-run-on");
        runOn.getItems().setAll(RunOn.values());
        runOn.valueProperty().bindBidirectional(cluster.runOn());
        unbind.add(() -> runOn.valueProperty().unbindBidirectional(cluster.runOn()));
        Label runOnNote = note("Where new jobs' workers run; queued and running jobs stay where they are, and Resume"
                + " runs a job again where it was submitted.");
        grid.addRow(row++, new Label("Run jobs on"), runOn);
        grid.add(runOnNote, 1, row++);

        javafx.beans.binding.BooleanBinding local = cluster.runOn().isNotEqualTo(RunOn.SLURM);

        TextField shared = field(cluster, ClusterSettingsViewModel.Field.SHARED_DIR, "settings-slurm-shared-dir",
                "/shared/squeeze: this machine and every node reach it at the same path");
        Button browse = new Button("Browse…");
        browse.setId("settings-slurm-browse");
        browse.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        browse.setOnAction(e -> {
            javafx.stage.DirectoryChooser chooser = new javafx.stage.DirectoryChooser();
            chooser.setTitle("Shared directory for jobs on the cluster");
            String typed = shared.getText();
            if (typed != null && !typed.isBlank() && new File(typed.strip()).isDirectory()) {
                chooser.setInitialDirectory(new File(typed.strip()));
            }
            File f = chooser.showDialog(dialog.getDialogPane().getScene().getWindow());
            if (f != null) {
                shared.setText(f.getAbsolutePath());
            }
        });
        HBox sharedRow = new HBox(6, shared, browse);
        sharedRow.setAlignment(javafx.geometry.Pos.BASELINE_LEFT);
        HBox.setHgrow(shared, Priority.ALWAYS);
        row = slurmRow(grid, row, "Shared directory", sharedRow, cluster, ClusterSettingsViewModel.Field.SHARED_DIR,
                local);
        row = slurmRow(grid, row, "Partition", field(cluster, ClusterSettingsViewModel.Field.PARTITION,
                "settings-slurm-partition", "the cluster's default"), cluster,
                ClusterSettingsViewModel.Field.PARTITION, local);
        row = slurmRow(grid, row, "Account", field(cluster, ClusterSettingsViewModel.Field.ACCOUNT,
                "settings-slurm-account", "your default account"), cluster, ClusterSettingsViewModel.Field.ACCOUNT,
                local);

        Spinner<Integer> cpus = new Spinner<>();
        cpus.setId("settings-slurm-cpus");
        SpinnerValueFactory.IntegerSpinnerValueFactory cpuFactory = new SpinnerValueFactory.IntegerSpinnerValueFactory(
                1, ClusterSettingsViewModel.MAX_CPUS, cluster.cpus().get());
        cpus.setValueFactory(cpuFactory);
        cpus.setEditable(true);
        // What is typed and is not a number keeps the value (the default converter would throw on the FX thread).
        cpuFactory.setConverter(new javafx.util.StringConverter<>() {
            @Override
            public String toString(Integer n) {
                return n == null ? "" : n.toString();
            }

            @Override
            public Integer fromString(String typed) {
                try {
                    return Integer.parseInt(typed.strip());
                } catch (NumberFormatException | NullPointerException e) {
                    return cpuFactory.getValue();
                }
            }
        });
        cpus.setPrefWidth(90);
        cpuFactory.valueProperty().addListener((obs, old, n) -> {
            if (n != null) {
                cluster.cpus().set(n);
            }
        });
        javafx.beans.value.ChangeListener<Number> toSpinner = (obs, old, n) -> cpuFactory.setValue(n.intValue());
        cluster.cpus().addListener(toSpinner);
        unbind.add(() -> cluster.cpus().removeListener(toSpinner));
        cpus.disableProperty().bind(local);
        Label cpusLabel = new Label("CPUs per worker");
        cpusLabel.disableProperty().bind(local);
        grid.addRow(row++, cpusLabel, cpus);

        row = slurmRow(grid, row, "Memory", field(cluster, ClusterSettingsViewModel.Field.MEMORY,
                "settings-slurm-memory", "e.g. 8G; the cluster's default when empty"), cluster,
                ClusterSettingsViewModel.Field.MEMORY, local);
        row = slurmRow(grid, row, "Time limit", field(cluster, ClusterSettingsViewModel.Field.TIME,
                "settings-slurm-time", "e.g. 2:00:00 or 1-00:00; the partition's when empty"), cluster,
                ClusterSettingsViewModel.Field.TIME, local);
        row = slurmRow(grid, row, "Java home on nodes", field(cluster, ClusterSettingsViewModel.Field.JAVA_HOME,
                "settings-slurm-java-home", "optional: this JDK's path when empty"), cluster,
                ClusterSettingsViewModel.Field.JAVA_HOME, local);
        row = slurmRow(grid, row, "slurm.conf", field(cluster, ClusterSettingsViewModel.Field.SLURM_CONF,
                "settings-slurm-conf", "optional: the system's when empty"), cluster,
                ClusterSettingsViewModel.Field.SLURM_CONF, local);

        Button check = new Button("Check cluster");
        check.setId("settings-slurm-check");
        check.disableProperty().bind(local.or(cluster.checking()));
        check.setOnAction(e -> cluster.checkCluster());
        check.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        Label checkNote = note("Runs sinfo, writes a file in the shared directory from here and from a node (srun,"
                + " at most 30 s).");
        HBox checkRow = new HBox(10, check, checkNote);
        checkRow.setAlignment(javafx.geometry.Pos.CENTER_LEFT);
        grid.add(checkRow, 1, row++);
        javafx.scene.control.TextArea report = new javafx.scene.control.TextArea();
        report.setId("settings-slurm-check-report");
        report.setEditable(false);
        report.setWrapText(true);
        report.setPrefRowCount(7);
        report.setPrefColumnCount(40);
        report.setStyle("-fx-font-family: monospace;");
        report.textProperty().bind(cluster.checkReport());
        unbind.add(() -> report.textProperty().unbind());
        report.visibleProperty().bind(cluster.checkReport().isNotEmpty());
        report.managedProperty().bind(report.visibleProperty());
        grid.add(report, 1, row++);
        return row;
    }

    private TextField field(ClusterSettingsViewModel cluster, ClusterSettingsViewModel.Field f, String id,
                            String prompt) {
        TextField t = new TextField();
        t.setId(id);
        t.setPromptText(prompt);
        t.setPrefColumnCount(36);
        t.textProperty().bindBidirectional(cluster.text(f));
        unbind.add(() -> t.textProperty().unbindBidirectional(cluster.text(f)));
        return t;
    }

    /** A Slurm setting's row, greyed out unless Slurm is chosen, with its problem (if any) under it. */
    private static int slurmRow(GridPane grid, int row, String name, javafx.scene.Node field,
                                ClusterSettingsViewModel cluster, ClusterSettingsViewModel.Field f,
                                javafx.beans.binding.BooleanBinding local) {
        Label label = new Label(name);
        label.disableProperty().bind(local);
        field.disableProperty().bind(local);
        Label problem = new Label();
        problem.setId("settings-slurm-" + f.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + "-problem");
        problem.getStyleClass().add("settings-error");
        problem.setWrapText(true);
        problem.setMaxWidth(560);
        problem.setMinHeight(javafx.scene.layout.Region.USE_PREF_SIZE);
        problem.textProperty().bind(cluster.problem(f));
        problem.visibleProperty().bind(cluster.problem(f).isNotEmpty().and(local.not()));
        problem.managedProperty().bind(problem.visibleProperty());
        // The field and its problem in one cell, the label on the field's baseline (a hidden problem takes no row).
        javafx.scene.layout.VBox cell = new javafx.scene.layout.VBox(4, field, problem);
        GridPane.setValignment(label, javafx.geometry.VPos.BASELINE);
        GridPane.setValignment(cell, javafx.geometry.VPos.BASELINE);
        grid.addRow(row++, label, cell);
        return row;
    }

    private static Label note(String text) {
        Label l = new Label(text);
        l.getStyleClass().add("settings-note");
        l.setWrapText(true);
        l.setMaxWidth(560);
        l.setMinHeight(javafx.scene.layout.Region.USE_PREF_SIZE);
        return l;
    }

    public void show() {
        dialog.show();
    }

    /** The dialog (tests look into it). */
    public Dialog<Void> dialog() {
        return dialog;
    }
}
