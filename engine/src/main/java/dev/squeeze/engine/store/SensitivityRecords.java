package dev.squeeze.engine.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;

/**
 * The sensitivity cache of the results database (migration V5): the change of a proxy metric when one layer is
 * compressed at one setting and the rest of the model stays dense, keyed by model content hash, calibration data
 * hash, proxy, calibration sample (count and seed), layer and canonical setting. Rows of another model or other
 * calibration data are never returned: a change of either is a cache miss.
 */
public final class SensitivityRecords {
    private final ResultsStore store;

    SensitivityRecords(ResultsStore store) {
        this.store = store;
    }

    /**
     * What a measurement is keyed by, apart from the layer and setting.
     *
     * @param modelHash       the model's content hash
     * @param calibrationHash the calibration data's hash
     * @param proxy           what is measured, e.g. {@code kl}
     * @param samples         calibration tokens or images measured on
     * @param seed            the seed that drew them
     */
    public record Key(String modelHash, String calibrationHash, String proxy, long samples, long seed) {
    }

    /**
     * One cached measurement.
     *
     * @param layer      the canonical layer name
     * @param settingKey the canonical setting key
     * @param bits       the layer's stored bits at this setting
     * @param value      the proxy's value with only this layer compressed
     * @param top1Delta  classifiers: top-1 accuracy change (compressed − dense), else null
     */
    public record Row(String layer, String settingKey, long bits, double value, Double top1Delta) {
    }

    /** Every cached row of {@code key}. */
    public List<Row> find(Key key) {
        return store.inTransaction("read the sensitivity cache", c -> {
            List<Row> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT layer, setting_key, bits, proxy_value, top1_delta FROM sensitivity
                    WHERE model_hash = ? AND calibration_hash = ? AND proxy = ? AND samples = ? AND seed = ?""")) {
                bind(ps, key);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        double d = rs.getDouble(5);
                        Double top1 = rs.wasNull() ? null : d;
                        out.add(new Row(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getDouble(4), top1));
                    }
                }
            }
            return out;
        });
    }

    /** Stores (or replaces) rows of {@code key} in one transaction. */
    public void put(Key key, List<Row> rows) {
        if (rows.isEmpty()) {
            return;
        }
        store.inTransaction("store " + rows.size() + " sensitivity measurement(s)", c -> {
            try (PreparedStatement ps = c.prepareStatement("""
                    MERGE INTO sensitivity (model_hash, calibration_hash, proxy, samples, seed, layer, setting_key,
                      bits, proxy_value, top1_delta, measured_at)
                    KEY (model_hash, calibration_hash, proxy, samples, seed, layer, setting_key)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)""")) {
                for (Row r : rows) {
                    bind(ps, key);
                    ps.setString(6, r.layer());
                    ps.setString(7, r.settingKey());
                    ps.setLong(8, r.bits());
                    ps.setDouble(9, r.value());
                    if (r.top1Delta() == null) {
                        ps.setNull(10, Types.DOUBLE);
                    } else {
                        ps.setDouble(10, r.top1Delta());
                    }
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    /** Removes every cached row of a model (any calibration data); returns how many. */
    public int forgetModel(String modelHash) {
        return store.inTransaction("clear the sensitivity cache of a model", c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM sensitivity WHERE model_hash = ?")) {
                ps.setString(1, modelHash);
                return ps.executeUpdate();
            }
        });
    }

    private static void bind(PreparedStatement ps, Key key) throws java.sql.SQLException {
        ps.setString(1, key.modelHash());
        ps.setString(2, key.calibrationHash());
        ps.setString(3, key.proxy());
        ps.setLong(4, key.samples());
        ps.setLong(5, key.seed());
    }
}
