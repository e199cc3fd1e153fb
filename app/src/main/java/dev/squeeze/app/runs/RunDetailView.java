package dev.squeeze.app.runs;

import dev.squeeze.engine.store.RunRecord;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.geometry.Insets;
import javafx.geometry.Orientation;
import javafx.scene.Parent;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.SplitPane;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.TableCell;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.control.TextArea;
import javafx.scene.control.Tooltip;
import javafx.scene.input.Clipboard;
import javafx.scene.input.ClipboardContent;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.fx.ChartViewer;
import org.jfree.data.category.DefaultCategoryDataset;

import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A run's detail: its plan, metrics, provenance and tags, a per-layer table and per-layer bar charts of bits and
 * reconstruction error. "Plan from this run" hands the stored plan JSON to whoever set {@link #setOnPlanFromRun}.
 */
public final class RunDetailView {
    private final BorderPane root = new BorderPane();
    private final TableView<RunRecord.LayerResult> layers = new TableView<>();
    private final TableView<RunDetailViewModel.MetricRow> metrics = new TableView<>();
    private final TableView<RunDetailViewModel.Fact> facts = new TableView<>();
    private final TextArea plan = new TextArea();
    private final DefaultCategoryDataset bits = new DefaultCategoryDataset();
    private final DefaultCategoryDataset errors = new DefaultCategoryDataset();
    private final Button planFromRun = new Button("Plan from this run");
    private final JFreeChart bitsChart;
    private final JFreeChart errorChart;
    private Consumer<String> onPlanFromRun;

    public RunDetailView(RunDetailViewModel vm) {
        root.setId("run-detail");
        Label title = new Label();
        title.getStyleClass().add("section-title");
        title.textProperty().bind(vm.title());
        title.setWrapText(true);
        Label error = new Label();
        error.setId("run-detail-error");
        error.setWrapText(true);
        error.setStyle("-fx-text-fill: #b3261e;");
        error.textProperty().bind(vm.error());
        error.managedProperty().bind(vm.error().isNotNull());
        error.visibleProperty().bind(vm.error().isNotNull());

        planFromRun.setId("plan-from-run");
        planFromRun.setTooltip(new Tooltip("Open this run's plan in the plan editor, to edit and launch again"));
        planFromRun.setDisable(true);
        planFromRun.setOnAction(e -> {
            RunDetailViewModel.Detail d = vm.detail().get();
            if (d != null && onPlanFromRun != null) {
                onPlanFromRun.accept(d.planJson());
            }
        });
        Button copy = new Button("Copy plan JSON");
        copy.setId("copy-plan");
        copy.disableProperty().bind(vm.detail().isNull());
        copy.setOnAction(e -> {
            ClipboardContent c = new ClipboardContent();
            c.putString(vm.detail().get().planJson());
            Clipboard.getSystemClipboard().setContent(c);
        });
        Button export = new Button("Export…");
        export.setId("export-run");
        export.setTooltip(new Tooltip("Write this run's compressed weights as GGUF, a Hugging Face or GPTQ folder,"
                + " ONNX or a Squeeze bundle"));
        export.disableProperty().bind(vm.detail().isNull());
        export.setOnAction(e -> new dev.squeeze.app.export.ExportDialog(vm.exporter(),
                root.getScene() == null ? null : root.getScene().getWindow()).show());
        Region spacer = new Region();
        HBox.setHgrow(spacer, Priority.ALWAYS);
        HBox actions = new HBox(8, spacer, copy, export, planFromRun);
        VBox top = new VBox(6, title, error, actions);
        top.setPadding(new Insets(10, 10, 6, 10));
        root.setTop(top);

        layers.setId("run-layers");
        layers.setPlaceholder(new Label("No layer results: this run compresses no layer"));
        layers.getColumns().add(text("Layer", 170, RunRecord.LayerResult::layer));
        layers.getColumns().add(text("Method", 80, RunRecord.LayerResult::method));
        layers.getColumns().add(text("Settings", 220, RunRecord.LayerResult::settings));
        layers.getColumns().add(number("Stored bits", 95, l -> (double) l.storedBits(), "%,.0f"));
        layers.getColumns().add(number("Bits/weight", 95, RunRecord.LayerResult::bitsPerWeight, "%.3f"));
        layers.getColumns().add(number("Recon. error", 110, RunRecord.LayerResult::reconError, "%.4g"));
        layers.getColumns().add(number("Time (ms)", 80, l -> (double) l.millis(), "%,.0f"));
        bitsChart = LayerCharts.bars("Bits per weight by layer", "bits/weight", bits, "0.##", false);
        errorChart = LayerCharts.bars("Reconstruction error by layer", "relative error", errors,
                "0.####", false);
        ChartViewer bitsViewer = new ChartViewer(bitsChart);
        bitsViewer.setId("run-bits-chart");
        ChartViewer errorViewer = new ChartViewer(errorChart);
        errorViewer.setId("run-error-chart");
        HBox charts = new HBox(6, bitsViewer, errorViewer);
        HBox.setHgrow(bitsViewer, Priority.ALWAYS);
        HBox.setHgrow(errorViewer, Priority.ALWAYS);
        bitsViewer.setPrefSize(400, 260);
        errorViewer.setPrefSize(400, 260);
        SplitPane layerPane = new SplitPane(layers, charts);
        layerPane.setOrientation(Orientation.VERTICAL);
        layerPane.setDividerPositions(0.5);

        metrics.setId("run-metrics");
        metrics.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        metrics.getColumns().add(textM("Metric", 200, RunDetailViewModel.MetricRow::name));
        metrics.getColumns().add(textM("Split", 120, RunDetailViewModel.MetricRow::split));
        TableColumn<RunDetailViewModel.MetricRow, Double> value = new TableColumn<>("Value");
        value.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().value()));
        value.setCellFactory(col -> new TableCell<>() {
            @Override
            protected void updateItem(Double v, boolean empty) {
                super.updateItem(v, empty);
                RunDetailViewModel.MetricRow row = empty || getTableRow() == null ? null : getTableRow().getItem();
                setText(row == null ? null : row.text());
            }
        });
        value.getStyleClass().add("number-cell");
        value.setPrefWidth(160);
        metrics.getColumns().add(value);

        facts.setId("run-provenance");
        facts.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        TableColumn<RunDetailViewModel.Fact, String> what = new TableColumn<>("What");
        what.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().name()));
        what.setPrefWidth(190);
        what.setSortable(false);
        TableColumn<RunDetailViewModel.Fact, String> val = new TableColumn<>("Value");
        val.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().value()));
        val.setSortable(false);
        // Hashes and paths are long: the whole value is in the tooltip (and Ctrl+C copies the selected row).
        val.setCellFactory(col -> new TableCell<>() {
            @Override
            protected void updateItem(String v, boolean empty) {
                super.updateItem(v, empty);
                setText(empty ? null : v);
                setTooltip(empty || v == null ? null : new Tooltip(v));
            }
        });
        facts.setOnKeyPressed(e -> {
            RunDetailViewModel.Fact f = facts.getSelectionModel().getSelectedItem();
            if (f != null && e.isShortcutDown() && e.getCode() == javafx.scene.input.KeyCode.C) {
                ClipboardContent c = new ClipboardContent();
                c.putString(f.value());
                Clipboard.getSystemClipboard().setContent(c);
            }
        });
        facts.getColumns().add(what);
        facts.getColumns().add(val);

        plan.setId("run-plan");
        plan.setEditable(false);
        plan.setStyle("-fx-font-family: monospace;");

        TabPane tabs = new TabPane(new Tab("Layers", layerPane), new Tab("Metrics", metrics),
                new Tab("Plan", plan), new Tab("Provenance", facts));
        tabs.setId("run-detail-tabs");
        tabs.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        root.setCenter(tabs);

        vm.detail().addListener((obs, old, d) -> show(d));
        show(vm.detail().get());
    }

    private void show(RunDetailViewModel.Detail d) {
        planFromRun.setDisable(d == null || onPlanFromRun == null);
        if (d == null) {
            return;
        }
        layers.getItems().setAll(d.layers());
        metrics.getItems().setAll(d.metrics());
        facts.getItems().setAll(d.facts());
        plan.setText(d.planPretty());
        bits.clear();
        errors.clear();
        String run = "#" + d.summary().id();
        for (RunRecord.LayerResult l : d.layers()) {
            bits.addValue(l.bitsPerWeight(), run, l.layer());
            errors.addValue(l.reconError(), run, l.layer());
        }
        recolour(d.summary().methodFamily());
    }

    /** One run: its bars in its family's colour, as on the Pareto chart. */
    private void recolour(String family) {
        java.awt.Color c = new java.awt.Color(dev.squeeze.app.pareto.FamilyColors.rgb(family));
        bitsChart.getCategoryPlot().getRenderer().setSeriesPaint(0, c);
        errorChart.getCategoryPlot().getRenderer().setSeriesPaint(0, c);
    }

    /**
     * What "Plan from this run" does with the run's plan JSON (the window opens it in the plan editor); the
     * button is disabled until this is set.
     */
    public void setOnPlanFromRun(Consumer<String> action) {
        this.onPlanFromRun = action;
        planFromRun.setDisable(action == null);
    }

    /** Styles the bar charts' frames for the dark or the light theme. */
    public void setDarkCharts(boolean dark) {
        dev.squeeze.app.pareto.ChartStyle.apply(bitsChart, dark);
        dev.squeeze.app.pareto.ChartStyle.apply(errorChart, dark);
    }

    public Parent root() {
        return root;
    }

    private static TableColumn<RunRecord.LayerResult, String> text(String name, double width,
                                                                   Function<RunRecord.LayerResult, String> f) {
        TableColumn<RunRecord.LayerResult, String> c = new TableColumn<>(name);
        c.setComparator(dev.squeeze.app.workbench.NaturalOrder.TEXT); // numbers as numbers
        c.setCellValueFactory(cell -> new ReadOnlyObjectWrapper<>(f.apply(cell.getValue())));
        c.setPrefWidth(width);
        return c;
    }

    private static TableColumn<RunDetailViewModel.MetricRow, String> textM(
            String name, double width, Function<RunDetailViewModel.MetricRow, String> f) {
        TableColumn<RunDetailViewModel.MetricRow, String> c = new TableColumn<>(name);
        c.setComparator(dev.squeeze.app.workbench.NaturalOrder.TEXT); // numbers as numbers
        c.setCellValueFactory(cell -> new ReadOnlyObjectWrapper<>(f.apply(cell.getValue())));
        c.setPrefWidth(width);
        return c;
    }

    /** A numeric column: sorts as numbers (missing values last), shows {@code pattern}. */
    static <R> TableColumn<R, Double> number(String name, double width, Function<R, Double> f, String pattern) {
        TableColumn<R, Double> c = new TableColumn<>(name);
        c.setCellValueFactory(cell -> new ReadOnlyObjectWrapper<>(f.apply(cell.getValue())));
        c.setCellFactory(col -> new TableCell<>() {
            @Override
            protected void updateItem(Double v, boolean empty) {
                super.updateItem(v, empty);
                setText(empty ? null : v == null ? "—" : String.format(Locale.ROOT, pattern, v));
            }
        });
        c.setComparator(java.util.Comparator.nullsLast(java.util.Comparator.naturalOrder()));
        c.getStyleClass().add("number-cell");
        c.setPrefWidth(width);
        return c;
    }
}
