package dev.squeeze.engine.data.text;

import dev.squeeze.engine.SqueezeException;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A UTF-8 text file cut into stories (documents) at lines that read exactly {@value #SEPARATOR}, as in the
 * TinyStories dumps; a file without such lines is one story. A story's text is its lines joined by
 * {@code "\n"} with leading and trailing white space removed; blank stories (e.g. after the final separator)
 * are dropped. Stories are numbered from 1.
 */
public final class StoryCorpus {
    public static final String SEPARATOR = "<|endoftext|>";

    private final String source;
    private final List<String> stories;

    private StoryCorpus(String source, List<String> stories) {
        this.source = source;
        this.stories = Collections.unmodifiableList(stories);
    }

    public static StoryCorpus read(Path file) {
        String where = file.toAbsolutePath().toString();
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file)))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new SqueezeException("Text file " + where + " is not valid UTF-8", "convert it to UTF-8", e);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read text file " + where + ": " + e.getMessage(),
                    "check that the file exists and is readable", e);
        }
        return of(where, text);
    }

    /** Cuts {@code text} into stories; {@code source} names it in messages. */
    public static StoryCorpus of(String source, String text) {
        List<String> stories = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : text.split("\r?\n", -1)) {
            if (line.strip().equals(SEPARATOR)) {
                add(stories, current);
                current.setLength(0);
            } else {
                if (!current.isEmpty()) {
                    current.append('\n');
                }
                current.append(line);
            }
        }
        add(stories, current);
        if (stories.isEmpty()) {
            throw new SqueezeException("Text file " + source + " holds no text", "choose a file with stories in it");
        }
        return new StoryCorpus(source, stories);
    }

    private static void add(List<String> stories, StringBuilder text) {
        String s = text.toString().strip();
        if (!s.isEmpty()) {
            stories.add(s);
        }
    }

    public String source() {
        return source;
    }

    public int size() {
        return stories.size();
    }

    /** Story {@code number}, counted from 1. */
    public String story(int number) {
        if (number < 1 || number > stories.size()) {
            throw new IllegalArgumentException("story " + number + " is outside 1–" + stories.size());
        }
        return stories.get(number - 1);
    }

    public List<String> stories(StoryRange range) {
        if (range.last() > stories.size()) {
            throw new SqueezeException("Asked for " + range + " but " + source + " holds " + stories.size()
                    + " stories", "choose a range within 1–" + stories.size());
        }
        return stories.subList(range.first() - 1, range.last());
    }

    /**
     * The token streams of a range: each story encoded on its own with BOS once at its start and no EOS, which is
     * how llama2.c's TinyStories models were trained and how their perplexity is counted.
     */
    public List<int[]> tokens(StoryRange range, Tokenizer tokenizer) {
        List<int[]> out = new ArrayList<>(range.size());
        for (String story : stories(range)) {
            out.add(tokenizer.encode(story, true, false));
        }
        return out;
    }
}
