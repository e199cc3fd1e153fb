package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.data.text.Tokenizer;

import java.util.List;

/**
 * What the tokenizer targets do with a tokenizer that was read: what evaluation and generation do with it. Every
 * text is encoded with and without BOS/EOS where the tokenizer has them, the ids decoded whole and one by one
 * (streaming), and the ids must lie inside the vocabulary.
 */
final class TokenizerTexts {
    /** Short on purpose (a hostile regex backtracks on long text); still every stage's boundary case. */
    private static final List<String> TEXTS = List.of("", " ", "Once upon a time, Lily's cat ran 12345 km.",
            "  two  spaces\tand\ttabs\r\nnew line\n\n", "é e\u0301 ﬁ Ω ΟΔΟΣ İ 日本語 😀👨‍👩‍👧 \u00A0\u0085\u3000",
            "<s>inside</s><unk><|endoftext|><|begin_of_text|>[MASK]", "a\uD800b", "ab ab abc aab <0x41>");

    private TokenizerTexts() {
    }

    static void run(Tokenizer t) {
        for (String text : TEXTS) {
            check(t, t.encode(text, false, false));
            if (t.bosId() >= 0 && t.eosId() >= 0) {
                check(t, t.encode(text, true, true));
            }
        }
    }

    private static void check(Tokenizer t, int[] ids) {
        for (int id : ids) {
            if (id < 0 || id >= t.vocabSize()) {
                throw new AssertionError("encode gave id " + id + ", outside the vocabulary of " + t.vocabSize());
            }
        }
        t.decode(ids);
        int prev = -1;
        for (int id : ids) {
            t.decode(prev, id);
            prev = id;
        }
    }
}
