package dev.squeeze.engine.store;

import dev.squeeze.engine.eval.MetricKind;

import java.time.Instant;

/**
 * One stored run as lists and charts show it.
 *
 * @param metric       the run's headline metric on the evaluation split (top-1 for classifiers, perplexity for
 *                     language models), or null when it has none
 * @param metricValue  its value, or null
 * @param baseline     whether the run compresses no layer (stored with the run, see {@link MethodFamily})
 * @param methodFamily the distinct methods of its compressed layers joined with '+', or {@value MethodFamily#DENSE}
 */
public record RunSummary(long id, String modelName, String modelHash, String label, String status,
                         Instant finishedAt, long sizeBytes, long fp16Bytes, Double bitsPerWeight,
                         MetricKind metric, Double metricValue, String kernelBackend, String gitCommit,
                         boolean baseline, String methodFamily) {

    /**
     * Whether this run is a measured baseline: it compresses no layer (whatever its label says) and has a
     * metric.
     */
    public boolean isBaseline() {
        return baseline && metricValue != null;
    }

    /** The headline metric as text, or a dash. */
    public String metricText() {
        return metric == null || metricValue == null ? "—" : metric.format(metricValue);
    }
}
