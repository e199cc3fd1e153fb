package dev.squeeze.app.search;

import dev.squeeze.app.jobs.JobsViewModel;
import dev.squeeze.app.workbench.TaskExecutor;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEvent;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.StoredRun;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The workbench's {@link SearchJobs}: jobs go through its current {@link JobsViewModel} (its job engine), the found
 * runs are read from its results database on its engine thread.
 */
public final class WorkbenchSearchJobs implements SearchJobs {
    private final Supplier<JobsViewModel> jobs;
    private final TaskExecutor executor;
    private final Supplier<ResultsStore> store;

    public WorkbenchSearchJobs(Supplier<JobsViewModel> jobs, TaskExecutor executor, Supplier<ResultsStore> store) {
        this.jobs = jobs;
        this.executor = executor;
        this.store = store;
    }

    @Override
    public void submit(JobSpec spec, Consumer<Long> onQueued, Consumer<String> onError) {
        jobs.get().queue(spec, onQueued, onError);
    }

    @Override
    public void cancel(long jobId) {
        jobs.get().cancel(jobId);
    }

    @Override
    public Runnable listen(Consumer<JobEvent> listener) {
        return jobs.get().addEventListener(listener);
    }

    @Override
    public void storedRuns(long jobId, String tag, Consumer<List<FoundRun>> onDone, Consumer<String> onError) {
        executor.submit(() -> read(store.get(), jobId, tag), onDone, onError);
    }

    /** The runs of job {@code jobId} among those tagged {@code tag}, fewest bits per weight first. */
    static List<FoundRun> read(ResultsStore s, long jobId, String tag) {
        if (s == null) {
            throw new SqueezeException("The runs of the search cannot be read: there is no results database",
                    "open a results database in the settings and run the search again");
        }
        List<FoundRun> out = new ArrayList<>();
        for (long id : s.runsTagged(tag)) {
            StoredRun r = s.run(id).orElse(null);
            if (r != null && Objects.equals(r.jobId(), jobId)) {
                out.add(new FoundRun(id, r.summary().label(), r.summary().bitsPerWeight(), r.summary().metricText(),
                        r.planJson(), r.provenance().search()));
            }
        }
        out.sort(Comparator.comparing((FoundRun f) -> f.bitsPerWeight() == null ? Double.MAX_VALUE : f.bitsPerWeight())
                .thenComparingLong(FoundRun::runId));
        return out;
    }
}
