package dev.squeeze.app.pareto;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.util.AtomicFiles;
import org.jfree.chart.JFreeChart;
import org.jfree.svg.MeetOrSlice;
import org.jfree.svg.PreserveAspectRatio;
import org.jfree.svg.SVGGraphics2D;
import org.jfree.svg.ViewBox;

import javax.imageio.ImageIO;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.Locale;

/** Writes a chart to a PNG of a chosen size or to SVG (JFreeSVG); works headless, off the FX thread. */
public final class ChartExport {
    /** The smallest and largest PNG side accepted, in pixels. */
    public static final int MIN_SIDE = 100;
    public static final int MAX_SIDE = 10_000;

    private ChartExport() {
    }

    /** Writes {@code chart} as a {@code width}×{@code height} PNG. */
    public static void png(JFreeChart chart, Path file, int width, int height) {
        checkSize(width, height);
        BufferedImage image = chart.createBufferedImage(width, height);
        // Atomically: a full disk or a failed encoder leaves the previous file (or none), never half an image.
        AtomicFiles.write(file, out -> {
            if (!ImageIO.write(image, "png", out)) {
                throw new IOException("no PNG writer in this Java runtime");
            }
        });
    }

    /** Writes {@code chart} as an SVG document drawn at {@code width}×{@code height} user units. */
    public static void svg(JFreeChart chart, Path file, int width, int height) {
        checkSize(width, height);
        SVGGraphics2D g2 = new SVGGraphics2D(width, height);
        chart.draw(g2, new Rectangle2D.Double(0, 0, width, height));
        // No DOCTYPE (as SVG 2 advises): a parser then never fetches the SVG 1.1 DTD from the network.
        byte[] svg = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + g2.getSVGElement() + "\n")
                .getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> out.write(svg));
    }

    /**
     * {@code chart} drawn at {@code width}×{@code height} user units as an {@code <svg>} element to place inside an
     * HTML page: it scales with the page (a view box, no fixed size), and its clip paths and gradients are named
     * with {@code id} as prefix so that several charts in one page never share a definition. Coordinates are
     * written to two decimals.
     */
    public static String svgElement(JFreeChart chart, int width, int height, String id) {
        checkSize(width, height);
        SVGGraphics2D g2 = new SVGGraphics2D(width, height);
        g2.setDefsKeyPrefix(id + "-");
        // Two decimals of a user unit are far below a pixel; the default (full doubles) makes pages 2-3 times larger.
        DecimalFormat coordinate = new DecimalFormat("0.##", DecimalFormatSymbols.getInstance(Locale.ROOT));
        g2.setGeomDoubleConverter(coordinate::format);
        g2.setTransformDoubleConverter(coordinate::format);
        chart.draw(g2, new Rectangle2D.Double(0, 0, width, height));
        return g2.getSVGElement(id, false, new ViewBox(0, 0, width, height), PreserveAspectRatio.XMID_YMID,
                MeetOrSlice.MEET);
    }

    /** Checks a size typed by the user. */
    public static void checkSize(int width, int height) {
        if (width < MIN_SIDE || height < MIN_SIDE || width > MAX_SIDE || height > MAX_SIDE) {
            throw new SqueezeException("An image of " + width + " × " + height + " pixels cannot be exported",
                    "give a width and height between " + MIN_SIDE + " and " + MAX_SIDE + " pixels");
        }
    }
}
