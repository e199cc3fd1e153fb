package dev.squeeze.engine.data.text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Runs texts through {@link HfTokenizer} and the official library ({@link OfficialTokenizer}) and reports every
 * difference in ids and in decoded text, the first one of each kind in detail: where it is, both id sequences
 * around it and their vocabulary strings. The expected side is always the library.
 */
final class TokenizerComparison {
    /** Strings the stories lack: scripts, emoji, combining marks, odd white space, digit runs, contractions, ... */
    static final List<String> EDGE_STRINGS = List.of(
            "", " ", "  ", "\n", "\n\n\n", "\t", "\r\n", "a", "A",
            "Hello 👋 world 🌍🎉! 👨‍👩‍👧 family, 🇫🇷 flag, ✌🏽 skin tone",
            "日本語のテキストと中文字符，还有한국어 텍스트。",
            "Привет, мир! Ελληνικά ΟΔΟΣ. مرحبا بالعالم. नमस्ते दुनिया. สวัสดีชาวโลก. שלום",
            "e\u0301 n\u0303 a\u0308 o\u0302\u0323 \u1100\u1161\u11A8 Å Å ﬁ ǅ x² ½ Ⅻ ①",
            "Line one\r\nLine two\r\n\r\nLine four\rLine five\n",
            "a    b     c\t\t d  \n  e   \n\n   f",
            "   leading spaces", "trailing spaces   ", " \n \n ", "\t\ttabs\tand\u000Bvertical\u000Cfeed",
            "1234567 and 3.14159 and 1,000,000 and 0000000000 and ١٢٣٤٥ and ٣.١٤",
            "We'll see; it's John's, they've gone, I'm here, you'd know, don't, can't",
            "WE'LL IT'S THEY'VE I'M DON'T We'Ll iT'S ’s ’ll 'x '",
            "\u00A0nbsp\u2009thin\u3000ideographic\u2028line\u2029para\u0085nel\u200Bzwsp\uFEFFbom\u001Cfs",
            "\u0000nul\u0001soh\u007Fdel\u009Fapc",
            "ſ long s, K kelvin, İstanbul, ß straße, ﬃ",
            "<s>inside</s> text <unk> <|endoftext|> <|begin_of_text|> <|im_start|>user<|im_end|>",
            "text<s>glued</s>text", " <s> ", "<<s>>", "</s></s>",
            "\uD83D\uDE00\uD83D\uDE00\uD83D\uDE00", "😀😀😀 😀",
            "a".repeat(3000), "1".repeat(200), " ".repeat(500), "ab ".repeat(1000), "!?".repeat(300),
            "The quick brown fox: `x = y + 1;` // code? {\"json\": [1, 2.5e-3, null]} <html>&amp;</html>",
            "https://example.com/path?q=1&r=%20#frag user@example.com",
            "⁂ ※ § ¶ † ‡ • … ‰ ′ ″ ‹ › « » € £ ¥ ₹ ₿ ™ © ®",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝟙𝟚𝟛 𐍈 𓀀 \uDB40\uDC01 tag",
            "mojibake: â€œquotedâ€\u009D itâ€™s Ã© Ã¨");

    /**
     * Pieces that random strings are glued from: each is a boundary case of some stage (white space the stages
     * disagree on, case folding, contractions, normalization, added-token look-alikes, vocabulary markers).
     */
    private static final String[] PIECES = {"a", "b", "Z", "e", "s", "t", "l", "L", "S", "T", "D", "'", "’", "1", "2",
            "3", "0", "٣", "½", "Ⅻ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u00A0", "\u2028", "\u2029", "\u0085",
            "\u000B", "\u000C", "\u001C", "\u3000", "\u200B", "\u200D", "\uFEFF", "\u0301", "\u0308", "\u0323", "é",
            "Å", "Å", "ﬁ", "ǅ", "ß", "İ", "ı", "ſ", "K", "Σ", "ΟΣ", "日", "本", "中", "한", "ㄱ", "\u1100", "\u1161",
            "😀", "👨‍👩‍👧", "🇫", "🇷", "🏽", "\uD835\uDD18", ".", ",", "!", "?", "-", "_", "(", ")", "\"", "#", "$",
            "%", "&", "*", "<s>", "</s>", "<unk>", "<|endoftext|>", "<|begin_of_text|>", "<|im_start|>", "<think>",
            "<tool_call>", "<", "|", ">", "▁", "Ġ", "\u0000", "\u0001", "\u007F", "\u009F", "ll", "ve", "re", "'s",
            "'ll", "'S", "'LL", "ab", "the", "The", " the", "x²", "ا", "ب", "١", "<0x41>", "[MASK]", "<x>"};

    private TokenizerComparison() {
    }

    /** {@code count} strings of up to 11 random pieces; the same ones for the same seed. */
    static List<String> randomStrings(long seed, int count) {
        Random rng = new Random(seed);
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            StringBuilder b = new StringBuilder();
            for (int n = rng.nextInt(12); n > 0; n--) {
                b.append(PIECES[rng.nextInt(PIECES.length)]);
            }
            out.add(b.toString());
        }
        return out;
    }

    /**
     * Compares ids for every text and, where they agree, the decoded text of those ids with and without special
     * tokens; {@code roundTrip} also asks that our decoding (special tokens kept) gives the text back.
     *
     * @return one message per kind of difference (empty when there is none); a summary line is printed
     */
    static List<String> compare(String name, String label, List<String> texts, boolean roundTrip, HfTokenizer ours,
                                OfficialTokenizer official) {
        int idMismatches = 0;
        int decodeMismatches = 0;
        int roundTripMismatches = 0;
        String firstId = null;
        String firstDecode = null;
        String firstRoundTrip = null;
        long tokens = 0;
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            int[] expected = official.encode(text, false);
            int[] actual;
            try {
                actual = ours.encode(text, false, false);
            } catch (RuntimeException e) {
                throw new AssertionError(name + " " + label + " #" + (i + 1) + " " + quote(text) + ": " + e, e);
            }
            tokens += expected.length;
            if (!Arrays.equals(expected, actual)) {
                if (idMismatches++ == 0) {
                    firstId = describe(name + " " + label + " #" + (i + 1), text, expected, actual, ours, official);
                }
                continue;
            }
            for (boolean skip : new boolean[]{false, true}) {
                String want = official.decode(expected, skip);
                String got = ours.decode(expected, skip);
                if (!want.equals(got) && decodeMismatches++ == 0) {
                    firstDecode = name + " " + label + " #" + (i + 1) + " " + quote(text) + " decode(skipSpecial="
                            + skip + ")\n  library: " + quote(want) + "\n  ours:    " + quote(got);
                }
            }
            String back = ours.decode(actual, false);
            if (roundTrip && !text.equals(back) && roundTripMismatches++ == 0) {
                int at = 0;
                while (at < text.length() && at < back.length() && text.charAt(at) == back.charAt(at)) {
                    at++;
                }
                firstRoundTrip = name + " " + label + " #" + (i + 1) + ": decode(encode(text)) differs at char "
                        + at + ": " + quote(snippet(back, at)) + " instead of " + quote(snippet(text, at));
            }
        }
        System.out.printf(Locale.ROOT, "%s %s: %d texts, %d tokens, %d id mismatches, %d decode mismatches%s%n",
                name, label, texts.size(), tokens, idMismatches, decodeMismatches,
                roundTrip ? ", " + roundTripMismatches + " round-trip mismatches" : "");
        List<String> failures = new ArrayList<>();
        if (idMismatches > 0) {
            failures.add(idMismatches + " of " + texts.size() + " " + label + " encode differently; first:\n"
                    + firstId);
        }
        if (decodeMismatches > 0) {
            failures.add(decodeMismatches + " decodes of " + label + " differ; first:\n" + firstDecode);
        }
        if (roundTripMismatches > 0) {
            failures.add(roundTripMismatches + " of " + label + " do not decode back; first:\n" + firstRoundTrip);
        }
        return failures;
    }

    /** The first differing token with its neighbourhood on both sides, as ids and as vocabulary strings. */
    static String describe(String what, String text, int[] expected, int[] actual, HfTokenizer ours,
                           OfficialTokenizer official) {
        int at = 0;
        while (at < expected.length && at < actual.length && expected[at] == actual[at]) {
            at++;
        }
        int from = Math.max(0, at - 5);
        // Where in the text: the length of what the agreeing tokens spell, as the library decodes them.
        int charOffset = official.decode(Arrays.copyOf(expected, at), false).length();
        return what + " (" + text.length() + " chars), first difference at token " + at + ", near char " + charOffset
                + ": " + quote(snippet(text, charOffset)) + "\n"
                + "  library ids " + window(expected, from, at) + " tokens " + window(official.tokens(text), from, at)
                + "\n  ours    ids " + window(actual, from, at) + " tokens "
                + window(IntStream.of(actual).mapToObj(ours::token).toArray(String[]::new), from, at);
    }

    private static String snippet(String text, int offset) {
        int from = Math.max(0, Math.min(offset, text.length()) - 20);
        return text.substring(from, Math.min(text.length(), from + 60));
    }

    private static String window(int[] ids, int from, int at) {
        return IntStream.range(from, Math.min(ids.length, at + 6)).mapToObj(i -> (i == at ? ">" : "") + ids[i])
                .collect(Collectors.joining(" ", "[", "]"));
    }

    private static String window(String[] tokens, int from, int at) {
        return IntStream.range(from, Math.min(tokens.length, at + 6))
                .mapToObj(i -> (i == at ? ">" : "") + quote(tokens[i])).collect(Collectors.joining(" ", "[", "]"));
    }

    /** {@code s} in quotes with control, format, separator and surrogate characters as {@code \\uXXXX}. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(c -> {
            int type = Character.getType(c);
            if (c < 0x20 || (c >= 0x7F && c < 0xA0) || type == Character.FORMAT || type == Character.SURROGATE
                    || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR) {
                b.append(String.format(Locale.ROOT, "\\u%04X", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append('"').toString();
    }
}
