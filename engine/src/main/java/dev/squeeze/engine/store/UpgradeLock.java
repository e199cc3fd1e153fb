package dev.squeeze.engine.store;

import dev.squeeze.engine.SqueezeException;
import org.h2.store.fs.FilePath;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.util.concurrent.TimeUnit;

/**
 * The lock two Squeeze processes take before upgrading or creating the same database (an OS file lock on
 * {@code <base>.upgrade.lock}, released by the OS if the process dies). The file stays: deleting a lock file
 * races with a process that has just opened it.
 */
final class UpgradeLock implements AutoCloseable {
    /** How long to wait for another process's upgrade of the same file before giving up. */
    static final long WAIT_MILLIS = 30_000;

    private final FileChannel channel;

    private UpgradeLock(FileChannel channel) {
        this.channel = channel;
    }

    /**
     * Takes the lock of the database {@code where}, waiting up to {@value #WAIT_MILLIS} ms for another process.
     *
     * @param lockFile the lock's file, as H2 names it (with its file-system prefix)
     */
    static UpgradeLock acquire(String lockFile, String where) {
        FileChannel ch;
        try {
            ch = FilePath.get(lockFile).open("rw");
        } catch (IOException | RuntimeException e) {
            throw ResultsStore.openFailure(where, e);
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
        try {
            while (true) {
                FileLock lock;
                try {
                    lock = ch.tryLock();
                } catch (OverlappingFileLockException sameJvm) {
                    lock = null;
                }
                if (lock != null) {
                    return new UpgradeLock(ch);
                }
                if (System.nanoTime() > deadline) {
                    throw new SqueezeException("The results database " + where + " is being upgraded by another"
                            + " Squeeze process, which has not finished within " + WAIT_MILLIS / 1000 + " s",
                            "let that process finish (or close it), then start Squeeze again");
                }
                Thread.sleep(100);
            }
        } catch (IOException e) {
            closeQuietly(ch);
            throw ResultsStore.openFailure(where, e);
        } catch (InterruptedException e) {
            closeQuietly(ch);
            Thread.currentThread().interrupt();
            throw new SqueezeException("Interrupted while waiting for another Squeeze process to upgrade "
                    + where, "start Squeeze again");
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    @Override
    public void close() {
        closeQuietly(channel); // releases the lock
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // Closing releases the lock; there is nothing else to lose.
        }
    }
}
