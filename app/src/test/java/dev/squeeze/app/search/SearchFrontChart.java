package dev.squeeze.app.search;

import dev.squeeze.app.pareto.ChartExport;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.RunSummary;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogarithmicAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The docs' chart of issue #13 (docs/search-front.png): perplexity against bits per weight of the searched fronts
 * (one line per tag, searched points only), the uniform baselines from the same level database (points), and the
 * uniform GPTQ references of docs/stories260k-compression.md, from a results database that
 * bench/search-front.sh filled ({@code -Dsqueeze.bench.db}).
 * <pre>java … SearchFrontChart DB OUT.png TAG[=LABEL] …</pre>
 */
public final class SearchFrontChart {
    private SearchFrontChart() {
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        XYSeriesCollection data = new XYSeriesCollection();
        XYSeries baselines = new XYSeries("uniform settings, same level database", false);
        try (ResultsStore store = ResultsStore.openFile(Path.of(args[0]))) {
            Map<Long, List<String>> tags = store.tagsByRun(null);
            List<RunSummary> runs = store.runs(null);
            for (int a = 2; a < args.length; a++) {
                String[] t = args[a].split("=", 2);
                XYSeries s = new XYSeries(t.length > 1 ? t[1] : t[0], true);
                for (RunSummary r : runs) {
                    if (!tags.getOrDefault(r.id(), List.of()).contains(t[0])) {
                        continue;
                    }
                    double bpw = metric(store, r.id(), "search_bits_per_weight");
                    double ppl = metric(store, r.id(), "perplexity");
                    if (r.label().startsWith("uniform ")) {
                        baselines.add(bpw, ppl);
                    } else {
                        s.add(bpw, ppl);
                    }
                }
                data.addSeries(s);
            }
        }
        XYSeries gptq = new XYSeries("uniform GPTQ g32, sequential calibration (table)", true);
        gptq.add(3.093, 190.0);
        gptq.add(4.125, 7.669);
        gptq.add(5.157, 5.540);
        data.addSeries(baselines);
        data.addSeries(gptq);
        NumberAxis x = new NumberAxis("bits per weight (every searched linear, every stored bit)");
        x.setAutoRangeIncludesZero(false);
        LogarithmicAxis y = new LogarithmicAxis("perplexity, stories 501–1000 (log scale)");
        y.setLog10TickLabelsFlag(false);
        y.setExpTickLabelsFlag(false);
        y.setAutoRangeNextLogFlag(true);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer();
        Color[] colors = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd)};
        for (int i = 0; i < data.getSeriesCount() - 2; i++) {
            renderer.setSeriesPaint(i, colors[i % colors.length]);
            renderer.setSeriesStroke(i, new BasicStroke(2f));
        }
        int b = data.getSeriesCount() - 2;
        renderer.setSeriesLinesVisible(b, false);
        renderer.setSeriesPaint(b, Color.DARK_GRAY);
        renderer.setSeriesPaint(b + 1, new Color(0xff7f0e));
        renderer.setSeriesStroke(b + 1, new BasicStroke(1.5f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f,
                new float[]{6f, 4f}, 0f));
        XYPlot plot = new XYPlot(data, x, y, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xdddddd));
        plot.setRangeGridlinePaint(new Color(0xdddddd));
        JFreeChart chart = new JFreeChart("stories260K: searched plans against uniform settings", plot);
        chart.setBackgroundPaint(Color.WHITE);
        ChartExport.png(chart, Path.of(args[1]), 1000, 620);
        System.out.println("wrote " + args[1]);
    }

    private static double metric(ResultsStore store, long run, String name) {
        return store.metrics(run).stream().filter(m -> m.name().equals(name)).mapToDouble(RunRecord.Metric::value)
                .findFirst().orElse(Double.NaN);
    }
}
