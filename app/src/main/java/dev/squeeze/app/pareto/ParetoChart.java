package dev.squeeze.app.pareto;

import dev.squeeze.app.pareto.ParetoViewModel.ChartData;
import dev.squeeze.app.pareto.ParetoViewModel.ChartPoint;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.LegendItem;
import org.jfree.chart.LegendItemCollection;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYStepRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Shape;
import java.text.DecimalFormat;
import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.util.ArrayList;
import java.util.List;

/**
 * The Pareto chart itself, without a window: the explorer shows it in a {@code ChartViewer}, the reports draw it
 * to SVG or PDF headless ({@link ChartExport}). Points are coloured by method family with the model as the
 * marker, dominated runs greyed, each model's frontier a step line, baselines horizontal markers.
 */
public final class ParetoChart {
    private final JFreeChart chart;
    private final XYSeriesCollection pointsData = new XYSeriesCollection();
    private final XYSeriesCollection frontierData = new XYSeriesCollection();
    private final XYSeriesCollection searchData = new XYSeriesCollection();
    private final ParetoRenderer renderer = new ParetoRenderer();

    public ParetoChart() {
        XYPlot plot = new XYPlot();
        plot.setDataset(0, pointsData);
        plot.setRenderer(0, renderer);
        plot.setDataset(1, frontierData);
        XYStepRenderer step = new XYStepRenderer();
        step.setDefaultToolTipGenerator((d, s, i) -> d.getSeriesKey(s).toString());
        plot.setRenderer(1, step);
        // A search's front: a line through its runs in x order (its points are drawn by the points' renderer).
        plot.setDataset(2, searchData);
        org.jfree.chart.renderer.xy.XYLineAndShapeRenderer fronts =
                new org.jfree.chart.renderer.xy.XYLineAndShapeRenderer(true, false);
        plot.setRenderer(2, fronts);
        plot.setDomainAxis(new NumberAxis());
        plot.setRangeAxis(new NumberAxis());
        plot.setBackgroundPaint(new Color(0xfafafa));
        plot.setDomainGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        plot.setDomainPannable(true);
        // Series in the view-model's order, so its first points (frontier first) win the room for labels.
        plot.setSeriesRenderingOrder(org.jfree.chart.plot.SeriesRenderingOrder.FORWARD);
        plot.setRangePannable(true);
        chart = new JFreeChart(null, new Font(Font.SANS_SERIF, Font.BOLD, 14), plot, false);
        chart.setBackgroundPaint(Color.WHITE);
        // The legend reads: colour = method family, marker = model, grey = dominated, line = frontier.
        LegendTitle legend = new LegendTitle(plot);
        legend.setPosition(RectangleEdge.BOTTOM);
        legend.setItemFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        legend.setItemLabelPadding(new org.jfree.chart.ui.RectangleInsets(2, 2, 2, 12)); // items apart
        chart.addLegend(legend);

    }

    public JFreeChart chart() {
        return chart;
    }

    /** The points' dataset: one series per method family (and model). */
    public XYSeriesCollection points() {
        return pointsData;
    }

    /** The frontier step lines' dataset. */
    public XYSeriesCollection frontiers() {
        return frontierData;
    }

    ParetoRenderer renderer() {
        return renderer;
    }

    /**
     * Draws {@code data}: one point series per family and model, the frontier step lines, the baselines as
     * horizontal markers, new axes; styled for the {@code dark} theme, with run {@code highlighted} (or none)
     * enlarged.
     */
    public void draw(ChartData data, boolean dark, Long highlighted) {
        XYPlot plot = chart.getXYPlot();
        chart.setNotify(false);
        try {
            pointsData.removeAllSeries();
            frontierData.removeAllSeries();
            searchData.removeAllSeries();
            plot.clearRangeMarkers();
            List<List<ChartPoint>> bySeries = new ArrayList<>();
            for (int s = 0; s < data.series().size(); s++) {
                ParetoViewModel.Series se = data.series().get(s);
                XYSeries series = new XYSeries(se.key(), false, true);
                List<ChartPoint> pts = data.pointsOf(se.key());
                pts.forEach(p -> series.add(p.x(), p.y()));
                pointsData.addSeries(series);
                bySeries.add(pts);
                Color c = new Color(se.rgb());
                renderer.setSeriesPaint(s, c);
                renderer.setSeriesFillPaint(s, c);
                renderer.setSeriesOutlinePaint(s, c);
                renderer.setSeriesShape(s, ParetoRenderer.markerOf(se.modelIndex()));
            }
            renderer.setPoints(bySeries);
            XYStepRenderer step = (XYStepRenderer) plot.getRenderer(1);
            for (int i = 0; i < data.frontiers().size(); i++) {
                ParetoViewModel.FrontierLine line = data.frontiers().get(i);
                String key = data.frontiers().size() == 1 ? "Pareto frontier" : "Pareto frontier · " + line.modelName();
                XYSeries series = new XYSeries(key, false, true);
                line.steps().forEach(p -> series.add(p[0], p[1]));
                frontierData.addSeries(series);
                step.setSeriesPaint(i, new Color(0x555555));
                step.setSeriesStroke(i, new BasicStroke(1.4f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f,
                        i == 0 ? null : new float[]{6f, 3f}, 0f));
            }
            org.jfree.chart.renderer.xy.XYItemRenderer fronts = plot.getRenderer(2);
            for (int i = 0; i < data.searchFronts().size(); i++) {
                ParetoViewModel.SearchFront f = data.searchFronts().get(i);
                XYSeries series = new XYSeries(f.series() + " (front)", false, true);
                f.points().forEach(p -> series.add(p[0], p[1]));
                searchData.addSeries(series);
                fronts.setSeriesPaint(i, new Color(f.rgb()));
                fronts.setSeriesStroke(i, new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
            }
            plot.setFixedLegendItems(legendItems(data));
            for (ParetoViewModel.BaselineLine b : data.baselines()) {
                ValueMarker m = new ValueMarker(b.y());
                m.setPaint(new Color(FamilyColors.rgb("dense")));
                m.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f,
                        new float[]{4f, 4f}, 0f));
                m.setLabel(b.label() + (data.series().stream().map(ParetoViewModel.Series::modelName).distinct().count()
                        > 1 ? " · " + b.modelName() : "") + " (baseline)");
                m.setLabelFont(new Font(Font.SANS_SERIF, Font.ITALIC, 10));
                m.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
                m.setLabelTextAnchor(TextAnchor.BOTTOM_RIGHT);
                plot.addRangeMarker(m);
            }
            boolean bytes = data.xLabel().startsWith("Model size");
            ValueAxis x;
            if (data.logX()) {
                LogAxis log = new LogAxis(data.xLabel() + " (log)");
                log.setBase(2);
                log.setSmallestValue(1e-3);
                // Ticks at whole powers of two (2, 4, 8 bits; 1, 2, 4 KiB), not at fractional exponents.
                log.setAutoTickUnitSelection(false);
                log.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(1.0));
                log.setMinorTickMarksVisible(true);
                log.setNumberFormatOverride(bytes ? new BytesFormat() : new DecimalFormat("0.###"));
                x = log;
            } else {
                NumberAxis lin = new NumberAxis(data.xLabel());
                lin.setAutoRangeIncludesZero(false);
                if (bytes) {
                    lin.setStandardTickUnits(BytesFormat.TICKS);
                } else {
                    lin.setNumberFormatOverride(new DecimalFormat("0.##"));
                }
                x = lin;
            }
            x.setUpperMargin(0.12); // room for the labels of the rightmost runs
            x.setLowerMargin(0.06);
            plot.setDomainAxis(x);
            NumberAxis y = new NumberAxis(data.yLabel());
            y.setAutoRangeIncludesZero(false);
            y.setAutoRangeMinimumSize(data.yLabel().endsWith("(%)") ? 2.0 : 0.05);
            y.setUpperMargin(0.08);
            plot.setRangeAxis(y);
            boolean empty = data.points().isEmpty();
            plot.setNoDataMessage(data.message() == null ? "" : data.message());
            x.setTickLabelsVisible(!empty);
            y.setTickLabelsVisible(!empty || !data.baselines().isEmpty());
            renderer.setHighlighted(highlighted);
            ChartStyle.apply(chart, dark); // the axes are new
        } finally {
            chart.setNotify(true);
        }
    }

    /** One entry per method family (its colour), per model when there are several (its marker), and the rest. */
    private static LegendItemCollection legendItems(ChartData data) {
        LegendItemCollection items = new LegendItemCollection();
        Shape dot = ParetoRenderer.markerOf(0);
        java.util.Map<String, Integer> families = new java.util.LinkedHashMap<>();
        java.util.Map<String, Integer> models = new java.util.LinkedHashMap<>();
        for (ParetoViewModel.Series se : data.series()) {
            families.putIfAbsent(se.family(), se.rgb());
            models.putIfAbsent(se.modelName(), se.modelIndex());
        }
        java.util.Set<String> searches = new java.util.HashSet<>();
        data.searchFronts().forEach(f -> data.series().stream().filter(se -> se.key().equals(f.series()))
                .forEach(se -> searches.add(se.family())));
        for (var family : families.entrySet()) {
            Color c = new Color(family.getValue());
            if (searches.contains(family.getKey())) {
                // A search: its points joined by its front's line.
                items.add(new LegendItem(family.getKey(), null, "the runs a search stored under this tag", null, true,
                        dot, true, c, false, c, new BasicStroke(1f), true,
                        new java.awt.geom.Line2D.Double(-8, 0, 8, 0), new BasicStroke(2f), c));
            } else {
                items.add(new LegendItem(family.getKey(), null, "method family " + family.getKey(), null, dot, c));
            }
        }
        if (models.size() > 1) {
            models.forEach((name, index) -> {
                LegendItem item = new LegendItem(name, null, "model " + name, null, true,
                        ParetoRenderer.markerOf(index), false, Color.WHITE, true, new Color(0x555555),
                        new BasicStroke(1.2f), false, dot, new BasicStroke(1f), Color.BLACK);
                items.add(item);
            });
        }
        if (data.points().stream().anyMatch(p -> !p.frontier())) {
            items.add(new LegendItem("dominated", null, "runs another run beats in size and quality", null, dot,
                    new Color(FamilyColors.DOMINATED_FILL)));
        }
        if (!data.frontiers().isEmpty()) {
            items.add(new LegendItem("Pareto frontier", null, "the runs no other run beats", null,
                    new java.awt.geom.Line2D.Double(-8, 0, 8, 0), new BasicStroke(1.4f), new Color(0x555555)));
        }
        return items;
    }

    /** Axis ticks in bytes as people read them (KiB, MiB). */
    private static final class BytesFormat extends NumberFormat {
        /** Tick spacings of whole binary units (…, 512 B, 1 KiB, 2 KiB, …, 1 GiB, …), so ticks read 1.5 KiB, not 1.3. */
        static final org.jfree.chart.axis.TickUnits TICKS = new org.jfree.chart.axis.TickUnits();

        static {
            for (long unit = 1; unit <= (1L << 40); unit <<= 1) {
                TICKS.add(new org.jfree.chart.axis.NumberTickUnit(unit, new BytesFormat()));
            }
        }

        private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB"};

        /** Like the table's sizes, with up to two decimals so that ticks 256 B apart read 1.25 KiB, 1.5 KiB. */
        @Override
        public StringBuffer format(double number, StringBuffer to, FieldPosition pos) {
            double v = number;
            int u = 0;
            while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
                v /= 1024;
                u++;
            }
            return to.append(new DecimalFormat("0.##").format(v)).append(' ').append(UNITS[u]);
        }

        @Override
        public StringBuffer format(long number, StringBuffer to, FieldPosition pos) {
            return format((double) number, to, pos);
        }

        @Override
        public Number parse(String source, ParsePosition pos) {
            return null;
        }
    }
}
