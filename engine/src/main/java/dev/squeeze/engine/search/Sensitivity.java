package dev.squeeze.engine.search;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.store.SensitivityRecords;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Per-layer sensitivity: for every searched layer and every non-dense level of the {@link LevelDatabase}, the KL to the
 * dense model (the {@link Fitness} of the assignment that compresses only that layer, everything else dense) on a
 * fixed calibration sample; for classifiers also the change of top-1 accuracy on the calibration images. The table
 * is the allocator's additive proxy error ({@link Table#errors()}: dense levels 0).
 *
 * <p>Measurements are cached in the results database ({@link SensitivityCache}); a cached cell is reused when the
 * model, the calibration data, the sample (count and seed), the layer, the setting and its stored bits all match. With
 * {@link LlamaKlFitness} a layer of block {@code b} runs only blocks {@code b..} from the dense hidden states it keeps.
 */
public final class Sensitivity {
    /** Calibration tokens per measurement for language models: 8 windows of 256 tokens. */
    public static final long DEFAULT_TOKENS = 2048;
    /** Calibration images per measurement for classifiers: all of them (the calibration fifth is small). */
    public static final long DEFAULT_IMAGES = Long.MAX_VALUE;
    /** The seed of the sample (the same sample for every cell, so cells are comparable). */
    public static final long DEFAULT_SEED = 0;

    private Sensitivity() {
    }

    /**
     * One measured cell.
     *
     * @param layer       index into {@link Table#layers()}
     * @param level       index into that layer's levels (never 0, dense)
     * @param name        the layer's name
     * @param key         the canonical setting key
     * @param description the setting in words
     * @param bits        the layer's stored bits at this level
     * @param kl          mean KL to the dense model with only this layer compressed
     * @param top1Delta   classifiers: top-1 accuracy (0–1) with only this layer compressed minus dense; NaN for
     *                    language models
     * @param cached      whether the value came from the cache
     */
    public record Cell(int layer, int level, String name, String key, String description, long bits, double kl,
                       double top1Delta, boolean cached) {
    }

    /**
     * The sensitivity table.
     *
     * @param layers  the database's layers and levels
     * @param cells   every non-dense level of every layer, in layer then level order
     * @param samples calibration tokens or images per measurement
     * @param seed    the sample's seed
     * @param measured cells measured by this call (the rest came from the cache)
     * @param nanos   how long the call took
     */
    public record Table(List<LayerLevels> layers, List<Cell> cells, long samples, long seed, int measured,
                        long nanos) {
        /** {@code [layer][level]} KL with only that layer at that level; 0 for dense: the additive proxy error. */
        public double[][] errors() {
            double[][] e = new double[layers.size()][];
            for (int i = 0; i < layers.size(); i++) {
                e[i] = new double[layers.get(i).size()];
            }
            for (Cell c : cells) {
                e[c.layer()][c.level()] = c.kl();
            }
            return e;
        }

        /** The cell of a layer and level (level ≥ 1). */
        public Cell cell(int layer, int level) {
            for (Cell c : cells) {
                if (c.layer() == layer && c.level() == level) {
                    return c;
                }
            }
            throw new IllegalArgumentException("no cell for layer " + layer + " level " + level);
        }
    }

    /** Progress: {@code done} of {@code total} cells (cached ones count as done at once). */
    @FunctionalInterface
    public interface Progress {
        void onCell(String layer, String level, int done, int total, boolean cached);
    }

    /**
     * Measures (or reads from {@code cache}) every cell.
     *
     * @param fitness   the database's fitness ({@link LlamaKlFitness} or {@link ClassifierKlFitness})
     * @param cache     the cache for this subject and sample, or null for none
     * @param samples   calibration tokens (language models) or images (classifiers) per measurement
     * @param progress  may be null
     * @param cancelled polled between cells; when true the call stops with
     *                  {@link dev.squeeze.engine.runs.RunCancelledException} (cells measured so far are cached)
     */
    public static Table measure(LevelDatabase db, Fitness fitness, SensitivityCache cache, long samples, long seed,
                                Progress progress, BooleanSupplier cancelled) {
        long start = System.nanoTime();
        List<LayerLevels> layers = db.layers();
        int total = 0;
        for (LayerLevels l : layers) {
            total += l.size() - 1;
        }
        boolean classifier = fitness instanceof ClassifierKlFitness;
        double denseTop1 = classifier ? ((ClassifierKlFitness) fitness).top1(new int[layers.size()], samples, seed)
                : Double.NaN;
        List<Cell> cells = new ArrayList<>(total);
        List<SensitivityRecords.Row> fresh = new ArrayList<>();
        int done = 0;
        int measured = 0;
        try {
            for (int i = 0; i < layers.size(); i++) {
                LayerLevels l = layers.get(i);
                for (int j = 1; j < l.size(); j++) {
                    Level lv = l.level(j);
                    SensitivityRecords.Row hit = cache == null ? null : cache.get(l.layer(), lv.key(), lv.bits());
                    Cell cell;
                    if (hit != null) {
                        cell = new Cell(i, j, l.layer(), lv.key(), lv.describe(), lv.bits(), hit.value(),
                                hit.top1Delta() == null ? Double.NaN : hit.top1Delta(), true);
                    } else {
                        if (cancelled != null && cancelled.getAsBoolean()) {
                            throw new dev.squeeze.engine.runs.RunCancelledException("sensitivity analysis cancelled");
                        }
                        double kl;
                        double top1Delta = Double.NaN;
                        if (classifier) {
                            Map<String, CompressedTensor> one = Map.of(l.layer(), db.tensor(i, j));
                            double[] m = ((ClassifierKlFitness) fitness).measure(one, samples, seed);
                            kl = m[0];
                            top1Delta = m[1] - denseTop1;
                        } else {
                            int[] choice = new int[layers.size()];
                            choice[i] = j;
                            kl = fitness.evaluate(choice, samples, seed);
                        }
                        cell = new Cell(i, j, l.layer(), lv.key(), lv.describe(), lv.bits(), kl, top1Delta, false);
                        fresh.add(new SensitivityRecords.Row(l.layer(), lv.key(), lv.bits(), kl,
                                classifier ? top1Delta : null));
                        measured++;
                    }
                    cells.add(cell);
                    done++;
                    if (progress != null) {
                        progress.onCell(l.layer(), lv.describe(), done, total, cell.cached());
                    }
                }
                // Cache each layer's cells as soon as they are measured: a stopped analysis keeps them.
                if (cache != null && !fresh.isEmpty()) {
                    cache.put(fresh);
                    fresh.clear();
                }
            }
        } finally {
            if (cache != null && !fresh.isEmpty()) {
                cache.put(fresh);
            }
        }
        return new Table(layers, cells, samples, seed, measured, System.nanoTime() - start);
    }

    /** The default sample size for a subject: {@link #DEFAULT_TOKENS} or {@link #DEFAULT_IMAGES}. */
    public static long defaultSamples(SearchSubject subject) {
        return subject instanceof SearchSubject.Language ? DEFAULT_TOKENS : DEFAULT_IMAGES;
    }

    /** The fitness of a database: KL on calibration windows or on calibration images. */
    public static Fitness fitnessOf(LevelDatabase db) {
        return db.subject() instanceof SearchSubject.Language ? new LlamaKlFitness(db) : new ClassifierKlFitness(db);
    }
}
