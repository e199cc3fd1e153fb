package dev.squeeze.engine.kernels;

import dev.squeeze.engine.nn.Parallelism;

/**
 * Splits a product's output rows over the forward pass's threads ({@link Parallelism}) when the work is large
 * enough to pay for it (at least {@value #MIN_PARALLEL_MACS} multiply-adds); each part is one kernel call over a
 * row range, which writes only its own rows. Small layers (and single-thread settings) run in the caller's thread,
 * and so does a product started from one of {@link Parallelism}'s threads.
 */
final class RowSplit {
    static final long MIN_PARALLEL_MACS = 1L << 22;

    /** Parts are multiples of this many rows (even boundaries: the dense kernel takes two rows at a time). */
    private static final int ROW_ALIGN = 16;

    private RowSplit() {
    }

    static void run(int rows, long macs, Parallelism.RowRange op) {
        if (macs < MIN_PARALLEL_MACS) {
            op.run(0, rows);
            return;
        }
        Parallelism.forRows(rows, ROW_ALIGN, op);
    }
}
