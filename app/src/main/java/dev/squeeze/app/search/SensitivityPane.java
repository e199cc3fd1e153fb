package dev.squeeze.app.search;

import dev.squeeze.app.plan.PlanEditorViewModel;
import dev.squeeze.app.plan.PlanRow;
import dev.squeeze.engine.search.Level;
import javafx.beans.binding.Bindings;
import javafx.collections.FXCollections;
import javafx.collections.ListChangeListener;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.ComboBox;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.fx.ChartViewer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The plan editor's sensitivity panel: "Compute sensitivity" (background, with progress and Cancel) and the chart
 * of what is known: a heat map of every layer × level, or a bar per layer at the plan's settings or at one level.
 */
public final class SensitivityPane {
    /** What the chart shows: the heat map, the plan's settings, or one level's key. */
    record View(String words, String key) {
        static final View HEAT_MAP = new View("Heat map: every layer × level", null);
        static final View PLAN = new View("Bars: each layer at its setting in the plan", null);

        @Override
        public String toString() {
            return words;
        }
    }

    private final SensitivityViewModel vm;
    private final PlanEditorViewModel plan;
    private final VBox root;
    private final ChartViewer viewer;
    private final ComboBox<View> view = new ComboBox<>();
    private JFreeChart chart;
    private boolean dark;

    public SensitivityPane(SensitivityViewModel vm, PlanEditorViewModel plan) {
        this.vm = vm;
        this.plan = plan;
        Button compute = new Button("Compute sensitivity");
        compute.setId("sensitivity-compute");
        compute.disableProperty().bind(vm.available().not().or(vm.computing()));
        compute.setOnAction(e -> vm.compute());
        Tooltip why = new Tooltip();
        why.textProperty().bind(Bindings.when(vm.available())
                .then("Measure, for each layer and candidate level, the KL divergence to the dense model on"
                        + " calibration data with only that layer compressed (stored and reused)")
                .otherwise(vm.status()));
        compute.setTooltip(why);
        Button cancel = new Button("Cancel");
        cancel.setId("sensitivity-cancel");
        cancel.disableProperty().bind(vm.computing().not());
        cancel.setOnAction(e -> vm.cancel());
        ProgressBar bar = new ProgressBar();
        bar.setId("sensitivity-progress");
        bar.setPrefWidth(120);
        bar.progressProperty().bind(vm.progress());
        bar.visibleProperty().bind(vm.computing());
        bar.managedProperty().bind(bar.visibleProperty());
        view.setId("sensitivity-view");
        view.setPrefWidth(230);
        view.setOnAction(e -> redraw());
        for (var n : List.of(compute, cancel, view)) {
            n.getStyleClass().add("small");
        }
        FlowPane bar1 = new FlowPane(6, 4, compute, cancel, bar, view);
        bar1.setAlignment(Pos.CENTER_LEFT);
        Label status = new Label();
        status.setId("sensitivity-status");
        status.setWrapText(true);
        status.textProperty().bind(Bindings.when(vm.error().isNotNull()).then(vm.error()).otherwise(vm.status()));
        status.setMinHeight(javafx.scene.layout.Region.USE_PREF_SIZE);
        viewer = new ChartViewer(SensitivityChart.heatMap(SensitivityTable.EMPTY, List.of(), null));
        viewer.setId("sensitivity-chart");
        viewer.setPrefHeight(260);
        viewer.setMinHeight(180);
        VBox.setVgrow(viewer, Priority.ALWAYS);
        Label about = new Label("ΔKL: the KL divergence to the dense model's outputs on calibration data with only"
                + " that layer at that setting (the rest dense). The plan editor's ΔKL column shows each layer's"
                + " value at its setting.");
        about.setWrapText(true);
        about.setMinHeight(javafx.scene.layout.Region.USE_PREF_SIZE);
        about.getStyleClass().add("search-note");
        root = new VBox(6, bar1, status, viewer, about);
        root.setId("plan-sensitivity");
        root.setPadding(new javafx.geometry.Insets(8));

        vm.table().addListener((obs, old, t) -> refreshChoices());
        plan.rows().addListener((ListChangeListener<PlanRow>) c -> redraw());
        // Every edit ends in a new size summary: the plan's settings may have changed.
        plan.summaryText().addListener((obs, old, t) -> {
            if (view.getValue() == View.PLAN) {
                redraw();
            }
        });
        root.visibleProperty().addListener((obs, old, shown) -> {
            if (shown) {
                redraw();
            }
        });
        refreshChoices();
    }

    public VBox root() {
        return root;
    }

    /** The chart on show (tests and the screenshot tour read it). */
    public JFreeChart chart() {
        return chart;
    }

    /** Draws the chart's frame in the dark theme ({@code true}) or the light one, as the explorer's. */
    public void setDarkCharts(boolean dark) {
        this.dark = dark;
        redraw();
    }

    /** Chooses what the chart shows: the heat map, the plan's settings, or a level by its words. */
    public void show(String words) {
        view.getItems().stream().filter(v -> v.words().equals(words)).findFirst().ifPresent(view::setValue);
        redraw();
    }

    private void refreshChoices() {
        View was = view.getValue();
        List<View> choices = new ArrayList<>(List.of(View.HEAT_MAP, View.PLAN));
        for (SensitivityTable.LevelChoice l : vm.table().get().levels()) {
            choices.add(new View("Bars: " + l.level(), l.key()));
        }
        view.setItems(FXCollections.observableArrayList(choices));
        view.setValue(choices.stream().filter(c -> was != null && c.equals(was)).findFirst().orElse(View.HEAT_MAP));
        redraw();
    }

    private void redraw() {
        SensitivityTable t = vm.table().get();
        List<String> layers = new ArrayList<>();
        Map<String, String> planKeys = new HashMap<>();
        for (PlanRow r : plan.rows()) {
            if (r.compressible() && (t.isEmpty() || !t.ofLayer(r.name()).isEmpty())) {
                layers.add(r.name());
                try {
                    planKeys.put(r.name(), Level.keyOf(r.current()));
                } catch (RuntimeException e) {
                    planKeys.put(r.name(), null);
                }
            }
        }
        View v = view.getValue() == null ? View.HEAT_MAP : view.getValue();
        if (v == View.HEAT_MAP) {
            chart = SensitivityChart.heatMap(t, layers, null);
        } else if (v == View.PLAN) {
            chart = SensitivityChart.bars(t, layers, planKeys::get, null);
        } else {
            chart = SensitivityChart.bars(t, layers, layer -> v.key(), null);
        }
        dev.squeeze.app.pareto.ChartStyle.apply(chart, dark);
        java.awt.Color text = (dark ? dev.squeeze.app.settings.Theme.DARK : dev.squeeze.app.settings.Theme.LIGHT)
                .chartForeground();
        for (int i = 0; i < chart.getSubtitleCount(); i++) {
            if (chart.getSubtitle(i) instanceof org.jfree.chart.title.PaintScaleLegend legend) {
                legend.getAxis().setLabelPaint(text);
                legend.getAxis().setTickLabelPaint(text);
                legend.getAxis().setTickMarkPaint(text);
            }
        }
        viewer.setChart(chart);
    }
}
