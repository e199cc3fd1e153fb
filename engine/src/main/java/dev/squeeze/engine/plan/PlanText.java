package dev.squeeze.engine.plan;

import dev.squeeze.engine.SqueezeException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Reads a plan file as text: UTF-8 (as JSON is), at most a given size, with errors that name the file and, for a
 * byte that is not UTF-8, its offset and line — "Input length = 1", the JDK's own message, tells nobody anything.
 */
final class PlanText {
    private PlanText() {
    }

    static String read(Path file, int maxBytes) {
        if (Files.isDirectory(file)) {
            throw new SqueezeException("Plan file " + file + " is a folder", "give the plan's JSON file");
        }
        byte[] bytes;
        // Read at most one byte past the limit: a device such as /dev/zero never ends.
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(maxBytes + 1);
        } catch (NoSuchFileException e) {
            throw new SqueezeException("Plan file " + file + " does not exist", "check the path");
        } catch (AccessDeniedException e) {
            throw new SqueezeException("Cannot read plan file " + file + ": permission denied",
                    "make it readable (chmod +r), or copy it somewhere you can read", e);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read plan file " + file + ": " + e.getMessage(),
                    "check the path and its permissions", e);
        }
        if (bytes.length > maxBytes) {
            throw new SqueezeException(String.format(Locale.ROOT, "Plan file %s is larger than %,d bytes, the most a"
                            + " plan may have", file, maxBytes),
                    "split it, or give many layers one setting with a \"match\": \"regex:...\" entry");
        }
        return decode(file, bytes);
    }

    private static String decode(Path file, byte[] bytes) {
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = utf8.decode(in, out, true);
        if (!r.isError()) {
            r = utf8.flush(out);
        }
        if (r.isError()) {
            int at = in.position();
            int line = 1;
            for (int i = 0; i < at; i++) {
                if (bytes[i] == '\n') {
                    line++;
                }
            }
            throw new SqueezeException(String.format(Locale.ROOT, "Plan file %s is not UTF-8 text: the byte 0x%02X at"
                            + " offset %,d (line %d) is not valid UTF-8", file, bytes[at] & 0xff, at, line),
                    "save the plan as UTF-8 (JSON files are UTF-8), e.g. iconv -f latin1 -t utf-8 old.json > new.json");
        }
        out.flip();
        String text = out.toString();
        // Some Windows editors start UTF-8 files with a byte-order mark; it is not part of the JSON.
        return text.startsWith("\uFEFF") ? text.substring(1) : text;
    }
}
