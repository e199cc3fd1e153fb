package dev.squeeze.app.report;

import dev.squeeze.app.models.Bytes;
import dev.squeeze.app.pareto.Metrics;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.report.ReportData;
import dev.squeeze.engine.report.ReportData.ModelSection;
import dev.squeeze.engine.report.ReportData.RunEntry;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.RunRecord;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** How the HTML and the PDF report word and format the same facts, so the two say the same thing. */
final class ReportText {
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'",
            Locale.ROOT).withZone(ZoneOffset.UTC);

    /** What the Pareto chart's marks mean. */
    static final String LEGEND = "Points are labelled with their run number (see the table). Colour: method family;"
            + " filled: on the frontier (the step line); grey: dominated; dashed line: a dense baseline.";

    private ReportText() {
    }

    static String when(Instant t) {
        return t == null ? "-" : WHEN.format(t);
    }

    /** The first 12 characters of a content hash or commit. */
    static String shortHash(String h) {
        return h == null ? "-" : h.substring(0, Math.min(12, h.length()));
    }

    /** A stored metric value as the tables show it: accuracies in percent, counts as numbers. */
    static String metric(String name, Double v) {
        if (v == null) {
            return "-";
        }
        if (MetricKind.higherIsBetter(name).isPresent()) {
            return Metrics.format(name, v);
        }
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.format(Locale.ROOT, "%d", v.longValue())
                : String.format(Locale.ROOT, "%.6g", v);
    }

    static String bpw(Double v) {
        return v == null ? "-" : String.format(Locale.ROOT, "%.3f", v);
    }

    static String size(long bytes) {
        return bytes < 1024 ? Bytes.human(bytes) : Bytes.human(bytes) + String.format(Locale.ROOT, " (%,d B)", bytes);
    }

    static String vsFp16(long bytes, long fp16) {
        return fp16 <= 0 ? "-" : String.format(Locale.ROOT, "%.1f %%", 100.0 * bytes / fp16);
    }

    /** The run table's frontier column. */
    static String frontier(RunEntry r) {
        return r.notPlotted() != null ? "not drawn: " + r.notPlotted() : r.onFrontier() ? "frontier" : "dominated";
    }

    /**
     * The metrics the run table shows for a model: the chart's metric, then the other quality metrics of the
     * evaluation split except per-class accuracies (each run's section lists every metric it has).
     */
    static List<String> tableMetrics(ModelSection m) {
        Set<String> names = new LinkedHashSet<>();
        if (m.metric() != null) {
            names.add(m.metric());
        }
        List<String> others = new ArrayList<>();
        for (RunEntry r : m.runs()) {
            for (RunRecord.Metric x : r.metrics()) {
                if (x.split().equals(Pareto.SPLIT) && MetricKind.higherIsBetter(x.name()).isPresent()
                        && !x.name().startsWith("accuracy.") && !others.contains(x.name())) {
                    others.add(x.name());
                }
            }
        }
        others.stream().sorted().forEach(names::add);
        return List.copyOf(names);
    }

    /** "Perplexity (lower is better) against model size". */
    static String axes(ModelSection m) {
        if (m.metric() == null) {
            return "No selected run of this model has a quality metric on the evaluation split.";
        }
        return MetricKind.axisLabel(m.metric()) + " (" + (m.higherIsBetter() ? "higher" : "lower")
                + " is better) against " + m.x().phrase()
                + ", evaluation split";
    }

    /** "3 of 8 runs on the frontier; 1 not drawn (no top1)". */
    static String counts(ModelSection m) {
        long notDrawn = m.runs().stream().filter(r -> r.notPlotted() != null).count();
        return m.frontier().frontier().size() + " of " + m.runs().size() + " run" + (m.runs().size() == 1 ? "" : "s")
                + " on the frontier" + (notDrawn > 0 ? "; " + notDrawn + " not drawn (see the table)" : "");
    }

    /** The report's second line: what was selected and when. */
    static String summary(ReportData d) {
        int runs = d.runs().size();
        return "Selection: " + d.selection() + " - " + runs + " run" + (runs == 1 ? "" : "s") + " of "
                + d.models().size() + " model" + (d.models().size() == 1 ? "" : "s") + ". Generated "
                + when(d.generatedAt()) + " by Squeeze " + d.generator().squeezeVersion() + " (commit "
                + shortHash(d.generator().gitCommit()) + ").";
    }

    /** Provenance rows of a run: (name, value). */
    static List<String[]> provenance(RunEntry r) {
        var run = r.run();
        var p = run.provenance();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[]{"Squeeze", p.squeezeVersion() + ", commit " + p.gitCommit()});
        rows.add(new String[]{"Host", p.host()});
        rows.add(new String[]{"JVM", p.javaVersion()});
        rows.add(new String[]{"Kernel backend", p.kernelBackend()});
        rows.add(new String[]{"Evaluation data", dataset(run.evaluation())});
        rows.add(new String[]{"Calibration data", run.calibration() == null ? "none (data-free or dense)"
                : dataset(run.calibration())});
        rows.add(new String[]{"Seed", Long.toString(run.seed())});
        rows.add(new String[]{"Started", when(run.startedAt())});
        rows.add(new String[]{"Finished", when(run.summary().finishedAt())});
        rows.add(new String[]{"Model", run.summary().modelName() + " (" + run.summary().modelHash() + ")"});
        if (!run.tags().isEmpty()) {
            rows.add(new String[]{"Tags", String.join(", ", run.tags())});
        }
        if (run.jobId() != null) {
            rows.add(new String[]{"Job", "#" + run.jobId()});
        }
        return rows;
    }

    private static String dataset(RunRecord.DatasetRecord d) {
        return d.name() + ", " + d.split() + " split, " + d.items() + " items, sha256 " + shortHash(d.contentHash())
                + " (" + d.source() + ")";
    }

    /** Every metric of a run, by split: (split, name, value text). */
    static List<String[]> allMetrics(RunEntry r) {
        return r.metrics().stream()
                .sorted(java.util.Comparator.comparing((RunRecord.Metric m) -> !m.split().equals(Pareto.SPLIT))
                        .thenComparing(RunRecord.Metric::split).thenComparing(RunRecord.Metric::name))
                .map(m -> new String[]{m.split(), m.name(), metric(m.name(), m.value())}).toList();
    }

    /** The plan JSON indented for reading (stored canonical, on one line). */
    static String prettyJson(String json) {
        if (json == null || json.isBlank()) {
            return "";
        }
        try {
            var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
            return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(mapper.readTree(json));
        } catch (java.io.IOException e) {
            return json; // shown as stored: a report never fails on a plan it cannot re-indent
        }
    }
}
