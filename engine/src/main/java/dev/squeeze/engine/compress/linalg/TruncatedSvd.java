package dev.squeeze.engine.compress.linalg;

/**
 * The leading {@code r} singular triplets of a {@code rows × cols} matrix, {@code W ≈ U_r diag(s) V_rᵀ}, through
 * the eigendecomposition of the smaller Gram matrix ({@code W Wᵀ} when {@code rows ≤ cols}, else {@code Wᵀ W}).
 *
 * <p>Why not a full SVD: a LAPACK {@code gesvd} of 1024 × 1024 took about 10 s on this machine kind (see
 * STACK-NOTES.md), while the Gram matrix of the short side costs one product and one symmetric eigensolve of the
 * short side. The price is accuracy on small singular values: the eigenvalues {@code σ²} carry an absolute error
 * of about {@code ε σ₁²}, so {@code σ_i} is accurate to about {@code ε (σ₁/σ_i)²} relative. In double
 * ({@code ε ≈ 2e-16}) that is 1e-8 even at a condition number of 1e4 — far finer than the float32 weights we
 * factor. The other side's vectors come from {@code W v / σ} (or {@code Wᵀ u / σ}) and are re-orthogonalised;
 * directions with {@code σ_i} at rounding level (the matrix has rank below {@code r}) get {@code σ_i = 0} and an
 * arbitrary unit vector orthogonal to the others, so the factors stay orthonormal in every case.
 *
 * @see SymmetricEigen
 */
public final class TruncatedSvd {
    private final int rows;
    private final int cols;
    private final int rank;
    private final double[] u;
    private final double[] s;
    private final double[] vt;

    private TruncatedSvd(int rows, int cols, int rank, double[] u, double[] s, double[] vt) {
        this.rows = rows;
        this.cols = cols;
        this.rank = rank;
        this.u = u;
        this.s = s;
        this.vt = vt;
    }

    /**
     * @param w    {@code rows × cols} row-major; not modified
     * @param rank {@code 1 ≤ rank ≤ min(rows, cols)}
     */
    public static TruncatedSvd of(double[] w, int rows, int cols, int rank) {
        if (rows < 1 || cols < 1 || w.length != (long) rows * cols) {
            throw new IllegalArgumentException("matrix has " + w.length + " values for " + rows + " × " + cols);
        }
        if (rank < 1 || rank > Math.min(rows, cols)) {
            throw new IllegalArgumentException("rank " + rank + " outside 1.." + Math.min(rows, cols));
        }
        if (rows <= cols) {
            // Left vectors from W Wᵀ (rows × rows), right ones from Wᵀ u / σ.
            Sides sides = fromGram(w, rows, cols, rank, false);
            return new TruncatedSvd(rows, cols, rank, transpose(sides.gramVectors, rank, rows), sides.s,
                    sides.otherVectors);
        }
        // Right vectors from Wᵀ W (cols × cols), left ones from W v / σ.
        Sides sides = fromGram(w, rows, cols, rank, true);
        return new TruncatedSvd(rows, cols, rank, transpose(sides.otherVectors, rank, rows), sides.s,
                sides.gramVectors);
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public int rank() {
        return rank;
    }

    /** Left singular vectors as the columns of a {@code rows × rank} row-major matrix (a copy). */
    public double[] u() {
        return u.clone();
    }

    /** Singular values, largest first (a copy). */
    public double[] s() {
        return s.clone();
    }

    /** Right singular vectors as the rows of a {@code rank × cols} row-major matrix, {@code V_rᵀ} (a copy). */
    public double[] vt() {
        return vt.clone();
    }

    /** Vectors as rows: {@code rank × gramSide} from the eigensolver, {@code rank × otherSide} computed. */
    private record Sides(double[] gramVectors, double[] s, double[] otherVectors) {
    }

    private static Sides fromGram(double[] w, int rows, int cols, int rank, boolean gramOfColumns) {
        int g = gramOfColumns ? cols : rows;
        int o = gramOfColumns ? rows : cols;
        double[] gram = gramOfColumns ? gramOfColumns(w, rows, cols) : gramOfRows(w, rows, cols);
        SymmetricEigen eig = SymmetricEigen.of(gram, g);
        double[] gv = new double[rank * g];
        System.arraycopy(eig.vectors(), 0, gv, 0, rank * g);
        double[] s = new double[rank];
        double[] ov = new double[rank * o];
        // Singular values this close to rounding of σ₁² carry no direction information (see the class comment).
        double floor = Math.sqrt(Math.max(eig.value(0), 0.0) * Math.ulp(1.0) * g);
        for (int k = 0; k < rank; k++) {
            double sigma = Math.sqrt(Math.max(eig.value(k), 0.0));
            double[] v = new double[o];
            if (sigma > floor) {
                // Other side: W v / σ (Gram of columns) or Wᵀ u / σ (Gram of rows).
                if (gramOfColumns) {
                    for (int r = 0; r < rows; r++) {
                        double acc = 0;
                        int rr = r * cols;
                        for (int c = 0; c < cols; c++) {
                            acc += w[rr + c] * gv[k * g + c];
                        }
                        v[r] = acc / sigma;
                    }
                } else {
                    for (int r = 0; r < rows; r++) {
                        double ur = gv[k * g + r] / sigma;
                        int rr = r * cols;
                        for (int c = 0; c < cols; c++) {
                            v[c] += w[rr + c] * ur;
                        }
                    }
                }
                s[k] = sigma;
            } else {
                s[k] = 0.0;
            }
            orthonormalise(v, ov, k, o);
            System.arraycopy(v, 0, ov, k * o, o);
        }
        return new Sides(gv, s, ov);
    }

    /**
     * Makes {@code v} a unit vector orthogonal to the first {@code k} rows of {@code basis} (two passes of
     * Gram–Schmidt: "twice is enough"); a vector that vanishes is replaced by the first unit axis that does not.
     */
    private static void orthonormalise(double[] v, double[] basis, int k, int o) {
        double norm = project(v, basis, k, o);
        if (norm > 1e-8) {
            scale(v, 1.0 / norm);
            return;
        }
        for (int axis = 0; axis < o; axis++) {
            java.util.Arrays.fill(v, 0.0);
            v[axis] = 1.0;
            double nn = project(v, basis, k, o);
            // Among o axes at most k lie in the span of k vectors, so some axis keeps at least 1/sqrt(o) of itself.
            if (nn > 0.5 / Math.sqrt(o)) {
                scale(v, 1.0 / nn);
                return;
            }
        }
        throw new IllegalStateException("no unit vector orthogonal to " + k + " vectors in dimension " + o);
    }

    /** Removes the components along the first {@code k} basis rows, twice; returns the remaining norm. */
    private static double project(double[] v, double[] basis, int k, int o) {
        for (int pass = 0; pass < 2; pass++) {
            for (int j = 0; j < k; j++) {
                int bj = j * o;
                double dot = 0;
                for (int i = 0; i < o; i++) {
                    dot += basis[bj + i] * v[i];
                }
                for (int i = 0; i < o; i++) {
                    v[i] -= dot * basis[bj + i];
                }
            }
        }
        double sum = 0;
        for (double x : v) {
            sum += x * x;
        }
        return Math.sqrt(sum);
    }

    private static void scale(double[] v, double f) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= f;
        }
    }

    /** {@code W Wᵀ}, {@code rows × rows}: dot products of contiguous rows. */
    static double[] gramOfRows(double[] w, int rows, int cols) {
        double[] gram = new double[rows * rows];
        for (int i = 0; i < rows; i++) {
            int ri = i * cols;
            for (int j = 0; j <= i; j++) {
                int rj = j * cols;
                double acc = 0;
                for (int c = 0; c < cols; c++) {
                    acc += w[ri + c] * w[rj + c];
                }
                gram[i * rows + j] = acc;
                gram[j * rows + i] = acc;
            }
        }
        return gram;
    }

    /** {@code Wᵀ W}, {@code cols × cols}: a sum of the rank-one updates of each row, walking rows contiguously. */
    static double[] gramOfColumns(double[] w, int rows, int cols) {
        double[] gram = new double[cols * cols];
        for (int r = 0; r < rows; r++) {
            int rr = r * cols;
            for (int i = 0; i < cols; i++) {
                double wi = w[rr + i];
                if (wi == 0.0) {
                    continue;
                }
                int gi = i * cols;
                for (int j = i; j < cols; j++) {
                    gram[gi + j] += wi * w[rr + j];
                }
            }
        }
        for (int i = 0; i < cols; i++) {
            for (int j = 0; j < i; j++) {
                gram[i * cols + j] = gram[j * cols + i];
            }
        }
        return gram;
    }

    /** {@code k × n} row-major to {@code n × k} row-major. */
    private static double[] transpose(double[] a, int k, int n) {
        double[] t = new double[n * k];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < n; j++) {
                t[j * k + i] = a[i * n + j];
            }
        }
        return t;
    }
}
