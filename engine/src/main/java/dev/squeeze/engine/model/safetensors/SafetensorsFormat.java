package dev.squeeze.engine.model.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormat;
import dev.squeeze.engine.model.StoredSizes;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.nn.MlpLayout;
import dev.squeeze.engine.util.Hashing;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * memory-mapped whatever its size; tensors are slices of the mapping (each under 2 GiB). The architecture is
 * read from the metadata key {@value #ARCH_KEY} (Squeeze's own files) and is {@code unknown} otherwise.
 */
public final class SafetensorsFormat implements ModelFormat {
    public static final String ARCH_KEY = "squeeze.architecture";
    /** A sanity bound: real headers are kilobytes to a few megabytes. */
    private static final long MAX_HEADER = 100L << 20;
    /** The largest tensor one {@link ByteBuffer} can hold. */
    private static final long MAX_TENSOR_BYTES = Integer.MAX_VALUE;
    private static final ValueLayout.OfLong LE_LONG =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
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

    /**
     * Maps the whole file (any size: the mapping is a {@link MemorySegment}, not a 2 GiB-limited buffer) and
     * reads it. Tensors are slices of the mapping, so opening a model larger than the heap copies nothing; the
     * mapping lives as long as any of its tensors is reachable (an automatic arena).
     */
    @Override
    public Model read(Path file) {
        String where = file.toAbsolutePath().toString();
        MemorySegment mapped;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
        } catch (IOException | UnsupportedOperationException e) {
            throw new SqueezeException("Cannot read " + where + ": " + e.getMessage(),
                    "check that the file exists and is readable", e);
        }
        return read(mapped, where, displayName(file));
    }

    /**
     * Reads a safetensors image held in memory (or mapped).
     *
     * @param where the file or resource name used in error messages and as the model's source
     */
    public Model read(ByteBuffer file, String where, String displayName) {
        return read(MemorySegment.ofBuffer(file.duplicate()), where, displayName);
    }

    /**
     * Reads a safetensors image of any size. The content hash is computed last, once the file is known to be
     * sound, so a damaged file fails at once. It is the SHA-256 of all its bytes, exactly what {@code sha256sum}
     * prints (and what the Hugging Face Hub lists for each LFS file). It costs about one second per gigabyte on
     * one core with SHA instructions, small beside any evaluation of such a model, and it keeps the identity
     * exact: a sampled hash would give a model and a copy with one re-quantized layer the same identity in the
     * results database.
     */
    public Model read(MemorySegment file, String where, String displayName) {
        long size = file.byteSize();
        if (size < 8) {
            throw corrupt(where, "the file is " + size + " bytes long, shorter than the 8-byte header length");
        }
        long headerLen = file.get(LE_LONG, 0);
        if (headerLen < 2 || headerLen > MAX_HEADER || headerLen > size - 8) {
            throw corrupt(where, "at offset 0 the header length is " + headerLen + " but the file has "
                    + (size - 8) + " bytes after it");
        }
        byte[] headerBytes = new byte[(int) headerLen];
        MemorySegment.copy(file, ValueLayout.JAVA_BYTE, 8, headerBytes, 0, headerBytes.length);
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
            long length = e.end - e.begin;
            if (length > MAX_TENSOR_BYTES) {
                throw new SqueezeException("Tensor '" + e.name + "' in " + where + " is " + length
                        + " bytes; Squeeze handles each tensor as one buffer, which must be under 2 GiB"
                        + " (the file as a whole may be any size)",
                        "store the model in a 16-bit type (F16 or BF16) or split that tensor");
            }
            ByteBuffer slice = file.asSlice(dataStart + e.begin, length).asByteBuffer();
            tensors.put(e.name, new Tensor(e.name, e.dtype, e.shape, slice));
        }
        // What a tensor takes in this file is its byte range; a metadata entry claiming otherwise (copied from a
        // model read from another format, or damaged) would only make the inventory lie.
        metadata.keySet().removeIf(k -> k.startsWith(StoredSizes.KEY_PREFIX) || k.startsWith(StoredSizes.FORMAT_PREFIX));
        String arch = metadata.getOrDefault(ARCH_KEY, "unknown");
        Model model = new Model(displayName, where, name(), arch, Hashing.sha256(file), tensors, metadata);
        if (MlpClassifier.ARCHITECTURE.equals(arch)) {
            // Squeeze's own MLPs describe their network in the metadata: checked here, so that a damaged file is
            // refused when it is opened rather than by the forward pass.
            MlpLayout.of(model);
        }
        return model;
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
            // Bounded by the data section so that a damaged shape can neither overflow nor pass the size check.
            numel = shape[i] == 0 || numel <= dataLen / shape[i] ? numel * shape[i] : dataLen + 1;
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataLen) {
            throw corrupt(where, "tensor '" + name + "' claims bytes " + begin + "-" + end
                    + " but the data section holds " + dataLen + " bytes");
        }
        if (end - begin != numel * dtype.bytes()) {
            String needs = numel > dataLen ? "more than the " + dataLen + " bytes of the data section"
                    : Long.toString(numel * dtype.bytes());
            throw corrupt(where, "tensor '" + name + "' has " + (end - begin) + " bytes but its shape "
                    + java.util.Arrays.toString(shape) + " of " + dtype + " needs " + needs);
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
