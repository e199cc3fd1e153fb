package dev.squeeze.engine.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ParallelismTest {

    /** Runs body with squeeze.threads set to threads, restoring the previous value. */
    private static void withThreads(int threads, Runnable body) {
        String old = System.getProperty(Parallelism.PROPERTY);
        System.setProperty(Parallelism.PROPERTY, Integer.toString(threads));
        try {
            body.run();
        } finally {
            if (old == null) {
                System.clearProperty(Parallelism.PROPERTY);
            } else {
                System.setProperty(Parallelism.PROPERTY, old);
            }
        }
    }

    private static List<int[]> ranges(int rows, int align) {
        List<int[]> seen = Collections.synchronizedList(new ArrayList<>());
        Parallelism.forRows(rows, align, (b, e) -> seen.add(new int[]{b, e}));
        List<int[]> sorted = new ArrayList<>(seen);
        sorted.sort((p, q) -> Integer.compare(p[0], q[0]));
        return sorted;
    }

    @Test
    void rowRangesCoverEveryRowOnceOnAlignedBoundaries() {
        withThreads(3, () -> {
            for (int rows : new int[]{1, 31, 32, 33, 100, 1000, 4097}) {
                List<int[]> parts = ranges(rows, 16);
                int next = 0;
                for (int[] p : parts) {
                    assertEquals(next, p[0], rows + " rows: ranges must be contiguous from 0");
                    assertTrue(p[1] > p[0], rows + " rows: empty range");
                    if (p[1] != rows) {
                        assertEquals(0, p[1] % 16, rows + " rows: inner boundary " + p[1] + " not a multiple of 16");
                    }
                    next = p[1];
                }
                assertEquals(rows, next, rows + " rows: not every row covered");
                assertTrue(parts.size() <= 3, rows + " rows: more parts than threads: " + parts.size());
            }
            // 1000 rows over 3 threads: ceil(1000 / 3) = 334, rounded up to 336 → [0,336) [336,672) [672,1000).
            List<int[]> parts = ranges(1000, 16);
            assertEquals(3, parts.size());
            assertEquals(336, parts.get(0)[1]);
            assertEquals(672, parts.get(1)[1]);
        });
    }

    @Test
    void oneThreadFewRowsOrAWorkerCallerRunOneRange() {
        withThreads(1, () -> assertEquals(1, ranges(1000, 16).size()));
        withThreads(4, () -> {
            assertEquals(1, ranges(31, 16).size()); // fewer than 2 × align rows
            AtomicInteger inner = new AtomicInteger();
            Parallelism.forEach(4, i -> inner.addAndGet(ranges(1000, 16).size()));
            assertEquals(4, inner.get(), "a call from a pool thread (or the caller taking part) runs inline");
        });
        assertThrows(IllegalArgumentException.class, () -> Parallelism.forRows(10, 0, (b, e) -> { }));
    }
}
