package dev.squeeze.engine.kernels;

import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sparse and small-dense products behind pruned (N:M, CSR), SpQR and low-rank layers, with two backends:
 * {@link Backend#NATIVE}, the C kernels (native-kernels/src/sparse*.c: scalar, AVX2 and AVX-512 paths chosen
 * at run time, one pass over W for up to 16 vectors), and {@link Backend#JAVA}, the readable reference here,
 * used when the native library is unavailable. {@link #preferred()} follows the kernel backend the engine
 * chose ({@link Kernels#backendName()}, so {@code -Dsqueeze.kernels=java} turns both off) and adds a self-test
 * of these products against the reference.
 *
 * <p>Every product validates all dimensions, lengths and the row range first ({@link SparseChecks}); the
 * matrices were validated when built, so no bad index can reach C.
 */
public final class SparseKernels {
    public enum Backend { JAVA, NATIVE }

    private static final Logger LOG = LoggerFactory.getLogger(SparseKernels.class);
    /** Self-test bound on |native − reference| relative to Σ|w||x| per output (a broken path errs by 1e-3 or more). */
    static final double SELF_TEST_TOLERANCE = 1e-5;

    private SparseKernels() {
    }

    private static final class Holder {
        static final Backend PREFERRED = choose();
        static final int ISA = PREFERRED == Backend.NATIVE ? NativeSparse.bestIsa() : 0;
    }

    /** The backend layers use: native when the engine uses native kernels and the self-test passes. */
    public static Backend preferred() {
        return Holder.PREFERRED;
    }

    /** {@code "native-avx512"}, {@code "native-avx2"}, {@code "native-scalar"} or {@code "java"}. */
    public static String name(Backend backend) {
        if (backend == Backend.JAVA) {
            return "java";
        }
        return NativeSparse.available() ? "native-" + NativeSparse.isaName(NativeSparse.bestIsa())
                : "native (library not loaded)";
    }

    private static Backend choose() {
        if (!"native".equals(Kernels.backendName())) {
            LOG.info("Sparse kernels: pure Java (the engine's kernel backend is '{}')", Kernels.backendName());
            return Backend.JAVA;
        }
        String problem;
        try {
            problem = selfTest();
        } catch (RuntimeException | LinkageError e) {
            problem = e.toString();
        }
        if (problem != null) {
            LOG.warn("Sparse kernels: native self-test failed ({}); using the pure-Java reference", problem);
            return Backend.JAVA;
        }
        LOG.info("Sparse kernels: native, {} path", NativeSparse.isaName(NativeSparse.bestIsa()));
        return Backend.NATIVE;
    }

    /** A small 2:4, 3:8, CSR and dense case with partial groups and a batch of 3, native against the reference. */
    static String selfTest() {
        SplittableRandom rnd = new SplittableRandom(20261206L);
        int rows = 5, cols = 75, batch = 3;
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextDouble(-2, 2);
        }
        for (int[] nm : new int[][] {{2, 4}, {3, 8}}) {
            long count = rows * NmSparseMatrix.groups(cols, nm[1]) * nm[0];
            int[] pos = new int[(int) count];
            float[] v = new float[(int) count];
            for (int k = 0; k < count; k++) {
                pos[k] = rnd.nextInt(nm[1]);
                v[k] = (float) rnd.nextDouble(-1, 1);
            }
            NmSparseMatrix w = NmSparseMatrix.fp32(rows, cols, nm[0], nm[1], pos, v);
            String p = compare("N:M " + w, rows, batch, (yy, b) -> nm(b, w, x, yy, batch, 0, rows));
            if (p != null) {
                return p;
            }
        }
        float[] dense = new float[rows * cols];
        for (int i = 0; i < dense.length; i++) {
            dense[i] = rnd.nextInt(4) == 0 ? (float) rnd.nextDouble(-1, 1) : 0f;
        }
        CsrMatrix s = CsrMatrix.fromDense(rows, cols, dense);
        String p = compare("CSR", rows, batch, (yy, b) -> csrAdd(b, s, x, yy, batch, 0, rows));
        if (p != null) {
            return p;
        }
        DenseMatrix d = DenseMatrix.fp32(rows, cols, dense);
        return compare("dense", rows, batch, (yy, b) -> dense(b, d, x, yy, batch, 0, rows));
    }

    private interface Product {
        void run(float[] y, Backend backend);
    }

    private static String compare(String what, int rows, int batch, Product product) {
        float[] want = new float[rows * batch];
        float[] got = new float[rows * batch];
        product.run(want, Backend.JAVA);
        product.run(got, Backend.NATIVE);
        for (int i = 0; i < want.length; i++) {
            double scale = Math.max(1.0, Math.abs(want[i]));
            if (!(Math.abs(got[i] - want[i]) <= SELF_TEST_TOLERANCE * 100 * scale)) {
                return what + ": native gives " + got[i] + " where the reference gives " + want[i];
            }
        }
        return null;
    }

    /** The path for a native call; throws IllegalStateException (saying why) if the library did not load. */
    private static int isa() {
        if (Holder.PREFERRED == Backend.NATIVE) {
            return Holder.ISA;
        }
        NativeLibrary.require();
        return NativeSparse.bestIsa();
    }

    /** {@code y[b][r] = Σ W[r][c] x[b][c]} for rows {@code [rowBegin, rowEnd)}. */
    public static void nm(Backend backend, NmSparseMatrix w, float[] x, float[] y, int batch, int rowBegin,
                          int rowEnd) {
        if (w == null) {
            throw new IllegalArgumentException("the N:M matrix is null");
        }
        SparseChecks.call(w.rows(), w.cols(), x, y, batch, rowBegin, rowEnd);
        if (backend == Backend.NATIVE) {
            if (w.isFp16()) {
                NativeSparse.nmMatMulF16(isa(), w.rows(), w.cols(), w.n(), w.m(), w.halfArray(), w.indexArray(), x,
                        y, batch, rowBegin, rowEnd);
            } else {
                NativeSparse.nmMatMulF32(isa(), w.rows(), w.cols(), w.n(), w.m(), w.singleArray(), w.indexArray(), x,
                        y, batch, rowBegin, rowEnd);
            }
            return;
        }
        int cols = w.cols(), rows = w.rows(), n = w.n(), m = w.m();
        long perRow = NmSparseMatrix.groups(cols, m) * n;
        for (int b = 0; b < batch; b++) {
            for (int r = rowBegin; r < rowEnd; r++) {
                float acc = 0f;
                for (long j = 0; j < perRow; j++) {
                    long c = (j / n) * m + w.position(r, j);
                    if (c < cols) {
                        acc += w.value(r * perRow + j) * x[b * cols + (int) c];
                    }
                }
                y[b * rows + r] = acc;
            }
        }
    }

    /** {@code y[b][r] += Σ S[r][c] x[b][c]} for rows {@code [rowBegin, rowEnd)}. */
    public static void csrAdd(Backend backend, CsrMatrix s, float[] x, float[] y, int batch, int rowBegin,
                              int rowEnd) {
        if (s == null) {
            throw new IllegalArgumentException("the CSR matrix is null");
        }
        SparseChecks.call(s.rows(), s.cols(), x, y, batch, rowBegin, rowEnd);
        if (backend == Backend.NATIVE) {
            if (s.col16Array() != null) {
                NativeSparse.csrMatMulAddU16(isa(), s.rows(), s.cols(), s.rowPtrArray(), s.col16Array(),
                        s.valueArray(), x, y, batch, rowBegin, rowEnd);
            } else {
                NativeSparse.csrMatMulAddI32(isa(), s.rows(), s.cols(), s.rowPtrArray(), s.col32Array(),
                        s.valueArray(), x, y, batch, rowBegin, rowEnd);
            }
            return;
        }
        int cols = s.cols(), rows = s.rows();
        int[] rp = s.rowPtrArray();
        float[] v = s.valueArray();
        for (int b = 0; b < batch; b++) {
            for (int r = rowBegin; r < rowEnd; r++) {
                float acc = 0f;
                for (int k = rp[r]; k < rp[r + 1]; k++) {
                    acc += v[k] * x[b * cols + s.column(k)];
                }
                y[b * rows + r] += acc;
            }
        }
    }

    /** {@code y[b][r] = Σ W[r][c] x[b][c]} for rows {@code [rowBegin, rowEnd)}. */
    public static void dense(Backend backend, DenseMatrix w, float[] x, float[] y, int batch, int rowBegin,
                             int rowEnd) {
        if (w == null) {
            throw new IllegalArgumentException("the dense matrix is null");
        }
        SparseChecks.call(w.rows(), w.cols(), x, y, batch, rowBegin, rowEnd);
        if (backend == Backend.NATIVE) {
            if (w.isFp16()) {
                NativeSparse.denseMatMulF16(isa(), w.rows(), w.cols(), w.halfArray(), x, y, batch, rowBegin, rowEnd);
            } else {
                NativeSparse.denseMatMulF32(isa(), w.rows(), w.cols(), w.singleArray(), x, y, batch, rowBegin,
                        rowEnd);
            }
            return;
        }
        int cols = w.cols(), rows = w.rows();
        for (int b = 0; b < batch; b++) {
            for (int r = rowBegin; r < rowEnd; r++) {
                float acc = 0f;
                long o = (long) r * cols;
                for (int c = 0; c < cols; c++) {
                    acc += w.get(o + c) * x[b * cols + c];
                }
                y[b * rows + r] = acc;
            }
        }
    }
}
