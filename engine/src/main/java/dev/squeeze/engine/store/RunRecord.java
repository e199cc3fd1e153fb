package dev.squeeze.engine.store;

import java.time.Instant;
import java.util.List;

/**
 * Everything stored about one finished run: what ran on what, its provenance, and what came out.
 *
 * @param sizeBytes     the whole model as it would be stored
 * @param fp16Bytes     the same model stored in fp16 (the reference size)
 * @param bitsPerWeight over the compressed linears only; null when nothing was compressed
 * @param calibration   the data the run was calibrated on; null for data-free methods and dense runs
 * @param tags          free-form tags (a sweep's name, an experiment); may be empty
 * @param jobId         the job that produced this run, or null for a run done in the calling process
 */
public record RunRecord(ModelRecord model, DatasetRecord dataset, String planJson, String planDescription,
                        String label, Instant startedAt, Instant finishedAt, long seed, Provenance provenance,
                        long sizeBytes, long fp16Bytes, Double bitsPerWeight,
                        List<LayerResult> layers, List<Metric> metrics, DatasetRecord calibration,
                        List<String> tags, Long jobId) {

    public RunRecord {
        layers = List.copyOf(layers);
        metrics = List.copyOf(metrics);
        tags = List.copyOf(tags);
    }

    /** A run without calibration data, tags or job. */
    public RunRecord(ModelRecord model, DatasetRecord dataset, String planJson, String planDescription,
                     String label, Instant startedAt, Instant finishedAt, long seed, Provenance provenance,
                     long sizeBytes, long fp16Bytes, Double bitsPerWeight,
                     List<LayerResult> layers, List<Metric> metrics) {
        this(model, dataset, planJson, planDescription, label, startedAt, finishedAt, seed, provenance, sizeBytes,
                fp16Bytes, bitsPerWeight, layers, metrics, null, List.of(), null);
    }

    /** This run as produced by job {@code id}, with {@code tags}. */
    public RunRecord forJob(long id, List<String> jobTags) {
        return new RunRecord(model, dataset, planJson, planDescription, label, startedAt, finishedAt, seed,
                provenance, sizeBytes, fp16Bytes, bitsPerWeight, layers, metrics, calibration, jobTags, id);
    }

    public record ModelRecord(String contentHash, String name, String source, String format, String architecture,
                              long parameters, long storedBytes) {
    }

    public record DatasetRecord(String name, String source, String contentHash, String split, long items) {
    }

    public record LayerResult(String layer, String method, String settings, long storedBits, double bitsPerWeight,
                              Double reconError, long millis) {
    }

    public record Metric(String name, String split, double value) {
    }
}
