package dev.squeeze.engine.jobs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LogTailTest {
    @TempDir
    Path dir;

    @Test
    void tailReadsTheEndOfAFile() throws Exception {
        Path f = dir.resolve("t.log");
        Files.writeString(f, "a\nb\nc");
        assertEquals("b\nc", LogTail.lastLines(f, 2), "no line break at the end");
        assertEquals("a\nb\nc", LogTail.lastLines(f, 200), "fewer lines than asked: all");
        Files.writeString(f, "a\nb\nc\n");
        assertEquals("b\nc\n", LogTail.lastLines(f, 2));
        Files.writeString(f, "");
        assertEquals("", LogTail.lastLines(f, 200));
        Files.writeString(f, "\u00e4\u00f6\u00fc \u2192 done\n");
        assertEquals("\u00e4\u00f6\u00fc \u2192 done\n", LogTail.lastLines(f, 1), "UTF-8");
    }

    @Test
    void fromReadsThisAttemptsPartButAtMostTheLastBytes() throws Exception {
        Path f = dir.resolve("w.log");
        Files.writeString(f, "first attempt\nsecond attempt\n");
        assertEquals("second attempt\n", LogTail.from(f, 14, 16_384), "from the attempt's start");
        assertEquals("attempt\n", LogTail.from(f, 0, 8), "only the last 8 bytes");
        assertEquals("", LogTail.from(f, 1_000, 16_384), "an offset past the end reads nothing");
    }
}
