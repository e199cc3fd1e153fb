package dev.squeeze.app.workbench;

import dev.squeeze.app.jobs.JobsView;
import dev.squeeze.app.models.ModelView;
import dev.squeeze.app.pareto.RunsChartView;
import javafx.geometry.Insets;
import javafx.geometry.Orientation;
import javafx.scene.Parent;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressIndicator;
import javafx.scene.control.SplitPane;
import javafx.scene.control.ToolBar;
import javafx.scene.input.TransferMode;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.stage.FileChooser;
import javafx.stage.Stage;
import org.controlsfx.control.NotificationPane;
import org.controlsfx.control.action.Action;

import java.io.File;

/** The main window: a toolbar, the model on the left, its runs on the right, a status line, error banner. */
public final class WorkbenchView {
    private final NotificationPane root;
    private final RunsChartView runsView;
    private final JobsView jobsView;

    public WorkbenchView(WorkbenchViewModel vm, Stage stage) {
        ModelView modelView = new ModelView(vm.model());
        runsView = new RunsChartView(vm.runs());
        jobsView = new JobsView(vm.jobs(), () -> stage);

        Button open = new Button("Open model…");
        open.setId("open-model");
        open.setOnAction(e -> {
            FileChooser chooser = new FileChooser();
            chooser.setTitle("Open a model");
            // Formats are recognised by content, not extension; the filter only helps finding files.
            chooser.getExtensionFilters().addAll(
                    new FileChooser.ExtensionFilter("Models", "*.safetensors", "*.onnx", "*.bin", "*.json"),
                    new FileChooser.ExtensionFilter("All files", "*"));
            File f = chooser.showOpenDialog(stage);
            if (f != null) {
                vm.openFile(f.toPath());
            }
        });
        Button folder = new Button("Open folder…");
        folder.setId("open-folder");
        folder.setTooltip(new javafx.scene.control.Tooltip("A Hugging Face model folder (config.json + safetensors)"));
        folder.setOnAction(e -> {
            javafx.stage.DirectoryChooser chooser = new javafx.stage.DirectoryChooser();
            chooser.setTitle("Open a model folder");
            File d = chooser.showDialog(stage);
            if (d != null) {
                vm.openFile(d.toPath());
            }
        });
        folder.disableProperty().bind(vm.busy());
        Button sample = new Button("Sample model");
        sample.setOnAction(e -> vm.openSample());
        open.disableProperty().bind(vm.busy());
        sample.disableProperty().bind(vm.busy());
        Label brand = new Label("Squeeze");
        brand.getStyleClass().add("brand");
        Region spacer = new Region();
        HBox.setHgrow(spacer, Priority.ALWAYS);
        ToolBar toolbar = new ToolBar(brand, new Region(), open, folder, sample, spacer);

        SplitPane split = new SplitPane(modelView.root(), runsView.root());
        split.setOrientation(Orientation.HORIZONTAL);
        split.setDividerPositions(0.49);
        // The jobs sit below the model and its runs, like a build tool's task list.
        SplitPane main = new SplitPane(split, jobsView.root());
        main.setOrientation(Orientation.VERTICAL);
        main.setDividerPositions(0.72);
        SplitPane.setResizableWithParent(jobsView.root(), false);

        ProgressIndicator spinner = new ProgressIndicator();
        spinner.setPrefSize(16, 16);
        spinner.visibleProperty().bind(vm.busy());
        Label status = new Label();
        status.setId("status");
        status.textProperty().bind(vm.status());
        HBox statusBar = new HBox(8, spinner, status);
        statusBar.getStyleClass().add("status-bar");
        statusBar.setPadding(new Insets(4, 10, 4, 10));

        BorderPane content = new BorderPane(main, toolbar, null, statusBar, null);
        // Models can also be dropped onto the window.
        content.setOnDragOver(e -> {
            if (e.getDragboard().hasFiles()) {
                e.acceptTransferModes(TransferMode.COPY);
            }
            e.consume();
        });
        content.setOnDragDropped(e -> {
            boolean ok = e.getDragboard().hasFiles() && !e.getDragboard().getFiles().isEmpty();
            if (ok) {
                vm.openFile(e.getDragboard().getFiles().get(0).toPath());
            }
            e.setDropCompleted(ok);
            e.consume();
        });

        root = new NotificationPane(content);
        root.setId("notifications");
        root.getStyleClass().add(NotificationPane.STYLE_CLASS_DARK);
        root.setShowFromTop(true);
        vm.error().addListener((obs, old, message) -> {
            if (message != null) {
                root.getActions().clear();
                root.show(message);
            } else if (vm.jobs().interruptedNotice().get() == null) {
                root.hide();
            }
        });
        // Jobs a previous Squeeze left unfinished: offer to resume them.
        Action resume = new Action("Resume", e -> {
            vm.jobs().resumeInterrupted();
            root.hide();
        });
        vm.jobs().interruptedNotice().addListener((obs, old, notice) -> {
            if (notice != null) {
                root.show(notice, null, resume);
            } else if (vm.error().get() == null) {
                root.hide();
            }
        });
        root.setOnHidden(e -> {
            vm.error().set(null);
            vm.jobs().interruptedNotice().set(null);
        });
    }

    public Parent root() {
        return root;
    }

    public JobsView jobsView() {
        return jobsView;
    }

    public RunsChartView runsView() {
        return runsView;
    }
}
