package dev.squeeze.engine.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import dev.squeeze.engine.search.SearchSpec;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.util.Hashing;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Everything a worker needs to do one compression run, and nothing it could get from elsewhere: the model as the
 * user named it, the plan (canonical JSON), and the run's options. Stored as JSON in the job table and sent to
 * the worker in the protocol's {@code start} message; its hash keys the job's checkpoints, so a checkpoint is
 * never used for a different job.
 *
 * @param model              a model file or folder, or {@code builtin:<sample>}; stored canonical
 *                           ({@link ModelRefs#canonical})
 * @param planJson           the plan, canonical JSON (see {@link CompressionPlan#canonicalJson()})
 * @param label              the run's label
 * @param calibrationWindows language models: calibration windows of 256 tokens
 * @param seed               language models: the seed that picks the calibration windows
 * @param trueSequential     language models: calibrate q/k/v, o, gate/up and down one after the other
 * @param evaluationStories  language models: evaluate on the first N stories of the evaluation split; 0 for all
 * @param images             classifiers: evaluation images (IDX), with labels; null for the model's own
 * @param labels             classifiers: evaluation labels (IDX)
 * @param tags               tags given to the stored run (every run, for a search)
 * @param search             a search job ({@link SearchSpec}): the plan is what the search finds, and
 *                           {@code planJson} is null; null for a job that runs one plan
 */
public record JobSpec(String model, String planJson, String label, int calibrationWindows, long seed,
                      boolean trueSequential, int evaluationStories, String images, String labels,
                      List<String> tags, SearchSpec search) {
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);

    @JsonCreator
    public JobSpec {
        if (model == null || model.isBlank()) {
            throw new SqueezeException("A job needs a model", "name a model file, folder or built-in sample");
        }
        model = ModelRefs.canonical(model);
        if (label == null || label.isBlank()) {
            throw new SqueezeException("A job needs a label", "give the run a label");
        }
        if (calibrationWindows < 1) {
            throw new SqueezeException("The calibration window count is " + calibrationWindows, "give at least 1");
        }
        if (evaluationStories < 0) {
            throw new SqueezeException("The evaluation story count is " + evaluationStories,
                    "give 0 (the whole evaluation split) or more");
        }
        if (search == null) {
            planJson = CompressionPlan.parse(planJson).canonicalJson();
        } else if (planJson != null) {
            throw new SqueezeException("A search job has no plan of its own", "give a plan or a search, not both");
        }
        tags = tags == null ? List.of() : List.copyOf(tags);
        for (String t : tags) {
            if (t.isBlank() || t.length() > 100) {
                throw new SqueezeException("Tag '" + t + "' is empty or longer than 100 characters",
                        "give tags of 1 to 100 characters");
            }
        }
    }

    /** A job that runs one plan (no search). */
    public JobSpec(String model, String planJson, String label, int calibrationWindows, long seed,
                   boolean trueSequential, int evaluationStories, String images, String labels, List<String> tags) {
        this(model, planJson, label, calibrationWindows, seed, trueSequential, evaluationStories, images, labels,
                tags, null);
    }

    /** A search job with the default calibration (32 windows, seed 0, the model's own evaluation data). */
    public static JobSpec search(String model, SearchSpec search, String label, List<String> tags) {
        return new JobSpec(model, null, label, 32, 0, false, 0, null, null, tags, search);
    }

    public boolean hasSearch() {
        return search != null;
    }

    /** A job with the default options (32 calibration windows, seed 0, the model's own evaluation data). */
    public static JobSpec of(String model, CompressionPlan plan, String label) {
        return new JobSpec(model, plan.canonicalJson(), label, 32, 0, false, 0, null, null, List.of());
    }

    public CompressionPlan plan() {
        if (search != null) {
            throw new IllegalStateException("a search job has no plan of its own");
        }
        return CompressionPlan.parse(planJson);
    }

    public JobSpec withTags(List<String> newTags) {
        return new JobSpec(model, planJson, label, calibrationWindows, seed, trueSequential, evaluationStories, images,
                labels, newTags, search);
    }

    public String toJson() {
        try {
            // A plan job's JSON (and so its hash, which keys its checkpoints) is what it was before searches
            // existed: no "search" field.
            com.fasterxml.jackson.databind.node.ObjectNode tree = JSON.valueToTree(this);
            if (search == null) {
                tree.remove("search");
            }
            return JSON.writeValueAsString(tree);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a job spec always serialises", e);
        }
    }

    /** SHA-256 of {@link #toJson()}: identifies the job's work (its checkpoints carry it). */
    public String hash() {
        return Hashing.sha256(toJson().getBytes(StandardCharsets.UTF_8));
    }

    public static JobSpec fromJson(String json) {
        try {
            return JSON.readValue(json, JobSpec.class);
        } catch (JsonProcessingException e) {
            throw new SqueezeException("A stored job specification is not valid: " + e.getOriginalMessage(),
                    "queue the job again", e);
        }
    }
}
