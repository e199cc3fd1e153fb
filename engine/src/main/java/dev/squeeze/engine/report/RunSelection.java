package dev.squeeze.engine.report;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which stored runs a command means: the runs of some models (each by stored name, content hash, model file or
 * built-in sample, as {@code squeeze pareto} takes them) and/or the runs with a tag.
 *
 * @param runIds      the runs, oldest first
 * @param description the selection in words, for the report's heading
 */
public record RunSelection(List<Long> runIds, String description) {
    public RunSelection {
        runIds = List.copyOf(runIds);
    }

    /**
     * The runs of {@code models} (all models when empty) that carry {@code tag} (any run when null).
     *
     * @throws SqueezeException when a model has no stored runs, or nothing matches
     */
    public static RunSelection of(ResultsStore store, List<String> models, String tag) {
        Set<String> hashes = new LinkedHashSet<>();
        for (String m : models) {
            hashes.add(modelHash(store, m));
        }
        Set<Long> tagged = tag == null ? null : store.runsTagged(tag);
        List<Long> ids = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        for (RunSummary r : store.runs(null)) {
            if ((hashes.isEmpty() || hashes.contains(r.modelHash())) && (tagged == null || tagged.contains(r.id()))) {
                ids.add(r.id());
                names.add(r.modelName());
            }
        }
        String what = (models.isEmpty() ? "runs of every model" : "runs of " + String.join(", ", names.isEmpty()
                ? models : names)) + (tag == null ? "" : " tagged " + tag);
        if (ids.isEmpty()) {
            throw new SqueezeException("No stored " + what + " in " + store.location(),
                    tag == null ? "run the model first, or see 'squeeze runs'"
                            : "check the tag: 'squeeze runs --tag " + tag + "' lists its runs");
        }
        return new RunSelection(ids, what);
    }

    /**
     * The content hash of a model given by stored name, content hash, model file or built-in sample (the file's
     * content hash is computed), as {@code squeeze pareto} resolves its MODEL.
     */
    public static String modelHash(ResultsStore store, String model) {
        var stored = Pareto.resolveModel(store, model);
        if (stored.isPresent()) {
            return stored.get();
        }
        if (ModelRefs.isBuiltin(model) || Files.isRegularFile(Path.of(model))) {
            return ModelRefs.open(model).contentHash();
        }
        List<String> known = Pareto.storedModels(store);
        throw new SqueezeException("No stored runs for a model named '" + model + "' in " + store.location()
                + " and no such model file; stored models: " + (known.isEmpty() ? "(none)" : String.join(", ", known)),
                "give a stored model's name or content hash (see 'squeeze runs'), or run it first");
    }
}
