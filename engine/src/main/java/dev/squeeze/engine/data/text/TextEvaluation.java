package dev.squeeze.engine.data.text;

/**
 * Text a language model is evaluated on: stories {@code range} of {@code corpus}, tokenized with {@code tokenizer}
 * (BOS once per story, as {@link StoryCorpus#tokens} does).
 */
public record TextEvaluation(StoryCorpus corpus, StoryRange range, Tokenizer tokenizer) {
    public String describe() {
        return corpus.source() + ", " + range;
    }
}
