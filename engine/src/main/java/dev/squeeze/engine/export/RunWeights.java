package dev.squeeze.engine.export;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobExecution;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.StoredRun;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The compressed weights of a stored run, for an export.
 *
 * <p>A run stores its plan, seed, calibration data and every layer's result, not its tensors (a sweep of a large
 * model would fill the disk). Every method is deterministic given those, so the weights are recomputed: the job's
 * own spec (or, for a run made in the calling process, one rebuilt from the run's plan, seed and calibration
 * window count), the model file checked against the run's content hash, and the compression path of the job
 * itself ({@link JobExecution#compress}), without the evaluation. The result is then checked layer by layer
 * against what the run stored (stored bits and relative error, exactly): an export never writes weights that are
 * not the run's.
 */
public final class RunWeights {
    private RunWeights() {
    }

    /**
     * The compressed model of run {@code runId}.
     *
     * @param hooks progress and cancellation of the recomputation (phases and layers, as a job reports them)
     * @throws SqueezeException when there is no such run, its model file is gone or changed, or the recomputed
     *                          layers differ from the stored ones
     */
    public static CompressedModel reproduce(ResultsStore store, long runId, RunHooks hooks) {
        return reproduce(store, runId, hooks, (model, settings) -> { });
    }

    /**
     * As {@link #reproduce(ResultsStore, long, RunHooks)}, with a check of the model and the run's resolved settings
     * before any compression work (an export format refusing a layer it cannot hold, before minutes of GPTQ).
     */
    public static CompressedModel reproduce(ResultsStore store, long runId, RunHooks hooks,
                                            java.util.function.BiConsumer<Model, java.util.Map<String,
                                                    dev.squeeze.engine.compress.MethodSettings>> precheck) {
        StoredRun run = store.run(runId).orElseThrow(() -> new SqueezeException("There is no run " + runId
                + " in " + store.location(), "list the runs with: squeeze runs"));
        JobSpec spec = specOf(store, run);
        hooks.phase(RunHooks.Phase.LOADING, spec.model());
        Model model;
        try {
            model = ModelRefs.open(spec.model());
        } catch (SqueezeException e) {
            throw new SqueezeException("Run " + runId + " was made from " + spec.model()
                    + ", which cannot be opened now: " + e.getMessage(), "put the model file back where it was");
        }
        if (!model.contentHash().equals(run.summary().modelHash())) {
            throw new SqueezeException("The model at " + spec.model() + " is not the one run " + runId
                    + " was made from: its content hash is " + abbreviate(model.contentHash()) + ", the run's "
                    + abbreviate(run.summary().modelHash()),
                    "open the model file the run used (a converted or re-downloaded copy differs)");
        }
        String label = "run " + runId + ": " + run.summary().label();
        List<RunRecord.LayerResult> stored = store.layerResults(runId);
        if (stored.isEmpty()) {
            return new CompressedModel(model, java.util.Map.of(), java.util.Map.of(), label, runId);
        }
        precheck.accept(model, JobExecution.validate(spec, model));
        JobExecution.Compression c = JobExecution.compress(spec, model, hooks);
        check(runId, stored, c.layers());
        return new CompressedModel(model, c.byLayer(), c.settings(), label, runId);
    }

    /** The spec of the job that made the run, or one rebuilt from the run for a run made in-process. */
    static JobSpec specOf(ResultsStore store, StoredRun run) {
        if (run.jobId() != null) {
            Optional<JobRow> job = store.jobs().get(run.jobId());
            if (job.isPresent()) {
                return JobSpec.fromJson(job.get().specJson());
            }
        }
        String source = store.model(run.summary().modelHash()).map(ResultsStore.StoredModel::source).orElseThrow(() -> new SqueezeException(
                        "Run " + run.summary().id() + " names no model the database knows", "re-run its plan"));
        int windows = store.metrics(run.summary().id()).stream()
                .filter(m -> m.name().equals("calibration_windows")).findFirst()
                .map(m -> (int) Math.round(m.value())).orElse(1);
        return new JobSpec(source, run.planJson(), run.summary().label(), Math.max(1, windows), run.seed(), false, 0,
                null, null, List.of());
    }

    /** The recomputed layers must be the stored ones: same layers, same stored bits, same error to the last bit. */
    static void check(long runId, List<RunRecord.LayerResult> stored, List<RunRecord.LayerResult> now) {
        String fix = "re-run the run's plan (Plan from run) and export the new run; the data or the code changed";
        if (stored.size() != now.size()) {
            throw new SqueezeException("Run " + runId + " compressed " + stored.size() + " layers, but recomputing"
                    + " it compresses " + now.size(), fix);
        }
        for (int i = 0; i < stored.size(); i++) {
            RunRecord.LayerResult s = stored.get(i);
            RunRecord.LayerResult n = now.stream().filter(l -> l.layer().equals(s.layer())).findFirst()
                    .orElseThrow(() -> new SqueezeException("Recomputing run " + runId + " does not compress layer "
                            + s.layer(), fix));
            if (s.storedBits() != n.storedBits() || !Objects.equals(s.reconError(), n.reconError())) {
                throw new SqueezeException("Recomputing run " + runId + " gives layer " + s.layer() + " "
                        + n.storedBits() + " bits at relative error " + n.reconError() + ", but the run stored "
                        + s.storedBits() + " bits at " + s.reconError(), fix);
            }
        }
    }

    private static String abbreviate(String hash) {
        return hash.length() > 12 ? hash.substring(0, 12) + "…" : hash;
    }
}
