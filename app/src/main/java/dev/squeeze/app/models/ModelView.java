package dev.squeeze.app.models;

import javafx.geometry.Insets;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;

/**
 * The open model: its name and summary line (format, architecture, parameters, size, baseline) over the view of
 * its layers, which is the plan editor.
 */
public final class ModelView {
    private final VBox root;

    public ModelView(ModelViewModel vm, Node layers) {
        Label title = new Label();
        title.setId("model-title");
        title.getStyleClass().add("section-title");
        title.textProperty().bind(vm.title());
        Label summary = new Label();
        summary.setId("model-summary");
        summary.getStyleClass().add("summary");
        summary.setWrapText(true);
        summary.textProperty().bind(vm.summary());
        VBox.setVgrow(layers, Priority.ALWAYS);
        root = new VBox(6, title, summary, layers);
        root.setPadding(new Insets(10));
    }

    public VBox root() {
        return root;
    }
}
