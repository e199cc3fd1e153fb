package dev.squeeze.engine.store;

import java.time.Instant;

/** One stored run as lists and charts show it. */
public record RunSummary(long id, String modelName, String modelHash, String label, String status,
                         Instant finishedAt, long sizeBytes, long fp16Bytes, Double bitsPerWeight,
                         Double accuracy, String kernelBackend, String gitCommit) {
}
