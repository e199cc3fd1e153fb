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

    private final SensitivityRecords records;
    private final SensitivityRecords.Key key;
    private final Map<String, SensitivityRecords.Row> rows = new HashMap<>();

    /** Loads what {@code store} holds for this subject, proxy and sample. */
    public SensitivityCache(ResultsStore store, SearchSubject subject, String proxy, long samples, long seed) {
        this.records = Objects.requireNonNull(store, "store").sensitivity();
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
