package dev.squeeze.engine.data.text;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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

    /** The tokens by their first UTF-16 unit, longest first: a scan looks only where a token can start. */
    private final Map<Character, Token[]> byFirst;
    private final BitSet firsts = new BitSet(Character.MAX_VALUE + 1);

    private AddedTokens(Map<Character, Token[]> byFirst) {
        this.byFirst = byFirst;
        byFirst.keySet().forEach(c -> firsts.set(c));
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
        Map<Character, List<Token>> grouped = new HashMap<>();
        byContent.values().forEach(t -> grouped.computeIfAbsent(t.content.charAt(0), c -> new ArrayList<>()).add(t));
        Map<Character, Token[]> byFirst = new HashMap<>();
        // Longest first, so that the first to match at a position is the longest there: with the scan going left
        // to right that is the library's LeftmostLongest automaton.
        grouped.forEach((c, list) -> byFirst.put(c, list.stream()
                .sorted(Comparator.comparingInt((Token t) -> t.content.length()).reversed()).toArray(Token[]::new)));
        return new AddedTokens(byFirst);
    }

    void split(String text, Sink sink) {
        int last = 0;
        int from = 0;
        while (from < text.length()) {
            int start = -1;
            Token t = null;
            for (int i = from; i < text.length() && t == null; i++) {
                if (firsts.get(text.charAt(i))) {
                    for (Token candidate : byFirst.get(text.charAt(i))) {
                        if (text.startsWith(candidate.content, i)) {
                            t = candidate;
                            start = i;
                            break;
                        }
                    }
                }
            }
            if (t == null) {
                break;
            }
            int end = start + t.content.length();
            // The next search starts after this match, whether it is taken or not (matches never overlap).
            from = end;
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
            // The stripped white space belongs to this token; the next match starts after it.
            last = end;
            from = end;
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
