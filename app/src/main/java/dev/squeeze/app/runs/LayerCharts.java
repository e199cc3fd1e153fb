package dev.squeeze.app.runs;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.labels.StandardCategoryToolTipGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

import java.awt.Color;
import java.awt.Font;
import java.text.DecimalFormat;

/** Per-layer bar charts (bits per weight, reconstruction error) of one run or, grouped, of several. */
public final class LayerCharts {
    /** Colours of the runs of a grouped chart, in order (the first is the reference run). */
    private static final int[] RUN_COLOURS = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd, 0x8c564b,
            0xe377c2, 0x17becf};

    private LayerCharts() {
    }

    /**
     * A bar chart of {@code dataset} (rows: runs, columns: layers): one bar per layer, or side by side per layer
     * when there are several runs, each run in its colour (the reference first).
     *
     * @param legend whether to name the runs under the chart (for several runs)
     */
    public static JFreeChart bars(String title, String valueLabel, DefaultCategoryDataset dataset,
                                  String numberPattern, boolean legend) {
        CategoryAxis layers = new CategoryAxis("Layer");
        layers.setCategoryLabelPositions(dataset.getColumnCount() > 6 ? CategoryLabelPositions.UP_45
                : CategoryLabelPositions.STANDARD);
        layers.setMaximumCategoryLabelWidthRatio(2.0f);
        layers.setTickLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        NumberAxis values = new NumberAxis(valueLabel);
        values.setNumberFormatOverride(new DecimalFormat(numberPattern));
        BarRenderer renderer = new BarRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setItemMargin(0.05);
        renderer.setDefaultToolTipGenerator(new StandardCategoryToolTipGenerator("{0} · {1}: {2}",
                new DecimalFormat(numberPattern)));
        for (int r = 0; r < RUN_COLOURS.length; r++) {
            renderer.setSeriesPaint(r, new Color(RUN_COLOURS[r]));
        }
        CategoryPlot plot = new CategoryPlot(dataset, layers, values, renderer);
        plot.setOrientation(PlotOrientation.VERTICAL);
        plot.setBackgroundPaint(new Color(0xfafafa));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        plot.setNoDataMessage("No layer results stored (a dense run compresses no layer)");
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 13), plot, legend);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }
}
