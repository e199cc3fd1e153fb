package dev.squeeze.engine.data.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.testing.RealTokenizers;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link HfTokenizer} against the official Hugging Face tokenizers library ({@link OfficialTokenizer}) on real
 * tokenizer.json files from npm ({@code .ci/tokenizer-fixtures.sh}): Llama 2 (SentencePiece-style BPE with byte
 * fallback), Llama 3 (byte-level BPE with {@code ignore_merges}) and Qwen3 (byte-level BPE after NFC). Over the
 * whole TinyStories evaluation text: every story as the pipeline cuts it ({@link StoryCorpus}), every raw line of
 * the file, the whole file as one string; then hand-made edge strings and the text of every vocabulary entry.
 * Every expected id and decoded text comes from the library. Also prints both sides' speed.
 */
class HfTokenizerOfficialTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Each file loaded once per class: a Llama 3 or Qwen3 file takes seconds to load on each side. */
    private static final Map<String, Pair> LOADED = new HashMap<>();

    private record Pair(Path dir, HfTokenizer ours, OfficialTokenizer official) {
    }

    private static Pair load(String name) {
        Path dir = RealTokenizers.require(name);
        return LOADED.computeIfAbsent(name, n -> new Pair(dir, HfTokenizer.load(dir), OfficialTokenizer.load(dir)));
    }

    @AfterAll
    static void close() {
        LOADED.values().forEach(p -> p.official.close());
        LOADED.clear();
    }

    private static Path storiesFile() {
        return SharedData.require("data/tinystories/valid-1k.txt");
    }

    private static List<String> stories() {
        StoryCorpus corpus = StoryCorpus.read(storiesFile());
        return corpus.stories(new StoryRange(1, corpus.size()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama2", "llama3", "qwen3"})
    void idsAndTextMatchTheOfficialLibrary(String name) throws IOException {
        Pair p = load(name);
        HfTokenizer ours = p.ours;
        OfficialTokenizer official = p.official;
        String text = Files.readString(storiesFile(), StandardCharsets.UTF_8);
        List<String> failures = new ArrayList<>();
        failures.addAll(TokenizerComparison.compare(name, "stories", stories(), true, ours, official));
        failures.addAll(TokenizerComparison.compare(name, "lines", Arrays.asList(text.split("\n", -1)), false,
                ours, official));
        failures.addAll(TokenizerComparison.compare(name, "whole file", List.of(text), true, ours, official));
        failures.addAll(TokenizerComparison.compare(name, "edge strings", TokenizerComparison.EDGE_STRINGS, false,
                ours, official));
        failures.addAll(TokenizerComparison.compare(name, "vocabulary entries", vocabularyTexts(p.dir, official),
                false, ours, official));
        if (!failures.isEmpty()) {
            fail(name + ": " + failures.size() + " kinds of difference from the official library:\n"
                    + String.join("\n\n", failures));
        }
    }

    /**
     * The library's text of every vocabulary entry, to be encoded on its own: the words where merge order, byte
     * fallback and {@code ignore_merges} decide (Llama 3 has entries its merges never build; the stories have none).
     */
    private static List<String> vocabularyTexts(Path dir, OfficialTokenizer official) throws IOException {
        List<String> texts = new ArrayList<>();
        for (JsonNode id : JSON.readTree(dir.resolve("tokenizer.json").toFile()).path("model").path("vocab")) {
            texts.add(official.decode(new int[]{id.asInt()}, false));
        }
        return texts;
    }

    /**
     * A Java String can hold unpaired surrogates, which the library cannot be given (DJL's JNI conversion garbles
     * the whole string): we encode each as U+FFFD, so the expected ids are the library's for that text.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama2", "llama3", "qwen3"})
    void unpairedSurrogatesEncodeAsReplacementCharacters(String name) {
        Pair p = load(name);
        HfTokenizer ours = p.ours;
        OfficialTokenizer official = p.official;
        for (String s : List.of("\uD800", "a\uDC00b", "😀\uD83D", "x\uDFFF😀 é\u0000y", "\uDE00\uD83D", "ab\uDBFF")) {
            String replaced = s.codePoints().map(cp -> cp >= 0xD800 && cp <= 0xDFFF ? 0xFFFD : cp)
                    .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
            assertArrayEquals(official.encode(replaced, false), ours.encode(s, false, false),
                    TokenizerComparison.quote(s));
        }
    }

    /**
     * BOS as the evaluation pipeline asks for it ({@link StoryCorpus#tokens}: BOS first, no EOS). Where the file's
     * post-processor adds special tokens (Llama 2's TemplateProcessing) that is the library's
     * {@code add_special_tokens}. Where it adds none (this Llama 3 file's ByteLevel post-processor, Qwen3) BOS is
     * tokenizer_config.json's {@code bos_token}, as one token of the library's, and a model without one (Qwen3:
     * {@code null}) refuses to add it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama2", "llama3", "qwen3"})
    void bosFollowsThePostProcessorOrTokenizerConfig(String name) throws IOException {
        Pair p = load(name);
        Path dir = p.dir;
        HfTokenizer ours = p.ours;
        OfficialTokenizer official = p.official;
        JsonNode file = JSON.readTree(dir.resolve("tokenizer.json").toFile());
        JsonNode config = JSON.readTree(dir.resolve("tokenizer_config.json").toFile());
        boolean template = file.path("post_processor").path("type").asText().equals("TemplateProcessing");
        JsonNode bosToken = config.path("bos_token");
        List<String> stories = stories().subList(0, 100);
        if (bosToken.isNull() || bosToken.isMissingNode()) {
            assertEquals(-1, ours.bosId());
            assertThrows(SqueezeException.class, () -> ours.encode(stories.getFirst(), true, false));
            return;
        }
        int[] bos = official.encode(bosToken.isObject() ? bosToken.get("content").asText() : bosToken.asText(),
                false);
        assertEquals(1, bos.length, "tokenizer_config.json's bos_token is one token for the library");
        for (String story : stories) {
            int[] expected = template ? official.encode(story, true)
                    : IntStream.concat(IntStream.of(bos[0]), IntStream.of(official.encode(story, false))).toArray();
            assertEquals(bos[0], expected[0]);
            assertArrayEquals(expected, ours.encode(story, true, false), story);
            assertEquals(official.decode(expected, true), ours.decode(expected), "BOS gives no text");
        }
    }

    /**
     * Prints ours against the library on every story, after one untimed pass of each. The library's figure includes
     * the JNI call and the copy of the ids out, which is what a Java caller pays.
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama2", "llama3", "qwen3"})
    void speedOnTheWholeText(String name) {
        Pair p = load(name);
        HfTokenizer ours = p.ours;
        OfficialTokenizer official = p.official;
        List<String> stories = stories();
        long tokens = 0;
        for (String s : stories) {
            tokens += official.encode(s, false).length;
            ours.encode(s, false, false);
        }
        long t0 = System.nanoTime();
        for (String s : stories) {
            ours.encode(s, false, false);
        }
        long t1 = System.nanoTime();
        for (String s : stories) {
            official.encode(s, false);
        }
        long t2 = System.nanoTime();
        System.out.printf(Locale.ROOT, "%s speed over %d stories, %d tokens: ours %.2f M tokens/s (%.0f ms),"
                        + " library %.2f M tokens/s (%.0f ms)%n", name, stories.size(), tokens,
                tokens / ((t1 - t0) / 1e3), (t1 - t0) / 1e6, tokens / ((t2 - t1) / 1e3), (t2 - t1) / 1e6);
        assertTrue(tokens > 100_000, "the whole text is about 200,000 tokens");
    }
}
