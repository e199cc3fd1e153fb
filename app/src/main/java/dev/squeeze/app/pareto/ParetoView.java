package dev.squeeze.app.pareto;

import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.app.compare.CompareView;
import dev.squeeze.app.compare.CompareViewModel;
import dev.squeeze.app.models.Bytes;
import dev.squeeze.app.pareto.ParetoViewModel.ChartData;
import dev.squeeze.app.pareto.ParetoViewModel.ChartPoint;
import dev.squeeze.app.pareto.ParetoViewModel.RunRow;
import dev.squeeze.app.report.ReportFiles;
import dev.squeeze.app.report.ReportViewModel;
import dev.squeeze.app.runs.RunDetailView;
import dev.squeeze.app.runs.RunDetailViewModel;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.store.Pareto;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.collections.ListChangeListener;
import javafx.collections.ObservableList;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.Parent;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.ButtonType;
import javafx.scene.control.CheckBox;
import javafx.scene.control.ComboBox;
import javafx.scene.control.ContextMenu;
import javafx.scene.control.DatePicker;
import javafx.scene.control.Dialog;
import javafx.scene.control.Label;
import javafx.scene.control.ListCell;
import javafx.scene.control.MenuItem;
import javafx.scene.control.SelectionMode;
import javafx.scene.control.SeparatorMenuItem;
import javafx.scene.control.TextField;
import javafx.scene.control.TextFormatter;
import javafx.scene.control.SplitPane;
import javafx.scene.control.TableCell;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableRow;
import javafx.scene.control.TableView;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import javafx.stage.FileChooser;
import javafx.stage.Stage;
import javafx.stage.Window;
import javafx.util.StringConverter;
import org.controlsfx.control.CheckComboBox;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.entity.XYItemEntity;
import org.jfree.chart.fx.ChartViewer;
import org.jfree.chart.fx.interaction.ChartMouseEventFX;
import org.jfree.chart.fx.interaction.ChartMouseListenerFX;
import org.jfree.chart.fx.interaction.PanHandlerFX;
import org.jfree.data.xy.XYSeriesCollection;

import java.io.File;
import java.nio.file.Path;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The Pareto explorer: a JFreeChart of the runs (x: size or bits per weight, linear or log; y: any stored quality
 * metric) with each model's frontier as a step line and dominated runs greyed, filters, and the runs table below.
 * Clicking a point selects its row and opens the run's detail; selecting a row highlights its point; selecting
 * several rows and "Compare" opens the comparison. The chart's context menu exports PNG (at a chosen size) and
 * SVG.
 */
public final class ParetoView {
    /** Shown under the chart: how to zoom and pan (JFreeChart's mouse handlers). */
    public static final String HINT = "Drag a box to zoom · scroll to zoom · Shift+drag to pan · "
            + "right-click: reset zoom, export · click a point to open its run";
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm", Locale.ROOT)
            .withZone(ZoneId.systemDefault());

    private final ParetoViewModel vm;
    private final VBox root;
    private final ParetoChart paretoChart = new ParetoChart();
    private final JFreeChart chart = paretoChart.chart();
    private final ChartViewer viewer;
    private final XYSeriesCollection pointsData = paretoChart.points();
    private final XYSeriesCollection frontierData = paretoChart.frontiers();
    private final ParetoRenderer renderer = paretoChart.renderer();
    private final TableView<RunRow> table = new TableView<>();
    private final Map<Long, RunRow> rowsById = new HashMap<>();
    private Consumer<String> onPlanFromRun;
    private boolean syncing;
    private boolean dark;

    public ParetoView(ParetoViewModel vm) {
        this.vm = vm;
        viewer = new ChartViewer(chart);
        viewer.setId("pareto-chart");
        viewer.setMinHeight(190);
        // Shift+drag pans (JFreeChart's default, Alt+drag, is taken by many Linux window managers).
        viewer.getCanvas().removeMouseHandler(viewer.getCanvas().getMouseHandler("pan"));
        viewer.getCanvas().addMouseHandler(new PanHandlerFX("pan", false, false, false, true));
        viewer.addChartMouseListener(new ChartMouseListenerFX() {
            @Override
            public void chartMouseClicked(ChartMouseEventFX e) {
                if (e.getTrigger().getButton() != javafx.scene.input.MouseButton.PRIMARY) {
                    return;
                }
                Long id = runAt(e);
                if (id != null) {
                    selectRow(id);
                    openDetail(id);
                }
            }

            @Override
            public void chartMouseMoved(ChartMouseEventFX e) {
            }
        });
        installContextMenu();


        VBox.setVgrow(viewer, Priority.ALWAYS);
        Label hint = new Label(HINT);
        hint.setId("pareto-hint");
        hint.setWrapText(true);
        hint.setStyle("-fx-font-size: 11px; -fx-opacity: 0.75;");
        Label status = new Label();
        status.setId("pareto-status");
        status.setWrapText(true);
        status.textProperty().bind(vm.status());
        status.setStyle("-fx-font-size: 11px;");
        Tooltip statusTip = new Tooltip();
        statusTip.textProperty().bind(vm.status());
        status.setTooltip(statusTip);

        buildTable();
        Button details = new Button("Details");
        details.setId("run-details");
        details.setTooltip(new Tooltip("Open the selected run: plan, metrics, provenance, layers (or double-click)"));
        details.disableProperty().bind(table.getSelectionModel().selectedItemProperty().isNull());
        details.setOnAction(e -> openSelectedDetail());
        Button compare = new Button("Compare");
        compare.setId("compare-runs");
        compare.setTooltip(new Tooltip("Compare the selected runs (Ctrl/Shift-click rows); the first selected is "
                + "the reference"));
        compare.disableProperty().bind(javafx.beans.binding.Bindings.size(vm.selectedRuns()).lessThan(2));
        compare.textProperty().bind(javafx.beans.binding.Bindings.createStringBinding(() ->
                vm.selectedRuns().size() >= 2 ? "Compare " + vm.selectedRuns().size() : "Compare", vm.selectedRuns()));
        compare.setOnAction(e -> compareSelected());
        Button report = new Button("Report…");
        report.setId("pareto-report");
        report.setTooltip(new Tooltip("Write the runs shown (through the filters) as an HTML, PDF or CSV report"));
        report.setOnAction(e -> writeReport());
        report.setMinWidth(Region.USE_PREF_SIZE);
        Region spacer = new Region();
        HBox.setHgrow(spacer, Priority.ALWAYS);
        HBox tableBar = new HBox(8, status, spacer, details, compare, report);
        // The buttons keep their words; the count on the left gives way (its full text is its tooltip).
        details.setMinWidth(Region.USE_PREF_SIZE);
        compare.setMinWidth(Region.USE_PREF_SIZE);
        status.setMinWidth(0);
        tableBar.setAlignment(Pos.CENTER_LEFT);
        HBox.setHgrow(status, Priority.SOMETIMES);
        VBox tableBox = new VBox(4, tableBar, table);
        tableBox.setMinHeight(120); // the bar and three rows: runs are selected here for detail and comparison
        VBox.setVgrow(table, Priority.ALWAYS);

        VBox chartBox = new VBox(4, viewer, hint);
        SplitPane split = new SplitPane(chartBox, tableBox);
        split.setOrientation(javafx.geometry.Orientation.VERTICAL);
        split.setDividerPositions(0.58);
        VBox.setVgrow(split, Priority.ALWAYS);

        // One flowing bar: at 1024 pixels the explorer is half the window, and every row of controls is taken
        // from the chart.
        FlowPane controls = new FlowPane(8, 6);
        controls.getChildren().addAll(axisControls().getChildren());
        controls.getChildren().addAll(filterControls().getChildren());
        controls.setAlignment(Pos.CENTER_LEFT);
        controls.getChildren().forEach(n -> n.getStyleClass().add("small"));
        // The title ("Runs — model") is the tab's: the window names the tab after it.
        root = new VBox(6, controls, split);
        root.setId("pareto");
        root.setPadding(new Insets(10));

        vm.chart().addListener((obs, old, data) -> draw(data));
        vm.rows().addListener((ListChangeListener<RunRow>) c -> showRows());
        vm.selectedRun().addListener((obs, old, id) -> {
            renderer.setHighlighted(id);
            selectRow(id);
        });
        draw(vm.chart().get());
        showRows();
    }

    // ---- controls

    private FlowPane axisControls() {
        ComboBox<String> metric = new ComboBox<>(vm.metricChoices());
        metric.setId("pareto-metric");
        metric.setConverter(new StringConverter<>() {
            @Override
            public String toString(String name) {
                if (name == null) {
                    return "";
                }
                String label = MetricKind.axisLabel(name);
                return label.equals(name) ? name : label + " [" + name + "]";
            }

            @Override
            public String fromString(String s) {
                return s;
            }
        });
        metric.valueProperty().bindBidirectional(vm.metric());
        metric.setPrefWidth(210);
        metric.setTooltip(new Tooltip("The quality metric on the vertical axis (stored on the evaluation split)"));
        ComboBox<Pareto.XAxis> x = new ComboBox<>(javafx.collections.FXCollections.observableArrayList(
                Pareto.XAxis.values()));
        x.setId("pareto-x");
        x.setConverter(new StringConverter<>() {
            @Override
            public String toString(Pareto.XAxis a) {
                return a == null ? "" : switch (a) {
                    case SIZE_BYTES -> "Model size";
                    case BITS_PER_WEIGHT -> "Bits per weight";
                    case LATENCY -> "Latency";
                };
            }

            @Override
            public Pareto.XAxis fromString(String s) {
                return Pareto.XAxis.parse(s);
            }
        });
        x.valueProperty().bindBidirectional(vm.xAxis());
        x.disableProperty().bind(vm.allModels());
        x.setTooltip(new Tooltip("Model size in bytes, or bits per weight over the compressed layers "
                + "(the only x that compares different models)"));
        CheckBox log = new CheckBox("Log x");
        log.setId("pareto-log");
        log.selectedProperty().bindBidirectional(vm.logX());
        CheckBox all = new CheckBox("All models");
        all.setId("pareto-all-models");
        all.selectedProperty().bindBidirectional(vm.allModels());
        all.setTooltip(new Tooltip("Runs of every stored model on one chart, against bits per weight"));
        FlowPane pane = new FlowPane(8, 6, new Label("Y"), metric, new Label("X"), x, log, all);
        pane.setAlignment(Pos.CENTER_LEFT);
        return pane;
    }

    private FlowPane filterControls() {
        CheckComboBox<ParetoViewModel.ModelRef> models = new CheckComboBox<>(vm.modelChoices());
        models.setId("filter-models");
        models.setTitle("Models");
        models.visibleProperty().bind(vm.allModels());
        models.managedProperty().bind(vm.allModels());
        bindChecks(models, vm.modelFilter(), ParetoViewModel.ModelRef::hash);
        CheckComboBox<String> families = new CheckComboBox<>(vm.familyChoices());
        families.setId("filter-families");
        families.setTitle("Methods");
        bindChecks(families, vm.familyFilter(), f -> f);
        CheckComboBox<String> tags = new CheckComboBox<>(vm.tagChoices());
        tags.setId("filter-tags");
        tags.setTitle("Tags");
        bindChecks(tags, vm.tagFilter(), t -> t);
        DatePicker since = new DatePicker();
        since.setId("filter-since");
        since.setPromptText("since (date)");
        since.setPrefWidth(112);
        // Narrow enough that the filters share one row at half of a 1024-pixel window.
        for (CheckComboBox<?> c : List.of(models, families, tags)) {
            c.setPrefWidth(108);
        }
        since.setConverter(new StringConverter<>() {
            @Override
            public String toString(java.time.LocalDate d) {
                return d == null ? "" : d.toString();
            }

            /** A typed date that is not one is reported, not thrown: the filter then stays as it was. */
            @Override
            public java.time.LocalDate fromString(String text) {
                if (text == null || text.isBlank()) {
                    return null;
                }
                try {
                    return java.time.LocalDate.parse(text.strip());
                } catch (java.time.format.DateTimeParseException e) {
                    vm.error().set("'" + text.strip() + "' is not a date the filter understands: type it as "
                            + "2026-11-27 (year-month-day) or pick it from the calendar.");
                    return vm.since().get();
                }
            }
        });
        since.valueProperty().bindBidirectional(vm.since());
        since.setTooltip(new Tooltip("Only runs finished on or after this day"));
        Button clear = new Button("Clear");
        clear.setId("filter-clear");
        clear.setOnAction(e -> vm.clearFilters());
        FlowPane pane = new FlowPane(8, 6, new Label("Filter"), models, families, tags, since, clear);
        pane.setAlignment(Pos.CENTER_LEFT);
        return pane;
    }

    /**
     * Keeps a CheckComboBox's checks and a view-model filter list (of keys) equal: checks go to the filter; the
     * filter (cleared, or trimmed after a reload) goes back to the checks.
     */
    private <T> void bindChecks(CheckComboBox<T> box, ObservableList<String> filter, Function<T, String> key) {
        box.getCheckModel().getCheckedItems().addListener((ListChangeListener<T>) c -> {
            if (!syncing) {
                syncing = true;
                try {
                    filter.setAll(box.getCheckModel().getCheckedItems().stream().map(key).toList());
                } finally {
                    syncing = false;
                }
            }
        });
        Runnable back = () -> {
            if (syncing) {
                return;
            }
            syncing = true;
            try {
                box.getCheckModel().clearChecks();
                for (T item : box.getItems()) {
                    if (filter.contains(key.apply(item))) {
                        box.getCheckModel().check(item);
                    }
                }
            } finally {
                syncing = false;
            }
        };
        filter.addListener((ListChangeListener<String>) c -> back.run());
        box.getItems().addListener((ListChangeListener<T>) c -> back.run());
    }

    // ---- the table

    private void buildTable() {
        table.setId("runs-table");
        table.setPrefHeight(200);
        table.setPlaceholder(new Label("No runs stored for this model yet (or none passes the filters)"));
        table.getSelectionModel().setSelectionMode(SelectionMode.MULTIPLE);
        table.getColumns().add(number("#", 45, r -> (double) r.id(), v -> String.format(Locale.ROOT, "%.0f", v)));
        TableColumn<RunRow, String> model = text("Model", 110, RunRow::modelName);
        model.visibleProperty().bind(vm.allModels());
        table.getColumns().add(model);
        table.getColumns().add(text("Run", 170, RunRow::label));
        TableColumn<RunRow, String> family = text("Method", 120, r -> r.family() + (r.baseline() ? " (baseline)" : ""));
        family.setCellFactory(col -> new TableCell<>() {
            @Override
            protected void updateItem(String v, boolean empty) {
                super.updateItem(v, empty);
                RunRow row = empty || getTableRow() == null ? null : getTableRow().getItem();
                setText(row == null ? null : v);
                setGraphic(row == null ? null : swatch(row.family()));
            }
        });
        table.getColumns().add(family);
        table.getColumns().add(number("Size", 85, r -> (double) r.sizeBytes(), v -> Bytes.human(v.longValue())));
        TableColumn<RunRow, Double> fp16 = number("Size/fp16", 80, RunRow::sizeVsFp16,
                v -> String.format(Locale.ROOT, "%.0f %%", 100 * v));
        Label fp16Header = new Label("Size/fp16");
        fp16Header.setTooltip(new Tooltip("The run's model size as a share of the same model stored in fp16: "
                + "under 100 % is smaller than fp16 (a 4-bit run is about 28 %); a dense f32 model is 200 %"));
        fp16.setText(null);
        fp16.setGraphic(fp16Header);
        table.getColumns().add(fp16);
        table.getColumns().add(number("Bits/w", 65, RunRow::bitsPerWeight,
                v -> String.format(Locale.ROOT, "%.3f", v)));
        TableColumn<RunRow, Double> metric = number("Metric", 90, RunRow::metricDisplay, v -> null);
        metric.setCellFactory(col -> new TableCell<>() {
            @Override
            protected void updateItem(Double v, boolean empty) {
                super.updateItem(v, empty);
                RunRow row = empty || getTableRow() == null ? null : getTableRow().getItem();
                setText(row == null ? null : row.metricText());
            }
        });
        metric.textProperty().bind(vm.metric().orElse("Metric"));
        table.getColumns().add(metric);
        TableColumn<RunRow, String> frontier = text("Frontier", 90, r -> r.onFrontier() ? "✓ frontier"
                : r.onChart() ? "dominated" : "not plotted");
        frontier.setCellFactory(col -> new TableCell<>() {
            @Override
            protected void updateItem(String v, boolean empty) {
                super.updateItem(v, empty);
                RunRow row = empty || getTableRow() == null ? null : getTableRow().getItem();
                setText(row == null ? null : v);
                setTooltip(row == null || row.notPlotted() == null ? null : new Tooltip(row.notPlotted()));
            }
        });
        table.getColumns().add(frontier);
        TableColumn<RunRow, java.time.Instant> finished = new TableColumn<>("Finished");
        finished.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().finishedAt()));
        finished.setCellFactory(col -> new TableCell<>() {
            @Override
            protected void updateItem(java.time.Instant v, boolean empty) {
                super.updateItem(v, empty);
                setText(empty ? null : v == null ? "—" : DAY.format(v));
            }
        });
        finished.setComparator(Comparator.nullsLast(Comparator.naturalOrder()));
        finished.setPrefWidth(120);
        table.getColumns().add(finished);
        table.getColumns().add(text("Tags", 90, r -> String.join(", ", r.tags())));
        table.getColumns().add(text("Backend", 90, RunRow::kernelBackend));

        table.setOnKeyPressed(e -> {
            if (e.getCode() == javafx.scene.input.KeyCode.ENTER) {
                openSelectedDetail();
            }
        });
        table.setRowFactory(tv -> {
            TableRow<RunRow> row = new TableRow<>();
            row.setOnMouseClicked(e -> {
                if (e.getClickCount() == 2 && !row.isEmpty()) {
                    openDetail(row.getItem().id());
                }
            });
            return row;
        });
        table.getSelectionModel().getSelectedItems().addListener((ListChangeListener<RunRow>) c -> {
            if (syncing) {
                return;
            }
            // Selection order matters (the first selected is the comparison's reference): keep earlier ones first.
            List<Long> now = table.getSelectionModel().getSelectedItems().stream().map(RunRow::id).toList();
            List<Long> ordered = new ArrayList<>(vm.selectedRuns().stream().filter(now::contains).toList());
            now.stream().filter(id -> !ordered.contains(id)).forEach(ordered::add);
            vm.selectedRuns().setAll(ordered);
        });
        // The row last selected is the run highlighted on the chart.
        table.getSelectionModel().selectedItemProperty().addListener((obs, old, item) -> {
            if (syncing) {
                return;
            }
            syncing = true;
            try {
                vm.selectedRun().set(item == null ? null : item.id());
            } finally {
                syncing = false;
            }
            renderer.setHighlighted(item == null ? null : item.id());
        });
    }

    private static Region swatch(String family) {
        Region r = new Region();
        r.setMinSize(10, 10);
        r.setPrefSize(10, 10);
        r.setMaxSize(10, 10);
        r.setStyle("-fx-background-color: " + FamilyColors.css(family) + "; -fx-background-radius: 5;");
        return r;
    }

    private void showRows() {
        List<Long> selected = List.copyOf(vm.selectedRuns());
        syncing = true;
        try {
            rowsById.clear();
            vm.rows().forEach(r -> rowsById.put(r.id(), r));
            table.getItems().setAll(vm.rows());
            table.getSelectionModel().clearSelection();
            for (Long id : selected) {
                RunRow r = rowsById.get(id);
                if (r != null) {
                    table.getSelectionModel().select(r);
                }
            }
            vm.selectedRuns().retainAll(rowsById.keySet());
        } finally {
            syncing = false;
        }
    }

    /** Selects the run's row (only it) and scrolls to it; null clears the selection. */
    private void selectRow(Long id) {
        if (syncing) {
            return;
        }
        RunRow r = id == null ? null : rowsById.get(id);
        syncing = true;
        try {
            table.getSelectionModel().clearSelection();
            if (r != null) {
                table.getSelectionModel().select(r);
                table.scrollTo(r);
                vm.selectedRuns().setAll(List.of(r.id()));
            } else {
                vm.selectedRuns().clear();
            }
        } finally {
            syncing = false;
        }
        if (!java.util.Objects.equals(vm.selectedRun().get(), id)) {
            vm.selectedRun().set(id);
        }
        renderer.setHighlighted(id);
    }

    private static TableColumn<RunRow, String> text(String name, double width, Function<RunRow, String> f) {
        TableColumn<RunRow, String> c = new TableColumn<>(name);
        c.setCellValueFactory(cell -> new ReadOnlyObjectWrapper<>(f.apply(cell.getValue())));
        c.setPrefWidth(width);
        return c;
    }

    /** A column that sorts as numbers (runs without a value last) and shows {@code format} of the value. */
    private static TableColumn<RunRow, Double> number(String name, double width, Function<RunRow, Double> f,
                                                      Function<Double, String> format) {
        TableColumn<RunRow, Double> c = new TableColumn<>(name);
        c.setCellValueFactory(cell -> new ReadOnlyObjectWrapper<>(f.apply(cell.getValue())));
        c.setCellFactory(col -> new TableCell<>() {
            @Override
            protected void updateItem(Double v, boolean empty) {
                super.updateItem(v, empty);
                setText(empty ? null : v == null ? "—" : format.apply(v));
            }
        });
        c.setComparator(Comparator.nullsLast(Comparator.naturalOrder()));
        c.getStyleClass().add("number-cell");
        c.setPrefWidth(width);
        return c;
    }

    // ---- the chart

    private void draw(ChartData data) {
        paretoChart.draw(data, dark, vm.selectedRun().get());
    }

    /** Run id of the point under a chart mouse event, or null. */
    private Long runAt(ChartMouseEventFX e) {
        if (e.getEntity() instanceof XYItemEntity item && item.getDataset() == pointsData) {
            ChartPoint p = renderer.point(item.getSeriesIndex(), item.getItem());
            return p == null ? null : p.runId();
        }
        return null;
    }

    private void installContextMenu() {
        ContextMenu menu = viewer.getContextMenu();
        menu.getItems().clear();
        MenuItem reset = new MenuItem("Reset zoom");
        reset.setOnAction(e -> {
            chart.getXYPlot().getDomainAxis().setAutoRange(true);
            chart.getXYPlot().getRangeAxis().setAutoRange(true);
        });
        MenuItem png = new MenuItem("Export PNG…");
        png.setId("export-png");
        png.setOnAction(e -> askPngSize().ifPresent(size -> chooseFile("PNG image", "*.png", "pareto.png")
                .ifPresent(f -> export(() -> exportPng(f, size[0], size[1])))));
        MenuItem svg = new MenuItem("Export SVG…");
        svg.setId("export-svg");
        svg.setOnAction(e -> chooseFile("SVG drawing", "*.svg", "pareto.svg")
                .ifPresent(f -> export(() -> exportSvg(f))));
        menu.getItems().addAll(reset, new SeparatorMenuItem(), png, svg);
    }

    /**
     * File ▸ Export chart: asks for a file; {@code .png} asks for the size, anything else is written as SVG.
     */
    public void exportChart() {
        FileChooser chooser = new FileChooser();
        chooser.setTitle("Export the chart");
        chooser.getExtensionFilters().addAll(new FileChooser.ExtensionFilter("SVG drawing", "*.svg"),
                new FileChooser.ExtensionFilter("PNG image", "*.png"));
        chooser.setInitialFileName("pareto.svg");
        File f = chooser.showSaveDialog(window());
        if (f == null) {
            return;
        }
        Path file = f.toPath();
        if (file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
            askPngSize().ifPresent(size -> export(() -> exportPng(file, size[0], size[1])));
        } else {
            export(() -> exportSvg(file));
        }
    }

    private void export(Runnable write) {
        try {
            write.run();
        } catch (SqueezeException ex) {
            vm.error().set(ex.getMessage());
        }
    }

    private java.util.Optional<Path> chooseFile(String what, String pattern, String name) {
        FileChooser chooser = new FileChooser();
        chooser.setTitle("Export the chart as " + what);
        chooser.getExtensionFilters().add(new FileChooser.ExtensionFilter(what, pattern));
        chooser.setInitialFileName(name);
        File f = chooser.showSaveDialog(window());
        return java.util.Optional.ofNullable(f).map(File::toPath);
    }

    /**
     * Asks for the PNG's width and height (defaults: the chart's size on screen, doubled for sharpness); a size
     * out of range is reported on the error line and nothing is written.
     */
    private java.util.Optional<int[]> askPngSize() {
        Dialog<int[]> dialog = new Dialog<>();
        dialog.setTitle("Export PNG");
        dialog.setHeaderText("Size of the image in pixels (" + ChartExport.MIN_SIDE + " to " + ChartExport.MAX_SIDE
                + ")");
        dialog.initOwner(window());
        TextField width = pixels(Math.round(viewer.getWidth() * 2));
        TextField height = pixels(Math.round(viewer.getHeight() * 2));
        width.setId("png-width");
        height.setId("png-height");
        GridPane grid = new GridPane(8, 8);
        grid.addRow(0, new Label("Width"), width);
        grid.addRow(1, new Label("Height"), height);
        dialog.getDialogPane().setContent(grid);
        dialog.getDialogPane().getButtonTypes().addAll(ButtonType.OK, ButtonType.CANCEL);
        dialog.setResultConverter(b -> b == ButtonType.OK
                ? new int[]{parsePixels(width.getText()), parsePixels(height.getText())} : null);
        java.util.Optional<int[]> size = dialog.showAndWait();
        if (size.isPresent()) {
            try {
                ChartExport.checkSize(size.get()[0], size.get()[1]);
            } catch (SqueezeException e) {
                vm.error().set(e.getMessage());
                return java.util.Optional.empty();
            }
        }
        return size;
    }

    /** A field that takes only digits (at most five), starting at {@code initial} clamped to the allowed range. */
    private static TextField pixels(long initial) {
        TextField f = new TextField(Long.toString(Math.clamp(initial, ChartExport.MIN_SIDE, ChartExport.MAX_SIDE)));
        f.setPrefColumnCount(6);
        f.setTextFormatter(new TextFormatter<String>(c -> c.getControlNewText().matches("\\d{0,5}") ? c : null));
        return f;
    }

    private static int parsePixels(String text) {
        return text.isEmpty() ? 0 : Integer.parseInt(text);
    }

    private Window window() {
        return root.getScene() == null ? null : root.getScene().getWindow();
    }

    // ---- what the window and tests use

    /** The explorer, to place in the window. */
    public Parent root() {
        return root;
    }

    /**
     * What "Plan from this run" in a run's detail does with the run's plan JSON (the window opens it in the plan
     * editor); without it the detail's button is disabled.
     */
    private Presenter presenter;
    private ReportViewModel reports;

    public void setOnPlanFromRun(Consumer<String> action) {
        this.onPlanFromRun = action;
    }

    /**
     * Styles the chart (and the charts of detail and comparison windows opened from now on) for the dark or the
     * light theme.
     */
    public void setDarkCharts(boolean dark) {
        this.dark = dark;
        ChartStyle.apply(chart, dark);
    }

    /** Opens the detail of the run selected in the table (the last one selected), if any. */
    public void openSelectedDetail() {
        RunRow r = table.getSelectionModel().getSelectedItem();
        if (r != null) {
            openDetail(r.id());
        }
    }

    /**
     * Compares the runs selected in the table (the first selected is the reference); with fewer than two it
     * says so on the error line.
     */
    public void compareSelected() {
        if (vm.selectedRuns().size() < 2) {
            vm.error().set("Select at least two runs in the runs table to compare them (Ctrl-click or "
                    + "Shift-click rows).");
            return;
        }
        openComparison(List.copyOf(vm.selectedRuns()));
    }

    /** Where a run's detail or a comparison is shown: the workbench puts them in its tabs. */
    public interface Presenter {
        /** Shows {@code view} (a run's detail, or with {@code comparison} a comparison) titled {@code title}. */
        void present(Parent view, javafx.beans.value.ObservableStringValue title, boolean comparison);
    }

    /** Shows details and comparisons through {@code presenter} instead of in windows of their own. */
    public void setPresenter(Presenter presenter) {
        this.presenter = presenter;
    }

    /** Opens run {@code runId}'s detail (in the presenter, else in a window of its own); returns its view. */
    public RunDetailView openDetail(long runId) {
        RunDetailViewModel d = vm.detail(runId);
        RunDetailView view = new RunDetailView(d);
        view.setOnPlanFromRun(onPlanFromRun == null ? null : json -> onPlanFromRun.accept(json));
        view.setDarkCharts(dark);
        if (presenter != null) {
            presenter.present(view.root(), d.title(), false);
        } else {
            Stage stage = show(view.root(), 960, 720);
            stage.titleProperty().bind(d.title());
        }
        return view;
    }

    /** What "Report…" writes with, here and in the comparisons opened from here; without it the button says so. */
    public void setReports(ReportViewModel reports) {
        this.reports = reports;
    }

    /** "Report…": asks for a file and writes the runs the explorer shows (through its filters) there. */
    public void writeReport() {
        if (reports == null) {
            vm.error().set("Reports cannot be written from here (no report writer is set up).");
            return;
        }
        ReportFiles.choose(window()).ifPresent(file -> reports.write(ReportViewModel.explorerRequest(vm), file));
    }

    /** Opens the comparison of {@code runIds} (the first is the reference), as {@link #openDetail} does. */
    public CompareView openComparison(List<Long> runIds) {
        CompareViewModel c = vm.compare(runIds);
        CompareView view = new CompareView(c);
        view.setDarkCharts(dark);
        view.setReports(reports);
        if (presenter != null) {
            presenter.present(view.root(), c.title(), true);
        } else {
            Stage stage = show(view.root(), 1100, 720);
            stage.titleProperty().bind(c.title());
        }
        return view;
    }

    private Stage show(Parent content, double width, double height) {
        Stage stage = new Stage();
        Window owner = window();
        if (owner != null) {
            stage.initOwner(owner);
        }
        Scene scene = new Scene(content, width, height);
        if (root.getScene() != null) {
            scene.getStylesheets().setAll(root.getScene().getStylesheets());
        }
        stage.setScene(scene);
        stage.show();
        return stage;
    }

    /** Writes the chart as SVG at the chart's size on screen (800×500 when not shown). */
    public void exportSvg(Path file) {
        ChartExport.svg(chart, file, size(viewer.getWidth(), 800), size(viewer.getHeight(), 500));
    }

    /** Writes the chart as a {@code width}×{@code height} PNG. */
    public void exportPng(Path file, int width, int height) {
        ChartExport.png(chart, file, width, height);
    }

    private static int size(double shown, int otherwise) {
        return shown >= ChartExport.MIN_SIDE ? (int) Math.round(shown) : otherwise;
    }

    /** The chart, for tests. */
    public JFreeChart chart() {
        return chart;
    }

    /** The chart's viewer, for tests (its rendering info locates the points on screen). */
    public ChartViewer viewer() {
        return viewer;
    }

    /** The runs table, for tests. */
    public TableView<RunRow> table() {
        return table;
    }

    /** The points' dataset: one series per method family (and model), for tests. */
    public XYSeriesCollection dataset() {
        return pointsData;
    }

    /** The frontier step lines' dataset, for tests. */
    public XYSeriesCollection frontierDataset() {
        return frontierData;
    }

    /** The run whose point is drawn enlarged, or null, for tests. */
    Long highlightedRun() {
        return renderer.highlighted() < 0 ? null : renderer.highlighted();
    }

    /** How many point labels the last drawing placed without collision, for tests. */
    public int labelsDrawn() {
        return renderer.labelsDrawn();
    }
}
