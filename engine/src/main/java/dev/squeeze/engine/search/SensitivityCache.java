package dev.squeeze.engine.search;

import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.SensitivityRecords;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The sensitivity measurements of one model on one calibration data set and sample, as the results database caches
 * them ({@link SensitivityRecords}, migration V5). The key is (model content hash, calibration hash, proxy, samples,
 * seed) plus (layer, canonical setting key); a model or calibration data that changed has another hash, so nothing
 * cached for the old one is ever returned (invalidation by key).
 */
public final class SensitivityCache {
    /** The proxy name of the KL sensitivity. */
    public static final String KL = "kl";

    /** Where cached rows live: the results database, or a file beside a worker's level database. */
    public interface Backend {
        List<SensitivityRecords.Row> find(SensitivityRecords.Key key);

        void put(SensitivityRecords.Key key, List<SensitivityRecords.Row> rows);
    }

    private final Backend records;
    private final SensitivityRecords.Key key;
    private final Map<String, SensitivityRecords.Row> rows = new HashMap<>();

    /** Loads what {@code store} holds for this subject, proxy and sample. */
    public SensitivityCache(ResultsStore store, SearchSubject subject, String proxy, long samples, long seed) {
        this(backendOf(Objects.requireNonNull(store, "store").sensitivity()), subject, proxy, samples, seed);
    }

    /**
     * The cache of a job worker, which never opens the results database: the rows live in
     * {@link SensitivityFile}s beside the level database, keyed the same way.
     */
    public static SensitivityCache inFolder(java.nio.file.Path dir, SearchSubject subject, String proxy, long samples,
                                            long seed) {
        return new SensitivityCache(new SensitivityFile(dir), subject, proxy, samples, seed);
    }

    /**
     * The cache of a process that holds the results database: rows from the database and from the level database's
     * folder (where job workers left theirs), new rows written to both, so a search's measurements serve
     * {@code squeeze sensitivity} and the workbench, and theirs serve the next search.
     */
    public static SensitivityCache inStoreAndFolder(ResultsStore store, java.nio.file.Path dir, SearchSubject subject,
                                                    String proxy, long samples, long seed) {
        Backend db = backendOf(Objects.requireNonNull(store, "store").sensitivity());
        Backend file = new SensitivityFile(dir);
        return new SensitivityCache(new Backend() {
            @Override
            public List<SensitivityRecords.Row> find(SensitivityRecords.Key key) {
                Map<String, SensitivityRecords.Row> rows = new java.util.LinkedHashMap<>();
                for (SensitivityRecords.Row r : file.find(key)) {
                    rows.put(id(r.layer(), r.settingKey()), r);
                }
                for (SensitivityRecords.Row r : db.find(key)) {
                    rows.put(id(r.layer(), r.settingKey()), r);
                }
                return List.copyOf(rows.values());
            }

            @Override
            public void put(SensitivityRecords.Key key, List<SensitivityRecords.Row> rows) {
                db.put(key, rows);
                file.put(key, rows);
            }
        }, subject, proxy, samples, seed);
    }

    private static Backend backendOf(SensitivityRecords r) {
        return new Backend() {
            @Override
            public List<SensitivityRecords.Row> find(SensitivityRecords.Key key) {
                return r.find(key);
            }

            @Override
            public void put(SensitivityRecords.Key key, List<SensitivityRecords.Row> rows) {
                r.put(key, rows);
            }
        };
    }

    /** Loads what {@code backend} holds for this subject, proxy and sample. */
    public SensitivityCache(Backend backend, SearchSubject subject, String proxy, long samples, long seed) {
        this.records = Objects.requireNonNull(backend, "backend");
        this.key = new SensitivityRecords.Key(subject.modelHash(), subject.calibrationHash(), proxy, samples, seed);
        for (SensitivityRecords.Row r : records.find(key)) {
            rows.put(id(r.layer(), r.settingKey()), r);
        }
    }

    public SensitivityRecords.Key key() {
        return key;
    }

    /** The cached row of a layer at a setting whose stored bits are {@code bits}, or null (a miss). */
    public SensitivityRecords.Row get(String layer, String settingKey, long bits) {
        SensitivityRecords.Row r = rows.get(id(layer, settingKey));
        // Same model, data and setting give the same tensor; a row with other bits was made by another method version.
        return r != null && r.bits() == bits ? r : null;
    }

    /** Stores new measurements (one transaction) and keeps them for {@link #get}. */
    public void put(List<SensitivityRecords.Row> fresh) {
        records.put(key, fresh);
        for (SensitivityRecords.Row r : fresh) {
            rows.put(id(r.layer(), r.settingKey()), r);
        }
    }

    /** Cached rows of this key. */
    public int size() {
        return rows.size();
    }

    private static String id(String layer, String k) {
        return layer + "\n" + k;
    }
}
