package dev.squeeze.engine.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads NumPy {@code .npz} archives (a zip of {@code .npy} arrays): the reference outputs in shared/reference.
 * Supports little-endian f4, f8, i4, i8 and u1 arrays in C order, which is all the references use.
 */
public final class Npz {
    /** One array: its dtype descriptor, shape and raw little-endian bytes. */
    public record Array(String descr, int[] shape, ByteBuffer data) {
        public int size() {
            int n = 1;
            for (int d : shape) {
                n *= d;
            }
            return n;
        }

        public float[] floats() {
            float[] out = new float[size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = switch (descr) {
                    case "<f4" -> data.getFloat(4 * i);
                    case "<f8" -> (float) data.getDouble(8 * i);
                    default -> throw new IllegalStateException("not a float array: " + descr);
                };
            }
            return out;
        }

        public double[] doubles() {
            double[] out = new double[size()];
            float[] f = descr.equals("<f8") ? null : floats();
            for (int i = 0; i < out.length; i++) {
                out[i] = f == null ? data.getDouble(8 * i) : f[i];
            }
            return out;
        }

        public int[] ints() {
            int[] out = new int[size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = switch (descr) {
                    case "<i4" -> data.getInt(4 * i);
                    case "<i8" -> Math.toIntExact(data.getLong(8 * i));
                    case "|u1" -> data.get(i) & 0xff;
                    default -> throw new IllegalStateException("not an integer array: " + descr);
                };
            }
            return out;
        }

        public String utf8() {
            byte[] b = new byte[size()];
            data.duplicate().get(b);
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']+)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    private Npz() {
    }

    public static Map<String, Array> read(Path file) throws IOException {
        Map<String, Array> out = new HashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                try (InputStream in = zip.getInputStream(e)) {
                    out.put(e.getName().replaceFirst("\\.npy$", ""), npy(in.readAllBytes(), e.getName()));
                }
            }
        }
        return out;
    }

    private static int itemSize(String descr) {
        return Integer.parseInt(descr.substring(2));
    }

    /** Re-lays a Fortran-ordered (column-major) array out in C order, so every accessor can assume C order. */
    private static ByteBuffer toCOrder(ByteBuffer fortran, int[] shape, int item) {
        int n = 1;
        for (int dim : shape) {
            n *= dim;
        }
        byte[] out = new byte[n * item];
        int[] index = new int[shape.length];
        for (int c = 0; c < n; c++) {
            // index = the C-order multi-index of element c; its Fortran offset has stride 1 on the first axis.
            int f = 0;
            int stride = 1;
            for (int k = 0; k < shape.length; k++) {
                f += index[k] * stride;
                stride *= shape[k];
            }
            fortran.get(f * item, out, c * item, item);
            for (int k = shape.length - 1; k >= 0; k--) {
                if (++index[k] < shape[k]) {
                    break;
                }
                index[k] = 0;
            }
        }
        return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    }

    static Array npy(byte[] bytes, String name) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 10 || bytes[0] != (byte) 0x93 || bytes[1] != 'N') {
            throw new IllegalArgumentException(name + ": not a .npy array");
        }
        int major = bytes[6];
        int headerLen = major == 1 ? b.getShort(8) & 0xffff : b.getInt(8);
        int start = major == 1 ? 10 : 12;
        String header = new String(bytes, start, headerLen, StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header);
        Matcher o = ORDER.matcher(header);
        Matcher s = SHAPE.matcher(header);
        if (!d.find() || !o.find() || !s.find()) {
            throw new IllegalArgumentException(name + ": unreadable header " + header);
        }
        String[] dims = s.group(1).split(",");
        int[] shape = java.util.Arrays.stream(dims).map(String::trim).filter(x -> !x.isEmpty())
                .mapToInt(Integer::parseInt).toArray();
        ByteBuffer data = b.slice(start + headerLen, bytes.length - start - headerLen).order(ByteOrder.LITTLE_ENDIAN);
        if (o.group(1).equals("True")) {
            data = toCOrder(data, shape, itemSize(d.group(1)));
        }
        return new Array(d.group(1), shape, data);
    }
}
