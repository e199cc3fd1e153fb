package dev.squeeze.app.report;

import dev.squeeze.app.pareto.ChartExport;
import dev.squeeze.app.pareto.FamilyColors;
import dev.squeeze.engine.report.ReportData;
import dev.squeeze.engine.report.ReportData.ModelSection;
import dev.squeeze.engine.report.ReportData.RunEntry;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.util.AtomicFiles;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * A report as one self-contained HTML file: the charts are inline SVG (JFreeSVG, through {@link ChartExport}),
 * the style sheet is in the page, nothing is fetched from anywhere. Every text that comes from the database
 * (labels, model names, plans, host names) is escaped; plans and provenance are collapsible sections, open in
 * print.
 */
public final class HtmlReport {
    /** The Pareto chart's size in SVG user units (it scales with the page). */
    static final int CHART_WIDTH = 1000;
    static final int CHART_HEIGHT = 520;

    /** The height of a per-layer chart: taller when many layer names stand rotated under it. */
    static int layerHeight(List<RunEntry> runs) {
        long layers = runs.stream().flatMap(r -> r.layers().stream()).map(l -> l.layer()).distinct().count();
        return layers > 6 ? 520 : 380;
    }

    private static final String STYLE = """
            :root { color-scheme: light; }
            body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
                   color: #1a1a1a; background: #fff; margin: 0 auto; max-width: 1100px; padding: 24px 28px 48px; }
            h1 { font-size: 26px; margin: 0 0 6px; }
            h2 { font-size: 20px; margin: 36px 0 4px; padding-top: 12px; border-top: 2px solid #ddd; }
            h3 { font-size: 16px; margin: 22px 0 6px; }
            .meta, .note { color: #555; margin: 2px 0; }
            .hash { font: 12px ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; color: #666; }
            nav ul { margin: 6px 0 0; padding-left: 20px; }
            figure { margin: 10px 0; }
            figure svg { width: 100%; height: auto; display: block; border: 1px solid #e4e4e4; }
            figcaption { color: #555; font-size: 12px; margin-top: 4px; }
            table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0 10px; }
            th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 8px; text-align: left; vertical-align: top; }
            th { background: #f3f3f3; font-weight: 600; }
            td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
            tr.frontier td { background: #f2f8ff; }
            .mark { font-weight: 600; color: #0b5394; white-space: nowrap; }
            .dominated { color: #777; }
            .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px;
                      vertical-align: baseline; }
            details { border: 1px solid #e4e4e4; border-radius: 4px; margin: 6px 0; padding: 4px 10px; }
            details > summary { cursor: pointer; font-weight: 600; }
            details details { border: none; padding: 0; }
            details details > summary { font-weight: normal; color: #0b5394; }
            pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 12px; white-space: pre-wrap;
                  word-break: break-word; }
            dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0; }
            dt { color: #555; } dd { margin: 0; word-break: break-word; }
            table.metrics { width: auto; }
            footer { margin-top: 40px; color: #777; font-size: 12px; }
            @media print { details { break-inside: avoid; } h2 { break-before: page; } body { max-width: none; } }
            """;

    private HtmlReport() {
    }

    /** Writes the report to {@code file} (atomically: the old file or the whole new one). */
    public static void write(ReportData data, Path file) {
        byte[] bytes = html(data).getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> out.write(bytes));
    }

    /** The report as an HTML document. */
    public static String html(ReportData data) {
        StringBuilder h = new StringBuilder(64 * 1024);
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<meta name=\"generator\" content=\"Squeeze ").append(esc(data.generator().squeezeVersion()))
                .append("\">\n<title>").append(esc(data.title())).append("</title>\n<style>\n").append(STYLE)
                .append("</style>\n</head>\n<body>\n<header>\n<h1>").append(esc(data.title())).append("</h1>\n")
                .append("<p class=\"meta\">").append(esc(ReportText.summary(data))).append("</p>\n");
        if (data.models().size() > 1) {
            h.append("<nav><ul>\n");
            for (int i = 0; i < data.models().size(); i++) {
                ModelSection m = data.models().get(i);
                h.append("<li><a href=\"#model-").append(i + 1).append("\">").append(esc(m.modelName()))
                        .append("</a> (").append(m.runs().size()).append(" runs)</li>\n");
            }
            h.append("</ul></nav>\n");
        }
        h.append("</header>\n");
        for (int i = 0; i < data.models().size(); i++) {
            model(h, data.models().get(i), i + 1);
        }
        h.append("<footer>Made by Squeeze ").append(esc(data.generator().squeezeVersion())).append(" (commit ")
                .append(esc(ReportText.shortHash(data.generator().gitCommit()))).append(") on ")
                .append(esc(ReportText.when(data.generatedAt())))
                .append(". Sizes count every stored byte of the model; bits per weight count the compressed"
                        + " layers only. A run is on the frontier when no other selected run of the model is no"
                        + " larger and no worse, and better in one of the two.</footer>\n</body>\n</html>\n");
        return h.toString();
    }

    private static void model(StringBuilder h, ModelSection m, int n) {
        h.append("<section id=\"model-").append(n).append("\">\n<h2>").append(esc(m.modelName()))
                .append(" <span class=\"hash\">").append(esc(ReportText.shortHash(m.modelHash()))).append("</span></h2>\n")
                .append("<p class=\"note\">").append(esc(ReportText.axes(m))).append(". ")
                .append(esc(ReportText.counts(m))).append(".</p>\n");
        h.append("<figure>").append(ChartExport.svgElement(ReportCharts.pareto(m), CHART_WIDTH, CHART_HEIGHT,
                "pareto-" + n)).append("<figcaption>").append(esc(ReportText.LEGEND)).append("</figcaption></figure>\n");
        runTable(h, m);
        List<List<RunEntry>> groups = ReportCharts.layerGroups(m);
        if (!groups.isEmpty()) {
            h.append("<h3>Per-layer view of the frontier runs</h3>\n");
            for (int g = 0; g < groups.size(); g++) {
                String id = "layers-" + n + "-" + (g + 1);
                int height = layerHeight(groups.get(g));
                h.append("<figure>").append(ChartExport.svgElement(ReportCharts.layerBits(groups.get(g)),
                        CHART_WIDTH, height, id + "-bits")).append("</figure>\n");
                h.append("<figure>").append(ChartExport.svgElement(ReportCharts.layerErrors(groups.get(g)),
                        CHART_WIDTH, height, id + "-error")).append("</figure>\n");
            }
        }
        h.append("<h3>Runs: plans and provenance</h3>\n");
        for (RunEntry r : m.runs()) {
            runDetails(h, r);
        }
        h.append("</section>\n");
    }

    private static void runTable(StringBuilder h, ModelSection m) {
        List<String> metrics = ReportText.tableMetrics(m);
        h.append("<table class=\"runs\">\n<thead><tr><th class=\"num\">Run</th><th>Label</th><th>Method family</th>"
                + "<th class=\"num\">Bits/weight</th><th class=\"num\">Size</th><th class=\"num\">vs fp16</th>");
        for (String metric : metrics) {
            h.append("<th class=\"num\">").append(esc(metric)).append("</th>");
        }
        h.append("<th>Pareto</th></tr></thead>\n<tbody>\n");
        for (RunEntry r : m.runs()) {
            var s = r.summary();
            h.append("<tr id=\"run-").append(s.id()).append('"').append(r.onFrontier() ? " class=\"frontier\"" : "")
                    .append("><td class=\"num\"><a href=\"#detail-").append(s.id()).append("\">#").append(s.id())
                    .append("</a></td><td>").append(esc(s.label())).append("</td><td><span class=\"swatch\" style=\"")
                    .append("background:").append(FamilyColors.css(s.methodFamily())).append("\"></span>")
                    .append(esc(s.methodFamily())).append("</td><td class=\"num\">").append(ReportText.bpw(s.bitsPerWeight()))
                    .append("</td><td class=\"num\">").append(esc(ReportText.size(s.sizeBytes())))
                    .append("</td><td class=\"num\">").append(esc(ReportText.vsFp16(s.sizeBytes(), s.fp16Bytes())))
                    .append("</td>");
            for (String metric : metrics) {
                h.append("<td class=\"num\">").append(esc(ReportText.metric(metric, r.metric(metric, Pareto.SPLIT))))
                        .append("</td>");
            }
            h.append(r.onFrontier() ? "<td class=\"mark\">&#9733; frontier</td>"
                    : "<td class=\"dominated\">" + esc(ReportText.frontier(r)) + "</td>");
            h.append("</tr>\n");
        }
        h.append("</tbody>\n</table>\n");
    }

    private static void runDetails(StringBuilder h, RunEntry r) {
        var s = r.summary();
        h.append("<details id=\"detail-").append(s.id()).append("\"><summary>#").append(s.id()).append(' ')
                .append(esc(s.label())).append(" <span class=\"meta\">&middot; ").append(esc(s.methodFamily()))
                .append(" &middot; ").append(esc(ReportText.size(s.sizeBytes()))).append(r.onFrontier()
                        ? " &middot; on the frontier" : "").append("</span></summary>\n");
        h.append("<p><b>Plan:</b> ").append(esc(r.run().planDescription() == null ? "-" : r.run().planDescription()))
                .append("</p>\n<details><summary>Plan JSON</summary><pre>")
                .append(esc(ReportText.prettyJson(r.run().planJson()))).append("</pre></details>\n");
        h.append("<table class=\"metrics\"><thead><tr><th>Split</th><th>Metric</th><th class=\"num\">Value</th>"
                + "</tr></thead><tbody>\n");
        for (String[] m : ReportText.allMetrics(r)) {
            h.append("<tr><td>").append(esc(m[0])).append("</td><td>").append(esc(m[1]))
                    .append("</td><td class=\"num\">").append(esc(m[2])).append("</td></tr>\n");
        }
        h.append("</tbody></table>\n<dl>\n");
        for (String[] p : ReportText.provenance(r)) {
            h.append("<dt>").append(esc(p[0])).append("</dt><dd>").append(esc(p[1])).append("</dd>\n");
        }
        h.append("</dl>\n</details>\n");
    }

    /** Text as HTML character data or a quoted attribute value. */
    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
