package dev.squeeze.app.pareto;

import dev.squeeze.engine.SqueezeException;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Chart exports replace a file whole or not at all, and say what went wrong in words. */
class ChartExportTest {
    @TempDir
    Path dir;

    private static JFreeChart chart() {
        XYSeries s = new XYSeries("rtn");
        s.add(2.0, 76.6);
        s.add(4.0, 90.2);
        return ChartFactory.createScatterPlot("runs", "Bits per weight", "Top-1 accuracy (%)",
                new XYSeriesCollection(s));
    }

    @Test
    void anExistingFileIsReplacedByAWholeDocument() throws Exception {
        Path svg = dir.resolve("chart.svg");
        Path png = dir.resolve("chart.png");
        Files.writeString(svg, "old");
        Files.writeString(png, "old");
        ChartExport.svg(chart(), svg, 640, 400);
        ChartExport.png(chart(), png, 320, 200);
        assertEquals("svg", DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(svg.toFile())
                .getDocumentElement().getTagName());
        assertEquals(320, ImageIO.read(png.toFile()).getWidth());
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void aFolderThatCannotBeWrittenIsAnErrorInWordsAndTouchesNothing() throws Exception {
        Path blocker = dir.resolve("not-a-folder");
        Files.writeString(blocker, "a file where a folder should be");
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> ChartExport.svg(chart(), blocker.resolve("chart.svg"), 640, 400));
        assertTrue(e.getMessage().contains("chart.svg"), e.getMessage());
        assertEquals("a file where a folder should be", Files.readString(blocker));
        SqueezeException size = assertThrows(SqueezeException.class,
                () -> ChartExport.png(chart(), dir.resolve("huge.png"), 20_000, 400));
        assertTrue(size.getMessage().contains("20000 × 400"), size.getMessage());
        assertTrue(Files.notExists(dir.resolve("huge.png")));
    }
}
