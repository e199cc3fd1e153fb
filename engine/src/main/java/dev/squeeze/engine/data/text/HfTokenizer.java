package dev.squeeze.engine.data.text;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.text.TokenizerPipeline.Decoder;
import dev.squeeze.engine.data.text.TokenizerPipeline.Piece;
import dev.squeeze.engine.data.text.TokenizerPipeline.PreTokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A Hugging Face {@code tokenizer.json} with a BPE model: byte-level BPE (GPT-2, Llama 3, Qwen2/3: a ByteLevel
 * pre-tokenizer, often after a Split with the model's regex) and SentencePiece-style BPE (Llama 2, Mistral:
 * spaces become {@code ▁}, a {@code ▁} is prepended, unknown characters fall back to {@code <0xXX>} byte tokens).
 *
 * <p>Encoding follows the library ({@code tokenizers} 0.21, which HfTokenizerOfficialTest runs beside this class):
 * added tokens with {@code normalized: false} are cut out of the raw text first; each remaining segment is
 * normalized, the other added tokens are cut out of it, and each remaining piece is pre-tokenized and merged by
 * rank. Added tokens get their ids as the library gives them (the vocabulary's id for a string already in it, else
 * the next one after the vocabulary), not necessarily the ids written beside them. Departures: the post-processor
 * is not run (BOS and EOS are added only when {@link #encode} is asked to, from tokenizer_config.json), the file's
 * truncation and padding are not applied, and a text with unpaired UTF-16 surrogates (which the library cannot be
 * given) is encoded with U+FFFD in their place. Stages and options this class does not implement (other models,
 * normalizers, pre-tokenizers and decoders, BPE dropout, subword affixes, inverted splits) are refused when the
 * file is loaded, never skipped. Regexes are run by java.util.regex, not Oniguruma: the Llama 3, Qwen and GPT-2
 * patterns give the same pieces (HfTokenizerOfficialTest), an unusual pattern might not.
 */
public final class HfTokenizer implements Tokenizer {
    /** Real tokenizer.json files are up to a few tens of megabytes. */
    private static final long MAX_BYTES = 256L << 20;
    /** Ids may leave gaps, but not many: ids are indexes into a table (see {@link #fromJson}). */
    private static final int ID_SLACK = 1024;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(HfTokenizer.class);

    private final String where;
    private final BpeModel model;
    private final UnaryOperator<String> normalizer;
    private final PreTokenizer preTokenizer;
    private final Decoder decoder;
    private final String[] tokens;
    private final BitSet special;
    /** Added tokens cut from the raw text ({@code normalized: false}); null when there are none. */
    private final AddedTokens rawAdded;
    /** Added tokens cut from normalized text, by their normalized content; null when there are none. */
    private final AddedTokens normalizedAdded;
    private final Map<String, Integer> lookup;
    private final int bosId;
    private final int eosId;

    private HfTokenizer(String where, BpeModel model, UnaryOperator<String> normalizer, PreTokenizer preTokenizer,
                        Decoder decoder, String[] tokens, BitSet special, AddedTokens rawAdded,
                        AddedTokens normalizedAdded, Map<String, Integer> lookup, int bosId, int eosId) {
        this.where = where;
        this.model = model;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.decoder = decoder;
        this.tokens = tokens;
        this.special = special;
        this.rawAdded = rawAdded;
        this.normalizedAdded = normalizedAdded;
        this.lookup = lookup;
        this.bosId = bosId;
        this.eosId = eosId;
    }

    /**
     * Loads {@code tokenizer.json} (or the folder holding it). BOS and EOS come from {@code tokenizer_config.json}
     * beside it ({@code bos_token}/{@code eos_token}; a null there means the model has none), else from
     * {@code config.json} ({@code bos_token_id}/{@code eos_token_id}, the first of a list), else there is none.
     */
    public static HfTokenizer load(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        String where = file.toAbsolutePath().toString();
        byte[] bytes = readSmall(file, "tokenizer.json");
        HfTokenizer t = fromJson(bytes, where, -1, -1);
        Path dir = file.toAbsolutePath().getParent();
        JsonNode tokCfg = optionalJson(dir.resolve("tokenizer_config.json"));
        JsonNode modelCfg = optionalJson(dir.resolve("config.json"));
        int bos = t.specialId(tokCfg, "bos_token", modelCfg, "bos_token_id");
        int eos = t.specialId(tokCfg, "eos_token", modelCfg, "eos_token_id");
        return new HfTokenizer(t.where, t.model, t.normalizer, t.preTokenizer, t.decoder, t.tokens, t.special,
                t.rawAdded, t.normalizedAdded, t.lookup, bos, eos);
    }

    /**
     * Parses tokenizer.json content.
     *
     * @param where names the file in error messages
     * @param bosId -1 when the model has no BOS token
     * @param eosId -1 when the model has no EOS token
     */
    public static HfTokenizer fromJson(byte[] json, String where, int bosId, int eosId) {
        JsonNode root;
        try {
            root = JSON.readTree(new String(json, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw TokenizerPipeline.corrupt(where, "it is not valid JSON (" + e.getOriginalMessage() + ")");
        }
        if (root == null || !root.isObject() || !root.path("model").isObject()) {
            throw TokenizerPipeline.corrupt(where, "it has no 'model' object");
        }
        JsonNode m = root.get("model");
        String type = m.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw TokenizerPipeline.unsupported(where, "model", type, "BPE");
        }
        for (String affix : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            if (m.hasNonNull(affix) && !m.get(affix).asText().isEmpty()) {
                throw TokenizerPipeline.unsupported(where, "BPE " + affix, m.get(affix).asText(), "none");
            }
        }
        if (m.hasNonNull("dropout") && m.get("dropout").asDouble() != 0) {
            // The library would drop merges at random on every call; an evaluation must see one tokenization.
            throw new SqueezeException("Unsupported tokenizer in " + where + ": the BPE model has dropout "
                    + m.get("dropout").asText() + ", which tokenizes the same text differently on every call",
                    "set \"dropout\" in the \"model\" object of tokenizer.json to null");
        }
        JsonNode vocabNode = m.get("vocab");
        JsonNode addedNode = root.path("added_tokens");
        if (vocabNode == null || !vocabNode.isObject() || vocabNode.isEmpty()) {
            throw TokenizerPipeline.corrupt(where, "the BPE model has no 'vocab' object");
        }
        int limit = vocabNode.size() + addedNode.size() + ID_SLACK;
        Map<String, Integer> vocab = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : vocabNode.properties()) {
            vocab.put(e.getKey(), id(e.getValue(), limit, "vocab entry '" + e.getKey() + "'", where));
        }
        UnaryOperator<String> normalizer = TokenizerPipeline.normalizer(root.get("normalizer"), where);
        Map<String, Integer> addedIds = new HashMap<>();
        Map<String, JsonNode> addedDefs = new LinkedHashMap<>();
        BitSet special = new BitSet();
        int maxAdded = -1;
        List<String> renumbered = new ArrayList<>();
        for (JsonNode a : addedNode) {
            String content = a.path("content").asText("");
            int fileId = id(a.get("id"), limit, "added token '" + content + "'", where);
            if (content.isEmpty()) {
                throw TokenizerPipeline.corrupt(where, "added token " + fileId + " has no content");
            }
            // The library ignores the ids written here: a string already known keeps its id, a new one gets the
            // next id after the vocabulary and the added tokens so far (AddedVocabulary::add_tokens).
            Integer known = addedIds.containsKey(content) ? addedIds.get(content) : vocab.get(content);
            int id = known != null ? known : maxAdded >= vocab.size() ? maxAdded + 1 : vocab.size();
            if (id != fileId) {
                renumbered.add("'" + content + "' written " + fileId + ", given " + id);
            }
            addedIds.put(content, id);
            maxAdded = Math.max(maxAdded, id);
            addedDefs.put(content, a);
            if (a.path("special").asBoolean(false)) {
                special.set(id);
            }
        }
        if (!renumbered.isEmpty()) {
            LOG.warn("{}: {} added tokens are written with ids the tokenizers library does not give them (first: {});"
                    + " using the library's ids", where, renumbered.size(), renumbered.getFirst());
        }
        List<AddedTokens.Token> raw = new ArrayList<>();
        List<AddedTokens.Token> normalized = new ArrayList<>();
        addedDefs.forEach((content, a) -> {
            boolean isNormalized = a.path("normalized").asBoolean(!a.path("special").asBoolean(false));
            // A normalized token is searched for in normalized text, so by its normalized form ("▁</s>").
            (isNormalized ? normalized : raw).add(new AddedTokens.Token(isNormalized ? normalizer.apply(content)
                    : content, addedIds.get(content), a.path("single_word").asBoolean(false),
                    a.path("lstrip").asBoolean(false), a.path("rstrip").asBoolean(false)));
        });
        int maxId = -1;
        for (int id : vocab.values()) {
            maxId = Math.max(maxId, id);
        }
        maxId = Math.max(maxId, maxAdded);
        String[] tokens = new String[maxId + 1];
        vocab.forEach((s, id) -> {
            if (tokens[id] == null || s.compareTo(tokens[id]) < 0) {
                tokens[id] = s;
            }
        });
        addedIds.forEach((s, id) -> tokens[id] = s);

        Map<Long, Long> merges = merges(m.get("merges"), vocab, where);
        String unk = m.hasNonNull("unk_token") ? m.get("unk_token").asText() : null;
        int unkId = -1;
        if (unk != null) {
            Integer u = vocab.containsKey(unk) ? vocab.get(unk) : addedIds.get(unk);
            if (u == null) {
                throw TokenizerPipeline.corrupt(where, "the unknown token '" + unk + "' is not in the vocabulary");
            }
            unkId = u;
        }
        BpeModel bpe = new BpeModel(vocab, merges, m.path("byte_fallback").asBoolean(false), unkId,
                m.path("fuse_unk").asBoolean(false), m.path("ignore_merges").asBoolean(false));
        Map<String, Integer> lookup = new HashMap<>(vocab);
        lookup.putAll(addedIds);
        for (int id : new int[]{bosId, eosId}) {
            if (id >= tokens.length) {
                throw new IllegalArgumentException("special token id " + id + " outside the vocabulary of " + where);
            }
        }
        return new HfTokenizer(where, bpe, normalizer, TokenizerPipeline.preTokenizer(root.get("pre_tokenizer"), where),
                TokenizerPipeline.decoder(root.get("decoder"), where), tokens, special, AddedTokens.of(raw),
                AddedTokens.of(normalized), lookup, bosId, eosId);
    }

    /**
     * Token ids for {@code text}, with BOS first and EOS last when asked.
     *
     * @throws SqueezeException when BOS or EOS is asked for and the tokenizer has none
     */
    @Override
    public int[] encode(String text, boolean bos, boolean eos) {
        String t = WellFormedText.of(text);
        IntList out = new IntList(t.length() / 3 + 2);
        if (bos) {
            out.add(require(bosId, "BOS"));
        }
        if (rawAdded == null) {
            encodeSegment(t, true, out);
        } else {
            rawAdded.split(t, (from, to, id) -> {
                if (id >= 0) {
                    out.add(id);
                } else if (to > from) {
                    encodeSegment(t.substring(from, to), from == 0, out);
                }
            });
        }
        if (eos) {
            out.add(require(eosId, "EOS"));
        }
        return out.toArray();
    }

    /** One stretch of raw text between added tokens; {@code atStart} when it begins the input. */
    private void encodeSegment(String segment, boolean atStart, IntList out) {
        String normalized = normalizer.apply(segment);
        if (normalizedAdded == null) {
            encodePiece(normalized, atStart, out);
            return;
        }
        normalizedAdded.split(normalized, (from, to, id) -> {
            if (id >= 0) {
                out.add(id);
            } else if (to > from) {
                encodePiece(normalized.substring(from, to), atStart && from == 0, out);
            }
        });
    }

    private void encodePiece(String normalized, boolean atStart, IntList out) {
        if (normalized.isEmpty()) {
            return;
        }
        for (Piece p : preTokenizer.apply(List.of(new Piece(normalized, atStart)))) {
            model.encode(p.text(), out);
        }
    }

    /** The text of {@code ids}, special tokens left out ({@link Tokenizer}'s contract: BOS/EOS give no text). */
    @Override
    public String decode(int[] ids) {
        return decode(ids, true);
    }

    /**
     * One token's text for streaming output. Decoders that look at neighbours (Metaspace dropping the leading
     * space of the first word) see the token alone, or after {@code prevToken} when it is a special token.
     */
    @Override
    public String decode(int prevToken, int token) {
        return decode(new int[]{token}, true);
    }

    /** The text of {@code ids}; {@code skipSpecial} leaves out added tokens marked special (BOS, EOS, ...). */
    public String decode(int[] ids, boolean skipSpecial) {
        List<String> pieces = new ArrayList<>(ids.length);
        for (int id : ids) {
            String piece = token(id);
            if (!(skipSpecial && special.get(id))) {
                pieces.add(piece);
            }
        }
        return String.join("", decoder.apply(pieces));
    }

    /** The vocabulary string of one id, e.g. {@code ▁the} or {@code Ġthe}. */
    public String token(int id) {
        if (id < 0 || id >= tokens.length || tokens[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary of " + where);
        }
        return tokens[id];
    }

    /** The id of a vocabulary string or added token, or -1. */
    public int id(String token) {
        return lookup.getOrDefault(token, -1);
    }

    /** One more than the largest id (vocabulary and added tokens). */
    @Override
    public int vocabSize() {
        return tokens.length;
    }

    /** The BOS id, or -1 when the model has none (Qwen2 does not use one). */
    @Override
    public int bosId() {
        return bosId;
    }

    /** The EOS id, or -1 when none is known. */
    @Override
    public int eosId() {
        return eosId;
    }

    private int require(int id, String what) {
        if (id < 0) {
            throw new SqueezeException("The tokenizer " + where + " has no " + what + " token",
                    "encode without " + what + ", or add " + what.toLowerCase() + "_token to tokenizer_config.json");
        }
        return id;
    }

    private int specialId(JsonNode tokCfg, String tokenField, JsonNode modelCfg, String idField) {
        if (tokCfg != null && tokCfg.has(tokenField)) {
            JsonNode t = tokCfg.get(tokenField);
            if (t.isObject()) {
                t = t.get("content");
            }
            if (t == null || t.isNull()) {
                return -1;
            }
            int id = id(t.asText());
            if (id < 0) {
                throw new SqueezeException("tokenizer_config.json beside " + where + " names " + tokenField + " '"
                        + t.asText() + "', which is not in the vocabulary", "get matching tokenizer files");
            }
            return id;
        }
        if (modelCfg != null && modelCfg.has(idField)) {
            JsonNode n = modelCfg.get(idField);
            if (n.isArray()) {
                n = n.path(0);
            }
            if (n.isIntegralNumber() && n.asInt() >= 0 && n.asInt() < tokens.length) {
                return n.asInt();
            }
        }
        return -1;
    }

    private static Map<Long, Long> merges(JsonNode node, Map<String, Integer> vocab, String where) {
        Map<Long, Long> merges = new HashMap<>();
        if (node == null || node.isNull()) {
            return merges;
        }
        if (!node.isArray()) {
            throw TokenizerPipeline.corrupt(where, "'merges' is not an array");
        }
        int rank = 0;
        for (JsonNode e : node) {
            String left;
            String right;
            if (e.isArray() && e.size() == 2) {
                left = e.get(0).asText();
                right = e.get(1).asText();
            } else {
                String[] parts = e.asText().split(" ", -1);
                if (!e.isTextual() || parts.length != 2) {
                    throw TokenizerPipeline.corrupt(where, "merge " + rank + " (" + e + ") is not two tokens");
                }
                left = parts[0];
                right = parts[1];
            }
            Integer a = vocab.get(left);
            Integer b = vocab.get(right);
            Integer ab = vocab.get(left + right);
            if (a == null || b == null || ab == null) {
                throw TokenizerPipeline.corrupt(where, "merge " + rank + " ('" + left + "' + '" + right
                        + "') uses a token that is not in the vocabulary");
            }
            // A pair listed twice keeps its last rank, as in the library (its merge map is filled in order).
            merges.put(BpeModel.pair(a, b), ((long) rank << 32) | ab);
            rank++;
        }
        return merges;
    }

    private static int id(JsonNode n, int limit, String what, String where) {
        if (n == null || !n.isIntegralNumber() || n.asLong() < 0 || n.asLong() >= limit) {
            throw TokenizerPipeline.corrupt(where, what + " has id " + n + "; ids must be whole numbers from 0 to"
                    + " about the vocabulary size (" + limit + ")");
        }
        return n.asInt();
    }

    private static byte[] readSmall(Path file, String what) {
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw TokenizerPipeline.corrupt(file.toAbsolutePath().toString(), "it is " + Files.size(file)
                        + " bytes, far more than any real " + what);
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + file.toAbsolutePath() + ": " + e.getMessage(),
                    "check that " + what + " exists and is readable", e);
        }
    }

    private static JsonNode optionalJson(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonNode n = JSON.readTree(new String(readSmall(file, file.getFileName().toString()),
                    StandardCharsets.UTF_8));
            return n != null && n.isObject() ? n : null;
        } catch (JsonProcessingException e) {
            throw new SqueezeException("Corrupt " + file.toAbsolutePath() + ": it is not valid JSON ("
                    + e.getOriginalMessage() + ")", "get a fresh copy of it");
        }
    }
}
