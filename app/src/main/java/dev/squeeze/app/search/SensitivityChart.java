package dev.squeeze.app.search;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.labels.StandardCategoryToolTipGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.PaintScale;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYBlockRenderer;
import org.jfree.chart.title.PaintScaleLegend;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.DefaultXYZDataset;

import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The per-layer sensitivity charts (JFreeChart, drawn without a window so tests and reports can use them):
 * a bar per layer of its ΔKL at one setting (a chosen level, or each layer's setting in the plan), and a heat map
 * of every layer × every measured level, coloured by log₁₀ ΔKL.
 */
public final class SensitivityChart {
    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 13);
    private static final Font TICKS = new Font(Font.SANS_SERIF, Font.PLAIN, 10);
    /** ΔKL below this is drawn as this (a level that changes nothing measurable, or dense). */
    static final double FLOOR = 1e-7;

    private SensitivityChart() {
    }

    /**
     * Bars: one per layer, its ΔKL at the setting {@code keyOf} gives the layer (null: not measured; no bar).
     *
     * @param layers the layers in model order
     * @param keyOf  the level key of each layer (a chosen level's key for every layer, or the plan's per layer)
     */
    public static JFreeChart bars(SensitivityTable table, List<String> layers, Function<String, String> keyOf,
                                  String title) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (String layer : layers) {
            String key = keyOf.apply(layer);
            Double v = key == null ? null : table.deltaKl(layer, key);
            data.addValue(v, "ΔKL", shortName(layer));
        }
        CategoryAxis x = new CategoryAxis("Layer");
        x.setCategoryLabelPositions(layers.size() > 6 ? CategoryLabelPositions.UP_45 : CategoryLabelPositions.STANDARD);
        x.setMaximumCategoryLabelWidthRatio(2.0f);
        x.setTickLabelFont(TICKS);
        NumberAxis y = new NumberAxis("ΔKL to the dense model (nats/token)");
        y.setNumberFormatOverride(new DecimalFormat("0.####"));
        BarRenderer r = new BarRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setSeriesPaint(0, new Color(0xd62728));
        r.setDefaultToolTipGenerator(new StandardCategoryToolTipGenerator("{1}: ΔKL {2}", new DecimalFormat("0.######")));
        CategoryPlot plot = new CategoryPlot(data, x, y, r);
        plot.setOrientation(PlotOrientation.VERTICAL);
        plot.setBackgroundPaint(new Color(0xfafafa));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        plot.setNoDataMessage(table.isEmpty() ? "No sensitivity measured yet" : "Not measured at this setting");
        JFreeChart chart = new JFreeChart(title, TITLE, plot, false);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /**
     * The heat map: layers (rows, model order top to bottom) × levels (columns, fewest bits first), each cell
     * coloured by log₁₀ ΔKL; cells not measured are left empty.
     */
    public static JFreeChart heatMap(SensitivityTable table, List<String> layers, String title) {
        List<SensitivityTable.LevelChoice> levels = table.levels();
        int n = 0;
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        List<double[]> cells = new ArrayList<>();
        for (int li = 0; li < layers.size(); li++) {
            for (int ki = 0; ki < levels.size(); ki++) {
                Double v = table.deltaKl(layers.get(li), levels.get(ki).key());
                if (v != null) {
                    double z = Math.log10(Math.max(FLOOR, v));
                    lo = Math.min(lo, z);
                    hi = Math.max(hi, z);
                    // Top row is the first layer: y runs from the last layer (0) up to the first.
                    cells.add(new double[]{ki, layers.size() - 1 - li, z});
                    n++;
                }
            }
        }
        double[][] series = new double[3][n];
        for (int i = 0; i < n; i++) {
            series[0][i] = cells.get(i)[0];
            series[1][i] = cells.get(i)[1];
            series[2][i] = cells.get(i)[2];
        }
        DefaultXYZDataset data = new DefaultXYZDataset();
        data.addSeries("log10 ΔKL", series);
        // Levels are many (a language model has about a hundred): the axis names each by its bits per weight, every
        // k-th only when they would crowd; the tooltip and the bar chart's choice name them in full.
        int every = Math.max(1, (int) Math.ceil(levels.size() / 36.0));
        String[] levelNames = new String[levels.size()];
        for (int i = 0; i < levels.size(); i++) {
            levelNames[i] = i % every == 0 ? String.format(Locale.ROOT, "%.2f", levels.get(i).bitsPerWeight()) : "";
        }
        String[] layerNames = new String[layers.size()];
        for (int i = 0; i < layers.size(); i++) {
            layerNames[layers.size() - 1 - i] = shortName(layers.get(i));
        }
        SymbolAxis x = new SymbolAxis("Level, by mean bits per weight (hover a cell for its setting)", levelNames.length == 0 ? new String[]{""} : levelNames);
        x.setTickLabelFont(TICKS);
        x.setVerticalTickLabels(true);
        x.setGridBandsVisible(false);
        SymbolAxis y = new SymbolAxis("Layer", layerNames.length == 0 ? new String[]{""} : layerNames);
        y.setTickLabelFont(TICKS);
        y.setGridBandsVisible(false);
        if (n == 0) {
            lo = -4;
            hi = 0;
        } else if (hi - lo < 1e-9) {
            lo -= 0.5;
            hi += 0.5;
        }
        HeatScale scale = new HeatScale(lo, hi);
        XYBlockRenderer r = new XYBlockRenderer();
        r.setPaintScale(scale);
        r.setDefaultToolTipGenerator((d, s, i) -> {
            int ki = (int) d.getXValue(s, i);
            int li = layers.size() - 1 - (int) d.getYValue(s, i);
            SensitivityTable.LevelChoice level = levels.get(ki);
            SensitivityTable.Entry e = table.entry(layers.get(li), level.key());
            return String.format(Locale.ROOT, "%s at %s: ΔKL %.6g, %.3f bits/weight", layers.get(li), level.level(),
                    e.deltaKl(), e.bitsPerWeight());
        });
        XYPlot plot = new XYPlot(data, x, y, r);
        plot.setBackgroundPaint(new Color(0xf4f4f4));
        plot.setDomainGridlinesVisible(false);
        plot.setRangeGridlinesVisible(false);
        plot.setNoDataMessage("No sensitivity measured yet");
        JFreeChart chart = new JFreeChart(title, TITLE, plot, false);
        chart.setBackgroundPaint(Color.WHITE);
        NumberAxis legendAxis = new NumberAxis("log₁₀ ΔKL");
        legendAxis.setTickLabelFont(TICKS);
        legendAxis.setRange(lo, hi);
        PaintScaleLegend legend = new PaintScaleLegend(scale, legendAxis);
        legend.setPosition(RectangleEdge.RIGHT);
        legend.setMargin(new RectangleInsets(4, 8, 4, 4));
        legend.setStripWidth(12);
        legend.setSubdivisionCount(64);
        chart.addSubtitle(legend);
        return chart;
    }

    /** {@code model.layers.3.mlp.down_proj} → {@code 3.mlp.down_proj}: the part that tells layers apart. */
    static String shortName(String layer) {
        String s = layer.replaceFirst("^(model\\.)?layers\\.", "");
        return s.length() > 28 ? "…" + s.substring(s.length() - 27) : s;
    }

    /** Light yellow (insensitive) to dark red (sensitive) over [lower, upper] of log₁₀ ΔKL. */
    static final class HeatScale implements PaintScale {
        private static final int[][] STOPS = {{0xff, 0xf7, 0xbc}, {0xfe, 0xc4, 0x4f}, {0xec, 0x70, 0x14},
                {0xcc, 0x25, 0x0c}, {0x66, 0x0b, 0x05}};
        private final double lower;
        private final double upper;

        HeatScale(double lower, double upper) {
            this.lower = lower;
            this.upper = upper;
        }

        @Override
        public double getLowerBound() {
            return lower;
        }

        @Override
        public double getUpperBound() {
            return upper;
        }

        @Override
        public Paint getPaint(double value) {
            double t = Math.max(0, Math.min(1, (value - lower) / (upper - lower)));
            double p = t * (STOPS.length - 1);
            int i = Math.min(STOPS.length - 2, (int) Math.floor(p));
            double f = p - i;
            int[] a = STOPS[i];
            int[] b = STOPS[i + 1];
            return new Color((int) Math.round(a[0] + f * (b[0] - a[0])), (int) Math.round(a[1] + f * (b[1] - a[1])),
                    (int) Math.round(a[2] + f * (b[2] - a[2])));
        }
    }
}
