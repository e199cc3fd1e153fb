package dev.squeeze.engine.compress.linalg;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Goto-style blocked matrix product: B packed in {@code KC × NC} panels of {@code nr}-wide strips, A in
 * {@code MC × KC} panels of {@code mr}-tall strips (both zero-padded, transposition folded into the packing), a
 * register-tiled micro-kernel over them. Edge tiles go through a small scratch tile, so every element of C sees
 * the same operations ({@link Blas}: the result does not depend on blocking, kernel or threads).
 *
 * <p>Large products are split by rows of C over {@code threads} threads; each thread owns whole rows of C and
 * packs its own panels, so nothing is shared but the inputs.
 */
final class PackedBlas implements Blas {
    // Panel sizes: an A panel (MC × KC) stays in L2, a B panel (KC × NC) in L2/L3, a B strip (KC × nr) mostly in L1.
    // Tried KC 128/192/256, MC 64–256, NC 512–2048 on the benchmark machine: differences were within its noise.
    private static final int KC = 256;
    private static final int KC64 = 256;
    private static final int MC32 = 128;
    private static final int NC32 = 1024;
    private static final int MC64 = 64;
    private static final int NC64 = 512;
    /** Below this many multiply-adds a second thread costs more than it saves. */
    private static final long PARALLEL_MIN = 1L << 22;

    private final String name;
    private final Kernels32 k32;
    private final Kernels64 k64;
    private final int threads;
    private final ExecutorService pool;
    private final ThreadLocal<Workspace> workspace = ThreadLocal.withInitial(Workspace::new);

    PackedBlas(String name, Kernels32 k32, Kernels64 k64, int threads) {
        this.k32 = k32;
        this.k64 = k64;
        this.threads = Math.max(1, threads);
        this.name = name + (this.threads > 1 ? " ×" + this.threads + " threads" : "");
        this.pool = this.threads > 1 ? Executors.newFixedThreadPool(this.threads - 1, r -> {
            Thread t = new Thread(r, "squeeze-blas");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    @Override
    public String name() {
        return name;
    }

    private static final class Workspace {
        float[] a32 = new float[0];
        float[] b32 = new float[0];
        float[] t32 = new float[0];
        double[] a64 = new double[0];
        double[] b64 = new double[0];
        double[] t64 = new double[0];
    }

    // ---------------------------------------------------------------- float32

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                      float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        checkShape(transA, transB, m, n, k, a.length, aOff, lda, b.length, bOff, ldb, c.length, cOff, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int x = cOff + i * ldc + j;
                    c[x] = beta == 0f ? 0f : beta == 1f ? c[x] : beta * c[x];
                }
            }
            return;
        }
        split(m, n, k, k32.mr(), (i0, i1) ->
                sgemmRows(i0, i1, transA, transB, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc));
    }

    private void sgemmRows(int i0, int i1, boolean transA, boolean transB, int n, int k, float alpha, float[] a,
                           int aOff, int lda, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        int mr = k32.mr();
        int nr = k32.nr();
        int nc0 = Math.max(nr, NC32 / nr * nr);
        int mc0 = Math.max(mr, MC32 / mr * mr);
        Workspace w = workspace.get();
        if (w.b32.length < KC * nc0) {
            w.b32 = new float[KC * nc0];
        }
        if (w.a32.length < KC * mc0) {
            w.a32 = new float[KC * mc0];
        }
        if (w.t32.length < mr * nr) {
            w.t32 = new float[mr * nr];
        }
        float[] bp = w.b32;
        float[] ap = w.a32;
        float[] tmp = w.t32;
        for (int jc = 0; jc < n; jc += nc0) {
            int nc = Math.min(nc0, n - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                float be = pc == 0 ? beta : 1f;
                packB32(transB, b, bOff, ldb, pc, kc, jc, nc, nr, bp);
                for (int ic = i0; ic < i1; ic += mc0) {
                    int mc = Math.min(mc0, i1 - ic);
                    packA32(transA, a, aOff, lda, ic, mc, pc, kc, alpha, mr, ap);
                    for (int jr = 0; jr < nc; jr += nr) {
                        int nw = Math.min(nr, nc - jr);
                        int bpo = jr * kc;
                        for (int ir = 0; ir < mc; ir += mr) {
                            int mh = Math.min(mr, mc - ir);
                            int apo = ir * kc;
                            int co = cOff + (ic + ir) * ldc + jc + jr;
                            if (mh == mr && nw == nr) {
                                k32.tile(kc, ap, apo, bp, bpo, c, co, ldc, be);
                            } else {
                                java.util.Arrays.fill(tmp, 0, mr * nr, 0f);
                                for (int i = 0; i < mh; i++) {
                                    System.arraycopy(c, co + i * ldc, tmp, i * nr, nw);
                                }
                                k32.tile(kc, ap, apo, bp, bpo, tmp, 0, nr, be);
                                for (int i = 0; i < mh; i++) {
                                    System.arraycopy(tmp, i * nr, c, co + i * ldc, nw);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * B[pc:pc+kc, jc:jc+nc] into nr-wide strips (strip s, row p at {@code s·nr·kc + p·nr}), zero-padded. Source
     * rows are read contiguously: walking a strip down B's rows would touch a new cache line per row.
     */
    private static void packB32(boolean trans, float[] b, int off, int ld, int pc, int kc, int jc, int nc, int nr,
                                float[] bp) {
        int strips = (nc + nr - 1) / nr;
        if (!trans) {
            for (int p = 0; p < kc; p++) {
                int src = off + (pc + p) * ld + jc;
                for (int st = 0; st < strips; st++) {
                    int w = Math.min(nr, nc - st * nr);
                    int dst = st * nr * kc + p * nr;
                    System.arraycopy(b, src + st * nr, bp, dst, w);
                    for (int j = w; j < nr; j++) {
                        bp[dst + j] = 0f;
                    }
                }
            }
            return;
        }
        for (int st = 0; st < strips; st++) {
            int w = Math.min(nr, nc - st * nr);
            int base = st * nr * kc;
            for (int j = 0; j < nr; j++) {
                if (j < w) {
                    int src = off + (jc + st * nr + j) * ld + pc;
                    for (int p = 0; p < kc; p++) {
                        bp[base + p * nr + j] = b[src + p];
                    }
                } else {
                    for (int p = 0; p < kc; p++) {
                        bp[base + p * nr + j] = 0f;
                    }
                }
            }
        }
    }

    /** alpha·A[ic:ic+mc, pc:pc+kc] into mr-tall strips (strip s, column p at {@code s·mr·kc + p·mr}), zero-padded. */
    private static void packA32(boolean trans, float[] a, int off, int ld, int ic, int mc, int pc, int kc,
                                float alpha, int mr, float[] ap) {
        int strips = (mc + mr - 1) / mr;
        if (trans) {
            for (int p = 0; p < kc; p++) {
                int src = off + (pc + p) * ld + ic;
                for (int st = 0; st < strips; st++) {
                    int h = Math.min(mr, mc - st * mr);
                    int dst = st * mr * kc + p * mr;
                    for (int i = 0; i < h; i++) {
                        float v = a[src + st * mr + i];
                        ap[dst + i] = alpha == 1 ? v : alpha * v;
                    }
                    for (int i = h; i < mr; i++) {
                        ap[dst + i] = 0f;
                    }
                }
            }
            return;
        }
        for (int st = 0; st < strips; st++) {
            int h = Math.min(mr, mc - st * mr);
            int base = st * mr * kc;
            for (int i = 0; i < mr; i++) {
                if (i < h) {
                    int src = off + (ic + st * mr + i) * ld + pc;
                    for (int p = 0; p < kc; p++) {
                        float v = a[src + p];
                        ap[base + p * mr + i] = alpha == 1 ? v : alpha * v;
                    }
                } else {
                    for (int p = 0; p < kc; p++) {
                        ap[base + p * mr + i] = 0f;
                    }
                }
            }
        }
    }

    @Override
    public void sger(int m, int n, float alpha, float[] x, int xOff, float[] y, int yOff, float[] a, int aOff,
                     int lda) {
        if (m < 0 || n < 0 || lda < n) {
            throw new IllegalArgumentException("sger: m " + m + ", n " + n + ", lda " + lda);
        }
        if (m == 0 || n == 0) {
            return;
        }
        checkRange("x", x.length, xOff, xOff + m - 1L);
        checkRange("y", y.length, yOff, yOff + n - 1L);
        checkRange("A", a.length, aOff, aOff + (m - 1L) * lda + n - 1);
        for (int i = 0; i < m; i++) {
            float s = alpha == 1f ? x[xOff + i] : alpha * x[xOff + i];
            k32.axpy(n, s, y, yOff, a, aOff + i * lda);
        }
    }

    // ---------------------------------------------------------------- float64

    @Override
    public void dgemm(boolean transA, boolean transB, int m, int n, int k, double alpha, double[] a, int aOff,
                      int lda, double[] b, int bOff, int ldb, double beta, double[] c, int cOff, int ldc) {
        checkShape(transA, transB, m, n, k, a.length, aOff, lda, b.length, bOff, ldb, c.length, cOff, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int x = cOff + i * ldc + j;
                    c[x] = beta == 0 ? 0 : beta == 1 ? c[x] : beta * c[x];
                }
            }
            return;
        }
        split(m, n, k, k64.mr(), (i0, i1) ->
                dgemmRows(i0, i1, transA, transB, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc));
    }

    private void dgemmRows(int i0, int i1, boolean transA, boolean transB, int n, int k, double alpha, double[] a,
                           int aOff, int lda, double[] b, int bOff, int ldb, double beta, double[] c, int cOff,
                           int ldc) {
        int mr = k64.mr();
        int nr = k64.nr();
        int nc0 = Math.max(nr, NC64 / nr * nr);
        int mc0 = Math.max(mr, MC64 / mr * mr);
        Workspace w = workspace.get();
        if (w.b64.length < KC64 * nc0) {
            w.b64 = new double[KC64 * nc0];
        }
        if (w.a64.length < KC64 * mc0) {
            w.a64 = new double[KC64 * mc0];
        }
        if (w.t64.length < mr * nr) {
            w.t64 = new double[mr * nr];
        }
        double[] bp = w.b64;
        double[] ap = w.a64;
        double[] tmp = w.t64;
        for (int jc = 0; jc < n; jc += nc0) {
            int nc = Math.min(nc0, n - jc);
            for (int pc = 0; pc < k; pc += KC64) {
                int kc = Math.min(KC64, k - pc);
                double be = pc == 0 ? beta : 1;
                packB64(transB, b, bOff, ldb, pc, kc, jc, nc, nr, bp);
                for (int ic = i0; ic < i1; ic += mc0) {
                    int mc = Math.min(mc0, i1 - ic);
                    packA64(transA, a, aOff, lda, ic, mc, pc, kc, alpha, mr, ap);
                    for (int jr = 0; jr < nc; jr += nr) {
                        int nw = Math.min(nr, nc - jr);
                        int bpo = jr * kc;
                        for (int ir = 0; ir < mc; ir += mr) {
                            int mh = Math.min(mr, mc - ir);
                            int apo = ir * kc;
                            int co = cOff + (ic + ir) * ldc + jc + jr;
                            if (mh == mr && nw == nr) {
                                k64.tile(kc, ap, apo, bp, bpo, c, co, ldc, be);
                            } else {
                                java.util.Arrays.fill(tmp, 0, mr * nr, 0);
                                for (int i = 0; i < mh; i++) {
                                    System.arraycopy(c, co + i * ldc, tmp, i * nr, nw);
                                }
                                k64.tile(kc, ap, apo, bp, bpo, tmp, 0, nr, be);
                                for (int i = 0; i < mh; i++) {
                                    System.arraycopy(tmp, i * nr, c, co + i * ldc, nw);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * B[pc:pc+kc, jc:jc+nc] into nr-wide strips (strip s, row p at {@code s·nr·kc + p·nr}), zero-padded. Source
     * rows are read contiguously: walking a strip down B's rows would touch a new cache line per row.
     */
    private static void packB64(boolean trans, double[] b, int off, int ld, int pc, int kc, int jc, int nc, int nr,
                                double[] bp) {
        int strips = (nc + nr - 1) / nr;
        if (!trans) {
            for (int p = 0; p < kc; p++) {
                int src = off + (pc + p) * ld + jc;
                for (int st = 0; st < strips; st++) {
                    int w = Math.min(nr, nc - st * nr);
                    int dst = st * nr * kc + p * nr;
                    System.arraycopy(b, src + st * nr, bp, dst, w);
                    for (int j = w; j < nr; j++) {
                        bp[dst + j] = 0;
                    }
                }
            }
            return;
        }
        for (int st = 0; st < strips; st++) {
            int w = Math.min(nr, nc - st * nr);
            int base = st * nr * kc;
            for (int j = 0; j < nr; j++) {
                if (j < w) {
                    int src = off + (jc + st * nr + j) * ld + pc;
                    for (int p = 0; p < kc; p++) {
                        bp[base + p * nr + j] = b[src + p];
                    }
                } else {
                    for (int p = 0; p < kc; p++) {
                        bp[base + p * nr + j] = 0;
                    }
                }
            }
        }
    }

    /** alpha·A[ic:ic+mc, pc:pc+kc] into mr-tall strips (strip s, column p at {@code s·mr·kc + p·mr}), zero-padded. */
    private static void packA64(boolean trans, double[] a, int off, int ld, int ic, int mc, int pc, int kc,
                                double alpha, int mr, double[] ap) {
        int strips = (mc + mr - 1) / mr;
        if (trans) {
            for (int p = 0; p < kc; p++) {
                int src = off + (pc + p) * ld + ic;
                for (int st = 0; st < strips; st++) {
                    int h = Math.min(mr, mc - st * mr);
                    int dst = st * mr * kc + p * mr;
                    for (int i = 0; i < h; i++) {
                        double v = a[src + st * mr + i];
                        ap[dst + i] = alpha == 1 ? v : alpha * v;
                    }
                    for (int i = h; i < mr; i++) {
                        ap[dst + i] = 0;
                    }
                }
            }
            return;
        }
        for (int st = 0; st < strips; st++) {
            int h = Math.min(mr, mc - st * mr);
            int base = st * mr * kc;
            for (int i = 0; i < mr; i++) {
                if (i < h) {
                    int src = off + (ic + st * mr + i) * ld + pc;
                    for (int p = 0; p < kc; p++) {
                        double v = a[src + p];
                        ap[base + p * mr + i] = alpha == 1 ? v : alpha * v;
                    }
                } else {
                    for (int p = 0; p < kc; p++) {
                        ap[base + p * mr + i] = 0;
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- shared

    private interface RowRange {
        void run(int i0, int i1);
    }

    /** Runs {@code body} over row ranges of C, on several threads when the product is large enough. */
    private void split(int m, int n, int k, int mr, RowRange body) {
        int t = threads;
        if (t == 1 || (long) m * n * k < PARALLEL_MIN || m < 2 * mr) {
            body.run(0, m);
            return;
        }
        t = Math.min(t, m / mr);
        int chunk = ((m + t - 1) / t + mr - 1) / mr * mr;
        List<Future<?>> futures = new ArrayList<>();
        for (int i0 = chunk; i0 < m; i0 += chunk) {
            int s = i0;
            int e = Math.min(m, i0 + chunk);
            futures.add(pool.submit(() -> body.run(s, e)));
        }
        RuntimeException failure = null;
        try {
            body.run(0, Math.min(m, chunk));
        } catch (RuntimeException e) {
            failure = e;
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted in a matrix product", e);
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    static void checkShape(boolean transA, boolean transB, int m, int n, int k, int aLen, int aOff, int lda,
                                   int bLen, int bOff, int ldb, int cLen, int cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: negative dimension m " + m + ", n " + n + ", k " + k);
        }
        int aRows = transA ? k : m;
        int aCols = transA ? m : k;
        int bRows = transB ? n : k;
        int bCols = transB ? k : n;
        if (m > 0 && n > 0 && k > 0) {
            checkMatrix("A", aLen, aOff, lda, aRows, aCols);
            checkMatrix("B", bLen, bOff, ldb, bRows, bCols);
        }
        if (m > 0 && n > 0) {
            checkMatrix("C", cLen, cOff, ldc, m, n);
        }
    }

    private static void checkMatrix(String what, int len, int off, int ld, int rows, int cols) {
        if (ld < cols) {
            throw new IllegalArgumentException("gemm: leading dimension of " + what + " is " + ld + " < " + cols);
        }
        checkRange(what, len, off, off + (rows - 1L) * ld + cols - 1);
    }

    private static void checkRange(String what, int len, long first, long last) {
        if (first < 0 || last >= len) {
            throw new IllegalArgumentException("gemm: " + what + " needs indices " + first + ".." + last
                    + " of an array of " + len);
        }
    }
}
