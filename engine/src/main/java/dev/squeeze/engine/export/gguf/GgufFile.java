package dev.squeeze.engine.export.gguf;

import dev.squeeze.engine.SqueezeException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a GGUF file (versions 2 and 3): its metadata, its tensor directory, and any tensor row decoded to floats
 * (every {@link GgmlType}). Only the header is read on opening; rows are read when asked for. Every count, length
 * and offset is checked against the file's size before it is used, so a damaged or hostile file is refused with
 * what is wrong and where, never read past its end or allowed to allocate what it does not hold.
 */
public final class GgufFile implements AutoCloseable {
    private static final int MAX_COUNT = 10_000_000;

    private final Path file;
    private final FileChannel channel;
    private final long size;
    private final Map<String, GgufValue> metadata;
    private final List<GgufTensor> tensors;
    private final long dataStart;

    private GgufFile(Path file, FileChannel channel, long size, Map<String, GgufValue> metadata,
                     List<GgufTensor> tensors, long dataStart) {
        this.file = file;
        this.channel = channel;
        this.size = size;
        this.metadata = metadata;
        this.tensors = tensors;
        this.dataStart = dataStart;
    }

    public static GgufFile open(Path file) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new SqueezeException("Cannot open " + file + ": " + e.getMessage(),
                    "check that the file exists and is readable");
        }
        try {
            return read(file, ch);
        } catch (RuntimeException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // The error that matters is the one being thrown.
            }
            throw e;
        }
    }

    private static GgufFile read(Path file, FileChannel ch) {
        In in = new In(file, ch);
        long magic = in.u32("magic");
        if (magic != (GgufWriter.MAGIC & 0xffffffffL)) {
            throw in.bad(0, String.format("does not start with the GGUF magic (found 0x%08x)", magic),
                    "this is not a GGUF file");
        }
        long version = in.u32("version");
        if (version != 2 && version != 3) {
            throw in.bad(4, "is GGUF version " + version + "; Squeeze reads versions 2 and 3",
                    "convert it with a current llama.cpp");
        }
        long tensorCount = in.count("tensor count");
        long kvCount = in.count("metadata count");
        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long at = in.position();
            String key = in.string("metadata key");
            int type = (int) in.u32("type of '" + key + "'");
            if (metadata.put(key, in.value(type, key)) != null) {
                throw in.bad(at, "has the metadata key '" + key + "' twice", "the file is damaged");
            }
        }
        long alignment = GgufWriter.ALIGNMENT;
        GgufValue a = metadata.get("general.alignment");
        if (a != null) {
            if (a.type() != GgufValue.UINT32 || a.asLong() == 0 || Long.bitCount(a.asLong()) != 1) {
                throw in.bad(0, "has general.alignment " + a.value() + "; it must be a UINT32 power of two",
                        "the file is damaged");
            }
            alignment = a.asLong();
        }
        List<GgufTensor> tensors = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (long i = 0; i < tensorCount; i++) {
            long at = in.position();
            String name = in.string("tensor name");
            if (!names.add(name)) {
                throw in.bad(at, "lists the tensor '" + name + "' twice", "the file is damaged");
            }
            long dims = in.u32("dimensions of '" + name + "'");
            if (dims < 1 || dims > 2) {
                throw in.bad(at, "has tensor '" + name + "' with " + dims + " dimensions; Squeeze reads 1-D and 2-D"
                        + " tensors", "use a model whose weights are matrices and vectors");
            }
            long cols = in.dimension(name);
            long rows = dims == 2 ? in.dimension(name) : 1;
            GgmlType type = GgmlType.of((int) in.u32("type of '" + name + "'"), name);
            long offset = in.u64("offset of '" + name + "'");
            if (cols % type.blockSize() != 0) {
                throw in.bad(at, "has tensor '" + name + "' of type " + type + " with rows of " + cols + " values, not"
                        + " a multiple of its block of " + type.blockSize(), "the file is damaged");
            }
            if (offset < 0) {
                throw in.bad(at, "places tensor '" + name + "' at offset " + Long.toUnsignedString(offset)
                        + ", past any file", "the file is damaged");
            }
            if (offset % alignment != 0) {
                throw in.bad(at, "places tensor '" + name + "' at offset " + offset + ", not a multiple of the"
                        + " alignment " + alignment, "the file is damaged");
            }
            tensors.add(new GgufTensor(name, rows, cols, (int) dims, type, offset));
        }
        long dataStart = (in.position() + alignment - 1) / alignment * alignment;
        for (GgufTensor t : tensors) {
            long end;
            try {
                end = Math.addExact(Math.addExact(dataStart, t.offset()), Math.multiplyExact(t.rows(),
                        t.type().rowBytes(t.cols())));
            } catch (ArithmeticException e) {
                end = Long.MAX_VALUE;
            }
            if (end > in.size()) {
                throw in.bad(dataStart + t.offset(), "ends before the data of tensor '" + t.name() + "' ("
                        + t.rows() + " × " + t.cols() + " " + t.type() + ")", "the file is truncated: download or"
                        + " write it again");
            }
        }
        return new GgufFile(file, ch, in.size(), Collections.unmodifiableMap(metadata), List.copyOf(tensors),
                dataStart);
    }

    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    public List<GgufTensor> tensors() {
        return tensors;
    }

    /** The tensor called {@code name}, or null. */
    public GgufTensor tensor(String name) {
        for (GgufTensor t : tensors) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** Row {@code row} of {@code t}, decoded. */
    public float[] row(GgufTensor t, long row) {
        if (row < 0 || row >= t.rows()) {
            throw new IndexOutOfBoundsException("row " + row + " of " + t.name());
        }
        long rowBytes = t.type().rowBytes(t.cols());
        if (rowBytes > Integer.MAX_VALUE - 16) {
            throw new SqueezeException("Tensor '" + t.name() + "' of " + file + " has rows of " + rowBytes
                    + " bytes; Squeeze reads rows of up to 2 GiB", "use a model with smaller matrices");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) rowBytes);
        long at = dataStart + t.offset() + row * rowBytes;
        try {
            while (buf.hasRemaining()) {
                if (channel.read(buf, at + buf.position()) < 0) {
                    throw new SqueezeException(file + " ended while reading tensor '" + t.name() + "'",
                            "the file was truncated while open: write it again");
                }
            }
        } catch (IOException e) {
            throw new SqueezeException("Cannot read tensor '" + t.name() + "' of " + file + ": " + e.getMessage(),
                    "check that the file is readable");
        }
        buf.flip();
        float[] values = new float[Math.toIntExact(t.cols())];
        GgmlBlocks.decode(t.type(), buf, values);
        return values;
    }

    /** Where the data section starts (tensor offsets count from here). */
    public long dataStart() {
        return dataStart;
    }

    /** The file's size in bytes. */
    public long size() {
        return size;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Read-only: nothing is lost.
        }
    }

    /** Buffered little-endian reads of the header, each checked against the file's size. */
    private static final class In {
        private final Path file;
        private final FileChannel ch;
        private final long size;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        private long bufStart;

        In(Path file, FileChannel ch) {
            this.file = file;
            this.ch = ch;
            try {
                this.size = ch.size();
            } catch (IOException e) {
                throw new SqueezeException("Cannot read " + file + ": " + e.getMessage(), "check the file");
            }
            buf.limit(0);
        }

        long size() {
            return size;
        }

        long position() {
            return bufStart + buf.position();
        }

        SqueezeException bad(long at, String what, String fix) {
            return new SqueezeException("The GGUF file " + file + " " + what + " (at byte " + at + ")", fix);
        }

        private void need(int n, String what) {
            if (buf.remaining() >= n) {
                return;
            }
            long at = position();
            if (at + n > size) {
                throw bad(at, "ends inside its header while reading the " + what, "the file is truncated or not"
                        + " GGUF: download or write it again");
            }
            buf.compact(); // the unread bytes, from file offset `at`, move to the buffer's start
            bufStart = at;
            try {
                while (buf.position() < n) {
                    if (ch.read(buf, bufStart + buf.position()) < 0) {
                        throw bad(at, "ends inside its header while reading the " + what, "the file is truncated");
                    }
                }
            } catch (IOException e) {
                throw new SqueezeException("Cannot read " + file + ": " + e.getMessage(), "check the file");
            }
            buf.flip();
        }

        long u32(String what) {
            need(4, what);
            return buf.getInt() & 0xffffffffL;
        }

        long u64(String what) {
            need(8, what);
            return buf.getLong();
        }

        /** A count of things that each take at least one byte: no more than the bytes left. */
        long count(String what) {
            long at = position();
            long n = u64(what);
            if (n < 0 || n > MAX_COUNT || n > size - position()) {
                throw bad(at, "gives a " + what + " of " + Long.toUnsignedString(n) + ", more than it can hold",
                        "the file is damaged");
            }
            return n;
        }

        long dimension(String tensor) {
            long at = position();
            long d = u64("dimension of '" + tensor + "'");
            if (d <= 0 || d > Integer.MAX_VALUE) {
                throw bad(at, "gives tensor '" + tensor + "' a dimension of " + Long.toUnsignedString(d),
                        "the file is damaged");
            }
            return d;
        }

        String string(String what) {
            long at = position();
            long n = u64(what + " length");
            if (n < 0 || n > size - position() || n > Integer.MAX_VALUE - 16) {
                throw bad(at, "gives a " + what + " of " + Long.toUnsignedString(n) + " bytes, more than is left",
                        "the file is damaged");
            }
            byte[] b = new byte[(int) n];
            int done = 0;
            while (done < b.length) {
                int chunk = Math.min(b.length - done, buf.capacity() / 2);
                need(chunk, what);
                buf.get(b, done, chunk);
                done += chunk;
            }
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                throw bad(at, "has a " + what + " that is not UTF-8", "the file is damaged");
            }
        }

        GgufValue value(int type, String key) {
            long at = position();
            return switch (type) {
                case GgufValue.UINT8 -> {
                    need(1, key);
                    yield new GgufValue(type, -1, (long) (buf.get() & 0xff));
                }
                case GgufValue.INT8 -> {
                    need(1, key);
                    yield new GgufValue(type, -1, (long) buf.get());
                }
                case GgufValue.UINT16 -> {
                    need(2, key);
                    yield new GgufValue(type, -1, (long) (buf.getShort() & 0xffff));
                }
                case GgufValue.INT16 -> {
                    need(2, key);
                    yield new GgufValue(type, -1, (long) buf.getShort());
                }
                case GgufValue.UINT32 -> new GgufValue(type, -1, u32(key));
                case GgufValue.INT32 -> new GgufValue(type, -1, (long) (int) u32(key));
                case GgufValue.UINT64, GgufValue.INT64 -> new GgufValue(type, -1, u64(key));
                case GgufValue.FLOAT32 -> new GgufValue(type, -1, Float.intBitsToFloat((int) u32(key)));
                case GgufValue.FLOAT64 -> new GgufValue(type, -1, Double.longBitsToDouble(u64(key)));
                case GgufValue.BOOL -> {
                    need(1, key);
                    byte b = buf.get();
                    if (b != 0 && b != 1) {
                        throw bad(at, "has the boolean '" + key + "' = " + b, "the file is damaged");
                    }
                    yield new GgufValue(type, -1, b == 1);
                }
                case GgufValue.STRING -> new GgufValue(type, -1, string("value of '" + key + "'"));
                case GgufValue.ARRAY -> {
                    int element = (int) u32("element type of '" + key + "'");
                    if (element == GgufValue.ARRAY) {
                        throw bad(at, "nests arrays in '" + key + "'", "Squeeze reads arrays of scalars and strings");
                    }
                    long n = count("length of '" + key + "'");
                    List<Object> list = new ArrayList<>((int) Math.min(n, 1 << 16));
                    for (long i = 0; i < n; i++) {
                        list.add(value(element, key).value());
                    }
                    yield new GgufValue(type, element, Collections.unmodifiableList(list));
                }
                default -> throw bad(at, "gives '" + key + "' the unknown value type " + type, "the file is damaged");
            };
        }
    }
}
