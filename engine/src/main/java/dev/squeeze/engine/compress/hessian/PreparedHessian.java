package dev.squeeze.engine.compress.hessian;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.linalg.Cholesky;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A layer Hessian made ready for GPTQ-family methods: dead inputs found, columns optionally permuted, dampened,
 * and factored into {@code U = upper_cholesky(H⁻¹)}, in the order each reference does these steps
 * (see ../shared/reference INDEX.json "reference_notes").
 *
 * @param u    {@code U}, {@code n × n} row-major, in processing (permuted) order
 * @param perm processing order: processed column {@code p} is original column {@code perm[p]} (identity if none)
 * @param dead original columns whose {@code H[i,i] == 0}; methods zero these weights
 */
public record PreparedHessian(int n, double[] u, int[] perm, boolean[] dead) {

    /** {@code U[p][p]}, the pivot GPTQ divides the error by. */
    public double d(int p) {
        return u[p * n + p];
    }

    /**
     * GPTQ / SparseGPT order: dead columns ({@code H[i,i]=1}), then act-order ({@code argsort(diag H)}
     * descending, stable) if asked, then {@code percdamp × mean(diag H)} on the diagonal, then U.
     */
    public static PreparedHessian gptq(String layer, float[] hessian, int n, double percdamp, boolean actOrder) {
        double[] h = toDouble(hessian, n, layer);
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) {
            if (h[i * n + i] == 0) {
                dead[i] = true;
                h[i * n + i] = 1;
            }
        }
        int[] perm = actOrder ? descendingDiagonal(h, n) : IntStream.range(0, n).toArray();
        h = permute(h, n, perm);
        damp(h, n, percdamp * meanDiagonal(h, n, false));
        return new PreparedHessian(n, factor(layer, h, n), perm, dead);
    }

    /**
     * SpQR order: act-order permutation on the raw H if asked, then {@code percdamp × mean|diag H|} added to the
     * whole diagonal (dead columns included), then dead columns set to 1, then U.
     */
    public static PreparedHessian spqr(String layer, float[] hessian, int n, double percdamp, boolean actOrder) {
        double[] raw = toDouble(hessian, n, layer);
        int[] perm = actOrder ? descendingDiagonal(raw, n) : IntStream.range(0, n).toArray();
        double[] h = permute(raw, n, perm);
        boolean[] dead = new boolean[n];
        for (int p = 0; p < n; p++) {
            dead[perm[p]] = h[p * n + p] == 0;
        }
        damp(h, n, percdamp * meanDiagonal(h, n, true));
        for (int p = 0; p < n; p++) {
            if (dead[perm[p]]) {
                h[p * n + p] = 1;
            }
        }
        return new PreparedHessian(n, factor(layer, h, n), perm, dead);
    }

    /** Overwrites the (private) damped {@code h} with U, which it returns. */
    private static double[] factor(String layer, double[] h, int n) {
        try {
            Cholesky.upperFactorOfInverseInPlace(h, n);
            return h;
        } catch (Cholesky.NotPositiveDefiniteException e) {
            throw new SqueezeException("Layer " + layer + ": the Hessian is not positive definite even after"
                    + " dampening (pivot " + e.index() + ")",
                    "raise the dampening (percdamp) or use more calibration data for this layer", e);
        }
    }

    private static double[] toDouble(float[] hessian, int n, String layer) {
        if (hessian.length != (long) n * n) {
            throw new IllegalArgumentException("layer " + layer + ": Hessian has " + hessian.length + " values for "
                    + n + " × " + n);
        }
        double[] h = new double[hessian.length];
        for (int i = 0; i < h.length; i++) {
            h[i] = hessian[i];
        }
        return h;
    }

    static int[] descendingDiagonal(double[] h, int n) {
        // torch.argsort(descending=True) is not guaranteed stable; ties are rare on real data. We use a stable
        // sort so that our order is at least deterministic.
        return IntStream.range(0, n).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -h[i * n + i]))
                .mapToInt(Integer::intValue).toArray();
    }

    private static double[] permute(double[] h, int n, int[] perm) {
        boolean identity = true;
        for (int i = 0; i < n && identity; i++) {
            identity = perm[i] == i;
        }
        if (identity) {
            return h;
        }
        double[] out = new double[n * n];
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                out[a * n + b] = h[perm[a] * n + perm[b]];
            }
        }
        return out;
    }

    private static double meanDiagonal(double[] h, int n, boolean abs) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += abs ? Math.abs(h[i * n + i]) : h[i * n + i];
        }
        return sum / n;
    }

    private static void damp(double[] h, int n, double damp) {
        for (int i = 0; i < n; i++) {
            h[i * n + i] += damp;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PreparedHessian p && p.n == n && Arrays.equals(p.u, u) && Arrays.equals(p.perm, perm)
                && Arrays.equals(p.dead, dead);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(u);
    }

    @Override
    public String toString() {
        return "PreparedHessian[" + n + "]";
    }
}
