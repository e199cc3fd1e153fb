package dev.squeeze.engine.data;

import dev.squeeze.engine.SqueezeException;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads IDX files (the MNIST / Fashion-MNIST format), gzipped or not: a magic of two zero bytes, a type byte
 * (0x08 = unsigned byte) and the number of dimensions, then one big-endian int32 per dimension, then the data.
 */
public final class IdxReader {
    private static final int UBYTE = 0x08;

    private IdxReader() {
    }

    /** Reads an image file and its label file into one set. */
    public static ImageSet readImages(Path images, Path labels) {
        Idx img = read(images);
        Idx lab = read(labels);
        if (img.dims.length != 3) {
            throw new SqueezeException("IDX file " + images + " has " + img.dims.length
                    + " dimensions; an image file has 3 (count, rows, cols)", "pass the images file first");
        }
        if (lab.dims.length != 1 || lab.dims[0] != img.dims[0]) {
            throw new SqueezeException("IDX label file " + labels + " holds " + lab.dims[0] + " labels but "
                    + images + " holds " + img.dims[0] + " images", "pair each image file with its own label file");
        }
        String name = images.getFileName().toString().replaceFirst("-images.*", "");
        return new ImageSet(name, img.dims[0], img.dims[1], img.dims[2], img.data, lab.data);
    }

    /** Reads an image set from two in-memory IDX images (e.g. classpath resources). */
    public static ImageSet readImages(String name, byte[] images, byte[] labels) {
        Idx img = read(new ByteArrayInputStream(images), name + " images");
        Idx lab = read(new ByteArrayInputStream(labels), name + " labels");
        if (img.dims.length != 3 || lab.dims.length != 1 || lab.dims[0] != img.dims[0]) {
            throw new SqueezeException("IDX pair " + name + " is inconsistent: images " + java.util.Arrays.toString(img.dims)
                    + ", labels " + java.util.Arrays.toString(lab.dims), "get a fresh copy of the data");
        }
        return new ImageSet(name, img.dims[0], img.dims[1], img.dims[2], img.data, lab.data);
    }

    record Idx(int[] dims, byte[] data) {
    }

    static Idx read(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toAbsolutePath().toString());
        } catch (IOException e) {
            throw new SqueezeException("Cannot read IDX file " + file.toAbsolutePath() + ": " + e.getMessage(),
                    "check that the file exists and is readable", e);
        }
    }

    static Idx read(InputStream raw, String where) {
        try {
            BufferedInputStream in = new BufferedInputStream(raw);
            in.mark(2);
            int b0 = in.read();
            int b1 = in.read();
            in.reset();
            InputStream data = (b0 == 0x1f && b1 == 0x8b) ? new GZIPInputStream(in, 1 << 16) : in;
            byte[] head = readFully(data, 4, where, 0);
            if (head[0] != 0 || head[1] != 0) {
                throw corrupt(where, "offset 0: magic bytes are " + hex(head[0]) + " " + hex(head[1])
                        + ", expected 00 00");
            }
            if ((head[2] & 0xff) != UBYTE) {
                throw corrupt(where, "offset 2: element type " + hex(head[2]) + " is not 0x08 (unsigned byte)");
            }
            int rank = head[3] & 0xff;
            if (rank < 1 || rank > 4) {
                throw corrupt(where, "offset 3: " + rank + " dimensions; expected 1 to 4");
            }
            ByteBuffer dimBytes = ByteBuffer.wrap(readFully(data, 4 * rank, where, 4));
            int[] dims = new int[rank];
            long total = 1;
            for (int i = 0; i < rank; i++) {
                dims[i] = dimBytes.getInt();
                if (dims[i] <= 0) {
                    throw corrupt(where, "offset " + (4 + 4 * i) + ": dimension " + i + " is " + dims[i]);
                }
                total *= dims[i];
                if (total > Integer.MAX_VALUE - 8) {
                    throw corrupt(where, "dimensions multiply to more than 2^31 elements");
                }
            }
            byte[] values = readFully(data, (int) total, where, 4 + 4L * rank);
            return new Idx(dims, values);
        } catch (IOException e) {
            throw corrupt(where, "it cannot be decompressed (" + e.getMessage() + ")");
        }
    }

    private static byte[] readFully(InputStream in, int n, String where, long offset) throws IOException {
        byte[] out = in.readNBytes(n);
        if (out.length < n) {
            throw corrupt(where, "truncated at offset " + (offset + out.length) + ": expected " + n
                    + " bytes from offset " + offset);
        }
        return out;
    }

    private static SqueezeException corrupt(String where, String what) {
        return new SqueezeException("Corrupt IDX file " + where + ": " + what,
                "the file is truncated or damaged; get a fresh copy", new EOFException(what));
    }

    private static String hex(byte b) {
        return String.format("%02x", b & 0xff);
    }
}
