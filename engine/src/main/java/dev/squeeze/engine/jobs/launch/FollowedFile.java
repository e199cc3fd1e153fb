package dev.squeeze.engine.jobs.launch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The complete lines appended to a file that another machine writes, read as they arrive ({@code tail -f}). This is
 * how the job protocol travels between a parent and a worker on a cluster node: through two files in a directory
 * both can reach, since a worker submitted with {@code sbatch} has no pipe back to the process that submitted it,
 * and must outlive it.
 *
 * <p>Every {@link #poll} opens the file again: NFS guarantees that an open sees what another client wrote and
 * closed (close-to-open consistency), while a file kept open may be served from the attribute cache for seconds. A
 * line is returned only once its newline has arrived, so a half-written line is never read.
 */
public final class FollowedFile {
    private final Path file;
    private long offset;
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

    public FollowedFile(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /** The complete lines appended since the last call (none if the file does not exist yet). */
    public List<String> poll() throws IOException {
        List<String> lines = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < offset) {
                throw new IOException(file + " became shorter (" + size + " bytes, " + offset + " read): it was replaced");
            }
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            ch.position(offset);
            int n;
            while ((n = ch.read(buf)) > 0) {
                offset += n;
                buf.flip();
                while (buf.hasRemaining()) {
                    byte b = buf.get();
                    if (b == '\n') {
                        lines.add(partial.toString(StandardCharsets.UTF_8));
                        partial.reset();
                    } else {
                        partial.write(b);
                    }
                }
                buf.clear();
            }
        } catch (NoSuchFileException e) {
            return lines;
        }
        return lines;
    }

    /** Appends one line and forces it to the disk (the other side reads it after its next open). */
    public static void append(Path file, String line) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(false);
        }
    }
}
