package dev.squeeze.engine.model.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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

/** Writes tensors in file order as a safetensors file, atomically (temp file, then rename). */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {
    }

    public static void write(Path target, Collection<Tensor> tensors, Map<String, String> metadata) {
        AtomicFiles.write(target, out -> write(out, tensors, metadata));
    }

    public static void write(OutputStream out, Collection<Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Tensor t : tensors) {
            ObjectNode n = header.putObject(t.name());
            n.put("dtype", t.dtype().name());
            var shape = n.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            n.putArray("data_offsets").add(offset).add(offset + t.storedBytes());
            offset += t.storedBytes();
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
            ByteBuffer b = t.bytes();
            while (b.hasRemaining()) {
                ch.write(b);
            }
        }
        out.flush();
    }
}
