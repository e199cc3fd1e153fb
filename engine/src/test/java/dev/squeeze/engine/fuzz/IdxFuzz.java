package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.testing.TinyModels;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * IDX image sets (MNIST layout), plain or gzipped. The first input byte says which of the pair is damaged (even:
 * the images file, odd: the labels file); the other one is a valid file of 6 images.
 */
public final class IdxFuzz {
    private static final byte[][] VALID = validPair();

    private IdxFuzz() {
    }

    public static void fuzzerInitialize() {
        FuzzFiles.warmUp(IdxFuzz::seeds, IdxFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        if (data.length == 0) {
            return;
        }
        byte[] file = Arrays.copyOfRange(data, 1, data.length);
        boolean images = (data[0] & 1) == 0;
        Path img = FuzzFiles.write("images.idx", images ? file : VALID[0]);
        Path lab = FuzzFiles.write("labels.idx", images ? VALID[1] : file);
        FuzzFiles.refusedOnlyCleanly(() -> {
            ImageSet set = IdxReader.readImages(img, lab);
            // Touch what evaluation touches: every image's pixels and its label.
            for (int i = 0; i < set.count(); i++) {
                set.label(i);
            }
            set.batch(0, set.count());
        });
    }

    static Map<String, byte[]> seeds() throws Exception {
        Map<String, byte[]> out = new LinkedHashMap<>();
        out.put("images", prefixed(0, VALID[0]));
        out.put("labels", prefixed(1, VALID[1]));
        out.put("images-gz", prefixed(0, gzip(VALID[0])));
        out.put("labels-gz", prefixed(1, gzip(VALID[1])));
        return out;
    }

    private static byte[][] validPair() {
        try {
            Path dir = Files.createTempDirectory(FuzzFiles.scratch(), "idx");
            Path[] files = TinyModels.writeIdx(dir, TinyModels.images(6, 3));
            return new byte[][]{Files.readAllBytes(files[0]), Files.readAllBytes(files[1])};
        } catch (Exception e) {
            throw new IllegalStateException("cannot build the IDX seeds", e);
        }
    }

    private static byte[] prefixed(int first, byte[] rest) {
        byte[] out = new byte[rest.length + 1];
        out[0] = (byte) first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    static byte[] gzip(byte[] data) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(data);
        }
        return bytes.toByteArray();
    }
}
