package dev.squeeze.app.pareto;

import dev.squeeze.app.models.Bytes;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.store.RunSummary;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.ListChangeListener;
import javafx.geometry.Insets;
import javafx.scene.control.Label;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.fx.ChartViewer;
import org.jfree.chart.labels.XYItemLabelGenerator;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.text.DecimalFormat;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A JFreeChart scatter of the stored runs (their headline metric, top-1 or perplexity, against model size in
 * bytes) over a table of them.
 */
public final class RunsChartView {
    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
            new Color(0x9467bd), new Color(0xff7f0e), new Color(0x8c564b)};

    private final VBox root;
    private final XYSeriesCollection dataset = new XYSeriesCollection();
    /** Run label of every plotted point, keyed by series then item index, for the item labels. */
    private final Map<String, Map<Integer, String>> pointLabels = new HashMap<>();
    private final JFreeChart chart;

    public RunsChartView(RunsChartViewModel vm) {
        chart = ChartFactory.createScatterPlot(null, "Model size (bytes)", "Top-1 accuracy (%)", dataset,
                PlotOrientation.VERTICAL, true, true, false);
        styleChart();
        ChartViewer viewer = new ChartViewer(chart);
        viewer.setId("runs-chart");
        viewer.setMinHeight(300);
        VBox.setVgrow(viewer, Priority.ALWAYS);

        Label title = new Label();
        title.getStyleClass().add("section-title");
        title.textProperty().bind(vm.title());

        TableView<RunSummary> table = new TableView<>(vm.runs());
        table.setId("runs-table");
        table.setPrefHeight(180);
        table.setColumnResizePolicy(TableView.CONSTRAINED_RESIZE_POLICY_FLEX_LAST_COLUMN);
        table.setPlaceholder(new Label("No runs stored for this model yet"));
        table.getColumns().add(text("#", 40, r -> Long.toString(r.id())));
        table.getColumns().add(text("Run", 180, RunSummary::label));
        table.getColumns().add(text("Size", 90, r -> Bytes.human(r.sizeBytes())));
        table.getColumns().add(text("vs fp16", 70, r -> String.format(Locale.ROOT, "%.2f×",
                (double) r.fp16Bytes() / Math.max(1, r.sizeBytes()))));
        table.getColumns().add(text("Bits/w", 70, r -> r.bitsPerWeight() == null ? "—"
                : String.format(Locale.ROOT, "%.3f", r.bitsPerWeight())));
        table.getColumns().add(text("Metric", 110, RunSummary::metricText));
        table.getColumns().add(text("Backend", 110, RunSummary::kernelBackend));

        root = new VBox(6, title, viewer, table);
        root.setPadding(new Insets(10));
        vm.runs().addListener((ListChangeListener<RunSummary>) c -> rebuild(vm));
        // A model with no runs leaves the (empty) list unchanged, but its metric, hence the axis, may differ.
        vm.title().addListener((obs, old, t) -> rebuild(vm));
        rebuild(vm);
    }

    public VBox root() {
        return root;
    }

    /** The chart's data, for tests: one series per method. */
    public XYSeriesCollection dataset() {
        return dataset;
    }

    private void rebuild(RunsChartViewModel vm) {
        Map<String, XYSeries> series = new LinkedHashMap<>();
        pointLabels.clear();
        for (RunSummary r : vm.runs()) {
            if (r.metricValue() == null || r.metric() != vm.metric()) {
                continue;
            }
            String key = RunsChartViewModel.seriesOf(r);
            // Not auto-sorted, so an item's index is fixed when it is added and the label map stays right.
            XYSeries s = series.computeIfAbsent(key, k -> new XYSeries(k, false, true));
            s.add(r.sizeBytes(), r.metric().display(r.metricValue()));
            pointLabels.computeIfAbsent(key, k -> new HashMap<>()).put(s.getItemCount() - 1, r.label());
        }
        dataset.removeAllSeries();
        series.values().forEach(dataset::addSeries);
        // An empty chart would show a meaningless 0–1 axis; say there is nothing yet instead.
        XYPlot plot = chart.getXYPlot();
        plot.getDomainAxis().setTickLabelsVisible(!series.isEmpty());
        plot.getRangeAxis().setTickLabelsVisible(!series.isEmpty());
        plot.getRangeAxis().setLabel(vm.metric().axisLabel());
        NumberAxis y = (NumberAxis) plot.getRangeAxis();
        // Runs often differ by tenths of a point of accuracy; perplexities by hundredths.
        y.setAutoRangeMinimumSize(vm.metric() == MetricKind.TOP1 ? 2.0 : 0.2);
        plot.setNoDataMessage("No evaluated runs stored for this model");
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) chart.getXYPlot().getRenderer();
        for (int i = 0; i < dataset.getSeriesCount(); i++) {
            renderer.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
            renderer.setSeriesShape(i, new java.awt.geom.Ellipse2D.Double(-5, -5, 10, 10));
        }
    }

    private void styleChart() {
        chart.setBackgroundPaint(Color.WHITE);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(new Color(0xfafafa));
        plot.setDomainGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        plot.setOutlineStroke(new BasicStroke(0.5f));
        NumberAxis x = (NumberAxis) plot.getDomainAxis();
        x.setNumberFormatOverride(new DecimalFormat("#,##0"));
        x.setAutoRangeIncludesZero(true);
        x.setUpperMargin(0.10); // room for the label of the largest run
        NumberAxis y = (NumberAxis) plot.getRangeAxis();
        y.setAutoRangeIncludesZero(false);
        y.setUpperMargin(0.08);
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) plot.getRenderer();
        XYItemLabelGenerator labels = (data, s, item) -> {
            Map<Integer, String> m = pointLabels.get((String) data.getSeriesKey(s));
            return m == null ? null : m.get(item);
        };
        renderer.setDefaultItemLabelGenerator(labels);
        renderer.setDefaultItemLabelsVisible(true);
        renderer.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        renderer.setDefaultToolTipGenerator((data, s, item) -> {
            Map<Integer, String> m = pointLabels.get((String) data.getSeriesKey(s));
            return String.format(Locale.ROOT, "%s: %,.0f bytes, %.3f", m == null ? "" : m.get(item),
                    data.getXValue(s, item), data.getYValue(s, item));
        });
    }

    private static TableColumn<RunSummary, String> text(String name, double width,
                                                        java.util.function.Function<RunSummary, String> value) {
        TableColumn<RunSummary, String> c = new TableColumn<>(name);
        c.setCellValueFactory(cell -> new ReadOnlyStringWrapper(value.apply(cell.getValue())));
        c.setPrefWidth(width);
        return c;
    }
}
