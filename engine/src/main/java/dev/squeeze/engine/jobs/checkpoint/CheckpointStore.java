package dev.squeeze.engine.jobs.checkpoint;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.store.DiskProblem;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.store.RunRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * The per-layer checkpoints of one job: after each layer the job saves the compressed tensor and its result, so
 * that a job killed at any moment (kill -9, a native crash, a power cut) resumes at the first layer without a good
 * checkpoint and ends with exactly the tensors an uninterrupted run would have produced.
 *
 * <p>One file per layer, {@code <dir>/<index as %05d>.ckpt}:
 * <pre>
 *   "SQCKPT01"                         8 ASCII bytes
 *   int     format version (1)
 *   string  job key                    the hash of the job spec; a checkpoint of another job is never reused
 *   int     layer index
 *   string  layer name
 *   int     n, then n bytes            the CompressedTensor, Java-serialized
 *   string  result.layer, result.method, result.settings
 *   long    result.storedBits
 *   long    result.bitsPerWeight       raw IEEE bits, so that the value comes back bit for bit
 *   boolean result.reconError present, then long raw IEEE bits (0 when absent)
 *   long    result.millis
 *   32 bytes SHA-256 of everything above
 * </pre>
 * Integers are big-endian ({@link DataOutputStream}); a string is an int byte count ({@code -1} for null) and its
 * UTF-8 bytes.
 *
 * <p>Why Java serialization for the tensor: every method's tensor is a different class with private state, and
 * serialization stores exactly that state without each method writing (and keeping in step) its own format. Its
 * usual danger, deserializing arbitrary classes, is closed by an allow-list filter: only classes of
 * {@code dev.squeeze.engine.compress} and its subpackages, enums and primitive arrays, with limits on depth,
 * references and array sizes. A file is trusted only after its checksum, header and job key match.
 *
 * <p>Writes are atomic (temp file, fsync, atomic rename, fsync of the folder): after a crash a layer's file is
 * either absent or complete. Anything wrong with a file on load comes back as {@link Loaded.Damaged}, never as an
 * exception, so the job recomputes that layer.
 */
public final class CheckpointStore {
    /** The file-system errors a person can act on, in words; anything else as Java says it. */
    private static String describe(IOException e) {
        if (e instanceof java.nio.file.FileAlreadyExistsException || e instanceof java.nio.file.NotDirectoryException) {
            return "something that is not a folder is in the way at " + e.getMessage();
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied at " + e.getMessage();
        }
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "the folder " + e.getMessage() + " does not exist (was it removed while the job ran?)";
        }
        return e.toString();
    }

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);

    private static final byte[] MAGIC = "SQCKPT01".getBytes(StandardCharsets.US_ASCII);
    private static final int FORMAT_VERSION = 1;
    private static final int DIGEST_BYTES = 32;
    private static final String SUFFIX = ".ckpt";
    private static final String TEMP_SUFFIX = ".part";
    /** Deepest object graph a tensor has is about 5 (tensor → factor → matrix → settings → enum); ample room. */
    private static final long MAX_DEPTH = 20;
    /** Tensors hold a handful of objects and arrays; a stream with more references is not one of ours. */
    private static final long MAX_REFERENCES = 10_000;
    private static final String FIX = "free space or set SQUEEZE_HOME to a writable folder";

    private final Path dir;
    private final String jobKey;
    private final boolean sync;

    /** The outcome of loading one layer's checkpoint. */
    public sealed interface Loaded {
        /** No checkpoint for this layer: it was never finished. */
        record Missing() implements Loaded {
        }

        /** A file exists but cannot be used; {@code reason} is one line naming the file. */
        record Damaged(String reason) implements Loaded {
        }

        /** The layer's tensor and result, exactly as saved. */
        record Present(CompressedTensor tensor, RunRecord.LayerResult result) implements Loaded {
        }
    }

    /**
     * @param dir    the job's own folder (created on the first save)
     * @param jobKey the hash of the job spec, written into every file and checked on load
     */
    public CheckpointStore(Path dir, String jobKey) {
        this(dir, jobKey, true);
    }

    /**
     * @param sync whether each save is forced to disk (fsync of the file and the folder) before it counts. Without,
     *             a save is still atomic (temp file, rename), so a killed process leaves no torn file; only a power
     *             cut may (the checksum then rejects it). For caches that can be recomputed (the level database).
     */
    public CheckpointStore(Path dir, String jobKey, boolean sync) {
        this.sync = sync;
        this.dir = Objects.requireNonNull(dir, "dir").toAbsolutePath();
        this.jobKey = Objects.requireNonNull(jobKey, "jobKey");
        if (jobKey.isEmpty()) {
            throw new IllegalArgumentException("empty job key");
        }
    }

    public Path dir() {
        return dir;
    }

    /** The file of layer {@code index}. */
    Path file(int index) {
        return dir.resolve(String.format(Locale.ROOT, "%05d", index) + SUFFIX);
    }

    /**
     * Saves one finished layer, replacing any earlier checkpoint of that index. Atomic: a crash at any point
     * leaves either no file or the complete one under the final name.
     *
     * @throws SqueezeException naming the folder when the checkpoint cannot be written (unwritable, disk full)
     */
    public void save(int index, String layer, CompressedTensor tensor, RunRecord.LayerResult result) {
        if (index < 0) {
            throw new IllegalArgumentException("negative layer index " + index);
        }
        Objects.requireNonNull(layer, "layer");
        Objects.requireNonNull(tensor, "tensor");
        Objects.requireNonNull(result, "result");
        byte[] serialized = serialize(tensor);
        writeChecked(file(index), "the checkpoint of layer " + layer + " (index " + index + ")", out -> {
            out.write(MAGIC);
            out.writeInt(FORMAT_VERSION);
            writeString(out, jobKey);
            out.writeInt(index);
            writeString(out, layer);
            out.writeInt(serialized.length);
            out.write(serialized);
            writeString(out, result.layer());
            writeString(out, result.method());
            writeString(out, result.settings());
            out.writeLong(result.storedBits());
            out.writeLong(Double.doubleToRawLongBits(result.bitsPerWeight()));
            out.writeBoolean(result.reconError() != null);
            out.writeLong(result.reconError() == null ? 0L : Double.doubleToRawLongBits(result.reconError()));
            out.writeLong(result.millis());
        });
    }

    /** Writes the body of one checksummed file. */
    @FunctionalInterface
    private interface Body {
        void write(DataOutputStream out) throws IOException;
    }

    /**
     * Writes {@code target} atomically: the body, then a SHA-256 of it, into a hidden temp file, forced to disk (when
     * this store syncs) before the rename makes it visible under its final name. A crash at any point leaves either
     * no file or the complete one.
     *
     * @param what the file in words, for the error ("the checkpoint of layer fc1 (index 0)")
     * @throws SqueezeException naming the folder when the file cannot be written (unwritable, disk full)
     */
    private void writeChecked(Path target, String what, Body body) {
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            deleteStaleTemps(target);
            tmp = Files.createTempFile(dir, "." + target.getFileName(), TEMP_SUFFIX);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                MessageDigest md = sha256();
                OutputStream file = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                DataOutputStream out = new DataOutputStream(new java.security.DigestOutputStream(file, md));
                body.write(out);
                out.flush();
                file.write(md.digest());
                file.flush();
                // The data must be on disk before the rename makes it visible under the final name.
                if (sync) {
                    ch.force(true);
                }
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
            if (sync) {
                syncDirectory();
            }
        } catch (IOException e) {
            DiskProblem disk = DiskProblem.of(e);
            String why = disk != null ? disk.describe() : describe(e);
            throw new SqueezeException("Cannot write " + what + " in folder " + dir + ": " + why, FIX, e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // Best effort: a leftover is hidden, named .part, never loaded, and removed by the next save.
                }
            }
        }
    }

    private static byte[] serialize(CompressedTensor tensor) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream oos = new ObjectOutputStream(bytes)) {
            oos.writeObject(tensor);
        } catch (IOException e) {
            // In memory, the only failure is a tensor class that does not serialize: a programming error.
            throw new IllegalStateException("cannot serialize " + tensor.getClass().getName() + ": " + e, e);
        }
        return bytes.toByteArray();
    }

    /** Temp files of this layer left by a process killed mid-save: only one worker writes a job's folder. */
    private void deleteStaleTemps(Path target) throws IOException {
        try (DirectoryStream<Path> stale = Files.newDirectoryStream(dir, "." + target.getFileName() + "*" + TEMP_SUFFIX)) {
            for (Path p : stale) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Makes the rename itself durable. Not every platform can open a folder for syncing; then the OS decides. */
    private void syncDirectory() {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.debug("cannot sync folder {}: {}", dir, e.toString());
        }
    }

    /** The checkpoint of layer {@code index}; never throws for a missing, damaged or foreign file. */
    public Loaded load(int index, String layer) {
        Path file = file(index);
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > Integer.MAX_VALUE - 16) {
                return damaged(file, "is " + size + " bytes, larger than any checkpoint can be");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new Loaded.Missing();
        } catch (IOException | OutOfMemoryError e) {
            return damaged(file, "cannot be read: " + e);
        }
        return parse(file, bytes, index, layer);
    }

    /** Checks and decodes the bytes of {@code file} (package-private so that tests can damage them in memory). */
    Loaded parse(Path file, byte[] bytes, int index, String layer) {
        if (bytes.length < MAGIC.length || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            return damaged(file, "is not a Squeeze checkpoint (bad magic; " + bytes.length + " bytes)");
        }
        int body = bytes.length - DIGEST_BYTES;
        if (body < MAGIC.length) {
            return damaged(file, "is truncated (" + bytes.length + " bytes)");
        }
        MessageDigest md = sha256();
        md.update(bytes, 0, body);
        if (!MessageDigest.isEqual(md.digest(), Arrays.copyOfRange(bytes, body, bytes.length))) {
            return damaged(file, "fails its SHA-256 check (truncated or corrupted, " + bytes.length + " bytes)");
        }
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, MAGIC.length, body - MAGIC.length));
            int version = in.readInt();
            if (version != FORMAT_VERSION) {
                return damaged(file, "has format version " + version + "; this Squeeze reads " + FORMAT_VERSION);
            }
            String key = readString(in);
            if (!jobKey.equals(key)) {
                return damaged(file, "belongs to another job (key " + key + ", expected " + jobKey + ")");
            }
            int savedIndex = in.readInt();
            String savedLayer = readString(in);
            if (savedIndex != index || !Objects.equals(savedLayer, layer)) {
                return damaged(file, "holds layer " + savedLayer + " at index " + savedIndex + ", expected layer "
                        + layer + " at index " + index);
            }
            int n = in.readInt();
            if (n < 0 || n > in.available()) {
                return damaged(file, "declares a " + n + "-byte tensor with " + in.available() + " bytes left");
            }
            byte[] serialized = in.readNBytes(n);
            RunRecord.LayerResult result = new RunRecord.LayerResult(readString(in), readString(in), readString(in),
                    in.readLong(), Double.longBitsToDouble(in.readLong()), readReconError(in), in.readLong());
            if (in.available() != 0) {
                return damaged(file, "has " + in.available() + " unexpected bytes after the layer result");
            }
            Object tensor;
            try {
                tensor = deserialize(serialized);
            } catch (IOException | ClassNotFoundException | RuntimeException e) {
                return damaged(file, "holds a tensor that cannot be restored: " + oneLine(e.toString()));
            }
            if (!(tensor instanceof CompressedTensor t)) {
                return damaged(file, "holds a " + (tensor == null ? "null" : tensor.getClass().getName())
                        + " instead of a compressed tensor");
            }
            return new Loaded.Present(t, result);
        } catch (IOException e) {
            return damaged(file, "is truncated or malformed: " + oneLine(e.toString()));
        }
    }

    private static Double readReconError(DataInputStream in) throws IOException {
        boolean present = in.readBoolean();
        long bits = in.readLong();
        return present ? Double.longBitsToDouble(bits) : null;
    }

    private static Object deserialize(byte[] serialized) throws IOException, ClassNotFoundException {
        AllowList filter = new AllowList(serialized.length);
        try (ObjectInputStream ois = new ObjectInputStream(new ByteArrayInputStream(serialized))) {
            ois.setObjectInputFilter(filter);
            Object o = ois.readObject();
            if (ois.read() != -1) {
                throw new java.io.StreamCorruptedException("bytes after the tensor object");
            }
            return o;
        } catch (java.io.InvalidClassException e) {
            throw filter.rejected == null ? e : new java.io.InvalidClassException(filter.rejected, e.getMessage());
        }
    }

    /**
     * The allow-list: compress classes, the enum base class (every enum's descriptor names it), and primitive
     * arrays no longer than the stream itself (so a forged length cannot make us allocate gigabytes), within
     * limits on depth and references. It remembers what it rejected, for the Damaged reason.
     */
    static final class AllowList implements ObjectInputFilter {
        private final long streamBytes;
        private String rejected;

        AllowList(long streamBytes) {
            this.streamBytes = streamBytes;
        }

        @Override
        public Status checkInput(FilterInfo info) {
            if (info.depth() > MAX_DEPTH) {
                return reject("depth " + info.depth());
            }
            if (info.references() > MAX_REFERENCES) {
                return reject(info.references() + " references");
            }
            if (info.streamBytes() > streamBytes) {
                return reject("reads past the stream");
            }
            Class<?> c = info.serialClass();
            if (c == null) {
                return Status.ALLOWED;
            }
            Class<?> element = c;
            while (element.isArray()) {
                element = element.getComponentType();
            }
            if (!element.isPrimitive() && !allowedClass(element)) {
                return reject("class " + c.getName() + " is not allowed in a checkpoint");
            }
            // arrayLength is -1 when only the class is checked; a real array cannot outgrow its stream.
            if (c.isArray() && info.arrayLength() > streamBytes) {
                return reject("an array of " + info.arrayLength() + " elements in a " + streamBytes + "-byte stream");
            }
            return Status.ALLOWED;
        }

        private Status reject(String why) {
            if (rejected == null) {
                rejected = why;
            }
            return Status.REJECTED;
        }
    }

    private static boolean allowedClass(Class<?> c) {
        return c == Enum.class || c.getName().startsWith("dev.squeeze.engine.compress.");
    }

    private static final byte[] STATE_MAGIC = "SQSTATE1".getBytes(StandardCharsets.US_ASCII);

    /** The largest job state accepted back (a search's state is a few kilobytes to a few megabytes). */
    private static final int MAX_STATE_BYTES = 256 << 20;

    /** The file of a job's state saved under {@code key} (letters, digits, '-', '_', '.'). */
    Path stateFile(String key) {
        if (!key.matches("[A-Za-z0-9._-]{1,100}")) {
            throw new IllegalArgumentException("bad state key '" + key + "'");
        }
        return dir.resolve("state-" + key + ".bin");
    }

    /**
     * Saves a job's state under {@code key} (a search's last generation), replacing the earlier one; atomic like
     * {@link #save}: magic {@code SQSTATE1}, the job key, the bytes, a SHA-256 of all of it.
     */
    public void saveState(String key, byte[] state) {
        writeChecked(stateFile(key), "the job state '" + key + "'", out -> {
            out.write(STATE_MAGIC);
            writeString(out, jobKey);
            writeString(out, key);
            out.writeInt(state.length);
            out.write(state);
        });
    }

    /**
     * The state saved under {@code key}: empty when there is none; a damaged or foreign file is reported to
     * {@code damaged} (with why) and treated as none. Never throws for what is on disk.
     */
    public java.util.Optional<byte[]> loadState(String key, java.util.function.Consumer<String> damaged) {
        Path file = stateFile(key);
        byte[] bytes;
        try {
            if (!Files.exists(file)) {
                return java.util.Optional.empty();
            }
            if (Files.size(file) > MAX_STATE_BYTES) {
                damaged.accept(file + " is larger than any job state can be");
                return java.util.Optional.empty();
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            damaged.accept("cannot read " + file + ": " + describe(e));
            return java.util.Optional.empty();
        }
        int body = bytes.length - 32;
        if (body < STATE_MAGIC.length || !Arrays.equals(bytes, 0, STATE_MAGIC.length, STATE_MAGIC, 0, STATE_MAGIC.length)) {
            damaged.accept(file + " is not a Squeeze job state (bad magic)");
            return java.util.Optional.empty();
        }
        MessageDigest md = sha256();
        md.update(bytes, 0, body);
        if (!Arrays.equals(md.digest(), 0, 32, bytes, body, bytes.length)) {
            damaged.accept(file + " is damaged (checksum mismatch)");
            return java.util.Optional.empty();
        }
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, STATE_MAGIC.length,
                    body - STATE_MAGIC.length));
            String job = readString(in);
            String k = readString(in);
            if (!jobKey.equals(job) || !key.equals(k)) {
                damaged.accept(file + " belongs to another job");
                return java.util.Optional.empty();
            }
            int n = in.readInt();
            if (n < 0 || n > in.available()) {
                damaged.accept(file + " is truncated");
                return java.util.Optional.empty();
            }
            return java.util.Optional.of(in.readNBytes(n));
        } catch (IOException e) {
            damaged.accept(file + " is truncated");
            return java.util.Optional.empty();
        }
    }

    /** Removes the job's folder and every checkpoint in it (the job finished or was cancelled). */
    public void deleteAll() {
        if (!Files.isDirectory(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return; // never saved (or something else sits there, which is not ours to delete)
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new SqueezeException("Cannot delete the checkpoint folder " + dir + ": " + e,
                    "delete the folder by hand; it only holds checkpoints of a finished or cancelled job", e);
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n == -1) {
            return null;
        }
        if (n < 0 || n > in.available()) {
            throw new java.io.EOFException("a " + n + "-byte string with " + in.available() + " bytes left");
        }
        return new String(in.readNBytes(n), StandardCharsets.UTF_8);
    }

    private static Loaded damaged(Path file, String what) {
        String reason = "Checkpoint " + file + " " + oneLine(what);
        // Debug only: the job reports the reason when it recomputes the layer.
        LOG.debug("{}; the layer will be recomputed", reason);
        return new Loaded.Damaged(reason);
    }

    private static String oneLine(String s) {
        return s.replace('\n', ' ').replace('\r', ' ');
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
