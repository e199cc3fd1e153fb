package dev.squeeze.engine.model.gguf;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.export.gguf.GgmlBlocks;
import dev.squeeze.engine.export.gguf.GgmlType;
import dev.squeeze.engine.export.gguf.GgufFile;
import dev.squeeze.engine.export.gguf.GgufTensor;
import dev.squeeze.engine.export.gguf.GgufValue;
import dev.squeeze.engine.export.gguf.GgufWriter;
import dev.squeeze.engine.model.BlockCodec;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormat;
import dev.squeeze.engine.model.StoredSizes;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.util.Hashing;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GGUF files (versions 2 and 3) of architecture {@code llama}, as llama.cpp's converters write them, opened as a
 * Llama-family model. The tensors get the canonical names of {@link LlamaLayers} ({@code token_embd} is the
 * embedding, {@code blk.N.attn_q} layer N's q projection, {@code output} the head, …) and the hyper-parameters
 * the {@code squeeze.llama.*} metadata ({@code llama.embedding_length}, {@code llama.block_count}, …).
 * <p>
 * llama.cpp's converters store q/k rows in Meta's interleaved order (they undo Hugging Face's permutation) and
 * llama.cpp rotates adjacent pairs for this architecture, so the model declares {@code rope_style=interleaved}
 * and keeps the rows as stored: no tensor is copied or permuted. F32, F16 and BF16 tensors are slices of the
 * memory-mapped file; Q4_0, Q8_0, Q4_K and Q6_K tensors stay as ggml's blocks in the mapping
 * ({@link DType#BLOCKS}) and are dequantized a row at a time where they are read, so a model larger than the heap
 * opens. The inventory's stored bytes are the file's (blocks, not the dequantized floats); how a tensor is
 * stored is recorded under {@link StoredSizes#FORMAT_PREFIX}. The tokenizer lives in the same file
 * ({@code tokenizer.ggml.*}, see {@code data.text.GgufTokenizers}).
 * <p>
 * Refused, with the tensor or key named: other architectures, tensor types other than those above, tensors that
 * are not part of a Llama model as Squeeze runs it (RoPE frequency factors {@code rope_freqs}, experts), RoPE
 * scaling, partial rotary dimensions, and shapes that disagree with the hyper-parameters.
 */
public final class GgufModelFormat implements ModelFormat {
    public static final String NAME = "gguf";
    /** Prefix of the file's own metadata as copied into the model's (scalars; arrays by their length). */
    public static final String META_PREFIX = "gguf.";
    private static final int MAX_COPIED_STRING = 200;
    private static final Pattern BLOCK = Pattern.compile("blk\\.(\\d{1,6})\\.([a-z_]+)\\.(weight|bias)");

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean recognizes(byte[] head, long fileSize) {
        return head.length >= 4 && ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt(0) == GgufWriter.MAGIC;
    }

    @Override
    public Model read(Path file) {
        String where = file.toAbsolutePath().toString();
        try (GgufFile gguf = GgufFile.open(file); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Map<String, GgufValue> md = gguf.metadata();
            String arch = string(md, "general.architecture", where, null);
            if (!LlamaConfig.ARCHITECTURE.equals(arch)) {
                throw new SqueezeException("The GGUF file " + where + " holds a model of architecture '" + arch
                        + "'; Squeeze opens GGUF models of architecture 'llama' (Llama 1–3, Mistral, TinyLlama,"
                        + " llama2.c models)", "open the model's Hugging Face folder instead, if it has one");
            }
            Map<String, GgufTensor> byName = new LinkedHashMap<>();
            for (GgufTensor t : gguf.tensors()) {
                byName.put(canonicalName(t.name(), where), t);
            }
            LlamaConfig config = config(md, byName, where);
            checkShapes(config, byName, where);
            Map<String, String> metadata = new LinkedHashMap<>(config.toMetadata());
            metadata.put(LlamaConfig.PREFIX + "family", "llama");
            special(md, "tokenizer.ggml.bos_token_id").ifPresentLong(v -> metadata.put("squeeze.hf.bos_token_id",
                    Long.toString(v)));
            special(md, "tokenizer.ggml.eos_token_id").ifPresentLong(v -> metadata.put("squeeze.hf.eos_token_id",
                    Long.toString(v)));
            copyMetadata(md, metadata);
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (String name : LlamaLayers.tensorOrder(config.nLayers())) {
                GgufTensor t = byName.get(name);
                if (t == null) {
                    continue;
                }
                tensors.put(name, tensor(name, t, gguf, mapped, where));
                metadata.put(StoredSizes.FORMAT_PREFIX + name, t.type().name());
            }
            return new Model(displayName(file), where, NAME, LlamaConfig.ARCHITECTURE, Hashing.sha256(mapped),
                    tensors, metadata);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + where + ": " + e.getMessage(),
                    "check that the file exists and is readable", e);
        }
    }

    /** The canonical name of a GGUF tensor of a llama model, or an error naming it. */
    public static String canonicalName(String gguf, String where) {
        switch (gguf) {
            case "token_embd.weight" -> {
                return LlamaLayers.EMBEDDING + ".weight";
            }
            case "output_norm.weight" -> {
                return LlamaLayers.FINAL_NORM + ".weight";
            }
            case "output.weight" -> {
                return LlamaLayers.HEAD + ".weight";
            }
            default -> {
            }
        }
        Matcher m = BLOCK.matcher(gguf);
        if (m.matches()) {
            int layer = Integer.parseInt(m.group(1));
            String suffix = "." + m.group(3);
            String layerName = switch (m.group(2)) {
                case "attn_norm" -> LlamaLayers.attentionNorm(layer);
                case "attn_q" -> LlamaLayers.q(layer);
                case "attn_k" -> LlamaLayers.k(layer);
                case "attn_v" -> LlamaLayers.v(layer);
                case "attn_output" -> LlamaLayers.o(layer);
                case "ffn_norm" -> LlamaLayers.mlpNorm(layer);
                case "ffn_gate" -> LlamaLayers.gate(layer);
                case "ffn_up" -> LlamaLayers.up(layer);
                case "ffn_down" -> LlamaLayers.down(layer);
                default -> null;
            };
            boolean biasAllowed = m.group(2).matches("attn_[qkv]");
            if (layerName != null && (suffix.equals(".weight") || biasAllowed)) {
                return layerName + suffix;
            }
        }
        String why = gguf.startsWith("rope_freqs") ? " (RoPE frequency factors, Llama 3.1's rope scaling, which"
                + " Squeeze's forward pass does not apply)" : gguf.contains("_exps") ? " (mixture-of-experts weights)"
                : "";
        throw new SqueezeException("The GGUF file " + where + " has the tensor '" + gguf + "'" + why + ", which is"
                + " not part of a Llama model as Squeeze runs it (token_embd, blk.N.attn_norm/attn_q/attn_k/attn_v/"
                + "attn_output/ffn_norm/ffn_gate/ffn_up/ffn_down, output_norm, output)",
                "open a plain Llama-architecture model");
    }

    private static LlamaConfig config(Map<String, GgufValue> md, Map<String, GgufTensor> tensors, String where) {
        int dim = integer(md, "llama.embedding_length", where, null);
        int hidden = integer(md, "llama.feed_forward_length", where, null);
        int layers = integer(md, "llama.block_count", where, null);
        int heads = integer(md, "llama.attention.head_count", where, null);
        int kvHeads = integer(md, "llama.attention.head_count_kv", where, heads);
        int ctx = integer(md, "llama.context_length", where, null);
        GgufTensor embed = tensors.get(LlamaLayers.EMBEDDING + ".weight");
        if (embed == null) {
            throw new SqueezeException("The GGUF file " + where + " has no token_embd.weight tensor",
                    "the file is damaged or not a llama model");
        }
        int vocab = integer(md, "llama.vocab_size", where, (int) embed.rows());
        double eps = number(md, "llama.attention.layer_norm_rms_epsilon", where, LlamaConfig.LLAMA2C_NORM_EPS);
        double theta = number(md, "llama.rope.freq_base", where, LlamaConfig.LLAMA2C_ROPE_THETA);
        if (heads <= 0 || dim <= 0 || dim % heads != 0) {
            throw bad(where, "llama.attention.head_count " + heads + " does not divide llama.embedding_length "
                    + dim);
        }
        int headDim = dim / heads;
        int rot = integer(md, "llama.rope.dimension_count", where, headDim);
        if (rot != headDim) {
            throw new SqueezeException("The GGUF file " + where + " rotates " + rot + " of each head's " + headDim
                    + " dimensions (llama.rope.dimension_count); Squeeze's Llama rotates all of them",
                    "open a model with full rotary embeddings");
        }
        for (String key : List.of("llama.attention.key_length", "llama.attention.value_length")) {
            int v = integer(md, key, where, headDim);
            if (v != headDim) {
                throw new SqueezeException("The GGUF file " + where + " has " + key + " = " + v + ", not the head"
                        + " width " + dim + " / " + heads + " = " + headDim + " that Squeeze's Llama uses",
                        "open a model whose heads split the model width");
            }
        }
        String scaling = md.containsKey("llama.rope.scaling.type")
                ? string(md, "llama.rope.scaling.type", where, null) : "none";
        if (!scaling.equals("none")) {
            throw new SqueezeException("The GGUF file " + where + " uses RoPE scaling '" + scaling
                    + "' (llama.rope.scaling.type), which Squeeze's forward pass does not apply",
                    "open a model without RoPE scaling");
        }
        // Each block has 9 tensors: a count the directory cannot hold is refused before anything loops over it.
        if (layers > tensors.size() / 9) {
            throw bad(where, "llama.block_count is " + layers + " but the file has " + tensors.size()
                    + " tensors, not the 9 of each block");
        }
        boolean tied = !tensors.containsKey(LlamaLayers.HEAD + ".weight");
        boolean bias = tensors.containsKey(LlamaLayers.q(0) + ".bias");
        try {
            return new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, ctx, eps, theta, RopeStyle.INTERLEAVED,
                    bias, tied);
        } catch (IllegalArgumentException e) {
            throw bad(where, "its llama.* hyper-parameters are impossible: " + e.getMessage());
        }
    }

    /** Every tensor the forward pass needs is there with the shape the hyper-parameters give, and no other. */
    private static void checkShapes(LlamaConfig c, Map<String, GgufTensor> tensors, String where) {
        Map<String, long[]> expected = new LinkedHashMap<>();
        expected.put(LlamaLayers.EMBEDDING + ".weight", new long[]{c.vocabSize(), c.dim()});
        for (int l = 0; l < c.nLayers(); l++) {
            expected.put(LlamaLayers.attentionNorm(l) + ".weight", new long[]{c.dim()});
            expected.put(LlamaLayers.q(l) + ".weight", new long[]{c.dim(), c.dim()});
            expected.put(LlamaLayers.k(l) + ".weight", new long[]{c.kvDim(), c.dim()});
            expected.put(LlamaLayers.v(l) + ".weight", new long[]{c.kvDim(), c.dim()});
            if (c.qkvBias()) {
                expected.put(LlamaLayers.q(l) + ".bias", new long[]{c.dim()});
                expected.put(LlamaLayers.k(l) + ".bias", new long[]{c.kvDim()});
                expected.put(LlamaLayers.v(l) + ".bias", new long[]{c.kvDim()});
            }
            expected.put(LlamaLayers.o(l) + ".weight", new long[]{c.dim(), c.dim()});
            expected.put(LlamaLayers.mlpNorm(l) + ".weight", new long[]{c.dim()});
            expected.put(LlamaLayers.gate(l) + ".weight", new long[]{c.hiddenDim(), c.dim()});
            expected.put(LlamaLayers.up(l) + ".weight", new long[]{c.hiddenDim(), c.dim()});
            expected.put(LlamaLayers.down(l) + ".weight", new long[]{c.dim(), c.hiddenDim()});
        }
        expected.put(LlamaLayers.FINAL_NORM + ".weight", new long[]{c.dim()});
        if (!c.tiedEmbeddings()) {
            expected.put(LlamaLayers.HEAD + ".weight", new long[]{c.vocabSize(), c.dim()});
        }
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            GgufTensor t = tensors.get(e.getKey());
            if (t == null) {
                throw new SqueezeException("The GGUF file " + where + " lacks the tensor " + ggufName(e.getKey())
                        + " of its " + c.nLayers() + "-block llama model", "the file is damaged or incomplete");
            }
            long[] shape = shape(t);
            if (!Arrays.equals(shape, e.getValue())) {
                throw new SqueezeException("The GGUF file " + where + " has the tensor " + t.name() + " of shape "
                        + text(shape) + " (GGUF lists it reversed), but its llama.* hyper-parameters give "
                        + text(e.getValue()), "the file is damaged or its metadata disagrees with its tensors");
            }
        }
        for (Map.Entry<String, GgufTensor> e : tensors.entrySet()) {
            if (!expected.containsKey(e.getKey())) {
                throw new SqueezeException("The GGUF file " + where + " has the tensor " + e.getValue().name()
                        + ", which its llama.* hyper-parameters (" + c.nLayers() + " blocks"
                        + (c.qkvBias() ? "" : ", no biases") + ") have no place for",
                        "the file is damaged or its metadata disagrees with its tensors");
            }
        }
    }

    private static Tensor tensor(String name, GgufTensor t, GgufFile gguf, MemorySegment file, String where) {
        long bytes = t.bytes();
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new SqueezeException("Tensor " + t.name() + " of " + where + " takes " + bytes + " bytes; this"
                    + " reader handles tensors below 2 GiB", "open the model's Hugging Face folder instead");
        }
        ByteBuffer data = file.asSlice(gguf.dataStart() + t.offset(), bytes).asByteBuffer();
        long[] shape = shape(t);
        return switch (t.type()) {
            case F32 -> new Tensor(name, DType.F32, shape, data);
            case F16 -> new Tensor(name, DType.F16, shape, data);
            case BF16 -> new Tensor(name, DType.BF16, shape, data);
            case Q4_0, Q8_0, Q4_K, Q6_K -> Tensor.blocks(name, shape, data, new GgmlCodec(t.type()));
        };
    }

    /** ggml's blocks of one type, decoded as ggml's dequantizers do ({@link GgmlBlocks}). */
    public record GgmlCodec(GgmlType type) implements BlockCodec {
        @Override
        public String name() {
            return type.name();
        }

        @Override
        public int blockValues() {
            return type.blockSize();
        }

        @Override
        public int blockBytes() {
            return type.typeSize();
        }

        @Override
        public void decode(ByteBuffer in, float[] out) {
            GgmlBlocks.decode(type, in, out);
        }
    }

    private static long[] shape(GgufTensor t) {
        return t.dimensions() == 1 ? new long[]{t.cols()} : new long[]{t.rows(), t.cols()};
    }

    private static String text(long[] shape) {
        StringBuilder sb = new StringBuilder();
        for (long d : shape) {
            sb.append(sb.isEmpty() ? "" : " × ").append(d);
        }
        return sb.toString();
    }

    /** The GGUF name of a canonical tensor name, for messages. */
    public static String ggufName(String canonical) {
        String layer = canonical.replaceFirst("\\.(weight|bias)$", "");
        String suffix = canonical.substring(layer.length());
        if (layer.equals(LlamaLayers.EMBEDDING)) {
            return "token_embd" + suffix;
        }
        if (layer.equals(LlamaLayers.FINAL_NORM)) {
            return "output_norm" + suffix;
        }
        if (layer.equals(LlamaLayers.HEAD)) {
            return "output" + suffix;
        }
        int l = LlamaLayers.layerIndexOf(layer);
        Map<String, String> parts = new HashMap<>();
        parts.put(LlamaLayers.attentionNorm(l), "attn_norm");
        parts.put(LlamaLayers.q(l), "attn_q");
        parts.put(LlamaLayers.k(l), "attn_k");
        parts.put(LlamaLayers.v(l), "attn_v");
        parts.put(LlamaLayers.o(l), "attn_output");
        parts.put(LlamaLayers.mlpNorm(l), "ffn_norm");
        parts.put(LlamaLayers.gate(l), "ffn_gate");
        parts.put(LlamaLayers.up(l), "ffn_up");
        parts.put(LlamaLayers.down(l), "ffn_down");
        return "blk." + l + "." + parts.getOrDefault(layer, layer) + suffix;
    }


    /** The file's scalar metadata under {@value #META_PREFIX}; arrays and long strings by their size. */
    private static void copyMetadata(Map<String, GgufValue> md, Map<String, String> out) {
        for (Map.Entry<String, GgufValue> e : md.entrySet()) {
            GgufValue v = e.getValue();
            String text;
            if (v.type() == GgufValue.ARRAY) {
                text = "(array of " + v.asList().size() + ")";
            } else if (v.type() == GgufValue.STRING && v.asString().length() > MAX_COPIED_STRING) {
                text = "(" + v.asString().length() + " characters)";
            } else {
                text = String.valueOf(v.value());
            }
            out.put(META_PREFIX + e.getKey(), text);
        }
    }

    /** An optional integer value of the file's metadata. */
    private record Special(Long value) {
        void ifPresentLong(java.util.function.LongConsumer c) {
            if (value != null) {
                c.accept(value);
            }
        }
    }

    private static Special special(Map<String, GgufValue> md, String key) {
        GgufValue v = md.get(key);
        return new Special(v != null && isInteger(v.type()) ? v.asLong() : null);
    }

    static boolean isInteger(int type) {
        return type <= GgufValue.INT32 || type == GgufValue.UINT64 || type == GgufValue.INT64;
    }

    /** An integer key (any GGUF integer type) within 1..2^31-1; {@code fallback} when absent (null: required). */
    static int integer(Map<String, GgufValue> md, String key, String where, Integer fallback) {
        GgufValue v = md.get(key);
        if (v == null) {
            if (fallback == null) {
                throw bad(where, "it lacks the metadata key " + key);
            }
            return fallback;
        }
        if (v.type() == GgufValue.ARRAY) {
            throw new SqueezeException("The GGUF file " + where + " gives " + key + " per layer (an array);"
                    + " Squeeze's Llama has the same value in every block", "open a model with uniform blocks");
        }
        if (!isInteger(v.type())) {
            throw bad(where, "its metadata " + key + " is not an integer (" + v.value() + ")");
        }
        long n = v.asLong();
        if (n <= 0 || n > Integer.MAX_VALUE) {
            throw bad(where, "its metadata " + key + " is " + Long.toUnsignedString(n) + ", expected 1 to "
                    + Integer.MAX_VALUE);
        }
        return (int) n;
    }

    /** A float key (FLOAT32 as written, so 1e-5f reads 1e-5) or an integer; {@code fallback} when absent. */
    static double number(Map<String, GgufValue> md, String key, String where, double fallback) {
        GgufValue v = md.get(key);
        if (v == null) {
            return fallback;
        }
        double d = switch (v.type()) {
            case GgufValue.FLOAT32 -> Double.parseDouble(Float.toString((Float) v.value()));
            case GgufValue.FLOAT64 -> (Double) v.value();
            default -> isInteger(v.type()) ? (double) v.asLong() : Double.NaN;
        };
        if (!(d > 0) || Double.isInfinite(d)) {
            throw bad(where, "its metadata " + key + " is " + v.value() + ", expected a positive number");
        }
        return d;
    }

    static String string(Map<String, GgufValue> md, String key, String where, String fallback) {
        GgufValue v = md.get(key);
        if (v == null) {
            if (fallback == null) {
                throw bad(where, "it lacks the metadata key " + key);
            }
            return fallback;
        }
        if (v.type() != GgufValue.STRING) {
            throw bad(where, "its metadata " + key + " is not a string (" + v.value() + ")");
        }
        return v.asString();
    }

    private static SqueezeException bad(String where, String what) {
        return new SqueezeException("Cannot open the GGUF file " + where + ": " + what,
                "the file is damaged or was not written for llama.cpp's llama architecture");
    }

    private static String displayName(Path file) {
        String n = file.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }
}
