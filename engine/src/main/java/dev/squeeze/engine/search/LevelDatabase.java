package dev.squeeze.engine.search;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.eval.SizeAccounting;
import dev.squeeze.engine.jobs.checkpoint.CheckpointStore;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.Parallelism;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.util.AtomicFiles;
import dev.squeeze.engine.util.Hashing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.ref.SoftReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * The level database of a search (EvoPress's): every searched layer compressed once at every candidate level, all
 * from the same calibration statistics (the Hessians of the DENSE model, collected in one pass), stored on disk with
 * its exact stored bits, so that a search only recombines finished levels.
 *
 * <p>On disk, under {@code root/<key>} where the key is SHA-256 of (model content hash, calibration hash, format):
 * <pre>
 *   manifest.json                          every finished level: layer, setting key, stored bits, relative error,
 *                                          file size
 *   levels/&lt;layer&gt;/&lt;sha256(key)[:24]&gt;/00000.ckpt  the level's CompressedTensor ({@link CheckpointStore} format)
 * </pre>
 * A level file is written atomically (temp name, then rename; not forced to disk: the database is a cache that can be
 * recomputed, and a file torn by a power cut fails its checksum) by {@link CheckpointStore} with the database key as
 * its job key and {@code "<layer> <setting key>"} as its layer name, and is trusted only after its SHA-256, key and
 * name check; the manifest is rewritten atomically ({@link AtomicFiles}) after each block of layers and at the end. A level
 * the manifest lists is trusted when its file has the listed size, and is read in full (checksum) when used.
 * A build killed at any moment (kill -9) therefore loses at most the levels in flight: on the next build, levels in
 * the manifest are reused as listed, level files finished after the last manifest write are validated and reused,
 * and a damaged or half-written file is recomputed. Candidates are keyed by their canonical setting
 * ({@link Level#keyOf}), so a build with more method families reuses every level it already has.
 *
 * <p>Level order per layer: index 0 is dense (the weight as stored), then the candidates in
 * {@link Candidates#forLayer} order. The all-zero assignment is the dense model.
 */
public final class LevelDatabase {
    private static final Logger LOG = LoggerFactory.getLogger(LevelDatabase.class);
    private static final int FORMAT = 1;
    private static final String MANIFEST = "manifest.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One finished level as the manifest lists it.
     *
     * @param layer         the layer
     * @param key           the canonical setting key ({@link Level#keyOf})
     * @param description   the setting in words
     * @param bits          {@code CompressedTensor.storedBits()}
     * @param relativeError {@code ‖W − Ŵ‖_F / ‖W‖_F}
     * @param outputError   the layer-output error on the calibration data relative to the output's energy,
     *                      {@code tr(ΔW H ΔWᵀ) / tr(W H Wᵀ)} with the dense model's Hessian H; without calibration data
     *                      the squared relative weight error (H = I)
     * @param millis        how long the compression took
     * @param fileBytes     the size of the level's file (a file of another size is not trusted)
     */
    public record Entry(String layer, String key, String description, long bits, double relativeError,
                        double outputError, long millis, long fileBytes) {
    }

    /** Progress of a build: {@code done} of {@code total} levels finished (reused ones included). */
    @FunctionalInterface
    public interface Progress {
        /**
         * @param layer the layer of the level just finished
         * @param level the level in words
         */
        void onLevel(String layer, String level, int done, int total);
    }

    /**
     * What a build did.
     *
     * @param levels   levels in the database (dense excluded)
     * @param reused   of them found finished on disk
     * @param computed of them compressed by this build
     * @param hessianNanos time spent collecting Hessians (the dense forward passes included)
     * @param compressNanos time spent compressing and writing levels
     * @param totalNanos the whole build
     */
    public record BuildStats(int levels, int reused, int computed, long hessianNanos, long compressNanos,
                             long totalNanos) {
    }

    private final SearchSubject subject;
    private final Path dir;
    private final String key;
    private final List<LayerLevels> layers;
    private final Map<String, Integer> layerIndex = new HashMap<>();
    private final Map<String, Entry> entries;
    private final BuildStats stats;
    private final ConcurrentHashMap<Long, SoftReference<CompressedTensor>> tensors = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, SoftReference<LinearOp>> ops = new ConcurrentHashMap<>();

    private LevelDatabase(SearchSubject subject, Path dir, String key, List<LayerLevels> layers,
                          Map<String, Entry> entries, BuildStats stats) {
        this.subject = subject;
        this.dir = dir;
        this.key = key;
        this.layers = List.copyOf(layers);
        for (int i = 0; i < layers.size(); i++) {
            layerIndex.put(layers.get(i).layer(), i);
        }
        this.entries = entries;
        this.stats = stats;
    }

    /** Where level databases live by default: {@code <squeeze home>/levels} ({@link dev.squeeze.engine.store.DataDirs}). */
    public static Path defaultRoot() {
        return dev.squeeze.engine.store.DataDirs.home().resolve("levels");
    }

    /** The key of the database of {@code subject}: SHA-256 of its model hash, calibration hash and the format. */
    public static String keyOf(SearchSubject subject) {
        return Hashing.sha256(("squeeze level database " + FORMAT + "\nmodel " + subject.modelHash()
                + "\ncalibration " + subject.calibrationHash() + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** The folder the database of {@code subject} lives in under {@code root}. */
    public static Path dirOf(Path root, SearchSubject subject) {
        return root.toAbsolutePath().resolve(keyOf(subject).substring(0, 24));
    }

    /**
     * Opens the database of {@code subject} under {@code root} and completes it: every layer at every candidate level
     * of {@code families} ({@link Candidates}), reusing every finished level on disk and computing the rest.
     *
     * @param progress  called after each level (reused levels are reported in one go before the work starts); may
     *                  be null
     * @param cancelled polled between levels; when true the build stops with
     *                  {@link dev.squeeze.engine.runs.RunCancelledException} and every finished level stays on disk
     * @throws SqueezeException when the folder cannot be written
     */
    public static LevelDatabase build(SearchSubject subject, Path root, List<String> families, Progress progress,
                                      BooleanSupplier cancelled) {
        long start = System.nanoTime();
        String key = keyOf(subject);
        Path dir = dirOf(root, subject);
        // The plan: every layer's levels.
        List<LayerLevels> plan = new ArrayList<>();
        Map<String, List<MethodSettings>> settingsOf = new LinkedHashMap<>();
        for (SearchSubject.Linear l : subject.linears()) {
            settingsOf.put(l.layer(), Candidates.forLayer(l.layer(), l.rows(), l.cols(), families,
                    subject.hasCalibrationData()));
        }
        int total = settingsOf.values().stream().mapToInt(List::size).sum();
        Map<String, Entry> found = readManifest(dir, key);
        Map<String, Entry> entries = new ConcurrentHashMap<>();
        Set<String> missingLayers = new LinkedHashSet<>();
        int reused = 0;
        for (SearchSubject.Linear l : subject.linears()) {
            for (MethodSettings s : settingsOf.get(l.layer())) {
                String k = Level.keyOf(s);
                String id = id(l.layer(), k);
                Entry e = found.get(id);
                if (e != null && fileSize(levelFile(dir, l.layer(), k)) != e.fileBytes()) {
                    e = null; // listed, but its file is gone or cut short: check it in full
                }
                if (e == null) {
                    e = loadEntry(dir, key, l.layer(), k, s, subject.hasCalibrationData());
                }
                if (e != null) {
                    entries.put(id, e);
                    reused++;
                    if (Double.isNaN(e.outputError())) {
                        missingLayers.add(l.layer()); // its output error needs the layer's Hessian
                    }
                } else {
                    missingLayers.add(l.layer());
                }
            }
        }
        AtomicInteger done = new AtomicInteger(reused);
        if (progress != null && reused > 0) {
            progress.onLevel("", reused + " levels reused", reused, total);
        }
        long[] hessianNanos = {0};
        long[] compressNanos = {0};
        if (!missingLayers.isEmpty()) {
            long[] mark = {System.nanoTime()};
            subject.hessians(missingLayers, (group, hessianOf) -> {
                long t0 = System.nanoTime();
                hessianNanos[0] += t0 - mark[0];
                for (String layer : group) {
                    SearchSubject.Linear lin = linear(subject, layer);
                    List<MethodSettings> todo = settingsOf.get(layer).stream()
                            .filter(s -> !entries.containsKey(id(layer, Level.keyOf(s)))).toList();
                    List<Entry> unmeasured = entries.values().stream()
                            .filter(e -> e.layer().equals(layer) && Double.isNaN(e.outputError())).toList();
                    if (todo.isEmpty() && unmeasured.isEmpty()) {
                        continue;
                    }
                    float[] w = subject.weights(layer);
                    float[] h = subject.hasCalibrationData() ? hessianOf.apply(layer) : null;
                    double energy = h == null ? 0 : quadratic(w, h, lin.rows(), lin.cols());
                    for (Entry e : unmeasured) {
                        CheckpointStore.Loaded loaded = store(dir, key, layer, e.key()).load(0, name(layer, e.key()));
                        if (loaded instanceof CheckpointStore.Loaded.Present p && h != null && energy > 0) {
                            double out = quadratic(difference(w, p.tensor().dequantize()), h, lin.rows(), lin.cols())
                                    / energy;
                            entries.put(id(layer, e.key()), new Entry(e.layer(), e.key(), e.description(), e.bits(),
                                    e.relativeError(), out, e.millis(), e.fileBytes()));
                        }
                    }
                    Parallelism.forEach(todo.size(), i -> {
                        checkCancelled(cancelled);
                        MethodSettings s = todo.get(i);
                        Entry e = compressLevel(dir, key, lin, w, h, energy, s);
                        entries.put(id(layer, e.key()), e);
                        int d = done.incrementAndGet();
                        if (progress != null) {
                            synchronized (progress) {
                                progress.onLevel(layer, s.describe(), d, total);
                            }
                        }
                    });
                }
                writeManifest(dir, key, subject, entries);
                long t1 = System.nanoTime();
                compressNanos[0] += t1 - t0;
                mark[0] = t1;
            }, cancelled);
            writeManifest(dir, key, subject, entries);
        }
        for (SearchSubject.Linear l : subject.linears()) {
            List<Level> levels = new ArrayList<>();
            levels.add(new Level(null, Level.DENSE, l.denseBits()));
            for (MethodSettings s : settingsOf.get(l.layer())) {
                Entry e = entries.get(id(l.layer(), Level.keyOf(s)));
                levels.add(new Level(s, e.key(), e.bits()));
            }
            plan.add(new LayerLevels(l.layer(), l.rows(), l.cols(), levels));
        }
        BuildStats stats = new BuildStats(total, reused, total - reused, hessianNanos[0], compressNanos[0],
                System.nanoTime() - start);
        LOG.info("level database {}: {} levels ({} reused, {} computed) in {} ms", dir, total, reused,
                total - reused, stats.totalNanos() / 1_000_000);
        return new LevelDatabase(subject, dir, key, plan, entries, stats);
    }

    public SearchSubject subject() {
        return subject;
    }

    /** The database's folder. */
    public Path dir() {
        return dir;
    }

    /** The database key ({@link #keyOf}). */
    public String key() {
        return key;
    }

    /** The search's view: every searched layer with its levels (index 0 dense), in forward order. */
    public List<LayerLevels> layers() {
        return layers;
    }

    public BuildStats stats() {
        return stats;
    }

    /** The manifest entry of a non-dense level (its relative weight error, its compression time). */
    public Entry entry(int layer, int level) {
        LayerLevels l = layers.get(layer);
        Level lv = l.level(level);
        if (lv.dense()) {
            throw new IllegalArgumentException("level " + level + " of " + l.layer() + " is dense");
        }
        return entries.get(id(l.layer(), lv.key()));
    }

    /**
     * A view of this database with only the levels {@code keep} accepts (dense is always kept), sharing its files:
     * a search over fewer levels per layer. Level indices refer to the view's {@link #layers()}.
     */
    public LevelDatabase retain(java.util.function.BiPredicate<LayerLevels, Level> keep) {
        List<LayerLevels> kept = new ArrayList<>();
        for (LayerLevels l : layers) {
            List<Level> levels = new ArrayList<>();
            for (Level lv : l.levels()) {
                if (lv.dense() || keep.test(l, lv)) {
                    levels.add(lv);
                }
            }
            kept.add(new LayerLevels(l.layer(), l.rows(), l.cols(), levels));
        }
        return new LevelDatabase(subject, dir, key, kept, entries, stats);
    }

    /** The layer-output error of a level ({@link Entry#outputError()}); 0 for dense. */
    public double outputError(String layer, Level level) {
        return level.dense() ? 0.0 : entries.get(id(layer, level.key())).outputError();
    }

    /**
     * The view ({@link #retain}) that keeps, per layer, only the levels no other level of the layer beats on both
     * stored bits and layer-output error ({@link Entry#outputError()}; dense counts as error 0): a cheap,
     * calibration-based pre-selection before the KL sensitivity of the remaining levels is measured. Of levels with
     * equal bits and error the first is kept.
     */
    public LevelDatabase paretoByOutputError() {
        Map<String, Set<String>> keep = new HashMap<>();
        for (LayerLevels l : layers) {
            List<Level> sorted = new ArrayList<>(l.levels());
            // Fewest bits first, then least error, then level order: a level is kept when its error is below that of
            // every level before it.
            List<Integer> order = new ArrayList<>();
            for (int j = 0; j < sorted.size(); j++) {
                order.add(j);
            }
            order.sort((a, b) -> {
                int c = Long.compare(sorted.get(a).bits(), sorted.get(b).bits());
                if (c != 0) {
                    return c;
                }
                c = Double.compare(outputError(l.layer(), sorted.get(a)), outputError(l.layer(), sorted.get(b)));
                return c != 0 ? c : Integer.compare(a, b);
            });
            Set<String> k = new java.util.HashSet<>();
            double best = Double.POSITIVE_INFINITY;
            for (int j : order) {
                double e = outputError(l.layer(), sorted.get(j));
                if (e < best) {
                    k.add(sorted.get(j).key());
                    best = e;
                }
            }
            keep.put(l.layer(), k);
        }
        return retain((l, lv) -> keep.get(l.layer()).contains(lv.key()));
    }

    /** The index of a layer in {@link #layers()}, or an error naming it. */
    public int layerIndex(String layer) {
        Integer i = layerIndex.get(layer);
        if (i == null) {
            throw new IllegalArgumentException("layer " + layer + " is not in the level database");
        }
        return i;
    }

    /**
     * The stored tensor of level {@code level} of layer {@code layer} (not dense), read from disk and kept while
     * memory allows.
     *
     * @throws SqueezeException when its file was damaged or removed since the build (build again)
     */
    public CompressedTensor tensor(int layer, int level) {
        LayerLevels l = layers.get(layer);
        Level lv = l.level(level);
        if (lv.dense()) {
            throw new IllegalArgumentException("level " + level + " of " + l.layer() + " is dense: it has no "
                    + "compressed tensor");
        }
        long slot = ((long) layer << 32) | level;
        SoftReference<CompressedTensor> ref = tensors.get(slot);
        CompressedTensor t = ref == null ? null : ref.get();
        if (t != null) {
            return t;
        }
        CheckpointStore.Loaded loaded = store(dir, key, l.layer(), lv.key()).load(0, name(l.layer(), lv.key()));
        if (!(loaded instanceof CheckpointStore.Loaded.Present p)) {
            String why = loaded instanceof CheckpointStore.Loaded.Damaged d ? d.reason() : "its file is missing";
            throw new SqueezeException("Level " + lv.describe() + " of layer " + l.layer()
                    + " cannot be read from the level database " + dir + ": " + why,
                    "build the level database again (finished levels are reused, this one is recomputed)");
        }
        t = p.tensor();
        tensors.put(slot, new SoftReference<>(t));
        return t;
    }

    /** {@link #tensor(int, int)} as a linear layer (built once while memory allows). */
    public LinearOp op(int layer, int level) {
        long slot = ((long) layer << 32) | level;
        SoftReference<LinearOp> ref = ops.get(slot);
        LinearOp op = ref == null ? null : ref.get();
        if (op == null) {
            op = tensor(layer, level).asLinearOp();
            ops.put(slot, new SoftReference<>(op));
        }
        return op;
    }

    /**
     * The compressed tensors of an assignment: layer name → tensor for every layer whose level is not dense, in
     * layer order.
     *
     * @param choice one level index per layer of {@link #layers()}
     */
    public Map<String, CompressedTensor> tensors(int[] choice) {
        check(choice);
        Map<String, CompressedTensor> out = new LinkedHashMap<>();
        for (int i = 0; i < choice.length; i++) {
            if (!layers.get(i).level(choice[i]).dense()) {
                out.put(layers.get(i).layer(), tensor(i, choice[i]));
            }
        }
        return out;
    }

    /** Like {@link #tensors} but as linear layers (cached), for building networks quickly. */
    public Map<String, LinearOp> ops(int[] choice) {
        check(choice);
        Map<String, LinearOp> out = new LinkedHashMap<>();
        for (int i = 0; i < choice.length; i++) {
            if (!layers.get(i).level(choice[i]).dense()) {
                out.put(layers.get(i).layer(), op(i, choice[i]));
            }
        }
        return out;
    }

    /** Total stored bits of an assignment (exact). */
    public long bits(int[] choice) {
        check(choice);
        long sum = 0;
        for (int i = 0; i < choice.length; i++) {
            sum = Math.addExact(sum, layers.get(i).level(choice[i]).bits());
        }
        return sum;
    }

    /** The settings of an assignment: layer → settings for every non-dense layer (what a plan stores). */
    public Map<String, MethodSettings> settings(int[] choice) {
        check(choice);
        Map<String, MethodSettings> out = new LinkedHashMap<>();
        for (int i = 0; i < choice.length; i++) {
            Level lv = layers.get(i).level(choice[i]);
            if (!lv.dense()) {
                out.put(layers.get(i).layer(), lv.settings());
            }
        }
        return out;
    }

    private void check(int[] choice) {
        if (choice.length != layers.size()) {
            throw new IllegalArgumentException("the assignment has " + choice.length + " levels for "
                    + layers.size() + " layers");
        }
        for (int i = 0; i < choice.length; i++) {
            if (choice[i] < 0 || choice[i] >= layers.get(i).size()) {
                throw new IllegalArgumentException("level " + choice[i] + " of layer " + layers.get(i).layer()
                        + " is outside 0.." + (layers.get(i).size() - 1));
            }
        }
    }

    // ------------------------------------------------------------------ building

    private static Entry compressLevel(Path dir, String key, SearchSubject.Linear l, float[] w, float[] h,
                                       double energy, MethodSettings s) {
        long t0 = System.nanoTime();
        CompressedTensor c = Methods.compress(new LayerInput(l.layer(), w, l.rows(), l.cols(),
                s.needsCalibration() ? h : null), s);
        float[] approx = c.dequantize();
        double err = SizeAccounting.relativeError(w, approx);
        double out;
        if (h != null && energy > 0) {
            out = quadratic(difference(w, approx), h, l.rows(), l.cols()) / energy;
        } else {
            out = err * err;
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        String k = Level.keyOf(s);
        RunRecord.LayerResult result = new RunRecord.LayerResult(l.layer(), s.method(), k, c.storedBits(),
                c.bitsPerWeight(), err, ms);
        store(dir, key, l.layer(), k).save(0, name(l.layer(), k), c, result);
        return new Entry(l.layer(), k, s.describe(), c.storedBits(), err, out, ms,
                fileSize(levelFile(dir, l.layer(), k)));
    }

    private static float[] difference(float[] a, float[] b) {
        float[] d = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
        }
        return d;
    }

    /** {@code tr(D H Dᵀ) = Σ_r d_r H d_rᵀ} for a {@code rows × cols} matrix D and a {@code cols × cols} H. */
    static double quadratic(float[] d, float[] h, int rows, int cols) {
        float[] dh = new float[d.length];
        Blas.get().sgemm(false, false, rows, cols, cols, 1f, d, 0, cols, h, 0, cols, 0f, dh, 0, cols);
        double sum = 0;
        for (int i = 0; i < d.length; i++) {
            sum += (double) dh[i] * d[i];
        }
        return sum;
    }

    /** A level whose file was finished after the last manifest write: validated in full, or null. */
    private static Entry loadEntry(Path dir, String key, String layer, String k, MethodSettings s,
                                   boolean withHessian) {
        if (!Files.isRegularFile(levelFile(dir, layer, k))) {
            return null;
        }
        CheckpointStore.Loaded loaded = store(dir, key, layer, k).load(0, name(layer, k));
        if (loaded instanceof CheckpointStore.Loaded.Present p) {
            if (p.tensor().storedBits() != p.result().storedBits()) {
                return null;
            }
            RunRecord.LayerResult r = p.result();
            // The output error is not in the level file: with calibration data the build recomputes it (NaN marks it),
            // without, it is the squared weight error.
            double err = r.reconError() == null ? Double.NaN : r.reconError();
            return new Entry(layer, k, s.describe(), r.storedBits(), err, withHessian ? Double.NaN : err * err,
                    r.millis(), fileSize(levelFile(dir, layer, k)));
        }
        if (loaded instanceof CheckpointStore.Loaded.Damaged d) {
            LOG.warn("{}; the level will be recomputed", d.reason());
        }
        return null;
    }

    private static long fileSize(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }

    private static CheckpointStore store(Path dir, String key, String layer, String k) {
        return new CheckpointStore(levelDir(dir, layer, k), key, false);
    }

    private static Path levelDir(Path dir, String layer, String k) {
        return dir.resolve("levels").resolve(safe(layer)).resolve(Hashing.sha256(k.getBytes(StandardCharsets.UTF_8))
                .substring(0, 24));
    }

    /** The file {@link CheckpointStore} writes for index 0. */
    static Path levelFile(Path dir, String layer, String k) {
        return levelDir(dir, layer, k).resolve("00000.ckpt");
    }

    /** The name a level's file is checked against: its layer and setting key. */
    private static String name(String layer, String k) {
        return layer + " " + k;
    }

    private static String id(String layer, String k) {
        return layer + "\n" + k;
    }

    private static String safe(String layer) {
        return layer.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private static SearchSubject.Linear linear(SearchSubject subject, String layer) {
        return subject.linears().stream().filter(l -> l.layer().equals(layer)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no searched layer " + layer));
    }

    private static void checkCancelled(BooleanSupplier cancelled) {
        if (cancelled != null && cancelled.getAsBoolean()) {
            throw new dev.squeeze.engine.runs.RunCancelledException("level database build cancelled");
        }
    }

    // ------------------------------------------------------------------ manifest

    private static Map<String, Entry> readManifest(Path dir, String key) {
        Map<String, Entry> out = new HashMap<>();
        Path file = dir.resolve(MANIFEST);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            return out;
        } catch (IOException e) {
            LOG.warn("level database manifest {} cannot be read ({}); its levels are checked one by one", file,
                    e.toString());
            return out;
        }
        if (root == null || root.path("format").asInt() != FORMAT || !key.equals(root.path("key").asText())) {
            LOG.warn("level database manifest {} is of another format or database; its levels are checked one by one",
                    file);
            return out;
        }
        for (JsonNode n : root.path("levels")) {
            Entry e = new Entry(n.path("layer").asText(), n.path("key").asText(), n.path("description").asText(),
                    n.path("bits").asLong(), n.path("relativeError").asDouble(Double.NaN),
                    n.path("outputError").asDouble(Double.NaN), n.path("millis").asLong(), n.path("fileBytes").asLong(-1));
            if (e.bits() > 0 && !e.layer().isEmpty() && !e.key().isEmpty()) {
                out.put(id(e.layer(), e.key()), e);
            }
        }
        return out;
    }

    private static void writeManifest(Path dir, String key, SearchSubject subject, Map<String, Entry> entries) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("key", key);
        root.put("model", subject.model().source());
        root.put("modelHash", subject.modelHash());
        root.put("calibrationHash", subject.calibrationHash());
        ArrayNode levels = root.putArray("levels");
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort((a, b) -> a.layer().equals(b.layer()) ? a.key().compareTo(b.key())
                : a.layer().compareTo(b.layer()));
        for (Entry e : sorted) {
            ObjectNode n = levels.addObject();
            n.put("layer", e.layer());
            n.put("key", e.key());
            n.put("description", e.description());
            n.put("bits", e.bits());
            if (Double.isFinite(e.relativeError())) {
                n.put("relativeError", e.relativeError());
            }
            if (Double.isFinite(e.outputError())) {
                n.put("outputError", e.outputError());
            }
            n.put("millis", e.millis());
            n.put("fileBytes", e.fileBytes());
        }
        AtomicFiles.write(dir.resolve(MANIFEST), out -> JSON.writerWithDefaultPrettyPrinter().writeValue(
                new java.io.FilterOutputStream(out) {
                    @Override
                    public void close() throws IOException {
                        flush(); // AtomicFiles closes the stream itself
                    }
                }, root));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "level database %s (%d layers)", dir, layers.size());
    }
}
