package dev.squeeze.engine.store;

import java.util.function.Consumer;

/**
 * Named places in the process that holds the results database where the durability tests stop it, to show that a
 * kill -9 or a full disk there loses nothing. Inert unless a test arms it:
 * <ul>
 *   <li>the system property {@code squeeze.test.pause-at=POINT} (or {@code POINT:MILLIS}): on reaching POINT the
 *       process prints {@code squeeze: paused at POINT} on standard error and waits, for ever or for MILLIS, so
 *       that the test can kill it with a real SIGKILL at exactly that place;</li>
 *   <li>{@link #onReach}: a test in the same JVM runs code there (e.g. fills a simulated disk).</li>
 * </ul>
 * Nothing but tests sets either.
 */
public final class CrashPoints {
    /** {@link ResultsStore#recordRun}: the run's rows (and its job's DONE) are written, not yet committed. */
    public static final String RUN_WRITTEN = "store.run-written";
    /** {@link ResultsStore#recordRun}: committed; the caller has not yet heard of it. */
    public static final String RUN_COMMITTED = "store.run-committed";
    /** An upgrade: the copy of the old file is complete, not yet migrated. */
    public static final String UPGRADE_COPIED = "store.upgrade-copied";
    /** An upgrade or a creation: the copy (or the new file) is migrated and verified, not yet moved into place. */
    public static final String UPGRADE_READY = "store.upgrade-ready";
    /** An upgrade or a creation: moved into place, the store not yet open. */
    public static final String UPGRADE_MOVED = "store.upgrade-moved";

    /** After Flyway applied migration {@code version} to the copy (e.g. {@code store.migrated-V1}). */
    public static String migrated(String version) {
        return "store.migrated-V" + version;
    }

    private static volatile Consumer<String> action;

    private CrashPoints() {
    }

    /** Marks {@code point}; does nothing unless a test armed it. */
    public static void reach(String point) {
        Consumer<String> a = action;
        if (a != null) {
            a.accept(point);
        }
        String armed = System.getProperty("squeeze.test.pause-at");
        if (armed == null || !(armed.equals(point) || armed.startsWith(point + ":"))) {
            return;
        }
        long millis = armed.equals(point) ? Long.MAX_VALUE : Long.parseLong(armed.substring(point.length() + 1));
        System.err.println("squeeze: paused at " + point);
        System.err.flush();
        // A pause rather than an exit: the test kills the process from outside (SIGKILL), as a user or the kernel would.
        long end = millis == Long.MAX_VALUE ? Long.MAX_VALUE : System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() - end < 0) {
            try {
                Thread.sleep(Math.min(100, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Tests in this JVM: {@code a} runs at every point reached (null: none). */
    public static void onReach(Consumer<String> a) {
        action = a;
    }
}
