package dev.squeeze.app.models;

import dev.squeeze.engine.model.LayerInfo;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.geometry.Insets;
import javafx.scene.control.Label;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;

import java.util.Locale;

/** The model's summary and its layer table (name, role, shape, parameters, stored bytes). */
public final class ModelView {
    private final VBox root;

    public ModelView(ModelViewModel vm) {
        Label title = new Label();
        title.getStyleClass().add("section-title");
        title.textProperty().bind(vm.title());
        Label summary = new Label();
        summary.getStyleClass().add("summary");
        summary.setWrapText(true);
        summary.textProperty().bind(vm.summary());

        TableView<LayerInfo> table = new TableView<>(vm.layers());
        table.setId("layer-table");
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        table.setPlaceholder(new Label("No layers"));
        table.getColumns().add(column("Layer", 235, l -> l.name()));
        table.getColumns().add(column("Role", 80, l -> l.role().name().toLowerCase(Locale.ROOT)));
        table.getColumns().add(column("Shape", 110, LayerInfo::shapeText));
        TableColumn<LayerInfo, Long> params = new TableColumn<>("Parameters");
        params.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().parameters()));
        params.setCellFactory(c -> new NumberCell<>(v -> String.format(Locale.ROOT, "%,d", v)));
        params.setPrefWidth(90);
        TableColumn<LayerInfo, Long> bytes = new TableColumn<>("Stored");
        bytes.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().storedBytes()));
        bytes.setCellFactory(c -> new NumberCell<>(Bytes::human));
        bytes.setPrefWidth(80);
        table.getColumns().add(params);
        table.getColumns().add(bytes);
        VBox.setVgrow(table, Priority.ALWAYS);

        root = new VBox(6, title, summary, table);
        root.setPadding(new Insets(10));
    }

    private static TableColumn<LayerInfo, String> column(String name, double width,
                                                         java.util.function.Function<LayerInfo, String> value) {
        TableColumn<LayerInfo, String> c = new TableColumn<>(name);
        c.setCellValueFactory(cell -> new ReadOnlyStringWrapper(value.apply(cell.getValue())));
        c.setPrefWidth(width);
        return c;
    }

    public VBox root() {
        return root;
    }

    /** A right-aligned number cell. */
    static final class NumberCell<T> extends javafx.scene.control.TableCell<T, Long> {
        private final java.util.function.Function<Long, String> format;

        NumberCell(java.util.function.Function<Long, String> format) {
            this.format = format;
            getStyleClass().add("number-cell");
        }

        @Override
        protected void updateItem(Long item, boolean empty) {
            super.updateItem(item, empty);
            setText(empty || item == null ? null : format.apply(item));
        }
    }
}
