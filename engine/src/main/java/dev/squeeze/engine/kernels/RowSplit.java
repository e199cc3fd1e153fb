package dev.squeeze.engine.kernels;

import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * Splits a product's output rows across the common fork-join pool when the work is large enough to pay for it
 * (at least {@value #MIN_PARALLEL_MACS} multiply-adds); each part is one kernel call over a row range, which
 * writes only its own rows. Small layers (and single-core machines) run in the caller's thread.
 */
final class RowSplit {
    static final long MIN_PARALLEL_MACS = 1L << 22;

    interface RangeOp {
        void run(int rowBegin, int rowEnd);
    }

    private RowSplit() {
    }

    static void run(int rows, long macs, RangeOp op) {
        int threads = ForkJoinPool.getCommonPoolParallelism();
        if (macs < MIN_PARALLEL_MACS || threads < 2 || rows < 32) {
            op.run(0, rows);
            return;
        }
        int parts = Math.min(threads * 2, rows / 16);
        // Even boundaries: the dense kernel takes two rows at a time.
        int per = ((rows + parts - 1) / parts + 1) & ~1;
        int chunks = (rows + per - 1) / per;
        IntStream.range(0, chunks).parallel().forEach(i -> op.run(i * per, Math.min(rows, (i + 1) * per)));
    }
}
