package dev.squeeze.app.pareto;

import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.PlotRenderingInfo;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYItemRendererState;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYDataset;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Paint;
import java.awt.Shape;
import java.awt.Stroke;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.util.List;
import java.util.Optional;

/**
 * Draws the runs: a point filled in its family's colour when it is on the frontier and greyed (outlined in the
 * family's colour) when dominated; the model decides the marker's shape; the selected run is enlarged with a dark
 * ring. Labels are drawn only where they collide with no label drawn before and no other point
 * ({@link LabelPlacer}); every point has a tooltip.
 */
final class ParetoRenderer extends XYLineAndShapeRenderer {
    private static final double RADIUS = 5;
    private static final Color DOMINATED = new Color(FamilyColors.DOMINATED_FILL);
    private static final Color RING = new Color(0x111111);
    private static final Font LABEL_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 11);

    private List<List<ParetoViewModel.ChartPoint>> points = List.of();
    private long highlighted = -1;
    private transient LabelPlacer placer;
    private int labelsDrawn;

    ParetoRenderer() {
        super(false, true);
        setUseFillPaint(true);
        setUseOutlinePaint(true);
        setDrawOutlines(true);
        setDefaultItemLabelsVisible(true);
        setDefaultItemLabelGenerator((dataset, series, item) -> {
            ParetoViewModel.ChartPoint p = point(series, item);
            return p != null && (p.labelled() || p.runId() == highlighted) ? p.label() : null;
        });
        setDefaultToolTipGenerator((dataset, series, item) -> {
            ParetoViewModel.ChartPoint p = point(series, item);
            return p == null ? null : p.tooltip();
        });
    }

    /** The points by series and item, as the dataset holds them. */
    void setPoints(List<List<ParetoViewModel.ChartPoint>> points) {
        this.points = List.copyOf(points);
    }

    void setHighlighted(Long runId) {
        highlighted = runId == null ? -1 : runId;
        fireChangeEvent();
    }

    /** The run drawn enlarged, or -1. */
    long highlighted() {
        return highlighted;
    }

    ParetoViewModel.ChartPoint point(int series, int item) {
        if (series < 0 || series >= points.size() || item < 0 || item >= points.get(series).size()) {
            return null;
        }
        return points.get(series).get(item);
    }

    /** How many labels the last drawing placed (the others collided). */
    int labelsDrawn() {
        return labelsDrawn;
    }

    /** The marker of the {@code index}-th model on the chart: circle, square, triangle, diamond, … */
    static Shape markerOf(int index) {
        double r = RADIUS;
        return switch (Math.floorMod(index, 5)) {
            case 0 -> new Ellipse2D.Double(-r, -r, 2 * r, 2 * r);
            case 1 -> new Rectangle2D.Double(-r + 0.5, -r + 0.5, 2 * r - 1, 2 * r - 1);
            case 2 -> polygon(0, -r - 1, r + 1, r, -r - 1, r);
            case 3 -> polygon(0, -r - 1, r + 1, 0, 0, r + 1, -r - 1, 0);
            default -> polygon(-r - 1, -r, r + 1, -r, 0, r + 1);
        };
    }

    private static Shape polygon(double... xy) {
        Path2D.Double p = new Path2D.Double();
        p.moveTo(xy[0], xy[1]);
        for (int i = 2; i < xy.length; i += 2) {
            p.lineTo(xy[i], xy[i + 1]);
        }
        p.closePath();
        return p;
    }

    @Override
    public Paint getItemFillPaint(int series, int item) {
        ParetoViewModel.ChartPoint p = point(series, item);
        return p == null || p.frontier() ? lookupSeriesPaint(series) : DOMINATED;
    }

    @Override
    public Paint getItemOutlinePaint(int series, int item) {
        ParetoViewModel.ChartPoint p = point(series, item);
        return p != null && p.runId() == highlighted ? RING : lookupSeriesPaint(series);
    }

    @Override
    public Stroke getItemOutlineStroke(int series, int item) {
        ParetoViewModel.ChartPoint p = point(series, item);
        return new BasicStroke(p != null && p.runId() == highlighted ? 2.5f : 1.2f);
    }

    @Override
    public Shape getItemShape(int series, int item) {
        Shape s = lookupSeriesShape(series);
        ParetoViewModel.ChartPoint p = point(series, item);
        if (p != null && p.runId() == highlighted) {
            return AffineTransform.getScaleInstance(1.7, 1.7).createTransformedShape(s);
        }
        return s;
    }

    @Override
    public XYItemRendererState initialise(Graphics2D g2, Rectangle2D dataArea, XYPlot plot, XYDataset dataset,
                                          PlotRenderingInfo info) {
        XYItemRendererState state = super.initialise(g2, dataArea, plot, dataset, info);
        placer = new LabelPlacer(dataArea);
        labelsDrawn = 0;
        for (int s = 0; s < dataset.getSeriesCount(); s++) {
            for (int i = 0; i < dataset.getItemCount(s); i++) {
                double x = plot.getDomainAxis().valueToJava2D(dataset.getXValue(s, i), dataArea,
                        plot.getDomainAxisEdge());
                double y = plot.getRangeAxis().valueToJava2D(dataset.getYValue(s, i), dataArea,
                        plot.getRangeAxisEdge());
                placer.addPoint(x, y, RADIUS);
            }
        }
        return state;
    }

    @Override
    protected void drawItemLabel(Graphics2D g2, PlotOrientation orientation, XYDataset dataset, int series, int item,
                                 double x, double y, boolean negative) {
        String text = getItemLabelGenerator(series, item) == null ? null
                : getItemLabelGenerator(series, item).generateLabel(dataset, series, item);
        if (text == null || placer == null) {
            return;
        }
        g2.setFont(LABEL_FONT);
        FontMetrics fm = g2.getFontMetrics();
        Optional<Rectangle2D> spot = placer.place(x, y, fm.stringWidth(text), fm.getHeight());
        if (spot.isPresent()) {
            g2.setPaint(new Color(0x222222));
            g2.drawString(text, (float) spot.get().getX(), (float) (spot.get().getY() + fm.getAscent()));
            labelsDrawn++;
        }
    }
}
