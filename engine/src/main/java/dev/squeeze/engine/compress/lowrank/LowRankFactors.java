package dev.squeeze.engine.compress.lowrank;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.linalg.Cholesky;
import dev.squeeze.engine.compress.linalg.SymmetricEigen;
import dev.squeeze.engine.compress.linalg.TruncatedSvd;

/**
 * Rank-r factors {@code W ≈ A B} in double precision, before they are rounded for storage.
 *
 * <p>The scale of H cancels out of every variant's {@code A B}, but not out of how the product is split between
 * {@code A} and {@code B}: weighting by {@code diag(I)} or {@code L} scales {@code A} by the scale of H and
 * {@code B} by its inverse. We therefore normalise H by the mean of its diagonal first, so that the stored factors
 * do not depend on how H was accumulated (the reference's {@code 2/n} with n counting sequences, or tokens).
 *
 * @param a    {@code rows × rank} row-major
 * @param b    {@code rank × cols} row-major
 */
public record LowRankFactors(int rows, int cols, int rank, double[] a, double[] b) implements java.io.Serializable {
    private static final long serialVersionUID = 1L;

    /** The product {@code A B}, {@code rows × cols} row-major. */
    public double[] product() {
        double[] w = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < rank; k++) {
                double aik = a[i * rank + k];
                int bk = k * cols;
                int wi = i * cols;
                for (int j = 0; j < cols; j++) {
                    w[wi + j] += aik * b[bk + j];
                }
            }
        }
        return w;
    }

    /**
     * Computes the factors of one layer. {@code settings} must be validated for {@code rows × cols}; the
     * Hessian is needed (non-null, {@code cols × cols}) for every variant but {@link LowRankVariant#SVD}.
     */
    public static LowRankFactors compute(String layer, float[] weight, int rows, int cols, float[] hessian,
                                         LowRankVariant variant, int rank, double percdamp) {
        return compute(layer, weight, rows, cols, hessian, null, variant, rank, percdamp);
    }

    /**
     * Computes the factors of one layer; {@code fisher} ({@code rows × cols}, the empirical Fisher diagonal of the
     * weights) is needed for {@link LowRankVariant#FISHER} and ignored by the others.
     */
    public static LowRankFactors compute(String layer, float[] weight, int rows, int cols, float[] hessian,
                                         float[] fisher, LowRankVariant variant, int rank, double percdamp) {
        // Checks the shapes, and gives the usual error when a data-driven variant has no calibration data.
        LayerInput input = new LayerInput(layer, weight, rows, cols, hessian, fisher);
        double[] w = finite(layer, "weight", weight);
        if (variant.needsFisher()) {
            return fisherWeighted(layer, w, input.requireFisher("low-rank " + variant.label()), rows, cols, rank);
        }
        double[] h = null;
        double meanDiag = 0;
        if (variant.needsHessian()) {
            h = finite(layer, "Hessian", input.requireHessian("low-rank " + variant.label()));
            for (int i = 0; i < cols; i++) {
                double d = h[i * cols + i];
                if (d < 0) {
                    throw new SqueezeException("Layer " + layer + ": the Hessian has a negative diagonal entry ("
                            + d + " at input " + i + "), so it is not a covariance of inputs",
                            "recollect the calibration statistics for this layer");
                }
                meanDiag += d;
            }
            meanDiag /= cols;
            if (!(meanDiag > 0)) {
                throw new SqueezeException("Layer " + layer + ": the Hessian is zero (the calibration inputs of this"
                        + " layer were all zero), so " + variant.label() + " has nothing to weight by",
                        "use other calibration data, or the data-free low-rank variant 'svd'");
            }
            for (int i = 0; i < h.length; i++) {
                h[i] /= meanDiag;
            }
        }
        return switch (variant) {
            case SVD -> svd(w, rows, cols, rank);
            case ACTIVATION -> activation(w, h, rows, cols, rank, percdamp);
            case WHITENED -> whitened(layer, w, h, rows, cols, rank, percdamp);
            case LORD -> lord(w, h, rows, cols, rank);
            case FISHER -> throw new IllegalStateException("handled above");
        };
    }

    /** FWSVD's floor under the normalised importance (its code adds 1e-5 to the max-normalised Fisher sums). */
    static final double FISHER_FLOOR = 1e-5;

    /**
     * FWSVD's input importance {@code I_j = sqrt(s_j / max s + 1e-5)}, {@code s_j = Σ_i F_ij} (the Fisher summed
     * over the outputs that read input {@code j}); all ones when the Fisher is zero everywhere (the layer does not
     * move the loss: every weighting is as good, plain SVD).
     */
    static double[] fisherImportance(String layer, float[] fisher, int rows, int cols) {
        double[] s = new double[cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                float f = fisher[i * cols + j];
                if (!(f >= 0) || Float.isInfinite(f)) {
                    throw new SqueezeException("Layer " + layer + ": the Fisher diagonal holds " + f + " at row " + i
                            + ", column " + j + "; sums of squared gradients are finite and non-negative",
                            "recompute the Fisher information (the gradients overflowed or the data is corrupt)");
                }
                s[j] += f;
            }
        }
        double max = 0;
        for (double v : s) {
            max = Math.max(max, v);
        }
        double[] imp = new double[cols];
        for (int j = 0; j < cols; j++) {
            imp[j] = max > 0 ? Math.sqrt(s[j] / max + FISHER_FLOOR) : 1;
        }
        return imp;
    }

    /** FWSVD: SVD of {@code W diag(I)}, {@code A = U_r S_r}, {@code B = V_rᵀ diag(I)⁻¹}. */
    private static LowRankFactors fisherWeighted(String layer, double[] w, float[] fisher, int rows, int cols,
                                                 int rank) {
        double[] imp = fisherImportance(layer, fisher, rows, cols);
        return weighted(w, imp, rows, cols, rank);
    }

    /** SVD of {@code W diag(imp)}; {@code B = V_rᵀ diag(imp)⁻¹}. */
    private static LowRankFactors weighted(double[] w, double[] imp, int rows, int cols, int rank) {
        double[] wi = timesDiagonal(w, rows, cols, imp);
        TruncatedSvd t = TruncatedSvd.of(wi, rows, cols, rank);
        double[] b = t.vt();
        for (int k = 0; k < rank; k++) {
            for (int j = 0; j < cols; j++) {
                b[k * cols + j] /= imp[j];
            }
        }
        return new LowRankFactors(rows, cols, rank, timesDiagonal(t.u(), rows, rank, t.s()), b);
    }

    private static LowRankFactors svd(double[] w, int rows, int cols, int rank) {
        TruncatedSvd t = TruncatedSvd.of(w, rows, cols, rank);
        return new LowRankFactors(rows, cols, rank, timesDiagonal(t.u(), rows, rank, t.s()), t.vt());
    }

    /** {@code I_j = sqrt(H_jj + λ)} with H normalised to mean diagonal 1; {@code λ = percdamp}. */
    private static LowRankFactors activation(double[] w, double[] h, int rows, int cols, int rank, double percdamp) {
        double[] imp = new double[cols];
        for (int j = 0; j < cols; j++) {
            imp[j] = Math.sqrt(h[j * cols + j] + percdamp);
        }
        return weighted(w, imp, rows, cols, rank);
    }

    /** {@code H + λI = L Lᵀ}; SVD of {@code W L}; {@code B = V_rᵀ L⁻¹} by substitution. */
    private static LowRankFactors whitened(String layer, double[] w, double[] h, int rows, int cols, int rank,
                                           double percdamp) {
        double[] l = h.clone();
        for (int j = 0; j < cols; j++) {
            l[j * cols + j] += percdamp;
        }
        try {
            Cholesky.lowerInPlace(l, cols);
        } catch (Cholesky.NotPositiveDefiniteException e) {
            throw new SqueezeException("Layer " + layer + ": the Hessian is not positive definite even after"
                    + " dampening (pivot " + e.index() + "), so it cannot whiten the weights",
                    "raise 'percdamp' or use more calibration data for this layer", e);
        }
        // W L, walking rows of L (lower triangular: row k has entries 0..k).
        double[] wl = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            int wi = i * cols;
            for (int k = 0; k < cols; k++) {
                double wik = w[wi + k];
                if (wik == 0) {
                    continue;
                }
                int lk = k * cols;
                for (int j = 0; j <= k; j++) {
                    wl[wi + j] += wik * l[lk + j];
                }
            }
        }
        TruncatedSvd t = TruncatedSvd.of(wl, rows, cols, rank);
        double[] vt = t.vt();
        double[] b = new double[rank * cols];
        // Row b of B solves b L = v: the last unknown first, subtracting each solved b_k L[k, 0..k-1] from v.
        double[] v = new double[cols];
        for (int r = 0; r < rank; r++) {
            System.arraycopy(vt, r * cols, v, 0, cols);
            int br = r * cols;
            for (int k = cols - 1; k >= 0; k--) {
                int lk = k * cols;
                double bk = v[k] / l[lk + k];
                b[br + k] = bk;
                for (int j = 0; j < k; j++) {
                    v[j] -= bk * l[lk + j];
                }
            }
        }
        return new LowRankFactors(rows, cols, rank, timesDiagonal(t.u(), rows, rank, t.s()), b);
    }

    /** Top-r eigenvectors of {@code W H Wᵀ} ({@code rows × rows}): {@code A = V_r}, {@code B = V_rᵀ W}. */
    private static LowRankFactors lord(double[] w, double[] h, int rows, int cols, int rank) {
        // T = W H (rows × cols), then C = T Wᵀ: both walk contiguous rows.
        double[] t = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            int wi = i * cols;
            for (int k = 0; k < cols; k++) {
                double wik = w[wi + k];
                if (wik == 0) {
                    continue;
                }
                int hk = k * cols;
                for (int j = 0; j < cols; j++) {
                    t[wi + j] += wik * h[hk + j];
                }
            }
        }
        double[] c = new double[rows * rows];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j <= i; j++) {
                double acc = 0;
                int ti = i * cols;
                int wj = j * cols;
                for (int k = 0; k < cols; k++) {
                    acc += t[ti + k] * w[wj + k];
                }
                c[i * rows + j] = acc;
                c[j * rows + i] = acc;
            }
        }
        SymmetricEigen eig = SymmetricEigen.of(c, rows);
        double[] a = new double[rows * rank];
        double[] b = new double[rank * cols];
        for (int k = 0; k < rank; k++) {
            int bk = k * cols;
            for (int i = 0; i < rows; i++) {
                double v = eig.vector(k, i);
                a[i * rank + k] = v;
                int wi = i * cols;
                for (int j = 0; j < cols; j++) {
                    b[bk + j] += v * w[wi + j];
                }
            }
        }
        return new LowRankFactors(rows, cols, rank, a, b);
    }

    /** {@code M diag(d)} for {@code M} of {@code n × m}. */
    private static double[] timesDiagonal(double[] m, int n, int cols, double[] d) {
        double[] out = new double[n * cols];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < cols; j++) {
                out[i * cols + j] = m[i * cols + j] * d[j];
            }
        }
        return out;
    }

    private static double[] finite(String layer, String what, float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            if (!Float.isFinite(v)) {
                throw new SqueezeException("Layer " + layer + ": the " + what + " holds " + v + " at index " + i,
                        "check the model file (or the calibration run) that produced this layer");
            }
            out[i] = v;
        }
        return out;
    }
}
