package dev.squeeze.engine.export.gguf;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.util.AtomicFiles;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a GGUF file (specification version 3): the header, the typed metadata, the tensor directory and the
 * tensor data, each tensor's data at an offset aligned to {@value #ALIGNMENT} bytes. Tensors are encoded row by
 * row as they are written (the model never has to be whole in memory), and the file appears under its name only
 * when complete ({@link AtomicFiles}).
 */
public final class GgufWriter {
    /** The GGUF magic, "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    public static final int VERSION = 3;
    /** The default alignment of GGUF (the file does not need {@code general.alignment} for it). */
    public static final int ALIGNMENT = 32;

    /** Gives the values of row {@code row} of a tensor. */
    @FunctionalInterface
    public interface Rows {
        float[] row(long row);
    }

    /**
     * Puts row {@code row} of a tensor, already encoded in the tensor's type (exactly
     * {@code type.rowBytes(cols)} bytes), into {@code out}: for blocks made elsewhere (a quantized layer whose
     * codes and scales are a ggml type's, written as they are rather than re-quantized from floats).
     */
    @FunctionalInterface
    public interface EncodedRows {
        void row(long row, ByteBuffer out);
    }

    /**
     * A tensor to write: its shape (1-D when {@code dimensions} is 1, then {@code rows} is 1) and its rows, given
     * either as floats that are encoded here ({@code values}) or already encoded ({@code encoded}); exactly one
     * of the two is non-null.
     */
    public record Input(String name, long rows, long cols, int dimensions, GgmlType type, Rows values,
                        EncodedRows encoded) {
        public Input {
            if (dimensions != 1 && dimensions != 2 || dimensions == 1 && rows != 1) {
                throw new IllegalArgumentException("tensors are 1-D (one row) or 2-D: " + name);
            }
            if ((values == null) == (encoded == null)) {
                throw new IllegalArgumentException("tensor " + name + " needs either float rows or encoded rows");
            }
        }

        /** A tensor whose float rows are encoded in {@code type} as they are written. */
        public Input(String name, long rows, long cols, int dimensions, GgmlType type, Rows values) {
            this(name, rows, cols, dimensions, type, values, null);
        }

        /** A tensor whose rows come already encoded in {@code type}. */
        public static Input encoded(String name, long rows, long cols, int dimensions, GgmlType type,
                                    EncodedRows encoded) {
            return new Input(name, rows, cols, dimensions, type, null, encoded);
        }
    }

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Input> tensors = new ArrayList<>();
    private final Set<String> names = new HashSet<>();

    public GgufWriter put(String key, GgufValue value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor; its row length must be a multiple of its type's block size (else: a clear error). */
    public GgufWriter add(Input tensor) {
        if (!names.add(tensor.name())) {
            throw new IllegalArgumentException("two tensors named " + tensor.name());
        }
        try {
            tensor.type().rowBytes(tensor.cols());
        } catch (SqueezeException e) {
            throw new SqueezeException("Tensor '" + tensor.name() + "' (" + tensor.rows() + " × " + tensor.cols()
                    + "): " + e.getMessage(), e.fix());
        }
        tensors.add(tensor);
        return this;
    }

    /** The directory the file will have: each tensor with its offset in the data section. */
    public List<GgufTensor> layout() {
        List<GgufTensor> out = new ArrayList<>();
        long offset = 0;
        for (Input t : tensors) {
            GgufTensor g = new GgufTensor(t.name(), t.rows(), t.cols(), t.dimensions(), t.type(), offset);
            out.add(g);
            offset = align(offset + g.bytes());
        }
        return out;
    }

    /** Writes the file; it replaces {@code file} only once complete. */
    public void write(Path file) {
        List<GgufTensor> layout = layout();
        AtomicFiles.write(file, raw -> {
            Out out = new Out(new BufferedOutputStream(raw, 1 << 20));
            out.u32(MAGIC);
            out.u32(VERSION);
            out.u64(tensors.size());
            out.u64(metadata.size());
            for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
                out.string(e.getKey());
                out.u32(e.getValue().type());
                out.value(e.getValue().type(), e.getValue().elementType(), e.getValue().value());
            }
            for (GgufTensor t : layout) {
                out.string(t.name());
                out.u32(t.dimensions());
                out.u64(t.cols());
                if (t.dimensions() == 2) {
                    out.u64(t.rows());
                }
                out.u32(t.type().id());
                out.u64(t.offset());
            }
            out.pad();
            for (int i = 0; i < tensors.size(); i++) {
                Input in = tensors.get(i);
                GgufTensor t = layout.get(i);
                ByteBuffer row = ByteBuffer.allocate((int) t.type().rowBytes(t.cols()))
                        .order(ByteOrder.LITTLE_ENDIAN);
                for (long r = 0; r < t.rows(); r++) {
                    row.clear();
                    if (in.encoded() != null) {
                        in.encoded().row(r, row);
                        if (row.position() != row.capacity()) {
                            throw new IllegalStateException("row " + r + " of " + t.name() + " was encoded in "
                                    + row.position() + " bytes, not " + row.capacity());
                        }
                    } else {
                        float[] values = in.values().row(r);
                        if (values.length != t.cols()) {
                            throw new IllegalStateException("row " + r + " of " + t.name() + " has "
                                    + values.length + " values, not " + t.cols());
                        }
                        GgmlBlocks.encode(t.type(), values, row);
                    }
                    out.bytes(row.array(), row.position());
                }
                out.pad();
            }
            out.flush();
        });
    }

    static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** Little-endian primitives, counting what was written (for the padding). */
    private static final class Out {
        private final OutputStream out;
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        private long written;

        Out(OutputStream out) {
            this.out = out;
        }

        void bytes(byte[] b, int n) throws IOException {
            out.write(b, 0, n);
            written += n;
        }

        private void scratch(int n) throws IOException {
            bytes(scratch.array(), n);
            scratch.clear();
        }

        void u8(int v) throws IOException {
            scratch.put((byte) v);
            scratch(1);
        }

        void u16(int v) throws IOException {
            scratch.putShort((short) v);
            scratch(2);
        }

        void u32(long v) throws IOException {
            scratch.putInt((int) v);
            scratch(4);
        }

        void u64(long v) throws IOException {
            scratch.putLong(v);
            scratch(8);
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b, b.length);
        }

        void value(int type, int elementType, Object v) throws IOException {
            switch (type) {
                case GgufValue.UINT8, GgufValue.INT8 -> u8((int) (long) (Long) v);
                case GgufValue.UINT16, GgufValue.INT16 -> u16((int) (long) (Long) v);
                case GgufValue.UINT32, GgufValue.INT32 -> u32((Long) v);
                case GgufValue.UINT64, GgufValue.INT64 -> u64((Long) v);
                case GgufValue.FLOAT32 -> u32(Float.floatToRawIntBits((Float) v));
                case GgufValue.FLOAT64 -> u64(Double.doubleToRawLongBits((Double) v));
                case GgufValue.BOOL -> u8((Boolean) v ? 1 : 0);
                case GgufValue.STRING -> string((String) v);
                case GgufValue.ARRAY -> {
                    List<?> list = (List<?>) v;
                    u32(elementType);
                    u64(list.size());
                    for (Object e : list) {
                        value(elementType, -1, e);
                    }
                }
                default -> throw new IllegalArgumentException("GGUF value type " + type);
            }
        }

        void pad() throws IOException {
            while (written % ALIGNMENT != 0) {
                u8(0);
            }
        }

        void flush() throws IOException {
            out.flush();
        }
    }
}
