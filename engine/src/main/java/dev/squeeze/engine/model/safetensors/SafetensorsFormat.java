package dev.squeeze.engine.model.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormat;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.util.Hashing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face safetensors: an 8-byte little-endian header length, a JSON header (dtype, shape and byte range
 * of every tensor, plus an optional {@code __metadata__} string map), then the raw tensor bytes. The file is
 * memory-mapped; tensors are slices of the mapping. The architecture is read from the metadata key
 * {@value #ARCH_KEY} (Squeeze's own files) and is {@code unknown} otherwise.
 */
public final class SafetensorsFormat implements ModelFormat {
    public static final String ARCH_KEY = "squeeze.architecture";
    /** A sanity bound: real headers are kilobytes to a few megabytes. */
    private static final long MAX_HEADER = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String name() {
        return "safetensors";
    }

    @Override
    public boolean recognizes(byte[] head, long fileSize) {
        if (head.length < 9) {
            return false;
        }
        long n = ByteBuffer.wrap(head, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return n > 1 && n <= fileSize - 8 && head[8] == '{';
    }

    @Override
    public Model read(Path file) {
        String where = file.toAbsolutePath().toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            return read(mapped, where, displayName(file));
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + where + ": " + e.getMessage(),
                    "check that the file exists and is readable", e);
        }
    }

    /**
     * Reads a safetensors image held in memory (or mapped).
     *
     * @param where the file or resource name used in error messages and as the model's source
     */
    public Model read(ByteBuffer file, String where, String displayName) {
        ByteBuffer all = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long size = all.remaining();
        if (size < 8) {
            throw corrupt(where, "the file is " + size + " bytes long, shorter than the 8-byte header length");
        }
        long headerLen = all.getLong(0);
        if (headerLen < 2 || headerLen > MAX_HEADER || headerLen > size - 8) {
            throw corrupt(where, "at offset 0 the header length is " + headerLen + " but the file has "
                    + (size - 8) + " bytes after it");
        }
        byte[] headerBytes = new byte[(int) headerLen];
        all.get(8, headerBytes);
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8).strip());
        } catch (JsonProcessingException e) {
            throw corrupt(where, "the JSON header (offset 8, " + headerLen + " bytes) does not parse: "
                    + e.getOriginalMessage());
        }
        if (!(header instanceof ObjectNode obj)) {
            throw corrupt(where, "the header at offset 8 is not a JSON object");
        }
        long dataStart = 8 + headerLen;
        long dataLen = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = obj.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                e.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            entries.add(entry(where, e.getKey(), e.getValue(), dataLen));
        }
        entries.sort(Comparator.comparingLong(Entry::begin));
        long previousEnd = 0;
        String previousName = null;
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Entry e : entries) {
            if (e.begin < previousEnd) {
                throw corrupt(where, "tensor '" + e.name + "' (bytes " + e.begin + "-" + e.end
                        + ") overlaps tensor '" + previousName + "'");
            }
            previousEnd = e.end;
            previousName = e.name;
            ByteBuffer slice = all.slice((int) (dataStart + e.begin), (int) (e.end - e.begin));
            tensors.put(e.name, new Tensor(e.name, e.dtype, e.shape, slice));
        }
        String arch = metadata.getOrDefault(ARCH_KEY, "unknown");
        return new Model(displayName, where, name(), arch, Hashing.sha256(all.position(0)), tensors, metadata);
    }

    private record Entry(String name, DType dtype, long[] shape, long begin, long end) {
    }

    private static Entry entry(String where, String name, JsonNode node, long dataLen) {
        String dtypeName = node.path("dtype").asText("");
        DType dtype = DType.parse(dtypeName);
        if (dtype == null) {
            throw new SqueezeException("Unsupported tensor type in " + where + ": tensor '" + name + "' has dtype '"
                    + dtypeName + "'; Squeeze reads F32, F16 and BF16", "convert the model to one of those types");
        }
        JsonNode shapeNode = node.path("shape");
        JsonNode offsets = node.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw corrupt(where, "tensor '" + name + "' lacks a shape array or a [begin, end] data_offsets pair");
        }
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
                throw corrupt(where, "tensor '" + name + "' has an invalid dimension " + d + " in its shape");
            }
            shape[i] = d.asLong();
            numel = Math.multiplyExact(numel, shape[i]);
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataLen) {
            throw corrupt(where, "tensor '" + name + "' claims bytes " + begin + "-" + end
                    + " but the data section holds " + dataLen + " bytes");
        }
        if (end - begin != numel * dtype.bytes()) {
            throw corrupt(where, "tensor '" + name + "' has " + (end - begin) + " bytes but its shape "
                    + java.util.Arrays.toString(shape) + " of " + dtype + " needs " + numel * dtype.bytes());
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static SqueezeException corrupt(String where, String what) {
        return new SqueezeException("Corrupt safetensors file " + where + ": " + what,
                "the file is truncated or damaged; get a fresh copy of it");
    }

    private static String displayName(Path file) {
        String n = file.getFileName().toString();
        if (n.equals("model.safetensors") && file.toAbsolutePath().getParent() != null) {
            return file.toAbsolutePath().getParent().getFileName().toString();
        }
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }
}
