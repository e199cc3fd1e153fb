package dev.squeeze.engine.data.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Tiny tokenizer.json files written here, with expected ids worked out by hand from the published algorithms:
 * GPT-2's byte-to-unicode table and split regex, the Llama 3 split regex, SentencePiece-style {@code ▁} handling
 * with byte fallback, and merges applied lowest rank first. Each expectation's derivation is in its comment.
 */
class HfTokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static ObjectNode tokenizer(List<String> vocab, List<String> merges) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putArray("added_tokens");
        root.putNull("normalizer");
        root.putNull("pre_tokenizer");
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode v = model.putObject("vocab");
        for (int i = 0; i < vocab.size(); i++) {
            v.put(vocab.get(i), i);
        }
        ArrayNode m = model.putArray("merges");
        merges.forEach(m::add);
        return root;
    }

    private static void added(ObjectNode root, int id, String content, boolean special) {
        ObjectNode a = ((ArrayNode) root.get("added_tokens")).addObject();
        a.put("id", id).put("content", content).put("single_word", false).put("lstrip", false)
                .put("rstrip", false).put("normalized", false).put("special", special);
    }

    private static HfTokenizer parse(ObjectNode root, int bos, int eos) throws Exception {
        return HfTokenizer.fromJson(JSON.writeValueAsBytes(root), "test tokenizer.json", bos, eos);
    }

    private static ObjectNode byteLevel(boolean prefixSpace, boolean regex) {
        ObjectNode b = JSON.createObjectNode();
        b.put("type", "ByteLevel").put("add_prefix_space", prefixSpace).put("trim_offsets", true)
                .put("use_regex", regex);
        return b;
    }

    // ------------------------------------------------------------------ GPT-2 style byte-level BPE

    /**
     * GPT-2 byte-level vocabulary. Byte-to-unicode: printable Latin-1 maps to itself, the other 68 bytes to
     * U+0100 + their index among them (0x00-0x20 are 0-32, 0x7F-0xA0 are 33-66, 0xAD is 67). So ' ' (0x20) is
     * U+0120 'Ġ', '\n' (0x0A) is U+010A 'Ċ', 'é' = C3 A9 is "Ã©", and '😀' = F0 9F 98 80 is 'ð' (F0 itself),
     * 'Ł' (U+0100+33+0x9F-0x7F = U+0141), 'ĺ' (U+013A) and 'Ģ' (U+0122): "ðŁĺĢ", as in GPT-2's vocabulary.
     */
    private static final List<String> GPT2_VOCAB = List.of(
            "h", "e", "l", "o", "Ġ", "w", "r", "d", "he", "ll",          // 0-9
            "llo", "hello", "Ġw", "or", "Ã", "©", "Ã©", "ð", "Ł", "ĺ", // 10-19
            "Ģ", "!", "1", "2", "3", "12", "Ċ");                         // 20-26
    private static final List<String> GPT2_MERGES = List.of(
            "h e", "l l", "ll o", "he llo", "Ġ w", "o r", "Ã ©", "1 2");

    private HfTokenizer gpt2() throws Exception {
        ObjectNode root = tokenizer(GPT2_VOCAB, GPT2_MERGES);
        added(root, 27, "<|endoftext|>", true);
        root.set("pre_tokenizer", byteLevel(false, true));
        root.set("decoder", byteLevel(true, true));
        return parse(root, -1, 27);
    }

    @Test
    void byteLevelMergesByRank() throws Exception {
        HfTokenizer t = gpt2();
        // "hello world" splits (GPT-2 regex) into "hello", " world" -> "Ġworld".
        // hello: h e l l o -> (h e, rank 0) he l l o -> (l l, 1) he ll o -> (ll o, 2) he llo -> (he llo, 3) = 11.
        // Ġworld: Ġ w o r l d -> (Ġ w, 4) Ġw o r l d -> (o r, 5) Ġw or l d: no more merges = 12 13 2 7.
        assertArrayEquals(new int[]{11, 12, 13, 2, 7}, t.encode("hello world", false, false));
        // "é😀!": "é" is a letter piece; "😀!" is one run of neither letters, digits nor spaces.
        // Ã © -> (Ã ©, 6) = 16; ð Ł ĺ Ģ ! have no merges = 17 18 19 20 21.
        assertArrayEquals(new int[]{16, 17, 18, 19, 20, 21}, t.encode("é😀!", false, false));
        // "123" is one digit piece: 1 2 3 -> (1 2, 7) 12 3 = 25 24.
        assertArrayEquals(new int[]{25, 24}, t.encode("123", false, false));
        // "hello\nworld": "\n" is followed by a non-space, so it is its own piece "Ċ" (26); "world" lacks the Ġ.
        assertArrayEquals(new int[]{11, 26, 5, 13, 2, 7}, t.encode("hello\nworld", false, false));
        // The added token is cut out of the raw text first; EOS is appended on request.
        assertArrayEquals(new int[]{11, 27, 11, 27}, t.encode("hello<|endoftext|>hello", false, true));
    }

    @Test
    void byteLevelDecodesBackToTheText() throws Exception {
        HfTokenizer t = gpt2();
        for (String s : List.of("hello world", "é😀!", "hello\nworld", "123hello")) {
            assertEquals(s, t.decode(t.encode(s, false, false)), s);
        }
        assertEquals("hello<|endoftext|>", t.decode(new int[]{11, 27}, false));
        assertEquals("hello", t.decode(new int[]{11, 27}, true));
        // Half of a character's bytes decode to the replacement character.
        assertEquals("\uFFFD", t.decode(new int[]{17}));
        assertEquals(28, t.vocabSize());
        assertEquals(-1, t.bosId());
        assertEquals(27, t.eosId());
        assertEquals("Ġw", t.token(12));
        assertEquals(16, t.id("Ã©"));
        SqueezeException noBos = assertThrows(SqueezeException.class, () -> t.encode("hello", true, false));
        assertTrue(noBos.getMessage().contains("no BOS"), noBos.getMessage());
    }

    @Test
    void addPrefixSpaceTreatsTheFirstWordLikeTheOthers() throws Exception {
        ObjectNode root = tokenizer(GPT2_VOCAB, GPT2_MERGES);
        root.set("pre_tokenizer", byteLevel(true, true));
        // "world" becomes " world" -> Ġw or l d.
        assertArrayEquals(new int[]{12, 13, 2, 7}, parse(root, -1, -1).encode("world", false, false));
    }

    @Test
    void splitRegexesTreatUnicodeSpacesAsSpaces() throws Exception {
        // U+3000 (ideographic space) is E3 80 80: byte-level "ãĢĢ". The GPT-2 regex must see it as whitespace
        // (as Oniguruma does): "\u3000\u3000w" -> "\u3000" (a space run followed by a space), "\u3000", "w", so
        // the (Ģ ã) merge never applies: 0 1 1, 0 1 1, 3. Read as a non-space, both would form one piece and
        // merge to 0 1 2 1 1.
        ObjectNode root = tokenizer(List.of("ã", "Ģ", "Ģã", "w"), List.of("Ģ ã"));
        root.set("pre_tokenizer", byteLevel(false, true));
        assertArrayEquals(new int[]{0, 1, 1, 0, 1, 1, 3}, parse(root, -1, -1).encode("\u3000\u3000w", false, false));
    }

    // ------------------------------------------------------------------ Llama 3 style: Split regex + ByteLevel

    private static final String LLAMA3_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
            + "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private static ObjectNode llama3(boolean ignoreMerges) {
        ObjectNode root = tokenizer(List.of(
                "I", "'", "m", "'m", "Ġ", "1", "2", "3", "4", "5",   // 0-9
                "12", "123", "34", "45", "a", "b", "ab", "12345"),  // 10-17
                List.of("' m", "1 2", "3 4", "12 3", "4 5"));
        ObjectNode split = JSON.createObjectNode();
        split.put("type", "Split").putObject("pattern").put("Regex", LLAMA3_PATTERN);
        split.put("behavior", "Isolated").put("invert", false);
        ObjectNode seq = JSON.createObjectNode().put("type", "Sequence");
        seq.putArray("pretokenizers").add(split).add(byteLevel(false, false));
        root.set("pre_tokenizer", seq);
        ((ObjectNode) root.get("model")).put("ignore_merges", ignoreMerges);
        return root;
    }

    @Test
    void llama3RegexSplitsDigitsInThreesBeforeMerging() throws Exception {
        HfTokenizer t = parse(llama3(false), -1, -1);
        // "I'm 12345" splits into "I", "'m", " ", "123", "45" (digits in runs of at most three; the space has no
        // letter after it). 123: 1 2 3 -> (1 2, 1) 12 3 -> (12 3, 3) 123 = 11. 45 -> (4 5, 4) = 13. Unsplit,
        // "12345" would merge (1 2), then (3 4) before (12 3), ending as 12 34 5 = 10 12 9.
        assertArrayEquals(new int[]{0, 3, 4, 11, 13}, t.encode("I'm 12345", false, false));
        // Without ignore_merges a word in the vocabulary still goes through the merges: a b has none.
        assertArrayEquals(new int[]{14, 15}, t.encode("ab", false, false));
    }

    @Test
    void ignoreMergesTakesWholeWordsFromTheVocabulary() throws Exception {
        HfTokenizer t = parse(llama3(true), -1, -1);
        // "12345" is in the vocabulary, but the regex never hands it to the model whole.
        assertArrayEquals(new int[]{16}, t.encode("ab", false, false));
        assertArrayEquals(new int[]{0, 3, 4, 11, 13}, t.encode("I'm 12345", false, false));
    }

    // ------------------------------------------------------------------ SentencePiece-style BPE (Llama 2)

    /**
     * Llama 2 layout: &lt;unk&gt; &lt;s&gt; &lt;/s&gt; at 0-2, the 256 byte tokens &lt;0x00&gt;..&lt;0xFF&gt; at 3-258, then
     * pieces. Byte b is id 3 + b.
     */
    private static ObjectNode sentencePiece(boolean byteFallback, boolean fuseUnk) {
        List<String> vocab = new java.util.ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) {
            vocab.add(String.format("<0x%02X>", b));
        }
        // 259 ▁, 260 h, 261 i, 262 ▁h, 263 ▁hi, 264 é, 265 i▁
        vocab.addAll(List.of("▁", "h", "i", "▁h", "▁hi", "é", "i▁"));
        ObjectNode root = tokenizer(vocab, List.of("i ▁", "▁ h", "▁h i"));
        added(root, 0, "<unk>", true);
        added(root, 1, "<s>", true);
        added(root, 2, "</s>", true);
        ObjectNode model = (ObjectNode) root.get("model");
        model.put("unk_token", "<unk>").put("byte_fallback", byteFallback).put("fuse_unk", fuseUnk);
        ObjectNode norm = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode ns = norm.putArray("normalizers");
        ns.addObject().put("type", "Prepend").put("prepend", "▁");
        ObjectNode replace = ns.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", "▁");
        ObjectNode dec = root.putObject("decoder").put("type", "Sequence");
        ArrayNode ds = dec.putArray("decoders");
        ObjectNode r = ds.addObject().put("type", "Replace");
        r.putObject("pattern").put("String", "▁");
        r.put("content", " ");
        ds.addObject().put("type", "ByteFallback");
        ds.addObject().put("type", "Fuse");
        ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        return root;
    }

    @Test
    void sentencePieceStyleWithByteFallback() throws Exception {
        HfTokenizer t = parse(sentencePiece(true, true), 1, 2);
        // "hi 😀" -> "▁hi▁😀", one word. ▁ h i ▁ then 😀, not in the vocabulary, as its UTF-8 bytes F0 9F 98 80
        // = ids 243 162 155 131. Ranks: (i ▁) 0 at i, (▁ h) 1. i▁ first: ▁ h i▁ <bytes>; then ▁ h -> ▁h i▁.
        assertArrayEquals(new int[]{262, 265, 243, 162, 155, 131}, t.encode("hi 😀", false, false));
        // "hi" -> "▁hi": ▁ h i -> (▁ h) ▁h i -> (▁h i) ▁hi = 263. A multi-byte character in the vocabulary is one
        // symbol: "é" -> ▁ é = 259 264.
        assertArrayEquals(new int[]{1, 263, 2}, t.encode("hi", true, true));
        assertArrayEquals(new int[]{259, 264}, t.encode("é", false, false));
        // Added tokens are cut out first; each remaining segment gets its own "▁".
        assertArrayEquals(new int[]{1, 263, 2}, t.encode("<s>hi</s>", false, false));
        // Decoding: ▁ -> space, byte runs -> UTF-8, joined, one leading space stripped.
        assertEquals("hi 😀", t.decode(t.encode("hi 😀", false, false)));
        assertEquals("hi é", t.decode(t.encode("hi é", true, false), true));
        assertEquals("<s> hi", t.decode(new int[]{1, 263}, false));
        // A lone continuation byte is not UTF-8: one U+FFFD per byte.
        assertEquals("\uFFFD\uFFFD", t.decode(new int[]{3 + 0x98, 3 + 0x80}));
    }

    @Test
    void withoutByteFallbackUnknownCharactersBecomeUnk() throws Exception {
        // "h😀😀i" -> "▁h😀😀i": ▁ h <unk> <unk> i; fused: one <unk>. (▁ h) merges; (▁h i) is not adjacent.
        assertArrayEquals(new int[]{262, 0, 261}, parse(sentencePiece(false, true), 1, 2).encode("h😀😀i", false,
                false));
        assertArrayEquals(new int[]{262, 0, 0, 261}, parse(sentencePiece(false, false), 1, 2).encode("h😀😀i", false,
                false));
    }

    @Test
    void metaspacePreTokenizerSplitsWordsAndPrependsByScheme() throws Exception {
        ObjectNode root = sentencePiece(true, true);
        root.putNull("normalizer");
        ObjectNode meta = root.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "▁")
                .put("add_prefix_space", true);
        root.putObject("decoder").put("type", "Metaspace").put("replacement", "▁").put("add_prefix_space", true);
        HfTokenizer split = parse(root, 1, 2);
        // Split into "▁hi", "▁hi": the (i ▁) merge cannot cross the word boundary: 263 263.
        assertArrayEquals(new int[]{263, 263}, split.encode("hi hi", false, false));
        assertEquals("hi hi", split.decode(new int[]{263, 263}));
        // Unsplit, "▁hi▁hi" is one word: (i ▁, rank 0) first -> ▁ h i▁ h i; of the two (▁ h) pairs only the
        // first is still there: ▁h i▁ h i = 262 265 260 261.
        meta.put("split", false).put("prepend_scheme", "always").remove("add_prefix_space");
        assertArrayEquals(new int[]{262, 265, 260, 261}, parse(root, 1, 2).encode("hi hi", false, false));
        // "first": only the segment at the very start of the text gets the ▁; after <s> "hi" stays h i.
        assertArrayEquals(new int[]{1, 263}, parse(root, 1, 2).encode("<s>hi", false, false));
        meta.put("prepend_scheme", "first");
        assertArrayEquals(new int[]{1, 260, 261}, parse(root, 1, 2).encode("<s>hi", false, false));
        assertArrayEquals(new int[]{263}, parse(root, 1, 2).encode("hi", false, false));
    }

    @Test
    void specialTokensComeFromTokenizerConfigOrModelConfig() throws Exception {
        Path d = Files.createDirectories(dir.resolve("tok"));
        Files.write(d.resolve("tokenizer.json"), JSON.writeValueAsBytes(sentencePiece(true, true)));
        Files.writeString(d.resolve("config.json"), "{\"bos_token_id\": 1, \"eos_token_id\": [2, 0]}");
        HfTokenizer fromModel = HfTokenizer.load(d);
        assertEquals(1, fromModel.bosId());
        assertEquals(2, fromModel.eosId());
        Files.writeString(d.resolve("tokenizer_config.json"),
                "{\"bos_token\": null, \"eos_token\": {\"content\": \"<unk>\"}}");
        HfTokenizer fromTok = HfTokenizer.load(d.resolve("tokenizer.json"));
        assertEquals(-1, fromTok.bosId(), "a null bos_token means the model uses none");
        assertEquals(0, fromTok.eosId());
        Files.writeString(d.resolve("tokenizer_config.json"), "{\"bos_token\": \"<bos>\"}");
        SqueezeException e = assertThrows(SqueezeException.class, () -> HfTokenizer.load(d));
        assertTrue(e.getMessage().contains("<bos>"), e.getMessage());
    }

    @Test
    void unsupportedOrBrokenTokenizersAreClearErrors() throws Exception {
        ObjectNode wordPiece = tokenizer(List.of("a"), List.of());
        ((ObjectNode) wordPiece.get("model")).put("type", "WordPiece");
        SqueezeException wp = assertThrows(SqueezeException.class, () -> parse(wordPiece, -1, -1));
        assertTrue(wp.getMessage().contains("WordPiece") && wp.getMessage().contains("test tokenizer.json"),
                wp.getMessage());
        SqueezeException merge = assertThrows(SqueezeException.class, () -> parse(
                tokenizer(List.of("a", "b"), List.of("a b")), -1, -1));
        assertTrue(merge.getMessage().contains("merge 0"), merge.getMessage());
        ObjectNode badRegex = llama3(false);
        ((ObjectNode) badRegex.get("pre_tokenizer").get("pretokenizers").get(0).get("pattern")).put("Regex", "(a");
        assertTrue(assertThrows(SqueezeException.class, () -> parse(badRegex, -1, -1)).getMessage()
                .contains("not a valid regular expression"));
        ObjectNode bert = gpt2Root();
        bert.putObject("pre_tokenizer").put("type", "BertPreTokenizer");
        assertTrue(assertThrows(SqueezeException.class, () -> parse(bert, -1, -1)).getMessage()
                .contains("BertPreTokenizer"));
        assertTrue(assertThrows(SqueezeException.class, () -> HfTokenizer.load(dir.resolve("none")))
                .getMessage().contains("tokenizer.json"));
        // BPE dropout tokenizes at random in the library; refused rather than silently run without it.
        ObjectNode dropout = gpt2Root();
        ((ObjectNode) dropout.get("model")).put("dropout", 0.1);
        SqueezeException d = assertThrows(SqueezeException.class, () -> parse(dropout, -1, -1));
        assertTrue(d.getMessage().contains("dropout") && d.getMessage().contains("test tokenizer.json")
                && d.fix().contains("null"), d.getMessage());
        ((ObjectNode) dropout.get("model")).put("dropout", 0.0);
        parse(dropout, -1, -1);
    }

    private static ObjectNode gpt2Root() {
        return tokenizer(GPT2_VOCAB, GPT2_MERGES);
    }

    /** Truncated and bit-flipped tokenizer.json files fail with a clean error naming the file, or still work. */
    @Test
    void damagedTokenizerFilesFailCleanly() throws Exception {
        ObjectNode root = llama3(true);
        added(root, 18, "<|end|>", true);
        byte[] good = JSON.writeValueAsBytes(root);
        Path file = dir.resolve("tokenizer.json");
        Random rng = new Random(3);
        int clean = 0;
        for (int i = 0; i < 500; i++) {
            byte[] bad = i < 200 ? Arrays.copyOf(good, i * good.length / 200) : good.clone();
            if (i >= 200) {
                bad[rng.nextInt(bad.length)] ^= (byte) (1 << rng.nextInt(8));
            }
            Files.write(file, bad);
            try {
                HfTokenizer t = HfTokenizer.load(file);
                int[] ids = t.encode("I'm 12345 ab<|end|>", false, false);
                t.decode(ids);
            } catch (SqueezeException e) {
                assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
                clean++;
            } catch (RuntimeException e) {
                fail("damaged tokenizer.json gave " + e, e);
            }
        }
        assertTrue(clean > 200, "damage must mostly be caught, was " + clean);
    }
}
