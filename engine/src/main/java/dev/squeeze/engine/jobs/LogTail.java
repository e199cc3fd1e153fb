package dev.squeeze.engine.jobs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The end of a worker's log, read without reading the whole file (a long job's log grows to megabytes): the
 * workbench's Log dialog shows its last lines, a failed job's reason quotes its last bytes.
 */
public final class LogTail {
    private LogTail() {
    }

    /**
     * The last {@code lines} lines of a text file (UTF-8; a line break at its very end does not start another
     * line), reading only the end of the file. At most 4 MiB are read; a longer tail is cut at its start.
     */
    public static String lastLines(Path file, int lines) throws IOException {
        final int maxBytes = 4 << 20;
        long start;
        try (SeekableByteChannel ch = Files.newByteChannel(file)) {
            long size = ch.size();
            start = size;
            int breaks = 0;
            ByteBuffer block = ByteBuffer.allocate(8192);
            long stopAt = Math.max(0, size - maxBytes);
            // Count line breaks backwards until one more than the lines wanted (the break before the first line).
            scan:
            while (start > stopAt) {
                int n = (int) Math.min(block.capacity(), start - stopAt);
                block.clear().limit(n);
                ch.position(start - n);
                while (block.hasRemaining() && ch.read(block) >= 0) {
                    // fill the block
                }
                for (int i = n - 1; i >= 0; i--) {
                    long at = start - n + i;
                    if (block.get(i) == '\n' && at != size - 1) {
                        breaks++;
                        if (breaks == lines) {
                            start = at + 1;
                            break scan;
                        }
                    }
                }
                start -= n;
            }
        }
        return from(file, start, maxBytes);
    }


    /**
     * The text from byte {@code from} to the end of the file, but at most its last {@code maxBytes} bytes (UTF-8;
     * a character cut at the start becomes U+FFFD).
     */
    public static String from(Path file, long from, int maxBytes) throws IOException {
        try (SeekableByteChannel ch = Files.newByteChannel(file)) {
            long size = ch.size();
            long start = Math.max(Math.min(Math.max(0, from), size), size - maxBytes);
            ByteBuffer text = ByteBuffer.allocate((int) (size - start));
            ch.position(start);
            while (text.hasRemaining() && ch.read(text) >= 0) {
                // read to the end
            }
            return new String(text.array(), 0, text.position(), StandardCharsets.UTF_8);
        }
    }
}
