package dev.squeeze.engine.data.text;

/**
 * Text to token ids and back. Implemented by llama2.c's {@code tok*.bin} ({@link Llama2cTokenizer}) and by
 * Hugging Face {@code tokenizer.json}; the language-model data and metrics use only this interface.
 */
public interface Tokenizer {
    int vocabSize();

    /** The beginning-of-sequence token, or -1 when the vocabulary has none. */
    int bosId();

    /** The end-of-sequence token, or -1 when the vocabulary has none. */
    int eosId();

    /**
     * @param bos whether to put {@link #bosId()} first
     * @param eos whether to put {@link #eosId()} last
     */
    int[] encode(String text, boolean bos, boolean eos);

    /**
     * The text of {@code token} when it follows {@code prevToken} (-1 for none), for printing a stream token by
     * token. A token that stands for one raw byte of a multi-byte character decodes to a replacement character
     * here; {@link #decode(int[])} joins such bytes correctly.
     */
    String decode(int prevToken, int token);

    /** The text of a whole sequence; BOS and EOS tokens produce no text (they still count as the previous token). */
    String decode(int[] tokens);
}
