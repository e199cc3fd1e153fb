package dev.squeeze.app.report;

import dev.squeeze.app.pareto.FamilyColors;
import dev.squeeze.app.pareto.ParetoChart;
import dev.squeeze.app.pareto.ParetoViewModel.BaselineLine;
import dev.squeeze.app.pareto.ParetoViewModel.ChartData;
import dev.squeeze.app.pareto.ParetoViewModel.ChartPoint;
import dev.squeeze.app.pareto.ParetoViewModel.FrontierLine;
import dev.squeeze.app.pareto.ParetoViewModel.Series;
import dev.squeeze.app.runs.LayerCharts;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.report.ReportData.ModelSection;
import dev.squeeze.engine.report.ReportData.RunEntry;
import dev.squeeze.engine.store.MethodFamily;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.RunRecord;
import org.jfree.chart.JFreeChart;
import org.jfree.data.category.DefaultCategoryDataset;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The charts of a report, built by the workbench's own chart code: a model's Pareto chart is the explorer's
 * {@link ParetoChart} fed with that model's selected runs, the per-layer charts are {@link LayerCharts}' grouped
 * bars of its frontier runs (as the comparison view draws them).
 */
public final class ReportCharts {
    /** Runs per grouped layer chart: more bars per layer than this are too thin to read. */
    public static final int RUNS_PER_LAYER_CHART = 6;

    private ReportCharts() {
    }

    /** What the explorer's chart would draw for the model's selected runs (all of them, nothing filtered). */
    public static ChartData paretoData(ModelSection m) {
        Map<Long, RunEntry> byId = new LinkedHashMap<>();
        m.runs().forEach(r -> byId.put(r.id(), r));
        List<Pareto.Point> plotted = new ArrayList<>(m.frontier().frontier());
        plotted.addAll(m.frontier().dominated());
        Map<String, Series> series = new LinkedHashMap<>();
        plotted.stream().map(Pareto.Point::methodFamily).distinct()
                .sorted(Comparator.comparing((String f) -> !MethodFamily.DENSE.equals(f))
                        .thenComparing(Comparator.naturalOrder()))
                .forEach(f -> series.put(f, new Series(f, f, m.modelHash(), m.modelName(), 0, FamilyColors.rgb(f))));
        List<ChartPoint> points = new ArrayList<>();
        for (Series se : series.values()) {
            // Frontier points first, so their labels win the room when labels would collide.
            for (Pareto.Point p : plotted) {
                if (!p.methodFamily().equals(se.family())) {
                    continue;
                }
                boolean front = m.frontier().frontier().contains(p);
                // Labelled by run number: short enough that most points get one, and the table says the rest.
                points.add(new ChartPoint(p.runId(), "#" + p.runId(), se.key(), p.x(),
                        MetricKind.display(m.metric(), p.y()), front, p.baseline(), true,
                        "#" + p.runId() + " " + p.label()));
            }
        }
        List<FrontierLine> lines = new ArrayList<>();
        if (!m.frontier().frontier().isEmpty()) {
            List<double[]> steps = m.frontier().frontier().stream()
                    .sorted(Comparator.comparingDouble(Pareto.Point::x))
                    .map(p -> new double[]{p.x(), MetricKind.display(m.metric(), p.y())}).toList();
            lines.add(new FrontierLine(m.modelHash(), m.modelName(), steps));
        }
        List<BaselineLine> baselines = new ArrayList<>();
        for (RunEntry r : m.runs()) {
            Double y = m.metric() == null ? null : r.metric(m.metric(), Pareto.SPLIT);
            if (r.summary().baseline() && r.notPlotted() != null && y != null) {
                baselines.add(new BaselineLine(r.id(), m.modelName(), r.summary().label(),
                        MetricKind.display(m.metric(), y)));
            }
        }
        String xLabel = m.x().label();
        String yLabel = m.metric() == null ? "" : MetricKind.axisLabel(m.metric());
        String message = m.metric() == null ? "No evaluated runs" : points.isEmpty()
                ? "No run has both " + m.metric() + " and " + m.x().shortName() : null;
        return new ChartData(xLabel, yLabel, false, List.copyOf(series.values()), points, lines, baselines, message);
    }

    /** The model's Pareto chart, light theme. */
    public static JFreeChart pareto(ModelSection m) {
        ParetoChart chart = new ParetoChart();
        chart.draw(paretoData(m), false, null);
        return chart.chart();
    }

    /**
     * The runs whose layers the report charts: the frontier runs that compress a layer, smallest first, in groups
     * of at most {@link #RUNS_PER_LAYER_CHART} (one pair of charts per group).
     */
    public static List<List<RunEntry>> layerGroups(ModelSection m) {
        List<RunEntry> runs = m.frontierRuns().stream().filter(r -> !r.layers().isEmpty()).toList();
        List<List<RunEntry>> groups = new ArrayList<>();
        for (int i = 0; i < runs.size(); i += RUNS_PER_LAYER_CHART) {
            groups.add(runs.subList(i, Math.min(runs.size(), i + RUNS_PER_LAYER_CHART)));
        }
        return groups;
    }

    /** Bits per weight of each layer, one bar per run (grouped by layer). */
    public static JFreeChart layerBits(List<RunEntry> runs) {
        return LayerCharts.bars("Bits per weight by layer", "bits/weight",
                dataset(runs, RunRecord.LayerResult::bitsPerWeight), "0.##", true);
    }

    /** Relative reconstruction error of each layer, one bar per run (grouped by layer). */
    public static JFreeChart layerErrors(List<RunEntry> runs) {
        return LayerCharts.bars("Reconstruction error by layer", "relative error",
                dataset(runs, RunRecord.LayerResult::reconError), "0.####", true);
    }

    private static DefaultCategoryDataset dataset(List<RunEntry> runs,
                                                  java.util.function.Function<RunRecord.LayerResult, Double> value) {
        DefaultCategoryDataset d = new DefaultCategoryDataset();
        for (RunEntry r : runs) {
            String key = "#" + r.id() + " " + r.summary().label();
            for (RunRecord.LayerResult l : r.layers()) {
                d.addValue(value.apply(l), key, l.layer());
            }
        }
        return d;
    }
}
