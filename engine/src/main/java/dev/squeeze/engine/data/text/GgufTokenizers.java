package dev.squeeze.engine.data.text;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.export.gguf.GgufFile;
import dev.squeeze.engine.export.gguf.GgufValue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The tokenizer a GGUF file carries in its {@code tokenizer.ggml.*} metadata. A SentencePiece vocabulary
 * ({@code tokenizer.ggml.model = "llama"}: {@code tokens} with {@code ▁} for a space, merge {@code scores}, byte
 * tokens {@code <0xXX>}, as llama.cpp's converters write Llama 2 and llama2.c vocabularies) becomes a
 * {@link Llama2cTokenizer}: run.c's algorithm, which is llama.cpp's SentencePiece tokenizer (the highest-scoring
 * adjacent pair merged first, the leftmost on ties; a space token before the text unless
 * {@code add_space_prefix} is false) for text whose characters are in the vocabulary. BOS, EOS and UNK are
 * {@code bos_token_id}, {@code eos_token_id} and {@code unknown_token_id}, by default 1, 2 and 0 as in
 * llama.cpp. Other tokenizer models (GPT-2-style byte-level BPE) are refused with their name.
 */
public final class GgufTokenizers {
    /** SentencePiece's space marker, U+2581. */
    public static final String SPACE_MARKER = "\u2581";

    private GgufTokenizers() {
    }

    /** The tokenizer of the GGUF file, empty when it carries none; {@code vocabSize} is the model's. */
    public static Optional<Tokenizer> read(Path file, int vocabSize) {
        try (GgufFile gguf = GgufFile.open(file)) {
            return of(gguf.metadata(), file.toAbsolutePath().toString(), vocabSize);
        }
    }

    /**
     * The tokenizer described by a GGUF file's metadata, empty when it has no {@code tokenizer.ggml.tokens}.
     *
     * @param vocabSize the model's vocabulary (the token list must have as many), or -1 to take the list's
     */
    public static Optional<Tokenizer> of(Map<String, GgufValue> md, String where, int vocabSize) {
        GgufValue tokens = md.get("tokenizer.ggml.tokens");
        if (tokens == null) {
            return Optional.empty();
        }
        GgufValue model = md.get("tokenizer.ggml.model");
        String kind = model != null && model.type() == GgufValue.STRING ? model.asString() : null;
        if (!"llama".equals(kind)) {
            throw new SqueezeException("The GGUF file " + where + " has a tokenizer of kind '" + kind
                    + "' (tokenizer.ggml.model); Squeeze reads SentencePiece vocabularies ('llama': Llama 1/2,"
                    + " Mistral, TinyLlama, llama2.c)", "evaluate the model's Hugging Face folder, whose"
                    + " tokenizer.json Squeeze reads");
        }
        List<?> pieces = array(tokens, GgufValue.STRING, "tokenizer.ggml.tokens", where);
        int n = pieces.size();
        if (n == 0 || vocabSize >= 0 && n != vocabSize) {
            throw new SqueezeException("The GGUF file " + where + " lists " + n + " tokens in tokenizer.ggml.tokens"
                    + " but its model has a vocabulary of " + vocabSize, "the file is damaged");
        }
        float[] scores = new float[n];
        GgufValue s = md.get("tokenizer.ggml.scores");
        if (s != null) {
            List<?> list = array(s, GgufValue.FLOAT32, "tokenizer.ggml.scores", where);
            if (list.size() != n) {
                throw new SqueezeException("The GGUF file " + where + " has " + list.size() + " scores for " + n
                        + " tokens (tokenizer.ggml.scores)", "the file is damaged");
            }
            for (int i = 0; i < n; i++) {
                scores[i] = (Float) list.get(i);
            }
        }
        String[] bytes = new String[n];
        for (int i = 0; i < n; i++) {
            // The vocabulary's own spelling: UTF-8 with ▁ for a space; the tokenizer works on bytes.
            byte[] utf8 = ((String) pieces.get(i)).replace(SPACE_MARKER, " ").getBytes(StandardCharsets.UTF_8);
            bytes[i] = new String(utf8, StandardCharsets.ISO_8859_1);
        }
        int unk = id(md, "tokenizer.ggml.unknown_token_id", 0, n, where);
        int bos = id(md, "tokenizer.ggml.bos_token_id", 1, n, where);
        int eos = id(md, "tokenizer.ggml.eos_token_id", 2, n, where);
        GgufValue prefix = md.get("tokenizer.ggml.add_space_prefix");
        boolean dummyPrefix = prefix == null || prefix.type() != GgufValue.BOOL || (Boolean) prefix.value();
        return Optional.of(Llama2cTokenizer.of(where, bytes, scores, unk, bos, eos, dummyPrefix));
    }

    private static List<?> array(GgufValue v, int element, String key, String where) {
        if (v.type() != GgufValue.ARRAY || v.elementType() != element) {
            throw new SqueezeException("The GGUF file " + where + " has " + key + " of GGUF type " + v.type()
                    + (v.type() == GgufValue.ARRAY ? " of " + v.elementType() : "") + ", not an array of type "
                    + element, "the file is damaged");
        }
        return v.asList();
    }

    /** A special token id: {@code fallback} when absent (or -1 when the fallback is outside the vocabulary). */
    private static int id(Map<String, GgufValue> md, String key, int fallback, int n, String where) {
        GgufValue v = md.get(key);
        if (v == null) {
            return fallback < n ? fallback : -1;
        }
        boolean integer = v.type() <= GgufValue.INT32 || v.type() == GgufValue.UINT64 || v.type() == GgufValue.INT64;
        if (!integer || v.asLong() < 0 || v.asLong() >= n) {
            throw new SqueezeException("The GGUF file " + where + " has " + key + " = " + v.value() + ", not a token"
                    + " of its " + n, "the file is damaged");
        }
        return (int) v.asLong();
    }
}
