package dev.squeeze.app.search;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.plan.SettingsJson;
import dev.squeeze.engine.runs.RunCancelledException;
import dev.squeeze.engine.search.LayerLevels;
import dev.squeeze.engine.search.Level;
import dev.squeeze.engine.search.LevelDatabase;
import dev.squeeze.engine.search.SearchSubject;
import dev.squeeze.engine.search.Sensitivity;
import dev.squeeze.engine.search.SensitivityCache;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.SensitivityRecords;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Sensitivity from the engine ({@code search.Sensitivity}) with its cache in the workbench's results database and
 * beside the level database: the model's search subject (TinyStories stories 1–500 for a language model, the last
 * fifth of a classifier's evaluation images), its level database where {@code squeeze sensitivity} and the search
 * jobs keep theirs ({@code <database>-checkpoints/levels}, or {@link LevelDatabase#defaultRoot()} for a database
 * without a folder), and the KL of every layer at every level with the rest dense, on the default sample
 * ({@link Sensitivity#defaultSamples}, seed {@link Sensitivity#DEFAULT_SEED}), as the CLI measures it: what one
 * measured, the others reuse ({@link SensitivityCache#inStoreAndFolder}).
 */
public final class EngineSensitivitySource implements SensitivitySource {
    private final Supplier<ResultsStore> store;
    private final Path levelRoot;

    /** @param store the results database (null from the supplier: nothing can be stored, and this says so) */
    public EngineSensitivitySource(Supplier<ResultsStore> store) {
        this(store, null);
    }

    /** As above, with the level databases under {@code levelRoot} (tests; null: where the CLI keeps them). */
    public EngineSensitivitySource(Supplier<ResultsStore> store, Path levelRoot) {
        this.store = store;
        this.levelRoot = levelRoot;
    }

    @Override
    public SensitivityTable stored(Model model) {
        ResultsStore s = requireStore();
        try (SearchSubject subject = subject(model)) {
            long samples = Sensitivity.defaultSamples(subject);
            SensitivityRecords.Key key = new SensitivityCache(s, subject, SensitivityCache.KL, samples,
                    Sensitivity.DEFAULT_SEED).key();
            Map<String, Long> weights = new HashMap<>();
            Map<String, Long> denseBits = new HashMap<>();
            List<String> order = new ArrayList<>();
            for (SearchSubject.Linear l : subject.linears()) {
                weights.put(l.layer(), (long) l.rows() * l.cols());
                denseBits.put(l.layer(), l.denseBits());
                order.add(l.layer());
            }
            Map<String, List<SensitivityTable.Entry>> byLayer = new HashMap<>();
            for (SensitivityRecords.Row r : s.sensitivity().find(key)) {
                Long w = weights.get(r.layer());
                if (w == null) {
                    continue; // a layer this model no longer has under that name
                }
                byLayer.computeIfAbsent(r.layer(), k -> new ArrayList<>()).add(new SensitivityTable.Entry(r.layer(),
                        r.settingKey(), describe(r.settingKey()), r.bits(), w, r.value()));
            }
            List<SensitivityTable.Entry> out = new ArrayList<>();
            for (String layer : order) {
                List<SensitivityTable.Entry> measured = byLayer.get(layer);
                if (measured != null) {
                    out.addAll(measured);
                    out.add(dense(layer, denseBits.get(layer), weights.get(layer)));
                }
            }
            return new SensitivityTable(out);
        }
    }

    @Override
    public SensitivityTable compute(Model model, List<String> methods, Progress progress, BooleanSupplier cancelled) {
        ResultsStore s = requireStore();
        try (SearchSubject subject = subject(model)) {
            List<String> families = subject.hasCalibrationData() ? methods
                    : methods.stream().filter(m -> !FindPlanViewModel.DATA_HUNGRY.contains(m)).toList();
            LevelDatabase db = LevelDatabase.build(subject, root(s), families,
                    (layer, level, done, total) -> progress.report(done, total, "levels: " + layer + " at " + level),
                    cancelled);
            long samples = Sensitivity.defaultSamples(subject);
            SensitivityCache cache = SensitivityCache.inStoreAndFolder(s, db.dir(), subject, SensitivityCache.KL,
                    samples, Sensitivity.DEFAULT_SEED);
            Sensitivity.Table table = Sensitivity.measure(db, Sensitivity.fitnessOf(db), cache, samples,
                    Sensitivity.DEFAULT_SEED, (layer, level, done, total, cached) -> progress.report(done, total,
                            "ΔKL: " + layer + " at " + level), cancelled);
            List<SensitivityTable.Entry> out = new ArrayList<>();
            int current = -1;
            for (Sensitivity.Cell c : table.cells()) {
                LayerLevels l = table.layers().get(c.layer());
                if (c.layer() != current && current >= 0) {
                    LayerLevels prev = table.layers().get(current);
                    out.add(dense(prev.layer(), prev.level(0).bits(), prev.weights()));
                }
                current = c.layer();
                out.add(new SensitivityTable.Entry(c.name(), c.key(), c.description(), c.bits(),
                        l.weights(), c.kl()));
            }
            if (current >= 0) {
                LayerLevels last = table.layers().get(current);
                out.add(dense(last.layer(), last.level(0).bits(), last.weights()));
            }
            return new SensitivityTable(out);
        } catch (RunCancelledException e) {
            return stored(model); // what was measured before the stop is stored
        }
    }

    /** The dense level: the model's own outputs, so its KL to the dense model is 0 exactly. */
    private static SensitivityTable.Entry dense(String layer, long bits, long weights) {
        return new SensitivityTable.Entry(layer, Level.DENSE, "dense", bits, weights, 0.0);
    }

    private static String describe(String key) {
        try {
            return SettingsJson.parse(new com.fasterxml.jackson.databind.ObjectMapper().readTree(key),
                    "the sensitivity cache").describe();
        } catch (RuntimeException | com.fasterxml.jackson.core.JsonProcessingException e) {
            return key;
        }
    }

    /** Where level databases live: as {@code squeeze sensitivity} and the search jobs keep them. */
    private Path root(ResultsStore s) {
        if (levelRoot != null) {
            return levelRoot;
        }
        return s.checkpointRoot() != null ? s.checkpointRoot().resolve("levels") : LevelDatabase.defaultRoot();
    }

    private ResultsStore requireStore() {
        ResultsStore s = store.get();
        if (s == null) {
            throw new SqueezeException("Sensitivity cannot be stored: there is no results database",
                    "open a results database in the settings (File ▸ Settings…)");
        }
        return s;
    }

    private static SearchSubject subject(Model model) {
        ImageSet images = LlamaConfig.ARCHITECTURE.equals(model.architecture()) ? null
                : ModelRefs.evaluationImages(model.source(), model, null, null);
        return SearchSubject.of(model, images);
    }
}
