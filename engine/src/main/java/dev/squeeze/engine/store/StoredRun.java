package dev.squeeze.engine.store;

import java.time.Instant;
import java.util.List;

/**
 * Everything stored about one run but its layers and metrics ({@link ResultsStore#layerResults},
 * {@link ResultsStore#metrics}): what a run's detail view shows and what "plan from this run" starts from.
 *
 * @param summary         the run as lists show it
 * @param planJson        the plan it ran, canonical JSON
 * @param planDescription the plan in a few words
 * @param provenance      Squeeze version and commit, host, JVM and kernel backend
 * @param evaluation      the data set it was evaluated on
 * @param calibration     the data it was calibrated on; null for data-free methods and dense runs
 * @param startedAt       when it started
 * @param seed            the seed it ran with
 * @param tags            its tags, sorted
 * @param jobId           the job that produced it, or null for a run done in the calling process (or a job since
 *                        deleted)
 */
public record StoredRun(RunSummary summary, String planJson, String planDescription, Provenance provenance,
                        RunRecord.DatasetRecord evaluation, RunRecord.DatasetRecord calibration, Instant startedAt,
                        long seed, List<String> tags, Long jobId) {
    public StoredRun {
        tags = List.copyOf(tags);
    }
}
