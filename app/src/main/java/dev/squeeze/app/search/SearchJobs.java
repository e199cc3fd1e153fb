package dev.squeeze.app.search;

import dev.squeeze.engine.jobs.JobEvent;
import dev.squeeze.engine.jobs.JobSpec;

import java.util.List;
import java.util.function.Consumer;

/**
 * What the "Find best plan" dialog needs of the workbench: queue a search job, stop it, follow its events and read
 * the runs it stored. The workbench's implementation ({@link WorkbenchSearchJobs}) goes through its job engine and
 * results database; tests pass their own. Callbacks run on the FX thread.
 */
public interface SearchJobs {
    /** Queues {@code spec}; then {@code onQueued} gets the job's id, or {@code onError} a message for the user. */
    void submit(JobSpec spec, Consumer<Long> onQueued, Consumer<String> onError);

    /** Stops the job: a search stores the best plan found so far and ends. */
    void cancel(long jobId);

    /** Sends every job event to {@code listener} (on the FX thread) until the returned handle runs. */
    Runnable listen(Consumer<JobEvent> listener);

    /** The runs job {@code jobId} stored (under {@code tag}), by bits per weight; then {@code onDone} or {@code onError}. */
    void storedRuns(long jobId, String tag, Consumer<List<FoundRun>> onDone, Consumer<String> onError);

    /**
     * A run a search stored.
     *
     * @param bitsPerWeight bits per weight as stored, or null
     * @param metric        the headline metric in words ({@code perplexity 7.12}), or "—"
     * @param planJson      the plan, canonical JSON (what "Open in plan editor" loads)
     * @param search        what the search recorded in the run's provenance (for a uniform baseline it stored, it says
     *                      so: {@link SearchProvenance})
     */
    record FoundRun(long runId, String label, Double bitsPerWeight, String metric, String planJson, String search) {
        /** A plan the search found (not one of the uniform baselines it stored beside them). */
        public boolean fromSearch() {
            return SearchProvenance.searchedPlan(search);
        }

        @Override
        public String toString() {
            return "#" + runId + " " + label + (bitsPerWeight == null ? ""
                    : String.format(java.util.Locale.ROOT, " · %.3f bits/weight", bitsPerWeight)) + " · " + metric;
        }
    }
}
