package dev.squeeze.app.pareto;

import org.junit.jupiter.api.Test;

import java.awt.geom.Rectangle2D;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LabelPlacerTest {
    @Test
    void aLabelGoesRightOfItsPointThenLeftAboveBelowAndNeverOverAnotherLabelOrPoint() {
        LabelPlacer placer = new LabelPlacer(new Rectangle2D.Double(0, 0, 300, 200));
        placer.addPoint(100, 100, 5);
        placer.addPoint(95, 108, 5);
        // Right of (100, 100): x from 107, centred vertically on the point.
        Rectangle2D first = placer.place(100, 100, 40, 10).orElseThrow();
        assertEquals(new Rectangle2D.Double(107, 95, 40, 10), first);
        // The point at (95, 108): its right spot (102–142 × 103–113) would overlap the first label; left is free.
        Rectangle2D second = placer.place(95, 108, 40, 10).orElseThrow();
        assertEquals(new Rectangle2D.Double(48, 103, 40, 10), second);
        assertFalse(second.intersects(first));
        assertEquals(2, placer.placed());
    }

    @Test
    void aLabelWithNoFreeSpotIsDroppedAndLabelsStayInsideThePlot() {
        LabelPlacer placer = new LabelPlacer(new Rectangle2D.Double(0, 0, 100, 100));
        placer.addPoint(50, 50, 5);
        // Wider than the plot: it fits nowhere.
        assertTrue(placer.place(50, 50, 120, 10).isEmpty());
        // In a plot 60 wide a 40-wide label fits only above or below its point; neighbours just above and below
        // take both spots.
        LabelPlacer alone = new LabelPlacer(new Rectangle2D.Double(0, 0, 60, 100));
        alone.addPoint(30, 50, 5);
        assertTrue(alone.place(30, 50, 40, 10).isPresent());
        LabelPlacer narrow = new LabelPlacer(new Rectangle2D.Double(0, 0, 60, 100));
        narrow.addPoint(30, 50, 5);
        narrow.addPoint(30, 38, 5);
        narrow.addPoint(30, 62, 5);
        assertTrue(narrow.place(30, 50, 40, 10).isEmpty());
        // Near the right edge it goes left.
        Rectangle2D left = placer.place(90, 20, 30, 10).orElseThrow();
        assertEquals(53, left.getX(), 1e-9);
        // Surround a point with labels on all four sides: a fifth label for it has nowhere to go.
        LabelPlacer crowded = new LabelPlacer(new Rectangle2D.Double(0, 0, 200, 200));
        for (int i = 0; i < 4; i++) {
            assertTrue(crowded.place(100, 100, 20, 10).isPresent());
        }
        assertTrue(crowded.place(100, 100, 20, 10).isEmpty());
    }
}
