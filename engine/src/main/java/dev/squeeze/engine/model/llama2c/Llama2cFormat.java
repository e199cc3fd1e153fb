package dev.squeeze.engine.model.llama2c;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormat;
import dev.squeeze.engine.model.StoredSizes;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Andrej Karpathy's llama2.c checkpoints, as {@code run.c}, {@code runq.c} and {@code export.py} write and read
 * them. All numbers are little-endian.
 * <ul>
 *   <li><b>legacy</b> (version 0): seven int32 {@code dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 *   vocab_size, seq_len} (a negative vocab_size means a separate classifier), then float32 tensors in the order
 *   token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3 (each for all layers), rms_final,
 *   freq_cis_real, freq_cis_imag ({@code seq_len × head_dim/2} each; skipped, RoPE is computed), [wcls].</li>
 *   <li><b>version 1</b>: uint32 magic {@code 0x616b3432} ("ak42"), int32 version, the seven int32, a byte
 *   "shared classifier", zeros to 256 bytes; float32 rms_att, rms_ffn, rms_final, token_embedding, wq, wk, wv,
 *   wo, w1, w2, w3, [wcls].</li>
 *   <li><b>version 2</b> (Q8_0): as version 1 plus an int32 group size at offset 37; float32 rms_att, rms_ffn,
 *   rms_final; then for token_embedding, wq, wk, wv, wo, w1, w2, w3, [wcls] each: int8 codes, then one float32
 *   scale per group of {@code group_size} consecutive values ({@code w = code · scale}).</li>
 * </ul>
 * Tensors get the canonical Hugging Face names of {@link LlamaLayers} (w1 = gate, w3 = up, w2 = down); the q/k
 * rows stay in llama2.c's order and the architecture says {@code rope_style=interleaved}. Float32 tensors are
 * slices of the memory-mapped file; so are version 2's int8 tensors ({@link DType#I8_GROUPS}: codes + scales, as
 * stored), which are dequantized only where values are read. Nothing of a model is copied into the heap to list
 * it. How a tensor is stored is recorded under {@link StoredSizes#FORMAT_PREFIX} in the metadata.
 */
public final class Llama2cFormat implements ModelFormat {
    public static final String NAME = "llama2c";
    public static final int MAGIC = 0x616b3432;
    public static final String VERSION_KEY = "squeeze.llama2c.version";
    public static final String GROUP_SIZE_KEY = "squeeze.llama2c.group_size";
    public static final String SHARED_CLASSIFIER_KEY = "squeeze.llama2c.shared_classifier";
    static final int LEGACY_HEADER_BYTES = 28;
    static final int HEADER_BYTES = 256;
    // Plausibility bounds: generous for any real model, tight enough that random bytes fail them.
    private static final int MAX_DIM = 1 << 16;
    private static final int MAX_HIDDEN = 1 << 20;
    private static final int MAX_LAYERS = 1 << 10;
    private static final int MAX_VOCAB = 1 << 22;
    private static final int MAX_SEQ = 1 << 24;
    private static final int MAX_GROUP = 1 << 20;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean recognizes(byte[] head, long fileSize) {
        ByteBuffer b = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        if (head.length >= 8 && b.getInt(0) == MAGIC) {
            return true;
        }
        if (head.length < LEGACY_HEADER_BYTES) {
            return false;
        }
        Header h = Header.parse(b, 0, 0, null);
        return h.problem() == null && legacyLayout(h).size == fileSize;
    }

    @Override
    public Model read(Path file) {
        String where = file.toAbsolutePath().toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer first = ByteBuffer.allocate((int) Math.min(size, HEADER_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
            while (first.hasRemaining() && ch.read(first, first.position()) > 0) {
                // read the header bytes
            }
            first.flip();
            Layout layout = layout(first, size, where);
            checkSize(layout, size, where);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>(layout.config.toMetadata());
            metadata.put(VERSION_KEY, Integer.toString(layout.version));
            metadata.put(SHARED_CLASSIFIER_KEY, Boolean.toString(layout.config.tiedEmbeddings()));
            if (layout.version == 2) {
                metadata.put(GROUP_SIZE_KEY, Integer.toString(layout.groupSize));
            }
            for (String name : LlamaLayers.tensorOrder(layout.config.nLayers())) {
                Region r = layout.regions.get(name);
                if (r == null) {
                    continue;
                }
                if (r.bytes(layout.groupSize) > Integer.MAX_VALUE - 8 || r.numel() > Integer.MAX_VALUE - 8) {
                    throw new SqueezeException("Tensor " + name + " of " + where + " takes "
                            + r.bytes(layout.groupSize) + " bytes; this reader handles tensors below 2 GiB",
                            "convert the model to Hugging Face safetensors");
                }
                ByteBuffer bytes = ch.map(FileChannel.MapMode.READ_ONLY, r.offset, r.bytes(layout.groupSize));
                if (r.q8) {
                    // Kept as int8 codes + scales in the mapping: a 7B file lists in a few MB of heap, and the
                    // forward pass dequantizes a row at a time.
                    tensors.put(name, Tensor.int8Groups(name, r.shape, bytes, layout.groupSize));
                    metadata.put(StoredSizes.FORMAT_PREFIX + name, "Q8_0 (int8, float32 scale per "
                            + layout.groupSize + ")");
                } else {
                    tensors.put(name, new Tensor(name, DType.F32, r.shape, bytes));
                }
            }
            return new Model(displayName(file), where, NAME, LlamaConfig.ARCHITECTURE, sha256(ch, size),
                    tensors, metadata);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + where + ": " + e.getMessage(),
                    "check that the file exists and is readable", e);
        }
    }

    /** The layout a header describes; throws naming the file, offset and value for a bad header. */
    static Layout layout(ByteBuffer head, long fileSize, String where) {
        if (head.remaining() >= 4 && head.getInt(0) == MAGIC) {
            if (head.remaining() < HEADER_BYTES) {
                throw corrupt(where, "the file is " + fileSize + " bytes long, shorter than the " + HEADER_BYTES
                        + "-byte header that the ak42 magic announces");
            }
            int version = head.getInt(4);
            if (version != 1 && version != 2) {
                throw new SqueezeException("Unsupported llama2c checkpoint " + where + ": at offset 4 the version is "
                        + version + ", expected 1 (float32) or 2 (int8 Q8_0)",
                        "export the model with llama2.c's export.py --version 0, 1 or 2");
            }
            int flag = head.get(36) & 0xff;
            if (flag > 1) {
                throw corrupt(where, "at offset 36 the shared-classifier flag is " + flag + ", expected 0 or 1");
            }
            Header h = Header.parse(head, 8, version, flag == 1);
            if (h.problem() != null) {
                throw corrupt(where, "the header at offset 8 is impossible: " + h.problem());
            }
            if (version == 1) {
                return version1Layout(h);
            }
            int group = head.getInt(37);
            if (group <= 0 || group > MAX_GROUP) {
                throw corrupt(where, "at offset 37 the quantization group size is " + group
                        + ", expected a positive number up to " + MAX_GROUP);
            }
            return version2Layout(h, group, where);
        }
        if (head.remaining() < LEGACY_HEADER_BYTES) {
            throw corrupt(where, "the file is " + fileSize + " bytes long, shorter than the " + LEGACY_HEADER_BYTES
                    + "-byte legacy header");
        }
        Header h = Header.parse(head, 0, 0, null);
        if (h.problem() != null) {
            throw new SqueezeException("Not a llama2c checkpoint: " + where + " starts neither with the ak42 magic "
                    + "0x616b3432 nor with a legacy header of seven plausible int32 at offset 0 (" + h.problem()
                    + ")", "open a llama2.c model .bin, or check that the file is not damaged");
        }
        return legacyLayout(h);
    }

    private static void checkSize(Layout layout, long fileSize, String where) {
        if (layout.size == fileSize) {
            return;
        }
        String header = layout.config.dim() + "/" + layout.config.hiddenDim() + "/" + layout.config.nLayers() + "/"
                + layout.config.nHeads() + "/" + layout.config.nKvHeads() + "/" + layout.config.vocabSize() + "/"
                + layout.config.maxSeqLen() + (layout.config.tiedEmbeddings() ? ", shared classifier"
                : ", separate classifier");
        if (fileSize < layout.size) {
            Region cut = null;
            for (Region r : layout.all) {
                if (r.offset + r.bytes(layout.groupSize) > fileSize) {
                    cut = r;
                    break;
                }
            }
            String which = cut == null ? "" : "; " + cut.label + " needs bytes " + cut.offset + "-"
                    + (cut.offset + cut.bytes(layout.groupSize)) + " but the file ends at offset " + fileSize;
            throw new SqueezeException("Truncated llama2c checkpoint " + where + ": the header (" + header
                    + ") implies " + layout.size + " bytes, the file has " + fileSize + which,
                    "the download or copy is incomplete; get the whole file again");
        }
        throw corrupt(where, "the header (" + header + ") implies " + layout.size + " bytes, but the file has "
                + fileSize + " (" + (fileSize - layout.size) + " extra bytes after offset " + layout.size + ")");
    }


    static Layout legacyLayout(Header h) {
        LlamaConfig c = h.config();
        Layout.Builder b = new Layout.Builder(0, c, LEGACY_HEADER_BYTES, 0);
        b.f32(LlamaLayers.EMBEDDING, c.vocabSize(), c.dim());
        b.norms(Layout.ATTN_NORM);
        b.linears(Layout.Q, Layout.K, Layout.V, Layout.O, false);
        b.norms(Layout.MLP_NORM);
        b.linears(Layout.GATE, Layout.DOWN, Layout.UP, false);
        b.f32(LlamaLayers.FINAL_NORM, c.dim());
        long freq = (long) c.maxSeqLen() * (c.headDim() / 2);
        b.skip("freq_cis_real", freq * 4);
        b.skip("freq_cis_imag", freq * 4);
        if (!c.tiedEmbeddings()) {
            b.f32(LlamaLayers.HEAD, c.vocabSize(), c.dim());
        }
        return b.build();
    }

    private static Layout version1Layout(Header h) {
        LlamaConfig c = h.config();
        Layout.Builder b = new Layout.Builder(1, c, HEADER_BYTES, 0);
        b.norms(Layout.ATTN_NORM);
        b.norms(Layout.MLP_NORM);
        b.f32(LlamaLayers.FINAL_NORM, c.dim());
        b.f32(LlamaLayers.EMBEDDING, c.vocabSize(), c.dim());
        b.linears(Layout.Q, Layout.K, Layout.V, Layout.O, false);
        b.linears(Layout.GATE, Layout.DOWN, Layout.UP, false);
        if (!c.tiedEmbeddings()) {
            b.f32(LlamaLayers.HEAD, c.vocabSize(), c.dim());
        }
        return b.build();
    }

    private static Layout version2Layout(Header h, int group, String where) {
        LlamaConfig c = h.config();
        Layout.Builder b = new Layout.Builder(2, c, HEADER_BYTES, group);
        b.norms(Layout.ATTN_NORM);
        b.norms(Layout.MLP_NORM);
        b.f32(LlamaLayers.FINAL_NORM, c.dim());
        b.q8(LlamaLayers.EMBEDDING, c.vocabSize(), c.dim());
        b.linears(Layout.Q, Layout.K, Layout.V, Layout.O, true);
        b.linears(Layout.GATE, Layout.DOWN, Layout.UP, true);
        if (!c.tiedEmbeddings()) {
            b.q8(LlamaLayers.HEAD, c.vocabSize(), c.dim());
        }
        Layout layout = b.build();
        for (Region r : layout.all) {
            if (r.q8 && r.numel() % group != 0) {
                throw corrupt(where, "tensor " + r.name + " has " + r.numel() + " values, not a multiple of the "
                        + "group size " + group + " at offset 37");
            }
        }
        return layout;
    }

    private static SqueezeException corrupt(String where, String what) {
        return new SqueezeException("Corrupt llama2c checkpoint " + where + ": " + what,
                "the file is damaged or not a llama2.c checkpoint; get a fresh copy of it");
    }

    private static String displayName(Path file) {
        String n = file.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    /** SHA-256 of the whole file, mapped a chunk at a time (files may exceed one mapping's 2 GiB). */
    private static String sha256(FileChannel ch, long size) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        long chunk = 1L << 30;
        for (long pos = 0; pos < size; pos += chunk) {
            md.update(ch.map(FileChannel.MapMode.READ_ONLY, pos, Math.min(chunk, size - pos)));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The seven header numbers; {@link #problem()} says what is implausible about them, or is null. */
    record Header(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int seqLen, boolean shared,
                  String problem) {
        /**
         * @param shared null for the legacy header, where the sign of vocab_size says it
         */
        static Header parse(ByteBuffer b, int at, int version, Boolean shared) {
            int dim = b.getInt(at);
            int hidden = b.getInt(at + 4);
            int layers = b.getInt(at + 8);
            int heads = b.getInt(at + 12);
            int kvHeads = b.getInt(at + 16);
            int vocab = b.getInt(at + 20);
            int seq = b.getInt(at + 24);
            boolean isShared = shared != null ? shared : vocab > 0;
            int v = vocab == Integer.MIN_VALUE ? 0 : Math.abs(vocab);
            String fields = "dim=" + dim + " hidden_dim=" + hidden + " n_layers=" + layers + " n_heads=" + heads
                    + " n_kv_heads=" + kvHeads + " vocab_size=" + vocab + " seq_len=" + seq;
            String problem = null;
            if (dim <= 0 || dim > MAX_DIM || hidden <= 0 || hidden > MAX_HIDDEN || layers <= 0 || layers > MAX_LAYERS
                    || heads <= 0 || kvHeads <= 0 || v <= 0 || v > MAX_VOCAB || seq <= 0 || seq > MAX_SEQ
                    || (shared != null && vocab < 0)) {
                problem = fields + " (expected positive sizes within dim≤" + MAX_DIM + ", hidden_dim≤" + MAX_HIDDEN
                        + ", n_layers≤" + MAX_LAYERS + ", vocab_size≤" + MAX_VOCAB + ", seq_len≤" + MAX_SEQ + ")";
            } else if (heads > dim || dim % heads != 0 || (dim / heads) % 2 != 0 || kvHeads > heads
                    || heads % kvHeads != 0) {
                problem = fields + " (expected n_heads to divide dim into even head widths and n_kv_heads to"
                        + " divide n_heads)";
            }
            return new Header(dim, hidden, layers, heads, kvHeads, v, seq, isShared, problem);
        }

        LlamaConfig config() {
            return LlamaConfig.llama2c(dim, hidden, layers, heads, kvHeads, vocab, seqLen, shared);
        }
    }

    /** One stretch of the file: a tensor (float32 or Q8_0) or skipped bytes. */
    record Region(String name, String label, long[] shape, long offset, boolean q8, long skipBytes) {
        long numel() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        long bytes(int group) {
            if (name == null) {
                return skipBytes;
            }
            return q8 ? numel() + numel() / group * 4 : numel() * 4;
        }
    }

    /** Where every tensor lies, and the file size the header implies. */
    record Layout(int version, LlamaConfig config, int groupSize, List<Region> all, Map<String, Region> regions,
                  long size) {
        static final int ATTN_NORM = 0;
        static final int MLP_NORM = 1;
        static final int Q = 0;
        static final int K = 1;
        static final int V = 2;
        static final int O = 3;
        static final int GATE = 4;
        static final int UP = 5;
        static final int DOWN = 6;

        static final class Builder {
            private final int version;
            private final LlamaConfig c;
            private final int group;
            private final List<Region> all = new ArrayList<>();
            private final Map<String, Region> regions = new LinkedHashMap<>();
            private long cursor;

            Builder(int version, LlamaConfig c, long start, int group) {
                this.version = version;
                this.c = c;
                this.cursor = start;
                this.group = group;
            }

            void f32(String layer, long... shape) {
                add(layer, shape, false);
            }

            void q8(String layer, long... shape) {
                add(layer, shape, true);
            }

            void skip(String label, long bytes) {
                Region r = new Region(null, label, new long[0], cursor, false, bytes);
                all.add(r);
                cursor += bytes;
            }

            void norms(int which) {
                for (int l = 0; l < c.nLayers(); l++) {
                    f32(which == ATTN_NORM ? LlamaLayers.attentionNorm(l) : LlamaLayers.mlpNorm(l), c.dim());
                }
            }

            /** Each of the given matrices for all layers, in the order given (llama2.c stores w1, w2, w3). */
            void linears(int first, int second, int third, int fourth, boolean quantized) {
                for (int kind : new int[]{first, second, third, fourth}) {
                    for (int l = 0; l < c.nLayers(); l++) {
                        add(name(kind, l), shape(kind), quantized);
                    }
                }
            }

            void linears(int first, int second, int third, boolean quantized) {
                for (int kind : new int[]{first, second, third}) {
                    for (int l = 0; l < c.nLayers(); l++) {
                        add(name(kind, l), shape(kind), quantized);
                    }
                }
            }

            private String name(int kind, int l) {
                return switch (kind) {
                    case Q -> LlamaLayers.q(l);
                    case K -> LlamaLayers.k(l);
                    case V -> LlamaLayers.v(l);
                    case O -> LlamaLayers.o(l);
                    case GATE -> LlamaLayers.gate(l);
                    case UP -> LlamaLayers.up(l);
                    case DOWN -> LlamaLayers.down(l);
                    default -> throw new IllegalArgumentException("kind " + kind);
                };
            }

            private long[] shape(int kind) {
                return switch (kind) {
                    case Q, O -> new long[]{c.dim(), c.dim()};
                    case K, V -> new long[]{c.kvDim(), c.dim()};
                    case GATE, UP -> new long[]{c.hiddenDim(), c.dim()};
                    case DOWN -> new long[]{c.dim(), c.hiddenDim()};
                    default -> throw new IllegalArgumentException("kind " + kind);
                };
            }

            private void add(String layer, long[] shape, boolean quantized) {
                String name = layer + ".weight";
                Region r = new Region(name, "tensor " + name, shape, cursor, quantized, 0);
                all.add(r);
                regions.put(name, r);
                cursor += r.bytes(Math.max(group, 1));
            }

            Layout build() {
                return new Layout(version, c, group, List.copyOf(all), regions, cursor);
            }
        }
    }
}
