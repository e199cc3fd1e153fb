package dev.squeeze.engine.nn.llama;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.Model;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The hyper-parameters of a Llama-family decoder (Llama 2/3, Mistral, Qwen2, llama2.c). Readers describe the
 * architecture through {@link Model#metadata()} with the keys {@code squeeze.llama.*} ({@link #toMetadata()}),
 * so the forward pass needs nothing format-specific.
 *
 * @param dim            model width (hidden size)
 * @param hiddenDim      SwiGLU inner width (intermediate size)
 * @param nLayers        decoder blocks
 * @param nHeads         query heads; the head width is {@code dim / nHeads}
 * @param nKvHeads       key/value heads (grouped-query attention when fewer than {@code nHeads})
 * @param vocabSize      tokens
 * @param maxSeqLen      the longest context the model was trained for (positions {@code 0 .. maxSeqLen-1})
 * @param normEps        RMSNorm epsilon (llama2.c: 1e-5)
 * @param ropeTheta      RoPE base (llama2.c: 10000)
 * @param ropeStyle      where RoPE's pairs sit in a head (llama2.c: interleaved; Hugging Face: rotate-half)
 * @param qkvBias        whether q/k/v projections have biases (Qwen2)
 * @param tiedEmbeddings whether the output head reuses the token embedding (then there is no {@code lm_head})
 */
public record LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                          int maxSeqLen, double normEps, double ropeTheta, RopeStyle ropeStyle, boolean qkvBias,
                          boolean tiedEmbeddings) {
    public static final String ARCHITECTURE = "llama";
    /** The key {@link dev.squeeze.engine.model.safetensors.SafetensorsFormat} reads the architecture from. */
    public static final String ARCH_KEY = "squeeze.architecture";
    public static final String PREFIX = "squeeze.llama.";
    public static final double LLAMA2C_NORM_EPS = 1e-5;
    public static final double LLAMA2C_ROPE_THETA = 10000;

    public LlamaConfig {
        if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || vocabSize <= 0
                || maxSeqLen <= 0) {
            throw new IllegalArgumentException("every size must be positive: " + describe(dim, hiddenDim, nLayers,
                    nHeads, nKvHeads, vocabSize, maxSeqLen));
        }
        if (dim % nHeads != 0 || (dim / nHeads) % 2 != 0) {
            throw new IllegalArgumentException("dim " + dim + " must split into " + nHeads
                    + " heads of an even width (RoPE rotates pairs)");
        }
        if (nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException(nHeads + " query heads cannot share " + nKvHeads + " key/value heads evenly");
        }
        if (!(normEps > 0) || !(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
            throw new IllegalArgumentException("normEps " + normEps + " and ropeTheta " + ropeTheta + " must be positive");
        }
        if (ropeStyle == null) {
            throw new IllegalArgumentException("ropeStyle is required");
        }
    }

    /** A llama2.c model: eps 1e-5, theta 10000, interleaved RoPE, no biases. */
    public static LlamaConfig llama2c(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                                      int maxSeqLen, boolean tiedEmbeddings) {
        return new LlamaConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen, LLAMA2C_NORM_EPS,
                LLAMA2C_ROPE_THETA, RopeStyle.INTERLEAVED, false, tiedEmbeddings);
    }

    public int headDim() {
        return dim / nHeads;
    }

    /** Width of the key and value projections: {@code nKvHeads · headDim}. */
    public int kvDim() {
        return nKvHeads * headDim();
    }

    /** Query heads per key/value head. */
    public int groupSize() {
        return nHeads / nKvHeads;
    }

    public LlamaConfig withRopeStyle(RopeStyle style) {
        return new LlamaConfig(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, maxSeqLen, normEps, ropeTheta,
                style, qkvBias, tiedEmbeddings);
    }

    /**
     * The metadata that describes this architecture, including {@code squeeze.architecture=llama}; numbers are
     * written so that {@link #fromMetadata} gives back an equal record.
     */
    public Map<String, String> toMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(ARCH_KEY, ARCHITECTURE);
        m.put(PREFIX + "dim", Integer.toString(dim));
        m.put(PREFIX + "hidden_dim", Integer.toString(hiddenDim));
        m.put(PREFIX + "n_layers", Integer.toString(nLayers));
        m.put(PREFIX + "n_heads", Integer.toString(nHeads));
        m.put(PREFIX + "n_kv_heads", Integer.toString(nKvHeads));
        m.put(PREFIX + "vocab_size", Integer.toString(vocabSize));
        m.put(PREFIX + "max_seq_len", Integer.toString(maxSeqLen));
        m.put(PREFIX + "norm_eps", Double.toString(normEps));
        m.put(PREFIX + "rope_theta", Double.toString(ropeTheta));
        m.put(PREFIX + "rope_style", ropeStyle.name().toLowerCase(Locale.ROOT));
        m.put(PREFIX + "qkv_bias", Boolean.toString(qkvBias));
        m.put(PREFIX + "tied_embeddings", Boolean.toString(tiedEmbeddings));
        return m;
    }

    /**
     * Reads the architecture from a model's metadata. The seven sizes and {@code rope_style} are required;
     * {@code norm_eps} defaults to 1e-5, {@code rope_theta} to 10000, {@code qkv_bias} to false and
     * {@code tied_embeddings} to whether the model lacks {@code lm_head.weight}.
     */
    public static LlamaConfig fromMetadata(Model model) {
        Map<String, String> m = model.metadata();
        String where = model.source();
        int dim = intKey(m, where, "dim");
        int hidden = intKey(m, where, "hidden_dim");
        int layers = intKey(m, where, "n_layers");
        int heads = intKey(m, where, "n_heads");
        int kvHeads = intKey(m, where, "n_kv_heads");
        int vocab = intKey(m, where, "vocab_size");
        int seq = intKey(m, where, "max_seq_len");
        double eps = doubleKey(m, where, "norm_eps", LLAMA2C_NORM_EPS);
        double theta = doubleKey(m, where, "rope_theta", LLAMA2C_ROPE_THETA);
        String styleText = required(m, where, "rope_style");
        RopeStyle style;
        try {
            style = RopeStyle.valueOf(styleText.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new SqueezeException("Model " + where + ": metadata " + PREFIX + "rope_style is '" + styleText
                    + "', expected interleaved or rotate_half", "fix the metadata or re-export the model");
        }
        boolean bias = boolKey(m, where, "qkv_bias", false);
        boolean tied = boolKey(m, where, "tied_embeddings", !model.tensors().containsKey(LlamaLayers.HEAD + ".weight"));
        try {
            return new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, seq, eps, theta, style, bias, tied);
        } catch (IllegalArgumentException e) {
            throw new SqueezeException("Model " + where + " describes an impossible Llama architecture: "
                    + e.getMessage(), "fix the " + PREFIX + "* metadata or re-export the model");
        }
    }

    private static String required(Map<String, String> m, String where, String key) {
        String v = m.get(PREFIX + key);
        if (v == null || v.isBlank()) {
            throw new SqueezeException("Model " + where + " lacks the metadata key " + PREFIX + key
                    + " that describes its Llama architecture", "open it with a reader that fills the "
                    + PREFIX + "* keys, or add them");
        }
        return v;
    }

    private static int intKey(Map<String, String> m, String where, String key) {
        String v = required(m, where, key);
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new SqueezeException("Model " + where + ": metadata " + PREFIX + key + " is '" + v
                    + "', expected a whole number", "fix the metadata or re-export the model");
        }
    }

    private static double doubleKey(Map<String, String> m, String where, String key, double fallback) {
        String v = m.get(PREFIX + key);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            return Double.parseDouble(v.strip());
        } catch (NumberFormatException e) {
            throw new SqueezeException("Model " + where + ": metadata " + PREFIX + key + " is '" + v
                    + "', expected a number", "fix the metadata or re-export the model");
        }
    }

    private static boolean boolKey(Map<String, String> m, String where, String key, boolean fallback) {
        String v = m.get(PREFIX + key);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        return switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new SqueezeException("Model " + where + ": metadata " + PREFIX + key + " is '" + v
                    + "', expected true or false", "fix the metadata or re-export the model");
        };
    }

    private static String describe(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                                   int maxSeqLen) {
        return "dim=" + dim + " hidden_dim=" + hiddenDim + " n_layers=" + nLayers + " n_heads=" + nHeads
                + " n_kv_heads=" + nKvHeads + " vocab_size=" + vocabSize + " max_seq_len=" + maxSeqLen;
    }
}
