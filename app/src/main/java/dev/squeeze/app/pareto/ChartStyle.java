package dev.squeeze.app.pareto;

import dev.squeeze.app.settings.Theme;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.Axis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.Plot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.title.Title;

import java.awt.Color;
import java.util.ArrayList;
import java.util.List;

/**
 * The charts' frame in the light or the dark theme. The plot area itself stays light in both (a sheet of paper on
 * a dark desk), so family colours, greyed points and the frontier read the same in either theme; the frame around
 * it, titles, axes and legend follow the theme.
 */
public final class ChartStyle {
    private ChartStyle() {
    }

    /** Styles {@code chart}'s frame for the dark ({@code true}) or light theme, in the theme's chart colours. */
    public static void apply(JFreeChart chart, boolean dark) {
        Theme theme = dark ? Theme.DARK : Theme.LIGHT;
        Color frame = theme.chartBackground();
        Color text = theme.chartForeground();
        chart.setBackgroundPaint(frame);
        if (chart.getTitle() != null) {
            chart.getTitle().setPaint(text);
        }
        for (int i = 0; i < chart.getSubtitleCount(); i++) {
            Title t = chart.getSubtitle(i);
            if (t instanceof LegendTitle legend) {
                legend.setBackgroundPaint(frame);
                legend.setItemPaint(text);
            } else if (t instanceof TextTitle tt) {
                tt.setPaint(text);
            }
        }
        for (Axis axis : axes(chart.getPlot())) {
            axis.setLabelPaint(text);
            axis.setTickLabelPaint(text);
            axis.setAxisLinePaint(text);
            axis.setTickMarkPaint(text);
        }
    }

    private static List<Axis> axes(Plot plot) {
        List<Axis> out = new ArrayList<>();
        if (plot instanceof XYPlot xy) {
            for (int i = 0; i < xy.getDomainAxisCount(); i++) {
                out.add(xy.getDomainAxis(i));
            }
            for (int i = 0; i < xy.getRangeAxisCount(); i++) {
                out.add(xy.getRangeAxis(i));
            }
        } else if (plot instanceof CategoryPlot cat) {
            for (int i = 0; i < cat.getDomainAxisCount(); i++) {
                out.add(cat.getDomainAxis(i));
            }
            for (int i = 0; i < cat.getRangeAxisCount(); i++) {
                out.add(cat.getRangeAxis(i));
            }
        }
        out.removeIf(java.util.Objects::isNull);
        return out;
    }
}
