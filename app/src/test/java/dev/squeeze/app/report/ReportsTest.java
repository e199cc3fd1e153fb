package dev.squeeze.app.report;

import dev.squeeze.app.pareto.StoredRuns;
import dev.squeeze.engine.report.ReportData;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.ResultsStore;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.text.PDFTextStripper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.squeeze.app.pareto.StoredRuns.A;
import static dev.squeeze.app.pareto.StoredRuns.B;
import static dev.squeeze.app.pareto.StoredRuns.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The HTML and PDF reports hold every selected run with its metrics, mark the frontier, and escape what they quote. */
class ReportsTest {
    static final String NASTY = "<b>RTN & co</b> 'x' \"y\"";
    static final String PAREN = "(unbalanced GPTQ 3-bit";

    @TempDir
    Path dir;

    private ResultsStore store;
    /** Run id to (size, top1) as stored, per model. */
    private final Map<String, Map<Long, double[]>> points = new HashMap<>();
    private final Map<Long, String> labels = new HashMap<>();

    @BeforeEach
    void fill() {
        store = ResultsStore.inMemory();
        add(A, "dense f32", 400, null, 0.90, null);
        add(A, "RTN 8-bit", 120, 8.0, 0.90, "rtn");
        add(A, NASTY, 70, 4.0, 0.80, "rtn");
        add(A, "GPTQ 4-bit", 70, 4.0, 0.85, "gptq");
        add(A, PAREN, 50, 3.0, 0.70, "gptq");
        add(A, "Größe 2-bit", 30, 2.0, 0.40, "rtn");
        add(B, "B dense", 300, null, 0.95, null);
        add(B, "B RTN 4-bit", 60, 4.0, 0.93, "rtn");
    }

    private void add(String model, String label, long size, Double bpw, double top1, String method) {
        StoredRuns r = run(store, label, size).model(model).top1(top1).metric("accuracy.cat", top1 - 0.1)
                .metric("top1", "calibration", top1 + 0.01);
        if (bpw != null) {
            r.bpw(bpw).layer("fc1", method, method + " " + bpw.intValue() + "-bit", 100, bpw, 0.01 * (9 - bpw))
                    .layer("fc2", method, method + " " + bpw.intValue() + "-bit", 50, bpw, 0.02 * (9 - bpw));
        }
        long id = r.store();
        points.computeIfAbsent(model, k -> new HashMap<>()).put(id, new double[]{size, top1});
        labels.put(id, label);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private ReportData data() {
        List<Long> ids = store.runs(null).stream().map(r -> r.id()).toList();
        return ReportData.load(store, "Report <title> & more", "all runs", ids, null, Pareto.XAxis.SIZE_BYTES);
    }

    /** The frontier by its definition, pairwise (higher top-1 is better, smaller size is better). */
    private Set<Long> frontier() {
        Set<Long> front = new HashSet<>();
        for (Map<Long, double[]> model : points.values()) {
            for (var a : model.entrySet()) {
                boolean dominated = model.values().stream().anyMatch(b -> b[0] <= a.getValue()[0]
                        && b[1] >= a.getValue()[1] && (b[0] < a.getValue()[0] || b[1] > a.getValue()[1]));
                if (!dominated) {
                    front.add(a.getKey());
                }
            }
        }
        return front;
    }

    /** HTML escaping written out for the test: the five characters HTML gives meaning to. */
    private static String escaped(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;")
                .replace("'", "&#39;");
    }

    @Test
    void htmlHoldsEveryRunWithItsMetricsAndMarksTheFrontier() throws Exception {
        Path file = dir.resolve("report.html");
        Reports.Written w = Reports.write(data(), ReportFormat.HTML, file);
        assertEquals(8, w.runs());
        assertEquals(2, w.models());
        String html = Files.readString(file, StandardCharsets.UTF_8);
        Set<Long> marked = new HashSet<>();
        for (Map.Entry<Long, String> e : labels.entrySet()) {
            long id = e.getKey();
            Matcher row = Pattern.compile("<tr id=\"run-" + id + "\"( class=\"frontier\")?>(.*?)</tr>", Pattern.DOTALL)
                    .matcher(html);
            assertTrue(row.find(), "run " + id + " has a row");
            if (row.group(1) != null) {
                marked.add(id);
                assertTrue(row.group(2).contains("frontier"), row.group(2));
            }
            assertTrue(row.group(2).contains(escaped(e.getValue())), "label of run " + id + " in " + row.group(2));
            String model = points.get(A).containsKey(id) ? A : B;
            double top1 = points.get(model).get(id)[1];
            // top-1 as a percentage with two decimals, as the explorer's table shows it.
            assertTrue(row.group(2).contains(String.format(java.util.Locale.ROOT, "%.2f %%", 100 * top1)), row.group(2));
            // Every metric of the run, per-class and calibration ones too, is in its detail section.
            int detail = html.indexOf("<details id=\"detail-" + id + "\">");
            assertTrue(detail > 0, "detail of run " + id);
            String section = html.substring(detail, html.indexOf("</dl>\n</details>", detail));
            assertTrue(section.contains(String.format(java.util.Locale.ROOT, "%.2f %%", 100 * (top1 - 0.1))), section);
            assertTrue(section.contains(String.format(java.util.Locale.ROOT, "%.2f %%", 100 * (top1 + 0.01))), section);
            assertTrue(section.contains("<td>calibration</td>"), section);
        }
        assertEquals(frontier(), marked);
        assertFalse(html.contains("<b>RTN"), "no unescaped label");
        assertTrue(html.contains("<title>Report &lt;title&gt; &amp; more</title>"));
    }

    @Test
    void htmlChartsAreWellFormedInlineSvgAndNothingIsFetched() throws Exception {
        String html = HtmlReport.html(data());
        Matcher svg = Pattern.compile("<svg[\\s\\S]*?</svg>").matcher(html);
        List<String> ids = new ArrayList<>();
        var factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        while (svg.find()) {
            Document doc = factory.newDocumentBuilder().parse(new ByteArrayInputStream(
                    svg.group().getBytes(StandardCharsets.UTF_8)));
            assertEquals("svg", doc.getDocumentElement().getLocalName());
            ids.add(doc.getDocumentElement().getAttribute("id"));
        }
        // Per model: the Pareto chart, then bits and error per layer of its frontier runs (model B: one group).
        assertEquals(List.of("pareto-1", "layers-1-1-bits", "layers-1-1-error", "pareto-2", "layers-2-1-bits",
                "layers-2-1-error"), ids);
        // The chart labels points by run number and names the runs of the layer charts: the nasty label is in
        // a chart's text and arrives escaped (the SVG parsed above).
        assertTrue(html.contains("RTN &amp; co"));
        String outsideSvg = html.replaceAll("<svg[\\s\\S]*?</svg>", "");
        assertFalse(outsideSvg.contains("<script"));
        assertFalse(outsideSvg.contains("<link"));
        assertFalse(outsideSvg.contains(" src="));
        assertFalse(html.contains("url(http"));
        assertFalse(outsideSvg.contains("http"), "no address outside the SVG namespace declarations");
    }

    @Test
    void pdfOpensAndItsTextHasTheRunsLabels() throws Exception {
        Path file = dir.resolve("report.pdf");
        Reports.write(data(), ReportFormat.PDF, file);
        try (PDDocument pdf = Loader.loadPDF(file.toFile())) {
            assertTrue(pdf.getNumberOfPages() >= 2, "pages: " + pdf.getNumberOfPages());
            String text = new PDFTextStripper().getText(pdf);
            for (String label : labels.values()) {
                if (label.chars().allMatch(c -> c < 0x7f)) {
                    assertTrue(text.contains(label), "label " + label + " in the PDF text");
                }
            }
            // The text after a label with an unbalanced parenthesis is intact: the PDF string was escaped.
            assertTrue(text.contains(PAREN + "  -  gptq, 50 B, on the frontier"), () -> text);
            assertTrue(text.contains("Report <title> & more"));
            assertTrue(text.contains("Kernel backend"));
            assertTrue(text.contains("frontier"));
        }
    }

    @Test
    void theFormatFollowsTheFileNameUnlessGiven() {
        assertEquals(ReportFormat.PDF, ReportFormat.ofFile(Path.of("/tmp/a.PDF")));
        assertEquals(ReportFormat.CSV, ReportFormat.ofFile(Path.of("runs.csv")));
        assertEquals(ReportFormat.HTML, ReportFormat.ofFile(Path.of("report")));
        assertEquals(ReportFormat.PDF, ReportFormat.parse(" pdf "));
        var e = org.junit.jupiter.api.Assertions.assertThrows(dev.squeeze.engine.SqueezeException.class,
                () -> ReportFormat.parse("docx"));
        assertTrue(e.getMessage().contains("use html, pdf or csv"), e.getMessage());
    }
}
