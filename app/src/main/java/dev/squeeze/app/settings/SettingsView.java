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
 * File ▸ Settings… : database location, kernel backend, workers, theme and recent models. Changes apply at once
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
        grid.addRow(7, new Label("Theme"), theme);

        Button clearRecent = new Button("Clear recent models");
        clearRecent.setId("settings-clear-recent");
        clearRecent.disableProperty().bind(javafx.beans.binding.Bindings.isEmpty(settings.recentModels()));
        clearRecent.setOnAction(e -> settings.clearRecent());
        grid.addRow(8, new Label("Recent models"), clearRecent);

        dialog.getDialogPane().setContent(grid);
        dialog.setOnHidden(e -> {
            kernels.valueProperty().unbindBidirectional(settings.kernelBackend());
            theme.valueProperty().unbindBidirectional(settings.theme());
        });
    }

    public void show() {
        dialog.show();
    }

    /** The dialog (tests look into it). */
    public Dialog<Void> dialog() {
        return dialog;
    }
}
