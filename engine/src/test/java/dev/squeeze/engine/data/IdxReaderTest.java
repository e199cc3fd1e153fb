package dev.squeeze.engine.data;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class IdxReaderTest {
    @TempDir
    Path dir;

    @Test
    void readsPlainAndGzippedFiles() throws Exception {
        ImageSet set = TinyModels.images(12, 3);
        Path[] files = TinyModels.writeIdx(dir, set);
        ImageSet plain = IdxReader.readImages(files[0], files[1]);
        assertEquals(12, plain.count());
        assertEquals(8, plain.rows());
        assertArrayEquals(set.pixels(), plain.pixels());
        assertArrayEquals(set.labels(), plain.labels());

        Path gzImages = dir.resolve("g-images.gz");
        Path gzLabels = dir.resolve("g-labels.gz");
        Files.write(gzImages, gzip(Files.readAllBytes(files[0])));
        Files.write(gzLabels, gzip(Files.readAllBytes(files[1])));
        ImageSet gz = IdxReader.readImages(gzImages, gzLabels);
        assertArrayEquals(set.pixels(), gz.pixels());
        assertEquals(3, gz.label(3));
    }

    @Test
    void errorsNameTheFileAndOffset() throws Exception {
        ImageSet set = TinyModels.images(4, 3);
        Path[] files = TinyModels.writeIdx(dir, set);
        byte[] bytes = Files.readAllBytes(files[0]);
        Path bad = dir.resolve("bad-images");
        Files.write(bad, java.util.Arrays.copyOf(bytes, 100));
        SqueezeException e = assertThrows(SqueezeException.class, () -> IdxReader.readImages(bad, files[1]));
        assertTrue(e.getMessage().contains("bad-images") && e.getMessage().contains("truncated at offset 100"),
                e.getMessage());
        bytes[0] = 7;
        Files.write(bad, bytes);
        e = assertThrows(SqueezeException.class, () -> IdxReader.readImages(bad, files[1]));
        assertTrue(e.getMessage().contains("offset 0: magic"), e.getMessage());
        assertThrows(SqueezeException.class, () -> IdxReader.readImages(files[1], files[0]));
    }

    @Test
    void damagedFilesNeverEscapeAsOtherExceptions() throws Exception {
        Path[] files = TinyModels.writeIdx(dir, TinyModels.images(6, 1));
        byte[] good = gzip(Files.readAllBytes(files[0]));
        Random rng = new Random(11);
        Path bad = dir.resolve("x-images.gz");
        for (int i = 0; i < 300; i++) {
            byte[] b = i % 2 == 0 ? java.util.Arrays.copyOf(good, rng.nextInt(good.length)) : good.clone();
            if (i % 2 == 1) {
                b[rng.nextInt(b.length)] ^= (byte) (1 << rng.nextInt(8));
            }
            Files.write(bad, b);
            try {
                IdxReader.readImages(bad, files[1]);
            } catch (SqueezeException expected) {
                assertTrue(expected.getMessage().contains("x-images.gz"), expected.getMessage());
            } catch (RuntimeException other) {
                fail("damaged IDX gave " + other);
            }
        }
    }

    private static byte[] gzip(byte[] data) throws Exception {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
            gz.write(data);
        }
        return bos.toByteArray();
    }
}
