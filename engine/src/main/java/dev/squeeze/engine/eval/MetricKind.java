package dev.squeeze.engine.eval;

import java.util.Locale;
import java.util.Optional;

/**
 * The headline metrics a run can be judged by, in the order a run's primary metric is chosen: classifiers
 * report top-1 accuracy, language models perplexity on the evaluation split.
 *
 * <p>This is also the one place that knows what any stored metric name means: whether larger is better
 * ({@link #higherIsBetter(String)}), how a chart labels it ({@link #axisLabel(String)}) and how a chart shows a
 * value ({@link #display(String, double)}). The names stored today are {@code top1} and {@code accuracy.<class>}
 * (classifiers), {@code perplexity}, {@code nll_per_token} and {@code tokens} (language models, evaluation split),
 * and {@code calibration_windows} (calibration split); {@code kl*} is the divergence from the dense model.
 */
public enum MetricKind {
    TOP1("top1") {
        @Override
        public String format(double value) {
            return String.format(Locale.ROOT, "%.2f%% top-1", 100 * value);
        }
    },
    PERPLEXITY("perplexity") {
        @Override
        public String format(double value) {
            return String.format(Locale.ROOT, "ppl %.3f", value);
        }
    };

    private final String metricName;

    MetricKind(String metricName) {
        this.metricName = metricName;
    }

    /** The name stored in the metric table. */
    public String metricName() {
        return metricName;
    }

    /** The chart axis label of this metric ({@link #axisLabel(String)} of its name). */
    public String axisLabel() {
        return axisLabel(metricName);
    }

    /** Whether larger values are better ({@link #higherIsBetter(String)} of its name). */
    public boolean higherIsBetter() {
        return higherIsBetter(metricName).orElseThrow();
    }

    /** The value as charts show it (accuracy as a percentage): {@link #display(String, double)} of its name. */
    public double display(double value) {
        return display(metricName, value);
    }

    /** The value as tables and summaries show it, e.g. {@code 90.40% top-1}. */
    public abstract String format(double value);

    /**
     * Whether larger values of a stored metric are better: accuracies ({@code top1}, {@code top5},
     * {@code accuracy}, {@code accuracy.*}) yes; perplexity, negative log-likelihoods ({@code nll*}), KL
     * divergences ({@code kl}, {@code kl_*}, {@code kl.*}) and losses no. Empty for anything else (a count such as
     * {@code tokens} is not a quality and has no direction).
     */
    public static Optional<Boolean> higherIsBetter(String metricName) {
        String m = metricName.toLowerCase(Locale.ROOT);
        if (isAccuracy(m)) {
            return Optional.of(true);
        }
        if (m.startsWith("perplexity") || m.startsWith("nll") || isKl(m) || m.startsWith("loss")) {
            return Optional.of(false);
        }
        return Optional.empty();
    }

    /**
     * A chart axis label for a stored metric: {@code Top-1 accuracy (%)}, {@code Top-5 accuracy (%)},
     * {@code Accuracy (%)}, {@code Accuracy of class 3 (%)}, {@code Perplexity}, {@code NLL per token (nats)},
     * {@code KL divergence to dense}; any other name as it is stored.
     */
    public static String axisLabel(String metricName) {
        String m = metricName.toLowerCase(Locale.ROOT);
        if (m.matches("top\\d+")) {
            return "Top-" + m.substring(3) + " accuracy (%)";
        }
        if (m.equals("accuracy")) {
            return "Accuracy (%)";
        }
        if (m.startsWith("accuracy.")) {
            return "Accuracy of class " + metricName.substring("accuracy.".length()) + " (%)";
        }
        if (m.equals("perplexity")) {
            return "Perplexity";
        }
        if (m.equals("nll_per_token")) {
            return "NLL per token (nats)";
        }
        if (isKl(m)) {
            return "KL divergence to dense";
        }
        return metricName;
    }

    /** A stored value as charts show it: accuracies as percentages (× 100), everything else as stored. */
    public static double display(String metricName, double value) {
        return isAccuracy(metricName.toLowerCase(Locale.ROOT)) ? 100 * value : value;
    }

    private static boolean isAccuracy(String lower) {
        return lower.matches("top\\d+") || lower.equals("accuracy") || lower.startsWith("accuracy.");
    }

    private static boolean isKl(String lower) {
        return lower.equals("kl") || lower.startsWith("kl_") || lower.startsWith("kl.");
    }

    /** The headline metric of a model's family: perplexity for language models, top-1 for everything else. */
    public static MetricKind defaultFor(dev.squeeze.engine.model.Model model) {
        return dev.squeeze.engine.nn.llama.LlamaConfig.ARCHITECTURE.equals(model.architecture()) ? PERPLEXITY : TOP1;
    }

    public static Optional<MetricKind> byName(String name) {
        for (MetricKind k : values()) {
            if (k.metricName.equals(name)) {
                return Optional.of(k);
            }
        }
        return Optional.empty();
    }
}
