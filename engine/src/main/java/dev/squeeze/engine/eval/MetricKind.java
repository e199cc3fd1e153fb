package dev.squeeze.engine.eval;

import java.util.Locale;
import java.util.Optional;

/**
 * The headline metrics a run can be judged by, in the order a run's primary metric is chosen: classifiers
 * report top-1 accuracy, language models perplexity on the evaluation split.
 */
public enum MetricKind {
    TOP1("top1", "Top-1 accuracy (%)", true) {
        @Override
        public double display(double value) {
            return 100 * value;
        }

        @Override
        public String format(double value) {
            return String.format(Locale.ROOT, "%.2f%% top-1", 100 * value);
        }
    },
    PERPLEXITY("perplexity", "Perplexity", false) {
        @Override
        public double display(double value) {
            return value;
        }

        @Override
        public String format(double value) {
            return String.format(Locale.ROOT, "ppl %.3f", value);
        }
    };

    private final String metricName;
    private final String axisLabel;
    private final boolean higherIsBetter;

    MetricKind(String metricName, String axisLabel, boolean higherIsBetter) {
        this.metricName = metricName;
        this.axisLabel = axisLabel;
        this.higherIsBetter = higherIsBetter;
    }

    /** The name stored in the metric table. */
    public String metricName() {
        return metricName;
    }

    public String axisLabel() {
        return axisLabel;
    }

    public boolean higherIsBetter() {
        return higherIsBetter;
    }

    /** The value as charts show it (accuracy as a percentage). */
    public abstract double display(double value);

    /** The value as tables and summaries show it, e.g. {@code 90.40% top-1}. */
    public abstract String format(double value);

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
