package dev.squeeze.engine.data.text;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.text.TokenizerPipeline.Decoder;
import dev.squeeze.engine.data.text.TokenizerPipeline.Piece;
import dev.squeeze.engine.data.text.TokenizerPipeline.PreTokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face {@code tokenizer.json} with a BPE model: byte-level BPE (GPT-2, Llama 3, Qwen2: a ByteLevel
 * pre-tokenizer, often after a Split with the model's regex) and SentencePiece-style BPE (Llama 2, Mistral:
 * spaces become {@code ▁}, a {@code ▁} is prepended, unknown characters fall back to {@code <0xXX>} byte tokens).
 *
 * <p>Encoding follows the library: added tokens are cut out of the raw text first (longest match, honouring
 * {@code lstrip}/{@code rstrip}); each remaining segment is normalized, pre-tokenized and merged by rank.
 * Departures, none of which the supported families use: every added token is matched in the raw text (the
 * library matches {@code normalized: true} ones after normalization), {@code single_word} is ignored, BPE dropout
 * is off (evaluation must be deterministic), and the post-processor is not run: BOS and EOS are added only when
 * {@link #encode} is asked to. Unpaired surrogates in the text are encoded as U+FFFD ({@link WellFormedText}).
 */
public final class HfTokenizer implements Tokenizer {
    /** Real tokenizer.json files are up to a few tens of megabytes. */
    private static final long MAX_BYTES = 256L << 20;
    /** Ids may leave gaps, but not many: ids are indexes into a table (see {@link #fromJson}). */
    private static final int ID_SLACK = 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String where;
    private final BpeModel model;
    private final UnaryOperator<String> normalizer;
    private final PreTokenizer preTokenizer;
    private final Decoder decoder;
    private final String[] tokens;
    private final BitSet special;
    private final Map<String, Integer> addedIds;
    private final Pattern addedPattern;
    private final Map<String, boolean[]> addedStrip;
    private final Map<String, Integer> lookup;
    private final int bosId;
    private final int eosId;

    private HfTokenizer(String where, BpeModel model, UnaryOperator<String> normalizer, PreTokenizer preTokenizer,
                        Decoder decoder, String[] tokens, BitSet special, Map<String, Integer> addedIds,
                        Map<String, boolean[]> addedStrip, Map<String, Integer> lookup, int bosId, int eosId) {
        this.where = where;
        this.model = model;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.decoder = decoder;
        this.tokens = tokens;
        this.special = special;
        this.addedIds = addedIds;
        this.addedStrip = addedStrip;
        this.lookup = lookup;
        this.bosId = bosId;
        this.eosId = eosId;
        List<String> contents = new ArrayList<>(addedIds.keySet());
        // Longest first: a regex alternation takes the first alternative that matches.
        contents.sort(Comparator.comparingInt(String::length).reversed());
        this.addedPattern = contents.isEmpty() ? null
                : Pattern.compile(String.join("|", contents.stream().map(Pattern::quote).toList()));
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
                t.addedIds, t.addedStrip, t.lookup, bos, eos);
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
        Map<String, Integer> addedIds = new HashMap<>();
        Map<String, boolean[]> addedStrip = new HashMap<>();
        BitSet special = new BitSet();
        for (JsonNode a : addedNode) {
            String content = a.path("content").asText("");
            int id = id(a.get("id"), limit, "added token '" + content + "'", where);
            if (content.isEmpty()) {
                throw TokenizerPipeline.corrupt(where, "added token " + id + " has no content");
            }
            addedIds.put(content, id);
            addedStrip.put(content, new boolean[]{a.path("lstrip").asBoolean(false), a.path("rstrip").asBoolean(false)});
            if (a.path("special").asBoolean(false)) {
                special.set(id);
            }
        }
        int maxId = -1;
        for (int id : vocab.values()) {
            maxId = Math.max(maxId, id);
        }
        for (int id : addedIds.values()) {
            maxId = Math.max(maxId, id);
        }
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
        return new HfTokenizer(where, bpe, TokenizerPipeline.normalizer(root.get("normalizer"), where),
                TokenizerPipeline.preTokenizer(root.get("pre_tokenizer"), where),
                TokenizerPipeline.decoder(root.get("decoder"), where), tokens, special, addedIds, addedStrip, lookup,
                bosId, eosId);
    }

    /**
     * Token ids for {@code text}, with BOS first and EOS last when asked.
     *
     * @throws SqueezeException when BOS or EOS is asked for and the tokenizer has none
     */
    @Override
    public int[] encode(String raw, boolean bos, boolean eos) {
        String text = WellFormedText.of(raw);
        IntList out = new IntList(text.length() / 3 + 2);
        if (bos) {
            out.add(require(bosId, "BOS"));
        }
        int last = 0;
        Matcher m = addedPattern == null ? null : addedPattern.matcher(text);
        while (m != null && m.find()) {
            String content = m.group();
            boolean[] strip = addedStrip.get(content);
            int start = m.start();
            int end = m.end();
            while (strip[0] && start > last && Character.isWhitespace(text.charAt(start - 1))) {
                start--;
            }
            while (strip[1] && end < text.length() && Character.isWhitespace(text.charAt(end))) {
                end++;
            }
            encodeSegment(text.substring(last, start), last == 0, out);
            out.add(addedIds.get(content));
            last = end;
            if (end > m.end()) {
                m.region(end, text.length());
            }
        }
        encodeSegment(text.substring(last), last == 0, out);
        if (eos) {
            out.add(require(eosId, "EOS"));
        }
        return out.toArray();
    }

    private void encodeSegment(String segment, boolean atStart, IntList out) {
        if (segment.isEmpty()) {
            return;
        }
        String normalized = normalizer.apply(segment);
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
            merges.putIfAbsent(BpeModel.pair(a, b), ((long) rank << 32) | ab);
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
