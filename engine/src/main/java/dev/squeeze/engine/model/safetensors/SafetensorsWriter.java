package dev.squeeze.engine.model.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.util.AtomicFiles;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;

/**
 * Writes tensors in file order as a safetensors file, atomically (temp file, then rename), optionally converting
 * them to one element type on the way.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Elements converted per step when the written type differs from the stored one. */
    private static final int CHUNK = 1 << 16;

    private SafetensorsWriter() {
    }

    public static void write(Path target, Collection<Tensor> tensors, Map<String, String> metadata) {
        AtomicFiles.write(target, out -> write(out, tensors, metadata));
    }

    /**
     * Writes the tensors converted to {@code as} (null keeps each tensor's own type). Conversion streams in
     * chunks, so a mapped model of any size is written without decoding a whole tensor into the heap.
     */
    public static void write(Path target, Collection<Tensor> tensors, Map<String, String> metadata, DType as) {
        AtomicFiles.write(target, out -> write(out, tensors, metadata, as));
    }

    public static void write(OutputStream out, Collection<Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        write(out, tensors, metadata, null);
    }

    public static void write(OutputStream out, Collection<Tensor> tensors, Map<String, String> metadata, DType as)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Tensor t : tensors) {
            DType type = typeFor(t, as);
            long bytes = t.numel() * type.bytes();
            ObjectNode n = header.putObject(t.name());
            n.put("dtype", type.name());
            var shape = n.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            n.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        // The spec allows trailing spaces; padding to 8 keeps the data section aligned for mapped reads.
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, padded);
        out.write(len.array());
        out.write(json);
        out.write(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
        WritableByteChannel ch = Channels.newChannel(out);
        for (Tensor t : tensors) {
            if (typeFor(t, as) == t.dtype()) {
                ByteBuffer b = t.bytes();
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            } else {
                writeConverted(out, t, typeFor(t, as));
            }
        }
        out.flush();
    }

    /** The type a tensor is written in: {@code as}, else its own when safetensors has it, else F32. */
    private static DType typeFor(Tensor t, DType as) {
        return as != null ? as : t.dtype().plain() ? t.dtype() : DType.F32;
    }

    private static void writeConverted(OutputStream out, Tensor t, DType as) throws IOException {
        long n = t.numel();
        for (long at = 0; at < n; at += CHUNK) {
            int count = (int) Math.min(CHUNK, n - at);
            float[] values = new float[count];
            t.decode(at, values, 0, count);
            byte[] encoded = as.encode(values);
            if (as == DType.F16) {
                checkF16Range(t, values, encoded, at);
            }
            out.write(encoded);
        }
    }

    /** F16 tops out at 65504: a larger weight would silently become infinity, so it is refused instead. */
    private static void checkF16Range(Tensor t, float[] values, byte[] encoded, long base) {
        for (int i = 0; i < values.length; i++) {
            short h = (short) ((encoded[2 * i] & 0xff) | (encoded[2 * i + 1] << 8));
            if (Float.isInfinite(Float.float16ToFloat(h)) && Float.isFinite(values[i])) {
                throw new SqueezeException("Tensor '" + t.name() + "' holds " + values[i] + " at element "
                        + (base + i) + ", beyond the range of F16 (±65504)",
                        "write the model as F32 (or BF16) instead of F16");
            }
        }
    }
}
