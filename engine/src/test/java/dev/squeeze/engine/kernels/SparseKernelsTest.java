package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The sparse products (N:M, CSR, dense fp16/fp32) on every native instruction-set path this CPU has and on the
 * Java reference, against an oracle that builds the dense matrix from this test's own description of the
 * sparsity and sums in double; batches 1 to 17 (17 crosses the kernels' 16-vector pass). Where the build makes
 * a library (linux-x86_64) a load failure fails the test rather than skipping the native half.
 */
class SparseKernelsTest {
    /**
     * |got − oracle| ≤ TOL · Σ|w||x| per output: float sums of zero-mean terms err by about u · magnitude
     * (u = 6e-8; ≤ 6e-8 seen in test_sparse.c); a wrong position or value errs by about 1/(kept values per row)
     * of it, ≥ 1e-3 here.
     */
    static final double TOL = 1e-5;

    static List<Integer> nativePaths() {
        if (!NativeInt4MatVecTest.nativeExpected()) {
            return List.of();
        }
        assertTrue(NativeLibrary.status().available(), () -> "the native library must load: "
                + NativeLibrary.status().problem());
        List<Integer> paths = new ArrayList<>();
        for (int isa : new int[] {NativeSparse.ISA_SCALAR, NativeSparse.ISA_AVX2, NativeSparse.ISA_AVX512}) {
            if (NativeSparse.isaSupported(isa)) {
                paths.add(isa);
            }
        }
        assertTrue(paths.contains(NativeSparse.ISA_SCALAR));
        return paths;
    }

    static float[] randoms(SplittableRandom rnd, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextDouble(lo, hi);
        }
        return a;
    }

    /** Oracle: y = W x (+ y0) in double, and the magnitudes Σ|w||x| (+ |y0|). */
    static double[][] oracle(double[] w, int rows, int cols, float[] x, int batch, float[] y0) {
        double[] want = new double[batch * rows];
        double[] mag = new double[batch * rows];
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double s = y0 == null ? 0 : y0[b * rows + r];
                double a = Math.abs(s);
                for (int c = 0; c < cols; c++) {
                    s += w[r * cols + c] * x[b * cols + c];
                    a += Math.abs(w[r * cols + c] * x[b * cols + c]);
                }
                want[b * rows + r] = s;
                mag[b * rows + r] = a;
            }
        }
        return new double[][] {want, mag};
    }

    static void assertClose(double[][] oracle, float[] y, int batch, int rows, String what) {
        for (int i = 0; i < batch * rows; i++) {
            double err = Math.abs(y[i] - oracle[0][i]) / Math.max(oracle[1][i], 1e-30);
            int idx = i;
            assertTrue(err <= TOL, () -> what + ": y[" + idx + "] = " + y[idx] + ", oracle " + oracle[0][idx]
                    + " (rel " + err + ")");
        }
    }

    /** Runs {@code run} on the Java reference, then on every native path (via the natives directly). */
    static void everyBackend(String what, Consumer<Integer> run) {
        run.accept(-1);
        for (int isa : nativePaths()) {
            run.accept(isa);
        }
    }

    @ParameterizedTest
    @CsvSource({"2,4,7,64,true", "2,4,5,130,false", "2,4,3,4099,true", "1,4,4,37,true", "4,8,6,100,false",
            "3,8,5,67,true", "2,8,2,1000,false", "1,2,9,33,true", "16,32,3,97,false"})
    void nmMatchesTheOracle(int n, int m, int rows, int cols, boolean fp16) {
        SplittableRandom rnd = new SplittableRandom(rows * 1000L + cols + n * 7L + m);
        long groups = NmSparseMatrix.groups(cols, m);
        int count = (int) (rows * groups * n);
        int[] pos = new int[count];
        short[] half = new short[count];
        float[] single = new float[count];
        double[] dense = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                // n distinct positions of m, drawn here (not by the code under test)
                int[] choice = rnd.ints(0, m).distinct().limit(n).sorted().toArray();
                for (int t = 0; t < n; t++) {
                    int k = (int) ((r * groups + g) * n + t);
                    pos[k] = choice[t];
                    half[k] = Float.floatToFloat16((float) rnd.nextDouble(-1, 1));
                    single[k] = (float) rnd.nextDouble(-1, 1);
                    int c = g * m + choice[t];
                    if (c < cols) {
                        dense[r * cols + c] = fp16 ? Float.float16ToFloat(half[k]) : single[k];
                    }
                }
            }
        }
        NmSparseMatrix w = fp16 ? NmSparseMatrix.fp16(rows, cols, n, m, pos, half)
                : NmSparseMatrix.fp32(rows, cols, n, m, pos, single);
        for (int batch = 1; batch <= 17; batch++) {
            float[] x = randoms(rnd, batch * cols, -2, 2);
            double[][] want = oracle(dense, rows, cols, x, batch, null);
            int bt = batch;
            everyBackend("nm", isa -> {
                float[] y = new float[bt * rows + 3]; // longer than needed, as LinearOp allows
                java.util.Arrays.fill(y, Float.NaN);
                if (isa < 0) {
                    SparseKernels.nm(SparseKernels.Backend.JAVA, w, x, y, bt, 0, rows);
                } else if (fp16) {
                    NativeSparse.nmMatMulF16(isa, rows, cols, n, m, w.halfArray(), w.indexArray(), x, y, bt, 0, rows);
                } else {
                    NativeSparse.nmMatMulF32(isa, rows, cols, n, m, w.singleArray(), w.indexArray(), x, y, bt, 0, rows);
                }
                assertClose(want, y, bt, rows, w + " batch " + bt + " isa " + isa);
                assertTrue(Float.isNaN(y[bt * rows]), "nothing written past batch * rows");
            });
        }
    }

    @ParameterizedTest
    @CsvSource({"6,300,0.05", "9,70000,0.002", "4,64,1.0", "5,50,0.0", "13,1000,0.3"})
    void csrAddsTheOracle(int rows, int cols, double density) {
        SplittableRandom rnd = new SplittableRandom(rows * 31L + cols);
        float[] dense = new float[rows * cols];
        double[] wd = new double[rows * cols];
        for (int i = 0; i < dense.length; i++) {
            if (rnd.nextDouble() < density) {
                dense[i] = (float) rnd.nextDouble(-1, 1);
                wd[i] = dense[i];
            }
        }
        CsrMatrix s = CsrMatrix.fromDense(rows, cols, dense);
        assertEquals(cols <= 65536, s.col16Array() != null);
        for (int batch : new int[] {1, 2, 5, 8, 16, 17}) {
            float[] x = randoms(rnd, batch * cols, -2, 2);
            float[] y0 = randoms(rnd, batch * rows, -1, 1);
            double[][] want = oracle(wd, rows, cols, x, batch, y0);
            int bt = batch;
            everyBackend("csr", isa -> {
                float[] y = y0.clone();
                if (isa < 0) {
                    SparseKernels.csrAdd(SparseKernels.Backend.JAVA, s, x, y, bt, 0, rows);
                } else if (s.col16Array() != null) {
                    NativeSparse.csrMatMulAddU16(isa, rows, cols, s.rowPtrArray(), s.col16Array(), s.valueArray(), x, y,
                            bt, 0, rows);
                } else {
                    NativeSparse.csrMatMulAddI32(isa, rows, cols, s.rowPtrArray(), s.col32Array(), s.valueArray(), x, y,
                            bt, 0, rows);
                }
                assertClose(want, y, bt, rows, s + " batch " + bt + " isa " + isa);
            });
        }
    }

    @ParameterizedTest
    @CsvSource({"1,1,true", "3,17,false", "5,64,true", "7,333,false", "4,1030,true"})
    void denseMatchesTheOracle(int rows, int cols, boolean fp16) {
        SplittableRandom rnd = new SplittableRandom(rows * 17L + cols);
        float[] v = randoms(rnd, rows * cols, -1, 1);
        double[] wd = new double[v.length];
        short[] h = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            h[i] = Float.floatToFloat16(v[i]);
            wd[i] = fp16 ? Float.float16ToFloat(h[i]) : v[i];
        }
        DenseMatrix w = fp16 ? DenseMatrix.fp16(rows, cols, h) : DenseMatrix.fp32(rows, cols, v);
        for (int batch = 1; batch <= 17; batch++) {
            float[] x = randoms(rnd, batch * cols, -2, 2);
            double[][] want = oracle(wd, rows, cols, x, batch, null);
            int bt = batch;
            everyBackend("dense", isa -> {
                float[] y = new float[bt * rows];
                if (isa < 0) {
                    SparseKernels.dense(SparseKernels.Backend.JAVA, w, x, y, bt, 0, rows);
                } else if (fp16) {
                    NativeSparse.denseMatMulF16(isa, rows, cols, w.halfArray(), x, y, bt, 0, rows);
                } else {
                    NativeSparse.denseMatMulF32(isa, rows, cols, w.singleArray(), x, y, bt, 0, rows);
                }
                assertClose(want, y, bt, rows, w + " batch " + bt + " isa " + isa);
            });
        }
    }

    /** The LinearOps split rows across threads for big products; the result is the oracle's either way. */
    @Test
    void linearOpsMatchTheOracleOnBothBackends() {
        SplittableRandom rnd = new SplittableRandom(5);
        int rows = 512, cols = 2048, batch = 9;
        int count = rows * (cols / 4) * 2;
        int[] pos = new int[count];
        float[] val = new float[count];
        double[] dense = new double[rows * cols];
        for (int k = 0; k < count; k += 2) {
            int a = rnd.nextInt(4), b = (a + 1 + rnd.nextInt(3)) % 4;
            pos[k] = Math.min(a, b);
            pos[k + 1] = Math.max(a, b);
            int base = (k / 2) * 4; // row-major: group k/2 of the whole matrix starts at this flat column
            for (int t = 0; t < 2; t++) {
                val[k + t] = (float) rnd.nextDouble(-1, 1);
                dense[base + pos[k + t]] = val[k + t];
            }
        }
        NmSparseMatrix w = NmSparseMatrix.fp32(rows, cols, 2, 4, pos, val);
        float[] x = randoms(rnd, batch * cols, -2, 2);
        double[][] want = oracle(dense, rows, cols, x, batch, null);
        List<SparseKernels.Backend> backends = new ArrayList<>(List.of(SparseKernels.Backend.JAVA));
        if (!nativePaths().isEmpty()) {
            backends.add(SparseKernels.Backend.NATIVE);
        }
        float[] dense32 = new float[dense.length];
        for (int i = 0; i < dense.length; i++) {
            dense32[i] = (float) dense[i];
        }
        for (SparseKernels.Backend b : backends) {
            float[] y = new float[batch * rows];
            new NmSparseLinear(w, b, "test").forward(x, batch, y);
            assertClose(want, y, batch, rows, "NmSparseLinear " + b);
            y = new float[batch * rows];
            new CsrLinear(CsrMatrix.fromDense(rows, cols, dense32), b, "test").forward(x, batch, y);
            assertClose(want, y, batch, rows, "CsrLinear " + b);
            y = new float[batch * rows];
            new DenseKernelLinear(DenseMatrix.compact(rows, cols, dense32), b, "test").forward(x, batch, y);
            assertClose(want, y, batch, rows, "DenseKernelLinear " + b);
        }
    }

    @Test
    void theEngineUsesTheNativeBackendWhereItIsBuilt() {
        if (!nativePaths().isEmpty() && "native".equals(Kernels.backendName())) {
            assertEquals(SparseKernels.Backend.NATIVE, SparseKernels.preferred());
            assertEquals(null, SparseKernels.selfTest());
        }
    }

    @Test
    void rowRangesWriteOnlyTheirRows() {
        SplittableRandom rnd = new SplittableRandom(9);
        int rows = 6, cols = 40;
        float[] v = randoms(rnd, rows * cols, -1, 1);
        DenseMatrix w = DenseMatrix.fp32(rows, cols, v);
        float[] x = randoms(rnd, 2 * cols, -1, 1);
        everyBackend("range", isa -> {
            float[] y = new float[2 * rows];
            java.util.Arrays.fill(y, 42f);
            if (isa < 0) {
                SparseKernels.dense(SparseKernels.Backend.JAVA, w, x, y, 2, 2, 4);
            } else {
                NativeSparse.denseMatMulF32(isa, rows, cols, v, x, y, 2, 2, 4);
            }
            for (int b = 0; b < 2; b++) {
                for (int r = 0; r < rows; r++) {
                    boolean inside = r >= 2 && r < 4;
                    assertEquals(!inside, y[b * rows + r] == 42f, "row " + r + " isa " + isa);
                }
            }
        });
    }
}
