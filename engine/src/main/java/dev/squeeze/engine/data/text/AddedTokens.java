package dev.squeeze.engine.data.text;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One set of added tokens and how Hugging Face's {@code AddedVocabulary::find_matches} cuts them out of a text:
 * leftmost-longest matches, scanned left to right without overlap; a {@code single_word} token is skipped where a
 * word character touches it; {@code lstrip}/{@code rstrip} swallow the white space beside it. The library keeps
 * two such sets: tokens with {@code normalized: false} are cut from the raw text, the others from each normalized
 * segment, matched by their own normalized content.
 */
final class AddedTokens {
    /** One added token as matched: {@code content} is what is searched for (normalized where it applies). */
    record Token(String content, int id, boolean singleWord, boolean lstrip, boolean rstrip) {
    }

    /** Receives a text cut into pieces, in order: ordinary text {@code [from, to)} (possibly empty) or a token. */
    interface Sink {
        /** @param id the token's id, or -1 for ordinary text */
        void accept(int from, int to, int id);
    }

    private final Pattern pattern;
    private final Map<String, Token> byContent;

    private AddedTokens(Pattern pattern, Map<String, Token> byContent) {
        this.pattern = pattern;
        this.byContent = byContent;
    }

    /** {@code null} when there are no tokens with content, so that callers skip the scan. */
    static AddedTokens of(List<Token> tokens) {
        Map<String, Token> byContent = new HashMap<>();
        for (Token t : tokens) {
            if (!t.content.isEmpty()) {
                byContent.putIfAbsent(t.content, t);
            }
        }
        if (byContent.isEmpty()) {
            return null;
        }
        List<String> contents = new ArrayList<>(byContent.keySet());
        // Longest first: at a given position a regex alternation takes the first alternative that matches, which
        // makes the leftmost match also the longest there, as with the library's LeftmostLongest automaton.
        contents.sort(Comparator.comparingInt(String::length).reversed().thenComparing(Comparator.naturalOrder()));
        return new AddedTokens(Pattern.compile(String.join("|", contents.stream().map(Pattern::quote).toList())),
                byContent);
    }

    void split(String text, Sink sink) {
        Matcher m = pattern.matcher(text);
        int last = 0;
        while (m.find()) {
            Token t = byContent.get(m.group());
            int start = m.start();
            int end = m.end();
            if (t.singleWord && (wordCharBefore(text, start) || wordCharAt(text, end))) {
                continue;
            }
            if (t.lstrip) {
                while (start > last && TokenizerPipeline.isWhiteSpace(text.codePointBefore(start))) {
                    start -= Character.charCount(text.codePointBefore(start));
                }
            }
            if (t.rstrip) {
                while (end < text.length() && TokenizerPipeline.isWhiteSpace(text.codePointAt(end))) {
                    end += Character.charCount(text.codePointAt(end));
                }
            }
            sink.accept(last, start, -1);
            sink.accept(start, end, t.id);
            last = end;
            if (end > m.end()) {
                // The stripped white space belongs to this token; the next match starts after it.
                m.region(end, text.length());
            }
        }
        sink.accept(last, text.length(), -1);
    }

    private static boolean wordCharBefore(String text, int at) {
        return at > 0 && isWordChar(text.codePointBefore(at));
    }

    private static boolean wordCharAt(String text, int at) {
        return at < text.length() && isWordChar(text.codePointAt(at));
    }

    /** Rust regex's Unicode {@code \w}: Alphabetic, marks, decimal digits, connector punctuation, joiners. */
    private static boolean isWordChar(int cp) {
        if (Character.isAlphabetic(cp) || cp == 0x200C || cp == 0x200D) {
            return true;
        }
        return switch (Character.getType(cp)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.COMBINING_SPACING_MARK,
                 Character.DECIMAL_DIGIT_NUMBER, Character.CONNECTOR_PUNCTUATION -> true;
            default -> false;
        };
    }
}
