package dev.squeeze.engine.nn;

import dev.squeeze.engine.SqueezeException;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The threads the forward pass runs on: system property {@code squeeze.threads} (a positive integer; default the
 * available processors). {@link #forEach} runs independent pieces of work (attention heads, row blocks, whole
 * sequences) on a shared pool of daemon threads, the caller taking part. Work started from inside one of those
 * threads runs inline on it, so nested parallel loops never wait on each other (and never oversubscribe).
 * <p>
 * Nothing here combines results: every piece writes its own outputs, so what is computed does not depend on the
 * number of threads.
 */
public final class Parallelism {
    /** The system property that sets the number of threads. */
    public static final String PROPERTY = "squeeze.threads";

    private static final ThreadLocal<Boolean> WORKER = ThreadLocal.withInitial(() -> false);
    private static volatile ExecutorService pool;
    private static volatile int poolThreads;

    private Parallelism() {
    }

    /** The configured number of threads (at least 1); a bad value of {@code squeeze.threads} is a clear error. */
    public static int threads() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {
            return Math.max(1, Runtime.getRuntime().availableProcessors());
        }
        try {
            int t = Integer.parseInt(v.trim());
            if (t >= 1) {
                return t;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new SqueezeException("System property " + PROPERTY + "=" + v + " is not a positive number of threads",
                "set -D" + PROPERTY + "=N with N ≥ 1, or leave it unset to use every processor");
    }

    /** Whether the current thread is one of the pool's (work submitted from it runs inline). */
    public static boolean inWorker() {
        return WORKER.get();
    }

    /**
     * Runs {@code body.accept(i)} for every {@code i} in {@code [0, n)}, spread over {@link #threads()} threads
     * (the caller included) unless there is one thread, one item, or the caller is already a pool thread. Items
     * are claimed in increasing order. The first exception thrown by any item is rethrown once all have stopped.
     */
    public static void forEach(int n, IntConsumer body) {
        int t = Math.min(threads(), n);
        if (t <= 1 || inWorker()) {
            for (int i = 0; i < n; i++) {
                body.accept(i);
            }
            return;
        }
        ExecutorService p = pool(t);
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            try {
                for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
                    body.accept(i);
                }
            } catch (RuntimeException | Error e) {
                next.set(n); // the others stop after their current item
                throw e;
            }
        };
        Future<?>[] futures = new Future<?>[t - 1];
        for (int k = 0; k < futures.length; k++) {
            futures[k] = p.submit(worker);
        }
        Throwable failure = null;
        WORKER.set(true);
        try {
            worker.run();
        } catch (RuntimeException | Error e) {
            failure = e;
        } finally {
            WORKER.set(false);
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) {
                    failure = new IllegalStateException("interrupted while waiting for forward-pass threads", e);
                }
            } catch (java.util.concurrent.ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause();
                }
            }
        }
        if (failure instanceof RuntimeException r) {
            throw r;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        if (failure != null) {
            throw new IllegalStateException(failure);
        }
    }

    /** A piece of work over the half-open row range {@code [begin, end)}. */
    @FunctionalInterface
    public interface RowRange {
        void run(int begin, int end);
    }

    /** Work (multiply-adds) below which a product is not worth splitting over threads. */
    public static final long MIN_PARALLEL_WORK = 1L << 22;

    /**
     * {@link #forRows(int, int, RowRange)} for a product of {@code work} multiply-adds: one call over all rows on
     * the caller's thread when {@code work < }{@value #MIN_PARALLEL_WORK} (too small to pay for the threads).
     */
    public static void forRows(int rows, int align, long work, RowRange body) {
        if (work < MIN_PARALLEL_WORK) {
            body.run(0, rows);
            return;
        }
        forRows(rows, align, body);
    }

    /**
     * Splits {@code [0, rows)} into at most {@link #threads()} ranges whose boundaries are multiples of
     * {@code align} and runs them with {@link #forEach}. There is one call over all rows when there is one
     * thread, fewer than {@code 2 × align} rows, or the caller is already a pool thread. Each range must write
     * only its own rows, so the result is the same as one call over all rows.
     */
    public static void forRows(int rows, int align, RowRange body) {
        if (align < 1) {
            throw new IllegalArgumentException("row alignment must be at least 1, got " + align);
        }
        int shares = Math.min(threads(), rows / align);
        if (shares <= 1 || inWorker()) {
            body.run(0, rows);
            return;
        }
        int chunk = ((rows + shares - 1) / shares + align - 1) / align * align;
        int parts = (rows + chunk - 1) / chunk;
        forEach(parts, i -> body.run(i * chunk, Math.min(rows, (i + 1) * chunk)));
    }

    /** A pool with at least {@code t − 1} threads (the caller is the t-th); grown when the setting grows. */
    private static ExecutorService pool(int t) {
        ExecutorService p = pool;
        if (p != null && poolThreads >= t - 1) {
            return p;
        }
        synchronized (Parallelism.class) {
            if (pool == null || poolThreads < t - 1) {
                ExecutorService old = pool;
                AtomicInteger id = new AtomicInteger();
                pool = Executors.newFixedThreadPool(t - 1, r -> {
                    Thread th = new Thread(() -> {
                        WORKER.set(true);
                        r.run();
                    }, "squeeze-forward-" + id.incrementAndGet());
                    th.setDaemon(true);
                    return th;
                });
                poolThreads = t - 1;
                if (old != null) {
                    old.shutdown();
                }
            }
            return pool;
        }
    }
}
