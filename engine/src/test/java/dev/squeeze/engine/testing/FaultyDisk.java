package dev.squeeze.engine.testing;

import org.h2.message.DbException;
import org.h2.store.fs.FileBase;
import org.h2.store.fs.FilePath;
import org.h2.store.fs.FilePathWrapper;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;

/**
 * A simulated disk for H2 databases: the file system {@code faulty:} forwards to the normal one
 * ({@code jdbc:h2:faulty:/tmp/x/results}) and can be switched, for every open file at once, to behave like a full
 * disk or a read-only one.
 *
 * <p>Why simulate: the tests run as root on the build machines and in CI, where folder permissions do not stop
 * writes and a small tmpfs cannot be mounted. The faults are the ones the operating system gives:
 * <ul>
 *   <li>{@link #fillUpAfter(long) full disk}: the files may grow by a fixed number of bytes in total; a write
 *       that would grow them further is cut short at the limit (like a short {@code write(2)}) and the next one
 *       throws {@code IOException("No space left on device")} (ENOSPC). Rewriting bytes inside a file's current
 *       length, shrinking and deleting still work, as on a real full disk.</li>
 *   <li>{@link #readOnly() read-only}: like a read-only mount (or ext4's remount-ro after an error):
 *       {@link FilePath#canWrite()} is false, and every write, truncate, create, delete, rename or open for
 *       writing throws {@code IOException("Read-only file system")} (EROFS). Reads work.</li>
 * </ul>
 * The mode is global (static): one test at a time uses it, and {@link #heal()} in a finally block lifts it.
 */
public final class FaultyDisk extends FilePathWrapper {
    public static final String SCHEME = "faulty";
    public static final String NO_SPACE = "No space left on device";
    public static final String READ_ONLY = "Read-only file system";

    private enum Mode { HEALTHY, FULL, READ_ONLY }

    private static final Object LOCK = new Object();
    private static Mode mode = Mode.HEALTHY;
    private static long freeBytes = Long.MAX_VALUE;
    /** The least {@link #freeBytes} has been since {@link #fillUpAfter}: files also shrink (H2 truncates on close). */
    private static long lowestFree = Long.MAX_VALUE;
    private static long filledAt = Long.MAX_VALUE;

    static {
        FilePath.register(new FaultyDisk());
    }

    /** Makes sure the {@code faulty:} scheme is known to H2 (registration happens once, on class load). */
    public static void register() {
        // The static initializer did the work.
    }

    /** The H2 URL of the database at {@code base} on this disk. */
    public static String url(java.nio.file.Path base) {
        register();
        return "jdbc:h2:" + SCHEME + ":" + base.toAbsolutePath();
    }

    /** From now on the files may grow by {@code bytes} in total; beyond that the disk is full. */
    public static void fillUpAfter(long bytes) {
        synchronized (LOCK) {
            mode = Mode.FULL;
            freeBytes = Math.max(0, bytes);
            lowestFree = freeBytes;
            filledAt = freeBytes;
        }
    }

    /**
     * The most the files have grown at any moment since {@link #fillUpAfter}{@code (bytes)}: {@code bytes} minus the
     * least free space seen. What a disk must hold for the work to succeed, which the net growth understates.
     */
    public static long peakGrowth() {
        synchronized (LOCK) {
            return mode == Mode.FULL ? filledAt - lowestFree : 0;
        }
    }

    /** From now on the disk is read-only. */
    public static void readOnly() {
        synchronized (LOCK) {
            mode = Mode.READ_ONLY;
        }
    }

    /** Back to a healthy disk with unlimited space. */
    public static void heal() {
        synchronized (LOCK) {
            mode = Mode.HEALTHY;
            freeBytes = Long.MAX_VALUE;
        }
    }

    /** The bytes the files may still grow by (Long.MAX_VALUE unless the disk is in full-disk mode). */
    public static long freeBytes() {
        synchronized (LOCK) {
            return mode == Mode.FULL ? freeBytes : Long.MAX_VALUE;
        }
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public boolean canWrite() {
        synchronized (LOCK) {
            if (mode == Mode.READ_ONLY) {
                return false;
            }
        }
        return super.canWrite();
    }

    @Override
    public void createDirectory() {
        refuseIfReadOnly(name);
        super.createDirectory();
    }

    @Override
    public boolean createFile() {
        refuseIfReadOnly(name);
        return super.createFile();
    }

    @Override
    public void delete() {
        refuseIfReadOnly(name);
        super.delete();
    }

    @Override
    public void moveTo(FilePath newName, boolean atomicReplace) {
        refuseIfReadOnly(name);
        super.moveTo(newName, atomicReplace);
    }

    @Override
    public boolean setReadOnly() {
        refuseIfReadOnly(name);
        return super.setReadOnly();
    }

    @Override
    public FilePath createTempFile(String suffix, boolean inTempDir) throws IOException {
        checkWritable();
        return super.createTempFile(suffix, inTempDir);
    }

    @Override
    public OutputStream newOutputStream(boolean append) throws IOException {
        // Through our channel, so that the faults apply to streams too.
        return FilePath.newFileChannelOutputStream(open("rw"), append);
    }

    @Override
    public FileChannel open(String openMode) throws IOException {
        if (!"r".equals(openMode)) {
            checkWritable();
        }
        return new FaultyChannel(getBase().open(openMode), name);
    }

    private static void checkWritable() throws IOException {
        synchronized (LOCK) {
            if (mode == Mode.READ_ONLY) {
                throw new IOException(READ_ONLY);
            }
        }
    }

    /** For FilePath methods that cannot throw IOException: H2's own file systems throw DbException there. */
    private static void refuseIfReadOnly(String path) {
        try {
            checkWritable();
        } catch (IOException e) {
            throw DbException.convertIOException(e, path);
        }
    }

    /** A channel that asks the disk before every write. */
    private static final class FaultyChannel extends FileBase {
        private final FileChannel channel;
        private final String name;

        FaultyChannel(FileChannel channel, String name) {
            this.channel = channel;
            this.name = name;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return channel.read(dst);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return channel.read(dst, position);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            synchronized (LOCK) {
                ByteBuffer allowed = allowed(src, channel.position());
                int n = channel.write(allowed);
                src.position(src.position() + n);
                return n;
            }
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            synchronized (LOCK) {
                ByteBuffer allowed = allowed(src, position);
                int n = channel.write(allowed, position);
                src.position(src.position() + n);
                return n;
            }
        }

        /**
         * The part of {@code src} the disk accepts at {@code position}: all of it when it fits, else the bytes up to
         * the last free one; no free byte at all throws ENOSPC. Consumes free space for the growth. Holds LOCK.
         */
        private ByteBuffer allowed(ByteBuffer src, long position) throws IOException {
            if (mode == Mode.READ_ONLY) {
                throw new IOException(READ_ONLY);
            }
            ByteBuffer view = src.duplicate();
            if (mode != Mode.FULL) {
                return view;
            }
            long size = channel.size();
            long growth = Math.max(0, position + view.remaining() - size);
            if (growth <= freeBytes) {
                freeBytes -= growth;
                lowestFree = Math.min(lowestFree, freeBytes);
                return view;
            }
            // Bytes inside the current length cost nothing; past it only freeBytes more fit.
            long fits = Math.max(0, size - position) + freeBytes;
            freeBytes = 0;
            lowestFree = 0;
            if (fits <= 0) {
                throw new IOException(NO_SPACE);
            }
            view.limit(view.position() + (int) Math.min(fits, view.remaining()));
            return view;
        }

        @Override
        public long position() throws IOException {
            return channel.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            channel.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return channel.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            synchronized (LOCK) {
                if (mode == Mode.READ_ONLY) {
                    throw new IOException(READ_ONLY);
                }
                long before = channel.size();
                channel.truncate(size);
                if (mode == Mode.FULL && size < before) {
                    freeBytes += before - size;
                }
            }
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            channel.force(metaData);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return channel.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            channel.close();
        }

        @Override
        public String toString() {
            return name;
        }
    }
}
