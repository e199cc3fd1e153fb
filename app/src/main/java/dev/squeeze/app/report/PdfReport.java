package dev.squeeze.app.report;

import com.orsonpdf.PDFDocument;
import com.orsonpdf.PDFGraphics2D;
import com.orsonpdf.PDFHints;
import com.orsonpdf.Page;
import dev.squeeze.app.pareto.FamilyColors;
import dev.squeeze.engine.report.ReportData;
import dev.squeeze.engine.report.ReportData.ModelSection;
import dev.squeeze.engine.report.ReportData.RunEntry;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.util.AtomicFiles;
import org.jfree.chart.JFreeChart;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Rectangle;
import java.awt.geom.AffineTransform;
import java.awt.geom.Rectangle2D;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A report as PDF with the HTML report's content: the same charts drawn as vector graphics by OrsonPDF (JFree's
 * PDF library: a {@code Graphics2D} that writes PDF), the run table, the per-layer charts, each run's plan (its
 * description and JSON) and provenance. A4 pages, text flowed and tables continued across pages by the small
 * layout below.
 *
 * <p>OrsonPDF writes text in the PDF's standard fonts, which it encodes as ASCII only: typographic punctuation
 * (dashes, middle dots, curly quotes) is written as its ASCII stand-in, and a line with any other character (a
 * label in Greek) is drawn as glyph outlines instead, which look the same but cannot be selected or searched.
 * Chart text is always drawn as outlines, for the same reason.
 */
public final class PdfReport {
    static final float PAGE_W = 595;
    static final float PAGE_H = 842;
    private static final float MARGIN = 42;
    private static final float WIDTH = PAGE_W - 2 * MARGIN;

    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 18);
    private static final Font H2 = new Font(Font.SANS_SERIF, Font.BOLD, 14);
    private static final Font H3 = new Font(Font.SANS_SERIF, Font.BOLD, 11);
    private static final Font BODY = new Font(Font.SANS_SERIF, Font.PLAIN, 9);
    private static final Font BOLD = new Font(Font.SANS_SERIF, Font.BOLD, 9);
    private static final Font SMALL = new Font(Font.SANS_SERIF, Font.PLAIN, 8);
    private static final Font SMALL_BOLD = new Font(Font.SANS_SERIF, Font.BOLD, 8);
    private static final Font MONO = new Font(Font.MONOSPACED, Font.PLAIN, 7);
    private static final Color GREY = new Color(0x555555);
    private static final Color RULE = new Color(0xdddddd);
    private static final Color FRONTIER_ROW = new Color(0xeaf3ff);

    private PdfReport() {
    }

    /** Writes the report to {@code file} (atomically: the old file or the whole new one). */
    public static void write(ReportData data, Path file) {
        byte[] bytes = pdf(data);
        AtomicFiles.write(file, out -> out.write(bytes));
    }

    /** The report as the bytes of a PDF file. */
    public static byte[] pdf(ReportData data) {
        Layout l = new Layout(data.title());
        l.text(data.title(), TITLE, Color.BLACK, 0, 4);
        l.text(ReportText.summary(data), BODY, GREY, 0, 10);
        for (ModelSection m : data.models()) {
            model(l, m);
        }
        l.gap(10);
        l.text("Sizes count every stored byte of the model; bits per weight count the compressed layers only. A run is"
                + " on the frontier when no other selected run of the model is no larger and no worse, and better in"
                + " one of the two.", SMALL, GREY, 0, 0);
        return l.finish();
    }

    private static void model(Layout l, ModelSection m) {
        l.ensure(260); // a heading never ends a page alone: it starts one with its chart
        l.gap(8);
        l.rule();
        l.text(m.modelName() + "   " + ReportText.shortHash(m.modelHash()), H2, Color.BLACK, 0, 2);
        l.text(ReportText.axes(m) + ". " + ReportText.counts(m) + ".", BODY, GREY, 0, 4);
        l.chart(ReportCharts.pareto(m), WIDTH, HtmlReport.CHART_WIDTH, HtmlReport.CHART_HEIGHT);
        l.text(ReportText.LEGEND, SMALL, GREY, 0, 6);
        runTable(l, m);
        List<List<RunEntry>> groups = ReportCharts.layerGroups(m);
        if (!groups.isEmpty()) {
            // The heading stays with its first chart.
            l.ensure(20 + HtmlReport.layerHeight(groups.getFirst()) * WIDTH / HtmlReport.CHART_WIDTH);
            l.text("Per-layer view of the frontier runs", H3, Color.BLACK, 0, 4);
            for (List<RunEntry> g : groups) {
                int h = HtmlReport.layerHeight(g);
                l.chart(ReportCharts.layerBits(g), WIDTH, HtmlReport.CHART_WIDTH, h);
                l.chart(ReportCharts.layerErrors(g), WIDTH, HtmlReport.CHART_WIDTH, h);
            }
        }
        l.ensure(80);
        l.text("Runs: plans and provenance", H3, Color.BLACK, 0, 4);
        for (RunEntry r : m.runs()) {
            runDetails(l, r);
        }
    }

    private static void runTable(Layout l, ModelSection m) {
        List<String> metrics = ReportText.tableMetrics(m);
        List<String> header = new ArrayList<>(List.of("Run", "Label", "Family", "Bits/w", "Size", "vs fp16"));
        header.addAll(metrics);
        header.add("Pareto");
        // Widths: the label takes what the fixed columns leave.
        float metricW = 62;
        float[] fixed = {26, 0, 56, 38, 54, 40};
        float pareto = 50;
        float rest = WIDTH - (fixed[0] + fixed[2] + fixed[3] + fixed[4] + fixed[5]) - pareto - metricW * metrics.size();
        float[] widths = new float[header.size()];
        for (int i = 0; i < fixed.length; i++) {
            widths[i] = fixed[i];
        }
        widths[1] = Math.max(70, rest);
        for (int i = 0; i < metrics.size(); i++) {
            widths[fixed.length + i] = metricW;
        }
        widths[widths.length - 1] = pareto;
        boolean[] right = new boolean[header.size()];
        for (int i = 0; i < right.length; i++) {
            right[i] = i == 0 || (i >= 3 && i < right.length - 1);
        }
        List<List<String>> rows = new ArrayList<>();
        List<Color> fills = new ArrayList<>();
        List<Color> swatches = new ArrayList<>();
        for (RunEntry r : m.runs()) {
            var s = r.summary();
            List<String> row = new ArrayList<>(List.of("#" + s.id(), s.label(), s.methodFamily(),
                    ReportText.bpw(s.bitsPerWeight()), dev.squeeze.app.models.Bytes.human(s.sizeBytes()),
                    ReportText.vsFp16(s.sizeBytes(), s.fp16Bytes())));
            for (String metric : metrics) {
                row.add(ReportText.metric(metric, r.metric(metric, Pareto.SPLIT)));
            }
            row.add(r.onFrontier() ? "* frontier" : r.notPlotted() != null ? "not drawn" : "dominated");
            rows.add(row);
            fills.add(r.onFrontier() ? FRONTIER_ROW : null);
            swatches.add(new Color(FamilyColors.rgb(s.methodFamily())));
        }
        l.table(header, rows, widths, right, fills, swatches);
        long notDrawn = m.runs().stream().filter(r -> r.notPlotted() != null).count();
        if (notDrawn > 0) {
            for (RunEntry r : m.runs()) {
                if (r.notPlotted() != null) {
                    l.text("#" + r.id() + " not drawn: " + r.notPlotted(), SMALL, GREY, 0, 0);
                }
            }
            l.gap(4);
        }
    }

    private static void runDetails(Layout l, RunEntry r) {
        var s = r.summary();
        l.ensure(70);
        l.gap(4);
        l.text("#" + s.id() + " " + s.label() + "  -  " + s.methodFamily() + ", " + ReportText.size(s.sizeBytes())
                + (r.onFrontier() ? ", on the frontier" : ""), BOLD, Color.BLACK, 0, 2);
        l.text("Plan: " + (r.run().planDescription() == null ? "-" : r.run().planDescription()), BODY, Color.BLACK, 8,
                2);
        l.pre(ReportText.prettyJson(r.run().planJson()), 8);
        StringBuilder metrics = new StringBuilder("Metrics: ");
        List<String[]> all = ReportText.allMetrics(r);
        for (int i = 0; i < all.size(); i++) {
            String[] m = all.get(i);
            metrics.append(i == 0 ? "" : "; ").append(m[0].equals(Pareto.SPLIT) ? "" : m[0] + " ").append(m[1])
                    .append(" = ").append(m[2]);
        }
        l.text(metrics.toString(), SMALL, Color.BLACK, 8, 2);
        for (String[] p : ReportText.provenance(r)) {
            l.keyValue(p[0], p[1], 8);
        }
        l.gap(4);
    }

    /** A cursor over A4 pages: flows text, tables and charts, starting a page where the next block does not fit. */
    private static final class Layout {
        private final PDFDocument doc = new PDFDocument();
        private final String title;
        private PDFGraphics2D g;
        private float y;
        private int pages;

        Layout(String title) {
            this.title = title;
            doc.setTitle(ascii(title));
            doc.setAuthor("Squeeze");
            newPage();
        }

        private void newPage() {
            Page page = doc.createPage(new Rectangle(0, 0, (int) PAGE_W, (int) PAGE_H));
            g = page.getGraphics2D();
            pages++;
            y = MARGIN;
            g.setFont(SMALL);
            g.setColor(GREY);
            draw(title + "  -  page " + pages, MARGIN, PAGE_H - MARGIN / 2);
        }

        byte[] finish() {
            return doc.getPDFBytes();
        }

        /** Starts a new page unless {@code height} points fit below the cursor. */
        void ensure(float height) {
            if (y + height > PAGE_H - MARGIN) {
                newPage();
            }
        }

        void gap(float points) {
            y += points;
        }

        void rule() {
            ensure(4);
            g.setColor(RULE);
            g.fill(new Rectangle2D.Float(MARGIN, y, WIDTH, 1));
            y += 6;
        }

        /** A paragraph wrapped to the width less {@code indent}, then {@code after} points of space. */
        void text(String s, Font font, Color color, float indent, float after) {
            FontMetrics fm = g.getFontMetrics(font);
            for (String line : wrap(s, fm, WIDTH - indent)) {
                ensure(fm.getHeight());
                g.setFont(font);
                g.setColor(color);
                draw(line, MARGIN + indent, y + fm.getAscent());
                y += fm.getHeight();
            }
            y += after;
        }

        /** "Name: value" with the name in bold, the value wrapped beside it. */
        void keyValue(String key, String value, float indent) {
            FontMetrics fm = g.getFontMetrics(SMALL);
            float keyW = 78;
            List<String> lines = wrap(value, fm, WIDTH - indent - keyW);
            for (int i = 0; i < lines.size(); i++) {
                ensure(fm.getHeight());
                if (i == 0) {
                    g.setFont(SMALL_BOLD);
                    g.setColor(GREY);
                    draw(key, MARGIN + indent, y + fm.getAscent());
                }
                g.setFont(SMALL);
                g.setColor(Color.BLACK);
                draw(lines.get(i), MARGIN + indent + keyW, y + fm.getAscent());
                y += fm.getHeight();
            }
        }

        /** Preformatted text (a plan's JSON): monospaced, long lines broken at the width, on a grey ground. */
        void pre(String s, float indent) {
            FontMetrics fm = g.getFontMetrics(MONO);
            float width = WIDTH - indent - 8;
            List<String> lines = new ArrayList<>();
            for (String raw : s.split("\n", -1)) {
                String rest = raw;
                do {
                    int n = fit(rest, fm, width);
                    lines.add(rest.substring(0, n));
                    rest = rest.substring(n);
                } while (!rest.isEmpty());
            }
            for (String line : lines) {
                ensure(fm.getHeight());
                g.setColor(new Color(0xf4f4f4));
                g.fill(new Rectangle2D.Float(MARGIN + indent, y, WIDTH - indent, fm.getHeight()));
                g.setFont(MONO);
                g.setColor(new Color(0x222222));
                draw(line, MARGIN + indent + 4, y + fm.getAscent());
                y += fm.getHeight();
            }
            y += 3;
        }

        /** A table whose rows wrap their cells and continue on the next page under a repeated header. */
        void table(List<String> header, List<List<String>> rows, float[] widths, boolean[] right, List<Color> fills,
                   List<Color> swatches) {
            FontMetrics fm = g.getFontMetrics(SMALL);
            float pad = 3;
            float line = fm.getHeight();
            Runnable drawHeader = () -> {
                List<List<String>> cells = wrapRow(header, widths, fm, pad);
                float h = height(cells, line, pad);
                g.setColor(new Color(0xeeeeee));
                g.fill(new Rectangle2D.Float(MARGIN, y, WIDTH, h));
                row(cells, widths, right, SMALL_BOLD, Color.BLACK, line, pad, fm);
                y += h;
            };
            ensure(3 * line + 4 * pad);
            drawHeader.run();
            for (int r = 0; r < rows.size(); r++) {
                List<List<String>> cells = wrapRow(rows.get(r), widths, fm, pad);
                float h = height(cells, line, pad);
                if (y + h > PAGE_H - MARGIN) {
                    newPage();
                    drawHeader.run();
                }
                if (fills.get(r) != null) {
                    g.setColor(fills.get(r));
                    g.fill(new Rectangle2D.Float(MARGIN, y, WIDTH, h));
                }
                g.setColor(swatches.get(r));
                float familyX = MARGIN + widths[0] + widths[1];
                g.fill(new Rectangle2D.Float(familyX + 1, y + pad + 1.5f, 2.5f, line - 3));
                row(cells, widths, right, SMALL, Color.BLACK, line, pad, fm);
                y += h;
                g.setColor(RULE);
                g.fill(new Rectangle2D.Float(MARGIN, y - 0.5f, WIDTH, 0.5f));
            }
            y += 6;
        }

        private void row(List<List<String>> cells, float[] widths, boolean[] right, Font font, Color color, float line,
                         float pad, FontMetrics fm) {
            float x = MARGIN;
            g.setFont(font);
            g.setColor(color);
            for (int c = 0; c < cells.size(); c++) {
                float ly = y + pad + fm.getAscent();
                for (String text : cells.get(c)) {
                    float tx = right[c] ? x + widths[c] - pad - fm.stringWidth(text) : x + pad + (c == 2 ? 3 : 0);
                    draw(text, tx, ly);
                    ly += line;
                }
                x += widths[c];
            }
        }

        private static List<List<String>> wrapRow(List<String> row, float[] widths, FontMetrics fm, float pad) {
            List<List<String>> out = new ArrayList<>();
            for (int c = 0; c < row.size(); c++) {
                out.add(wrap(row.get(c), fm, widths[c] - 2 * pad - (c == 2 ? 3 : 0)));
            }
            return out;
        }

        private static float height(List<List<String>> cells, float line, float pad) {
            int lines = cells.stream().mapToInt(List::size).max().orElse(1);
            return lines * line + 2 * pad;
        }

        /**
         * A chart drawn as vector graphics {@code width} points wide: laid out at {@code layoutWidth}×{@code
         * layoutHeight} units (the HTML report's size, so fonts and markers keep the same proportions) and scaled
         * to fit; starts a page if it does not fit.
         */
        void chart(JFreeChart chart, float width, int layoutWidth, int layoutHeight) {
            float scale = width / layoutWidth;
            float height = layoutHeight * scale;
            ensure(height + 4);
            AffineTransform saved = g.getTransform();
            g.translate(MARGIN, y);
            g.scale(scale, scale);
            g.setRenderingHint(PDFHints.KEY_DRAW_STRING_TYPE, PDFHints.VALUE_DRAW_STRING_TYPE_VECTOR);
            chart.draw(g, new Rectangle2D.Double(0, 0, layoutWidth, layoutHeight));
            g.setRenderingHint(PDFHints.KEY_DRAW_STRING_TYPE, PDFHints.VALUE_DRAW_STRING_TYPE_STANDARD);
            g.setClip(null);
            g.setTransform(saved);
            y += height + 4;
        }

        /**
         * Draws one line: as PDF text when it is ASCII (searchable), else as glyph outlines. OrsonPDF 1.9 puts the
         * text into a PDF string as it is, so the string's delimiters and escape character are escaped here (a
         * wrapped "(940,584 B)" would otherwise end the string early and spill into the page's drawing operators).
         */
        private void draw(String text, float x, float baseline) {
            String s = plainPunctuation(text);
            boolean ascii = s.chars().allMatch(ch -> ch >= 0x20 && ch < 0x7f);
            if (ascii) {
                g.drawString(pdfString(s), x, baseline);
                return;
            }
            g.setRenderingHint(PDFHints.KEY_DRAW_STRING_TYPE, PDFHints.VALUE_DRAW_STRING_TYPE_VECTOR);
            g.drawString(s, x, baseline);
            g.setRenderingHint(PDFHints.KEY_DRAW_STRING_TYPE, PDFHints.VALUE_DRAW_STRING_TYPE_STANDARD);
        }

        /** Words wrapped to {@code width}; a word longer than a line is broken. */
        private static List<String> wrap(String s, FontMetrics fm, float width) {
            List<String> lines = new ArrayList<>();
            for (String paragraph : (s == null ? "" : s).split("\n", -1)) {
                StringBuilder line = new StringBuilder();
                for (String word : paragraph.split(" ")) {
                    String candidate = line.isEmpty() ? word : line + " " + word;
                    if (fm.stringWidth(candidate) <= width) {
                        line.setLength(0);
                        line.append(candidate);
                        continue;
                    }
                    if (!line.isEmpty()) {
                        lines.add(line.toString());
                        line.setLength(0);
                    }
                    String rest = word;
                    while (fm.stringWidth(rest) > width && rest.length() > 1) {
                        int n = fit(rest, fm, width);
                        lines.add(rest.substring(0, n));
                        rest = rest.substring(n);
                    }
                    line.append(rest);
                }
                lines.add(line.toString());
            }
            return lines;
        }

        /** How many leading characters of {@code s} fit in {@code width} (at least one). */
        private static int fit(String s, FontMetrics fm, float width) {
            int n = 1;
            while (n < s.length() && fm.stringWidth(s.substring(0, n + 1)) <= width) {
                n++;
            }
            return n;
        }

        /**
         * Typographic punctuation as its ASCII stand-in (a dash as '-', a middle dot as '.'), so that a line that is
         * otherwise ASCII stays searchable text in the standard font.
         */
        static String plainPunctuation(String s) {
            StringBuilder b = new StringBuilder(s.length());
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212' -> b.append('-');
                    case '\u2018', '\u2019' -> b.append('\'');
                    case '\u201c', '\u201d' -> b.append('"');
                    case '\u00b7', '\u2022' -> b.append('.');
                    case '\u00d7' -> b.append('x');
                    case '\u2026' -> b.append("...");
                    case '\u00a0', '\u2009', '\u202f' -> b.append(' ');
                    default -> b.append(c);
                }
            }
            return b.toString();
        }

        /** {@code s} as the content of a PDF literal string: backslash, '(' and ')' escaped. */
        static String pdfString(String s) {
            return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)");
        }

        private static String ascii(String s) {
            StringBuilder b = new StringBuilder();
            s.chars().forEach(ch -> b.append(ch >= 0x20 && ch < 0x7f ? (char) ch : '?'));
            return b.toString();
        }
    }
}
