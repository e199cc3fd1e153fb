package dev.squeeze.engine.export.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.text.HfTokenizer;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.Tokenizers;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.hf.HfModelFormat;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A SentencePiece-style vocabulary as llama.cpp reads it ({@code tokenizer.ggml.model = llama}): every token's
 * text with spaces written as {@code ▁} (U+2581), its score (higher merges first) and its type, the BOS/EOS/UNK
 * ids and whether BOS, EOS and the leading space are added.
 * <ul>
 *   <li>From llama2.c's {@code tok*.bin} as llama.cpp's {@code convert-llama2c-to-ggml} converts it: token 0 is
 *   {@code <unk>} (UNKNOWN), 1 {@code <s>} and 2 {@code </s>} (CONTROL), an empty token is CONTROL, a
 *   {@code <0xXX>} token BYTE, every other NORMAL; scores as stored; spaces become {@code ▁}.</li>
 *   <li>From a Hugging Face {@code tokenizer.json} with a byte-fallback BPE model (Llama 2, Mistral), with the
 *   token types of gguf-py's {@code LlamaHfVocab} ({@code <0xXX>} BYTE, special added tokens CONTROL, other added
 *   tokens USER_DEFINED) and the unknown token UNKNOWN as in SentencePiece. Scores: llama.cpp's SentencePiece
 *   tokenizer merges the adjacent pair whose joined text has the highest score, so a token made by the merge of
 *   rank {@code r} scores {@code −r} (its first merge) and the merges happen in tokenizer.json's order; a token
 *   no merge makes (a single character) scores below every merge. (gguf-py gives every token −1000, which makes
 *   llama.cpp merge left to right instead of by rank: with Llama 2's tokenizer.json so converted, llama.cpp's ids
 *   differ from the tokenizers library's at the 118th token of the first evaluation story; with these scores
 *   they agree on all 500 stories, bench/llamacpp-check.sh.) A vocabulary shorter than the embedding is padded with
 *   {@code [PADn]} tokens of type UNUSED, as convert_hf_to_gguf.py pads it. Byte-level BPE (Llama 3, Qwen),
 *   which llama.cpp calls {@code gpt2}, is refused.</li>
 * </ul>
 *
 * @param tokens         token texts, index = id
 * @param scores         one score per token
 * @param types          one llama.cpp token type per token ({@link #NORMAL} ...)
 * @param bosId          BOS, or -1 when there is none
 * @param eosId          EOS, or -1 when there is none
 * @param unkId          the unknown token, or -1 when there is none
 * @param addSpacePrefix whether a space is put before the text (SentencePiece's dummy prefix)
 */
public record GgufVocab(List<String> tokens, List<Float> scores, List<Integer> types, int bosId, int eosId,
                        int unkId, boolean addBos, boolean addEos, boolean addSpacePrefix) {
    /** llama.cpp's {@code llama_token_type}. */
    public static final int NORMAL = 1;
    public static final int UNKNOWN = 2;
    public static final int CONTROL = 3;
    public static final int USER_DEFINED = 4;
    public static final int UNUSED = 5;
    public static final int BYTE = 6;
    /** SentencePiece's space marker. */
    public static final String SPACE = "\u2581";
    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x[0-9A-Fa-f]{2}>");
    private static final ObjectMapper JSON = new ObjectMapper();

    public GgufVocab {
        tokens = List.copyOf(tokens);
        scores = List.copyOf(scores);
        types = List.copyOf(types);
        if (scores.size() != tokens.size() || types.size() != tokens.size()) {
            throw new IllegalArgumentException(tokens.size() + " tokens, " + scores.size() + " scores, "
                    + types.size() + " types");
        }
    }

    public int size() {
        return tokens.size();
    }

    /**
     * The vocabulary of the tokenizer beside {@code model} (where {@link Tokenizers#besideModel} finds it), padded
     * to {@code vocabSize} tokens.
     *
     * @throws SqueezeException when there is none, or it cannot be written for llama.cpp
     */
    public static GgufVocab besideModel(Model model, int vocabSize) {
        Path source = Path.of(model.source());
        Path dir = Files.isDirectory(source) ? source : source.getParent();
        GgufVocab vocab;
        if (HfModelFormat.NAME.equals(model.format()) && dir != null
                && Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            vocab = huggingFace(dir);
        } else if (Llama2cFormat.NAME.equals(model.format()) && Tokenizers.besideModel(model, vocabSize)
                .orElse(null) instanceof Llama2cTokenizer t) {
            vocab = llama2c(t);
        } else {
            String searched = dir == null ? "nowhere (the model was not read from a file)"
                    : Tokenizers.describeSearch(model, vocabSize);
            throw new SqueezeException("No tokenizer for " + model.source() + ": a GGUF file for llama.cpp carries"
                    + " its vocabulary, and none was found at " + searched,
                    "put the model's tokenizer there (tokenizer.json for a Hugging Face folder, tok" + vocabSize
                            + ".bin for a llama2.c checkpoint)");
        }
        return vocab.paddedTo(vocabSize, model.source());
    }

    /** llama2.c's tokenizer, converted as llama.cpp's convert-llama2c-to-ggml does. */
    public static GgufVocab llama2c(Llama2cTokenizer t) {
        int n = t.vocabSize();
        List<String> tokens = new ArrayList<>(n);
        List<Float> scores = new ArrayList<>(n);
        List<Integer> types = new ArrayList<>(n);
        var utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        for (int id = 0; id < n; id++) {
            String text;
            try {
                text = utf8.decode(ByteBuffer.wrap(t.piece(id).getBytes(StandardCharsets.ISO_8859_1))).toString();
            } catch (CharacterCodingException e) {
                throw new SqueezeException("Token " + id + " of " + t.source() + " is not valid UTF-8, which GGUF"
                        + " strings must be", "use a tokenizer whose tokens are whole UTF-8 characters or <0xXX>"
                        + " byte tokens");
            }
            int type;
            if (id == Llama2cTokenizer.UNK) {
                text = "<unk>";
                type = UNKNOWN;
            } else if (id == Llama2cTokenizer.BOS) {
                text = "<s>";
                type = CONTROL;
            } else if (id == Llama2cTokenizer.EOS) {
                text = "</s>";
                type = CONTROL;
            } else if (text.isEmpty()) {
                type = CONTROL;
            } else if (BYTE_TOKEN.matcher(text).matches()) {
                type = BYTE;
            } else {
                type = NORMAL;
            }
            tokens.add(text.replace(" ", SPACE));
            scores.add(t.score(id));
            types.add(type);
        }
        return new GgufVocab(tokens, scores, types, Llama2cTokenizer.BOS, Llama2cTokenizer.EOS,
                Llama2cTokenizer.UNK, true, false, true);
    }

    /** A Hugging Face folder's {@code tokenizer.json} (and {@code tokenizer_config.json}, when present). */
    public static GgufVocab huggingFace(Path dir) {
        Path file = dir.resolve("tokenizer.json");
        String where = file.toAbsolutePath().toString();
        HfTokenizer tokenizer = HfTokenizer.load(dir);
        JsonNode root = readJson(file, true);
        JsonNode model = root.path("model");
        if (!model.path("type").asText("BPE").equals("BPE") || !model.path("byte_fallback").asBoolean(false)) {
            throw new SqueezeException("The tokenizer " + where + " is a " + (model.path("type").asText("BPE")
                    .equals("BPE") ? "byte-level BPE (Llama 3, Qwen style)" : model.path("type").asText())
                    + " tokenizer; the GGUF export writes SentencePiece-style BPE vocabularies with byte fallback"
                    + " (Llama 2, Mistral), the kind llama.cpp calls 'llama'",
                    "export the model with --format hf and convert it with llama.cpp's convert_hf_to_gguf.py,"
                            + " which knows the pre-tokenizer of byte-level vocabularies");
        }
        int n = tokenizer.vocabSize();
        Map<Integer, Integer> firstMerge = mergeRanks(model.path("merges"), tokenizer, where);
        Set<Integer> special = new HashSet<>();
        Set<Integer> added = new HashSet<>();
        for (JsonNode a : root.path("added_tokens")) {
            int id = tokenizer.id(a.path("content").asText(""));
            if (id >= 0) {
                (a.path("special").asBoolean(false) ? special : added).add(id);
            }
        }
        String unk = model.hasNonNull("unk_token") ? model.get("unk_token").asText() : null;
        int unkId = unk == null ? -1 : tokenizer.id(unk);
        List<String> tokens = new ArrayList<>(n);
        List<Float> scores = new ArrayList<>(n);
        List<Integer> types = new ArrayList<>(n);
        int merges = model.path("merges").size();
        for (int id = 0; id < n; id++) {
            String text;
            try {
                text = tokenizer.token(id);
            } catch (IllegalArgumentException gap) {
                tokens.add("[PAD" + id + "]");
                scores.add(-1000f);
                types.add(UNUSED);
                continue;
            }
            int type;
            float score;
            if (id == unkId) {
                type = UNKNOWN;
                score = 0f;
            } else if (special.contains(id)) {
                type = CONTROL;
                score = 0f;
            } else if (BYTE_TOKEN.matcher(text).matches()) {
                type = BYTE;
                score = 0f;
            } else if (added.contains(id)) {
                type = USER_DEFINED;
                score = -1000f;
            } else {
                type = NORMAL;
                Integer rank = firstMerge.get(id);
                score = rank != null ? (float) -rank : (float) -(merges + id);
            }
            tokens.add(text);
            scores.add(score);
            types.add(type);
        }
        JsonNode config = readJson(dir.resolve("tokenizer_config.json"), false);
        boolean addBos = config.path("add_bos_token").asBoolean(tokenizer.bosId() >= 0);
        boolean addEos = config.path("add_eos_token").asBoolean(false);
        return new GgufVocab(tokens, scores, types, tokenizer.bosId(), tokenizer.eosId(), unkId, addBos, addEos,
                prependsSpace(root));
    }

    /**
     * Whether the tokenizer puts {@code ▁} before the text: a {@code Prepend("▁")} normalizer (Llama 2) or a
     * Metaspace pre-tokenizer that prepends ({@code add_prefix_space}, or a {@code prepend_scheme} other than
     * {@code never}).
     */
    private static boolean prependsSpace(JsonNode root) {
        for (JsonNode n : stages(root.path("normalizer"))) {
            if ("Prepend".equals(n.path("type").asText()) && SPACE.equals(n.path("prepend").asText())) {
                return true;
            }
        }
        for (JsonNode n : stages(root.path("pre_tokenizer"))) {
            if ("Metaspace".equals(n.path("type").asText())) {
                String scheme = n.path("prepend_scheme").asText(n.path("add_prefix_space").asBoolean(true)
                        ? "always" : "never");
                return !scheme.equals("never");
            }
        }
        return false;
    }

    private static List<JsonNode> stages(JsonNode n) {
        List<JsonNode> out = new ArrayList<>();
        if (n.isObject()) {
            out.add(n);
            for (String field : List.of("normalizers", "pretokenizers")) {
                for (JsonNode c : n.path(field)) {
                    out.addAll(stages(c));
                }
            }
        }
        return out;
    }

    /** The rank of the first merge that makes each token (merges are "a b" strings or [a, b] pairs). */
    private static Map<Integer, Integer> mergeRanks(JsonNode merges, HfTokenizer tokenizer, String where) {
        Map<Integer, Integer> out = new HashMap<>();
        int rank = 0;
        for (JsonNode m : merges) {
            String left;
            String right;
            if (m.isArray() && m.size() == 2) {
                left = m.get(0).asText();
                right = m.get(1).asText();
            } else {
                String s = m.asText();
                int space = s.indexOf(' ');
                if (space < 0) {
                    throw new SqueezeException("Corrupt tokenizer " + where + ": merge " + rank + " ('" + s
                            + "') is not two tokens separated by a space", "get a fresh copy of tokenizer.json");
                }
                left = s.substring(0, space);
                right = s.substring(space + 1);
            }
            int id = tokenizer.id(left + right);
            if (id >= 0) {
                out.putIfAbsent(id, rank);
            }
            rank++;
        }
        return out;
    }

    private static JsonNode readJson(Path file, boolean required) {
        if (!Files.isRegularFile(file)) {
            if (required) {
                throw new SqueezeException("No " + file + "", "put the model's tokenizer.json there");
            }
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + file.toAbsolutePath() + ": " + e.getMessage(),
                    "check that it is readable JSON");
        }
    }

    /**
     * This vocabulary with {@code [PADn]} UNUSED tokens appended up to {@code vocabSize} (the embedding's rows),
     * as convert_hf_to_gguf.py pads; a vocabulary larger than the embedding is refused.
     */
    public GgufVocab paddedTo(int vocabSize, String model) {
        if (size() == vocabSize) {
            return this;
        }
        if (size() > vocabSize) {
            throw new SqueezeException("The tokenizer of " + model + " has " + size() + " tokens but the model's"
                    + " embedding has " + vocabSize + " rows", "use the tokenizer that belongs to this model");
        }
        List<String> t = new ArrayList<>(tokens);
        List<Float> s = new ArrayList<>(scores);
        List<Integer> y = new ArrayList<>(types);
        for (int id = size(); id < vocabSize; id++) {
            t.add("[PAD" + id + "]");
            s.add(-1000f);
            y.add(UNUSED);
        }
        return new GgufVocab(t, s, y, bosId, eosId, unkId, addBos, addEos, addSpacePrefix);
    }

    /** Puts the {@code tokenizer.ggml.*} keys llama.cpp reads. */
    public void writeTo(GgufWriter w) {
        w.put("tokenizer.ggml.model", GgufValue.str("llama"));
        w.put("tokenizer.ggml.tokens", GgufValue.array(GgufValue.STRING, tokens));
        w.put("tokenizer.ggml.scores", GgufValue.array(GgufValue.FLOAT32, scores));
        w.put("tokenizer.ggml.token_type", GgufValue.array(GgufValue.INT32,
                types.stream().map(Integer::longValue).toList()));
        if (bosId >= 0) {
            w.put("tokenizer.ggml.bos_token_id", GgufValue.u32(bosId));
        }
        if (eosId >= 0) {
            w.put("tokenizer.ggml.eos_token_id", GgufValue.u32(eosId));
        }
        if (unkId >= 0) {
            w.put("tokenizer.ggml.unknown_token_id", GgufValue.u32(unkId));
        }
        w.put("tokenizer.ggml.add_bos_token", GgufValue.bool(addBos));
        w.put("tokenizer.ggml.add_eos_token", GgufValue.bool(addEos));
        w.put("tokenizer.ggml.add_space_prefix", GgufValue.bool(addSpacePrefix));
    }
}
