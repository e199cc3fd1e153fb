package dev.squeeze.engine.data.text;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.testing.RealTokenizers;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The stages and options that the three real files do not use, each on a real vocabulary with one part of its
 * tokenizer.json swapped for the layout another model family uses (Mistral's Metaspace pre-tokenizer, GPT-2's
 * ByteLevel regex, normalizer chains, added tokens with every flag, duplicate merges, ...), against the official
 * library given the very same file. Texts: 100 stories, the edge strings and 3,000 random strings glued from
 * boundary cases.
 */
class HfTokenizerVariantsOfficialTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    static Stream<Arguments> variants() {
        return Stream.of(
                variant("llama2", "Metaspace prepend first, no split (Mistral, Llama 2 non-legacy)", r -> {
                    r.putNull("normalizer");
                    r.set("pre_tokenizer", json("{'type':'Metaspace','replacement':'▁','prepend_scheme':'first',"
                            + "'split':false}"));
                }),
                variant("llama2", "Metaspace prepend always, split, Metaspace decoder", r -> {
                    r.putNull("normalizer");
                    r.set("pre_tokenizer", json("{'type':'Metaspace','replacement':'▁','prepend_scheme':'always',"
                            + "'split':true}"));
                    r.set("decoder", json("{'type':'Metaspace','replacement':'▁','prepend_scheme':'always',"
                            + "'split':true}"));
                }),
                variant("llama2", "Metaspace with the older add_prefix_space", r -> {
                    r.putNull("normalizer");
                    r.set("pre_tokenizer", json("{'type':'Metaspace','replacement':'▁','add_prefix_space':true}"));
                    r.set("decoder", json("{'type':'Metaspace','replacement':'▁','add_prefix_space':true}"));
                }),
                variant("llama2", "no byte fallback, unknown characters fused", r ->
                        ((ObjectNode) r.get("model")).put("byte_fallback", false)),
                variant("llama2", "no byte fallback, unknown characters not fused", r ->
                        ((ObjectNode) r.get("model")).put("byte_fallback", false).put("fuse_unk", false)),
                variant("llama2", "added tokens with every flag, cut after the Prepend/Replace normalizer",
                        r -> addTokens(r, 32000)),
                variant("llama3", "added tokens with every flag, no normalizer", r -> addTokens(r, 128256)),
                variant("qwen3", "added tokens with every flag, after NFC", r -> addTokens(r, 151669)),
                variant("qwen3", "added token ids written out of order (the library renumbers them)", r -> {
                    for (var a : r.get("added_tokens")) {
                        ((ObjectNode) a).put("id", 151669 + 151668 - a.get("id").asInt());
                    }
                }),
                variant("qwen3", "GPT-2 layout: ByteLevel with its own regex and a prefix space", r -> {
                    r.putNull("normalizer");
                    r.set("pre_tokenizer", json("{'type':'ByteLevel','add_prefix_space':true,'trim_offsets':true,"
                            + "'use_regex':true}"));
                }),
                variant("qwen3", "ByteLevel with its own regex, no prefix space", r -> {
                    r.putNull("normalizer");
                    r.set("pre_tokenizer", json("{'type':'ByteLevel','add_prefix_space':false,'trim_offsets':true,"
                            + "'use_regex':true}"));
                }),
                variant("qwen3", "normalizers NFKC, Lowercase, Strip, Replace (regex)", r -> r.set("normalizer",
                        json("{'type':'Sequence','normalizers':[{'type':'NFKC'},{'type':'Lowercase'},"
                                + "{'type':'Strip','strip_left':true,'strip_right':true},"
                                + "{'type':'Replace','pattern':{'Regex':'\\\\s+'},'content':' '}]}"))),
                variant("qwen3", "normalizers NFKD, right Strip, Prepend, Replace (string)", r -> r.set("normalizer",
                        json("{'type':'Sequence','normalizers':[{'type':'NFKD'},"
                                + "{'type':'Strip','strip_left':false,'strip_right':true},"
                                + "{'type':'Prepend','prepend':'_'},"
                                + "{'type':'Replace','pattern':{'String':'a'},'content':'bb'}]}"))),
                variant("qwen3", "normalizer NFD", r -> r.set("normalizer", json("{'type':'NFD'}"))),
                variant("qwen3", "Split behaviours MergedWithNext, MergedWithPrevious, Removed", r ->
                        r.set("pre_tokenizer", json("{'type':'Sequence','pretokenizers':["
                                + "{'type':'Split','pattern':{'String':' '},'behavior':'MergedWithNext',"
                                + "'invert':false},"
                                + "{'type':'Split','pattern':{'Regex':'\\\\p{N}'},'behavior':'MergedWithPrevious',"
                                + "'invert':false},"
                                + "{'type':'Split','pattern':{'Regex':'[.,!?]'},'behavior':'Removed','invert':false},"
                                + "{'type':'ByteLevel','add_prefix_space':false,'trim_offsets':false,"
                                + "'use_regex':false}]}"))),
                variant("qwen3", "an early merge listed again last (its last rank counts)", r -> {
                    ArrayNode merges = (ArrayNode) r.get("model").get("merges");
                    merges.add(merges.get(2).deepCopy());
                }));
    }

    private static Arguments variant(String base, String label, Consumer<ObjectNode> edit) {
        return Arguments.of(base, label, edit);
    }

    /** JSON written with single quotes, to keep the variants readable. */
    private static ObjectNode json(String singleQuoted) {
        try {
            return (ObjectNode) JSON.readTree(singleQuoted.replace('\'', '"'));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Added tokens with each flag; "the" and "ab" are also vocabulary entries, so the library gives them those ids.
     * A normalized token is matched by its normalized form (under Llama 2's normalizer "<s" is "▁<s" and " é" is
     * "▁▁é").
     */
    private static void addTokens(ObjectNode root, int firstId) {
        ArrayNode added = (ArrayNode) root.get("added_tokens");
        String[][] tokens = {
                // content, single_word, lstrip, rstrip, normalized, special
                {"<x>", "false", "false", "false", "true", "false"},
                {"[MASK]", "false", "true", "true", "false", "true"},
                {"the", "true", "false", "false", "false", "false"},
                {"ab", "true", "false", "false", "true", "false"},
                {" é", "false", "false", "false", "true", "false"},
                {"<s", "false", "true", "false", "true", "true"}};
        for (int i = 0; i < tokens.length; i++) {
            String[] t = tokens[i];
            ObjectNode a = added.addObject();
            a.put("id", firstId + i).put("content", t[0]).put("single_word", Boolean.parseBoolean(t[1]))
                    .put("lstrip", Boolean.parseBoolean(t[2])).put("rstrip", Boolean.parseBoolean(t[3]))
                    .put("normalized", Boolean.parseBoolean(t[4])).put("special", Boolean.parseBoolean(t[5]));
        }
    }

    /** Damage that the library refuses to load must be refused here too, as a SqueezeException naming the file. */
    static Stream<Arguments> refused() {
        return Stream.of(
                variant("llama2", "a Metaspace replacement of two characters", r -> {
                    r.putNull("normalizer");
                    r.set("pre_tokenizer", json("{'type':'Metaspace','replacement':'▁▁','prepend_scheme':'first',"
                            + "'split':false}"));
                }),
                variant("llama2", "a Strip decoder stripping a two-character string", r -> ((ArrayNode) r.get("decoder")
                        .get("decoders")).set(3, json("{'type':'Strip','content':'  ','start':1,'stop':0}"))),
                variant("qwen3", "a merge of a token the vocabulary lacks", r ->
                        ((ArrayNode) r.get("model").get("merges")).add(json("{'m':['Ġthe','zzzq']}").get("m"))));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("refused")
    void refusedWhereTheLibraryRefuses(String base, String label, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode root = (ObjectNode) JSON.readTree(RealTokenizers.require(base).resolve("tokenizer.json").toFile());
        edit.accept(root);
        Path dir = Files.createDirectories(tmp.resolve("refused"));
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        assertThrows(RuntimeException.class, () -> OfficialTokenizer.load(dir).close(), "the library loads it");
        SqueezeException e = assertThrows(SqueezeException.class, () -> HfTokenizer.load(dir));
        assertTrue(e.getMessage().contains(dir.resolve("tokenizer.json").toString()), e.getMessage());
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("variants")
    void variantMatchesTheOfficialLibrary(String base, String label, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode root = (ObjectNode) JSON.readTree(RealTokenizers.require(base).resolve("tokenizer.json").toFile());
        edit.accept(root);
        Path dir = Files.createDirectories(tmp.resolve("variant"));
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), root);

        StoryCorpus corpus = StoryCorpus.read(SharedData.require("data/tinystories/valid-1k.txt"));
        List<String> texts = new ArrayList<>(corpus.stories(new StoryRange(1, 100)));
        texts.addAll(TokenizerComparison.EDGE_STRINGS);
        texts.addAll(TokenizerComparison.randomStrings(3, 3000));
        HfTokenizer ours = HfTokenizer.load(dir);
        try (OfficialTokenizer official = OfficialTokenizer.load(dir)) {
            List<String> failures = TokenizerComparison.compare(base + " (" + label + ")", "texts", texts, false,
                    ours, official);
            if (!failures.isEmpty()) {
                fail(String.join("\n\n", failures));
            }
        }
    }
}
