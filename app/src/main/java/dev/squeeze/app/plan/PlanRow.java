package dev.squeeze.app.plan;

import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.plan.PlanCheck;
import dev.squeeze.engine.plan.PlanEstimate;
import dev.squeeze.engine.plan.PlanResolver;
import javafx.beans.property.ReadOnlyLongProperty;
import javafx.beans.property.ReadOnlyLongWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;

/**
 * One row of the plan: a layer of the model and the settings the plan gives it (null: kept as stored), with the
 * estimated stored bits and the problem a job would refuse the settings for. Changed only by
 * {@link PlanEditorViewModel}, which records every change for undo.
 */
public final class PlanRow {
    private final LayerInfo layer;
    private final boolean calibration;
    private final ReadOnlyObjectWrapper<MethodSettings> settings = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyLongWrapper estimatedBits = new ReadOnlyLongWrapper();
    private final ReadOnlyObjectWrapper<PlanCheck.Problem> problem = new ReadOnlyObjectWrapper<>();

    private final long weights;
    private final long weightFileBytes;

    PlanRow(LayerInfo layer, long weightFileBytes, boolean calibration, MethodSettings initial) {
        this.layer = layer;
        this.calibration = calibration;
        this.weightFileBytes = weightFileBytes;
        this.weights = PlanEstimate.rows(layer) * PlanEstimate.cols(layer);
        set(initial);
    }

    /** The number of weights of the layer's matrix. */
    long weights() {
        return weights;
    }

    /** The layer's weight for the size summary, when it is compressed. */
    PlanEstimate.LayerSize size() {
        return new PlanEstimate.LayerSize(weights, estimatedBits.get(), weightFileBytes);
    }

    public LayerInfo layer() {
        return layer;
    }

    public String name() {
        return layer.name();
    }

    /** Whether presets, defaults and regexes compress the layer (not embeddings, norms or the head). */
    public boolean compressible() {
        return PlanResolver.compressible(layer);
    }

    /** The settings, or null when the layer stays as stored. */
    public ReadOnlyObjectProperty<MethodSettings> settings() {
        return settings.getReadOnlyProperty();
    }

    public MethodSettings current() {
        return settings.get();
    }

    /** The method choice ({@link SettingsFields#METHODS}). */
    public String method() {
        return SettingsFields.method(settings.get());
    }

    /**
     * Estimated stored bits of the layer's weight as the plan leaves it: the compressed estimate, or the weight as
     * stored (8 × its bytes in the file) when it stays dense.
     */
    public ReadOnlyLongProperty estimatedBits() {
        return estimatedBits.getReadOnlyProperty();
    }

    /** Whether {@link #estimatedBits()} is exact (the layout does not depend on the weights). */
    public boolean estimateExact() {
        return settings.get() == null || PlanEstimate.exact(settings.get());
    }

    /** Why a job would refuse this layer's settings, or null. */
    public ReadOnlyObjectProperty<PlanCheck.Problem> problem() {
        return problem.getReadOnlyProperty();
    }

    /** Sets the settings and recomputes the row's estimate and problem (cheap arithmetic and validation). */
    void set(MethodSettings s) {
        problem.set(s == null ? null : PlanCheck.check(layer, s, calibration));
        long bits;
        if (s == null || layer.shape().length < 2) {
            bits = denseBits();
        } else {
            try {
                bits = PlanEstimate.bits(layer, s);
            } catch (RuntimeException e) {
                bits = denseBits();
            }
        }
        estimatedBits.set(bits);
        settings.set(s);
    }

    private long denseBits() {
        return 8 * weightFileBytes;
    }

    @Override
    public String toString() {
        return layer.name() + ": " + (settings.get() == null ? "dense" : settings.get().describe());
    }
}
