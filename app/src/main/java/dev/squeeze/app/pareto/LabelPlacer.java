package dev.squeeze.app.pareto;

import java.awt.geom.Rectangle2D;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Greedy placement of point labels in screen space: a label goes to the first of a few spots around its point
 * (right, left, above, below) where it stays inside the plot and overlaps no label placed before it and no other
 * point; a label with no such spot is not drawn (the point's tooltip still names it). Callers offer labels in
 * priority order.
 */
public final class LabelPlacer {
    /** Gap between a point's centre and its label. */
    static final double GAP = 7;

    private final Rectangle2D bounds;
    private final List<Rectangle2D> taken = new ArrayList<>();
    private final List<Rectangle2D> points = new ArrayList<>();

    public LabelPlacer(Rectangle2D bounds) {
        this.bounds = bounds;
    }

    /** Marks a point (its marker's box) that labels must not cover. */
    public void addPoint(double x, double y, double radius) {
        points.add(new Rectangle2D.Double(x - radius, y - radius, 2 * radius, 2 * radius));
    }

    /**
     * Places a {@code width}×{@code height} label for the point at ({@code x}, {@code y}); empty when every spot
     * collides. The point's own marker (centred at x, y) never blocks its label.
     */
    public Optional<Rectangle2D> place(double x, double y, double width, double height) {
        Rectangle2D[] spots = {
                new Rectangle2D.Double(x + GAP, y - height / 2, width, height),
                new Rectangle2D.Double(x - GAP - width, y - height / 2, width, height),
                new Rectangle2D.Double(x - width / 2, y - GAP - height, width, height),
                new Rectangle2D.Double(x - width / 2, y + GAP, width, height)};
        for (Rectangle2D spot : spots) {
            if (fits(spot, x, y)) {
                taken.add(spot);
                return Optional.of(spot);
            }
        }
        return Optional.empty();
    }

    private boolean fits(Rectangle2D spot, double x, double y) {
        if (!bounds.contains(spot)) {
            return false;
        }
        for (Rectangle2D r : taken) {
            if (r.intersects(spot)) {
                return false;
            }
        }
        for (Rectangle2D p : points) {
            boolean own = Math.abs(p.getCenterX() - x) < 1e-9 && Math.abs(p.getCenterY() - y) < 1e-9;
            if (!own && p.intersects(spot)) {
                return false;
            }
        }
        return true;
    }

    /** How many labels were placed. */
    public int placed() {
        return taken.size();
    }
}
