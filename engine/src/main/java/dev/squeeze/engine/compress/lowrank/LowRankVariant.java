package dev.squeeze.engine.compress.lowrank;

/**
 * How the rank-{@code r} factors {@code W ≈ A B} are chosen (see ALGORITHMS.md, "Low rank"). All five store the
 * same thing ({@code A} out × r, {@code B} r × in); they differ in the error they minimise.
 */
public enum LowRankVariant {
    /** Truncated SVD, {@code A = U_r S_r}, {@code B = V_rᵀ}: the best rank-r fit of the weights (Eckart–Young). */
    SVD("svd", "SVD", false),
    /**
     * Activation-aware SVD (FWSVD-style importance {@code I = sqrt(diag H)}, dampened): SVD of {@code W diag(I)},
     * {@code B = V_rᵀ diag(I)⁻¹}. Weights on inputs that carry large activations are fitted more closely.
     */
    ACTIVATION("activation", "activation-aware SVD", true),
    /**
     * Whitened SVD: {@code H + λI = L Lᵀ} (Cholesky, dampened), SVD of {@code W L}, {@code B = V_rᵀ L⁻¹}. The best
     * rank-r fit in the dampened output-error norm {@code tr(ΔW (H + λI) ΔWᵀ)}.
     */
    WHITENED("whitened", "whitened SVD", true),
    /**
     * LoRD-style data-driven decomposition: top-r eigenvectors {@code V_r} of the output covariance
     * {@code W H Wᵀ}, {@code A = V_r}, {@code B = V_rᵀ W}. The best rank-r fit of the layer outputs {@code W X}.
     */
    LORD("lord", "LoRD", true),
    /**
     * Fisher-weighted SVD (FWSVD, Hsu et al. 2022): importance of input {@code j}
     * {@code I_j = sqrt(Σ_i F_ij / max_j' Σ_i F_ij' + 1e-5)} from the empirical Fisher diagonal {@code F} of the
     * weights; SVD of {@code W diag(I)}, {@code A = U_r S_r}, {@code B = V_rᵀ diag(I)⁻¹}. The best rank-r fit in the
     * norm {@code ‖(W − Ŵ) diag(I)‖_F}: weights whose inputs carry large loss gradients are fitted more closely.
     * Needs calibration data (the Fisher diagonal, not the Hessian).
     */
    FISHER("fisher", "Fisher-weighted SVD (FWSVD)", false);

    private final String key;
    private final String label;
    private final boolean needsHessian;

    LowRankVariant(String key, String label, boolean needsHessian) {
        this.key = key;
        this.label = label;
        this.needsHessian = needsHessian;
    }

    /** The name plans use, e.g. {@code lord}. */
    public String key() {
        return key;
    }

    /** A human name, e.g. {@code activation-aware SVD}. */
    public String label() {
        return label;
    }

    /** Whether the variant needs the layer Hessian. */
    public boolean needsHessian() {
        return needsHessian;
    }

    /** Whether the variant needs the Fisher diagonal of the weights ({@link dev.squeeze.engine.compress.LayerInput#fisher()}). */
    public boolean needsFisher() {
        return this == FISHER;
    }

    /** Whether the variant needs calibration data (the layer Hessian or the Fisher diagonal). */
    public boolean needsCalibration() {
        return needsHessian || needsFisher();
    }

    /** Whether {@link LowRankSettings#percdamp()} is used (the dampening of H before weighting or whitening). */
    public boolean usesDampening() {
        return this == ACTIVATION || this == WHITENED;
    }
}
