package dev.squeeze.engine.data.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.export.hf.TokenizerFiles;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * stories260K's llama2.c tokenizer converted to tokenizer.json ({@link TokenizerFiles#tokenizerJson}), loaded by the
 * official Hugging Face tokenizers library (what transformers' fast tokenizer runs): on every story of the
 * evaluation text it gives the ids of llama2.c's own algorithm ({@link Llama2cTokenizer}, run.c's), BOS first, and
 * decodes them back to the story.
 */
class Llama2cTokenizerJsonOfficialTest {
    @TempDir
    Path dir;

    @Test
    void theLibraryTokenizesEveryStoryAsLlama2cDoes() throws Exception {
        Llama2cTokenizer llama2c = Llama2cTokenizer.read(SharedData.require("models/stories260K/tok512.bin"), 512);
        Files.write(dir.resolve("tokenizer.json"),
                new ObjectMapper().writeValueAsBytes(TokenizerFiles.tokenizerJson(llama2c)));
        StoryCorpus corpus = StoryCorpus.read(SharedData.require("data/tinystories/valid-1k.txt"));
        int tokens = 0;
        try (OfficialTokenizer official = OfficialTokenizer.load(dir)) {
            for (int s = 1; s <= corpus.size(); s++) {
                String story = corpus.story(s);
                int[] expected = llama2c.encode(story, true, false);
                assertArrayEquals(expected, official.encode(story, true), "story " + s);
                tokens += expected.length;
                assertEquals(story, official.decode(expected, true), "story " + s);
            }
        }
        System.out.println("converted tok512: " + corpus.size() + " stories, " + tokens + " tokens, all equal");
    }
}
