package dev.squeeze.engine.export.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.util.AtomicFiles;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file whose tensors are produced one at a time while the file is written: the header is
 * built from names, types and shapes alone, then each tensor's body is asked for its bytes in file order. An
 * export of compressed layers thus holds one dequantized (or packed) tensor in memory at a time, never the model.
 * Unlike {@code model.safetensors.SafetensorsWriter} (which writes tensors that already exist, in the reader's
 * float types), any safetensors dtype can be written, e.g. the {@code I32} of GPTQ's packed codes.
 * The file is written to a temporary name and moved into place when complete ({@link AtomicFiles}).
 */
public final class SafetensorsStream {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsStream() {
    }

    /** Writes one tensor's little-endian bytes, exactly {@link Entry#bytes()} of them. */
    @FunctionalInterface
    public interface Body {
        void write(OutputStream out) throws IOException;
    }

    /**
     * One tensor.
     *
     * @param dtype its safetensors spelling: {@code F32}, {@code F16}, {@code BF16}, {@code I32}
     */
    public record Entry(String name, String dtype, long[] shape, Body body) {
        public Entry {
            shape = shape.clone();
        }

        public long bytes() {
            long n = elementBytes(dtype);
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** Writes the file atomically; returns its size in bytes. */
    public static long write(Path target, List<Entry> entries, Map<String, String> metadata) {
        long[] size = new long[1];
        AtomicFiles.write(target, out -> size[0] = write(out, entries, metadata));
        return size[0];
    }

    private static long write(OutputStream out, List<Entry> entries, Map<String, String> metadata)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode n = header.putObject(e.name());
            n.put("dtype", e.dtype());
            var shape = n.putArray("shape");
            for (long d : e.shape()) {
                shape.add(d);
            }
            n.putArray("data_offsets").add(offset).add(offset + e.bytes());
            offset += e.bytes();
        }
        byte[] json = JSON.writeValueAsBytes(header);
        // Padding to 8 keeps the data section aligned for mapped reads (the spec allows trailing spaces).
        int padded = (json.length + 7) / 8 * 8;
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded).array());
        out.write(json);
        out.write(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
        for (Entry e : entries) {
            Counting counted = new Counting(out);
            e.body().write(counted);
            if (counted.count != e.bytes()) {
                throw new IllegalStateException("tensor " + e.name() + " wrote " + counted.count + " bytes, its header"
                        + " says " + e.bytes());
            }
        }
        out.flush();
        return 8L + padded + offset;
    }

    private static int elementBytes(String dtype) {
        return switch (dtype) {
            case "F32", "I32" -> 4;
            case "F16", "BF16" -> 2;
            default -> throw new IllegalArgumentException("unsupported safetensors dtype " + dtype);
        };
    }

    /** Counts what a body writes, so that a body and its header can never disagree in the file. */
    private static final class Counting extends FilterOutputStream {
        long count;

        Counting(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void close() {
            // The file's stream is closed by AtomicFiles, not by a tensor's body.
        }
    }
}
