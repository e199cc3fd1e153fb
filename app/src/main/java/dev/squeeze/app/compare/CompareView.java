package dev.squeeze.app.compare;

import dev.squeeze.app.compare.CompareViewModel.Comparison;
import dev.squeeze.app.compare.CompareViewModel.Field;
import dev.squeeze.app.compare.CompareViewModel.LayerCell;
import dev.squeeze.app.compare.CompareViewModel.LayerDiff;
import dev.squeeze.app.compare.CompareViewModel.MetricDelta;
import dev.squeeze.app.report.ReportFiles;
import dev.squeeze.app.report.ReportViewModel;
import dev.squeeze.app.runs.LayerCharts;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.geometry.Insets;
import javafx.scene.Parent;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.TableCell;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.jfree.chart.fx.ChartViewer;
import org.jfree.data.category.DefaultCategoryDataset;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Runs side by side: metric deltas against the first run, a per-layer diff whose differing cells are highlighted
 * (style class {@value #DIFF_CLASS}), and per-layer grouped bar charts of bits per weight and reconstruction error.
 */
public final class CompareView {
    /** Style class of a layer cell that differs from the reference run's. */
    public static final String DIFF_CLASS = "diff-cell";
    private static final String DIFF_STYLE = "-fx-background-color: #fff0a8; -fx-text-fill: #1a1a1a;";
    private static final String BETTER_STYLE = "-fx-text-fill: #1e7a1e;";
    private static final String WORSE_STYLE = "-fx-text-fill: #b3261e;";

    private final BorderPane root = new BorderPane();
    private final TableView<MetricDelta> metrics = new TableView<>();
    private final TableView<LayerDiff> layers = new TableView<>();
    private final CheckBox onlyDifferences = new CheckBox("Only layers that differ");
    private final DefaultCategoryDataset bits = new DefaultCategoryDataset();
    private final DefaultCategoryDataset errors = new DefaultCategoryDataset();
    private final org.jfree.chart.JFreeChart bitsChart;
    private final org.jfree.chart.JFreeChart errorChart;
    private final Button report = new Button("Report…");
    private final CompareViewModel vm;
    private ReportViewModel reports;

    public CompareView(CompareViewModel vm) {
        root.setId("compare");
        Label title = new Label();
        title.getStyleClass().add("section-title");
        title.textProperty().bind(vm.title());
        Label error = new Label();
        error.setId("compare-error");
        error.setWrapText(true);
        error.setStyle("-fx-text-fill: #b3261e;");
        error.textProperty().bind(vm.error());
        error.managedProperty().bind(vm.error().isNotNull());
        error.visibleProperty().bind(vm.error().isNotNull());
        Label legend = new Label("Differences are against the first run (the reference). Highlighted cells differ "
                + "from the reference's; green is better, red worse.");
        legend.setWrapText(true);
        report.setId("compare-report");
        report.setTooltip(new Tooltip("Write the compared runs as an HTML, PDF or CSV report"));
        report.setDisable(true);
        report.setOnAction(e -> {
            Comparison c = vm.comparison().get();
            if (reports != null && c != null) {
                ReportFiles.choose(root.getScene() == null ? null : root.getScene().getWindow())
                        .ifPresent(file -> reports.write(ReportViewModel.compareRequest(c), file));
            }
        });
        vm.comparison().addListener((obs, old, c) -> report.setDisable(reports == null || c == null));
        HBox titleBar = new HBox(8, title, new javafx.scene.layout.Region(), report);
        HBox.setHgrow(titleBar.getChildren().get(1), Priority.ALWAYS);
        titleBar.setAlignment(javafx.geometry.Pos.CENTER_LEFT);
        this.vm = vm;
        VBox top = new VBox(4, titleBar, error, legend);
        top.setPadding(new Insets(10, 10, 6, 10));
        root.setTop(top);

        metrics.setId("compare-metrics");
        layers.setId("compare-layers");
        onlyDifferences.setId("compare-only-differences");
        onlyDifferences.setOnAction(e -> showLayers(vm.comparison().get()));
        VBox layerPane = new VBox(6, onlyDifferences, layers);
        layerPane.setPadding(new Insets(6, 0, 0, 0));
        VBox.setVgrow(layers, Priority.ALWAYS);

        bitsChart = LayerCharts.bars("Bits per weight by layer", "bits/weight", bits,
                "0.##", true);
        ChartViewer bitsViewer = new ChartViewer(bitsChart);
        bitsViewer.setId("compare-bits-chart");
        errorChart = LayerCharts.bars("Reconstruction error by layer", "relative error", errors, "0.####", true);
        ChartViewer errorViewer = new ChartViewer(errorChart);
        errorViewer.setId("compare-error-chart");
        VBox charts = new VBox(6, bitsViewer, errorViewer);
        VBox.setVgrow(bitsViewer, Priority.ALWAYS);
        VBox.setVgrow(errorViewer, Priority.ALWAYS);

        TabPane tabs = new TabPane(new Tab("Metrics", metrics), new Tab("Layers", layerPane),
                new Tab("Layer charts", charts));
        tabs.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        tabs.setId("compare-tabs");
        root.setCenter(tabs);

        vm.comparison().addListener((obs, old, c) -> show(c));
        show(vm.comparison().get());
    }

    private void show(Comparison c) {
        if (c == null) {
            return;
        }
        metrics.getColumns().clear();
        metrics.getColumns().add(col("Metric", 150, MetricDelta::name));
        metrics.getColumns().add(col("Split", 90, MetricDelta::split));
        for (int r = 0; r < c.runs().size(); r++) {
            int run = r;
            TableColumn<MetricDelta, MetricDelta> group = new TableColumn<>(c.runs().get(r).title());
            group.getColumns().add(metricCell("Value", run, false));
            if (run > 0) {
                group.getColumns().add(metricCell("Δ vs #" + c.runs().getFirst().id(), run, true));
            }
            metrics.getColumns().add(group);
        }
        metrics.getItems().setAll(c.metrics());
        showLayers(c);

        bits.clear();
        errors.clear();
        for (int r = 0; r < c.runs().size(); r++) {
            String run = c.runs().get(r).title();
            for (LayerDiff l : c.layers()) {
                LayerCell cell = l.cells().get(r);
                bits.addValue(cell.bitsPerWeight(), run, l.layer());
                errors.addValue(cell.reconError(), run, l.layer());
            }
        }
    }

    private void showLayers(Comparison c) {
        if (c == null) {
            return;
        }
        layers.getColumns().clear();
        layers.getColumns().add(layerText("Layer", 150, -1, null, LayerDiff::layer));
        for (int r = 0; r < c.runs().size(); r++) {
            int run = r;
            TableColumn<LayerDiff, String> group = new TableColumn<>(c.runs().get(r).title());
            group.getColumns().add(layerText("Method", 85, run, Field.METHOD, l -> l.cells().get(run).method()));
            group.getColumns().add(layerText("Settings", 170, run, Field.SETTINGS,
                    l -> l.cells().get(run).settings()));
            group.getColumns().add(layerText("Bits/w", 75, run, Field.BITS, l -> format("%.3f",
                    l.cells().get(run).bitsPerWeight())));
            group.getColumns().add(layerText("Error", 90, run, Field.ERROR, l -> format("%.4g",
                    l.cells().get(run).reconError())));
            layers.getColumns().add(group);
        }
        List<LayerDiff> shown = onlyDifferences.isSelected()
                ? c.layers().stream().filter(LayerDiff::anyDifference).toList() : c.layers();
        layers.getItems().setAll(shown);
    }

    private static String format(String pattern, Double v) {
        return v == null ? "—" : String.format(Locale.ROOT, pattern, v);
    }

    private static TableColumn<LayerDiff, String> layerText(String name, double width, int run, Field field,
                                                            Function<LayerDiff, String> f) {
        TableColumn<LayerDiff, String> col = new TableColumn<>(name);
        col.setComparator(dev.squeeze.app.workbench.NaturalOrder.TEXT); // numbers as numbers
        col.setPrefWidth(width);
        col.setSortable(field == null);
        col.setCellValueFactory(cell -> new ReadOnlyObjectWrapper<>(f.apply(cell.getValue())));
        col.setCellFactory(x -> new TableCell<>() {
            @Override
            protected void updateItem(String v, boolean empty) {
                super.updateItem(v, empty);
                getStyleClass().remove(DIFF_CLASS);
                setStyle(null);
                LayerDiff row = empty || getTableRow() == null ? null : getTableRow().getItem();
                if (row == null) {
                    setText(null);
                    return;
                }
                setText(v == null ? "— (dense)" : v);
                if (field != null && row.differs(run, field)) {
                    getStyleClass().add(DIFF_CLASS);
                    setStyle(DIFF_STYLE);
                }
            }
        });
        return col;
    }

    private static TableColumn<MetricDelta, String> col(String name, double width, Function<MetricDelta, String> f) {
        TableColumn<MetricDelta, String> c = new TableColumn<>(name);
        c.setComparator(dev.squeeze.app.workbench.NaturalOrder.TEXT); // numbers as numbers
        c.setPrefWidth(width);
        c.setCellValueFactory(cell -> new ReadOnlyObjectWrapper<>(f.apply(cell.getValue())));
        return c;
    }

    private static TableColumn<MetricDelta, MetricDelta> metricCell(String name, int run, boolean delta) {
        TableColumn<MetricDelta, MetricDelta> c = new TableColumn<>(name);
        c.setPrefWidth(delta ? 120 : 100);
        c.setSortable(false);
        c.setCellValueFactory(cell -> new ReadOnlyObjectWrapper<>(cell.getValue()));
        c.setCellFactory(x -> new TableCell<>() {
            @Override
            protected void updateItem(MetricDelta m, boolean empty) {
                super.updateItem(m, empty);
                setStyle(null);
                if (empty || m == null) {
                    setText(null);
                    return;
                }
                setText(delta ? m.deltaText(run) : m.valueText(run));
                if (delta) {
                    int better = m.better(run);
                    setStyle(better > 0 ? BETTER_STYLE : better < 0 ? WORSE_STYLE : null);
                }
            }
        });
        c.getStyleClass().add("number-cell");
        return c;
    }

    /** What "Report…" writes with; the button is enabled once the comparison has loaded. */
    public void setReports(ReportViewModel reports) {
        this.reports = reports;
        report.setDisable(reports == null || vm.comparison().get() == null);
    }

    /** Styles the bar charts' frames for the dark or the light theme. */
    public void setDarkCharts(boolean dark) {
        dev.squeeze.app.pareto.ChartStyle.apply(bitsChart, dark);
        dev.squeeze.app.pareto.ChartStyle.apply(errorChart, dark);
    }

    public Parent root() {
        return root;
    }
}
