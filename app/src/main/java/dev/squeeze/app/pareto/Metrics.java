package dev.squeeze.app.pareto;

import dev.squeeze.engine.eval.MetricKind;

import java.util.Locale;

/**
 * How tables show a stored metric's value and difference; what a metric means (direction, axis label, chart
 * scale) is {@link MetricKind}'s, the one place that knows.
 */
public final class Metrics {
    private Metrics() {
    }




    /** A stored value as tables show it: {@code 85.20 %}, {@code 12.345}. */
    public static String format(String metric, double value) {
        if (isPercent(metric)) {
            return String.format(Locale.ROOT, "%.2f %%", 100 * value);
        }
        return String.format(Locale.ROOT, "%.4f", value);
    }

    /** A difference of two stored values as tables show it, with its sign: {@code +1.30 pp}, {@code -0.0210}. */
    public static String formatDelta(String metric, double delta) {
        if (isPercent(metric)) {
            return String.format(Locale.ROOT, "%+.2f pp", 100 * delta);
        }
        return String.format(Locale.ROOT, "%+.4f", delta);
    }

    /** Whether the chart shows the metric scaled (an accuracy as a percentage). */
    private static boolean isPercent(String metric) {
        return MetricKind.display(metric, 1.0) != 1.0;
    }
}
