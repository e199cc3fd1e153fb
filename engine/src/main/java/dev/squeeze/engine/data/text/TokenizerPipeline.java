package dev.squeeze.engine.data.text;

import com.fasterxml.jackson.databind.JsonNode;
import dev.squeeze.engine.SqueezeException;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The text stages of a {@code tokenizer.json} around its BPE model: normalizers, pre-tokenizers and decoders,
 * built from their JSON descriptions with the semantics of the Hugging Face tokenizers library. Only the stages
 * that Llama, Mistral, Qwen2 and GPT-2 style tokenizers use are supported; any other is a clear error.
 */
final class TokenizerPipeline {
    /** GPT-2's split pattern, which the ByteLevel pre-tokenizer applies when {@code use_regex} is on. */
    static final String GPT2_PATTERN =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    private TokenizerPipeline() {
    }

    /** A piece of text on its way to the model; {@code atStart} marks the piece that begins the input. */
    record Piece(String text, boolean atStart) {
    }

    interface PreTokenizer {
        List<Piece> apply(List<Piece> pieces);
    }

    interface Decoder {
        List<String> apply(List<String> tokens);
    }

    // ---------------------------------------------------------------- normalizers

    static UnaryOperator<String> normalizer(JsonNode n, String where) {
        if (n == null || n.isNull()) {
            return UnaryOperator.identity();
        }
        String type = n.path("type").asText("");
        return switch (type) {
            case "Sequence" -> {
                List<UnaryOperator<String>> parts = new ArrayList<>();
                for (JsonNode c : array(n, "normalizers", where)) {
                    parts.add(normalizer(c, where));
                }
                yield s -> {
                    for (UnaryOperator<String> p : parts) {
                        s = p.apply(s);
                    }
                    return s;
                };
            }
            case "NFC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFC);
            case "NFD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFD);
            case "NFKC" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKC);
            case "NFKD" -> s -> Normalizer.normalize(s, Normalizer.Form.NFKD);
            // The library lowercases character by character, so a final capital sigma becomes σ, not ς as
            // String.toLowerCase would make it at the end of a word.
            case "Lowercase" -> s -> s.replace('\u03A3', '\u03C3').toLowerCase(Locale.ROOT);
            case "Prepend" -> {
                String prefix = text(n, "prepend", where);
                yield s -> s.isEmpty() ? s : prefix + s;
            }
            case "Replace" -> {
                Pattern p = pattern(n.get("pattern"), where);
                String content = Matcher.quoteReplacement(text(n, "content", where));
                yield s -> p.matcher(s).replaceAll(content);
            }
            case "Strip" -> {
                boolean left = n.path("strip_left").asBoolean(true);
                boolean right = n.path("strip_right").asBoolean(true);
                yield s -> strip(s, left, right);
            }
            default -> throw unsupported(where, "normalizer", type,
                    "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip");
        };
    }

    /**
     * Unicode White_Space, which Rust's {@code char::is_whitespace} and regex {@code \s} use. Java's
     * {@code Character.isWhitespace} (and so {@code String.strip}) differs: it leaves out U+0085 and the no-break
     * spaces and counts U+001C..U+001F.
     */
    static boolean isWhiteSpace(int cp) {
        return switch (cp) {
            case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true;
            default -> cp >= 0x2000 && cp <= 0x200A;
        };
    }

    private static String strip(String s, boolean left, boolean right) {
        int from = 0;
        int to = s.length();
        while (left && from < to && isWhiteSpace(s.codePointAt(from))) {
            from += Character.charCount(s.codePointAt(from));
        }
        while (right && to > from && isWhiteSpace(s.codePointBefore(to))) {
            to -= Character.charCount(s.codePointBefore(to));
        }
        return s.substring(from, to);
    }

    // ---------------------------------------------------------------- pre-tokenizers

    static PreTokenizer preTokenizer(JsonNode n, String where) {
        if (n == null || n.isNull()) {
            return pieces -> pieces;
        }
        String type = n.path("type").asText("");
        return switch (type) {
            case "Sequence" -> {
                List<PreTokenizer> parts = new ArrayList<>();
                for (JsonNode c : array(n, "pretokenizers", where)) {
                    parts.add(preTokenizer(c, where));
                }
                yield pieces -> {
                    for (PreTokenizer p : parts) {
                        pieces = p.apply(pieces);
                    }
                    return pieces;
                };
            }
            case "ByteLevel" -> {
                boolean prefixSpace = n.path("add_prefix_space").asBoolean(true);
                Pattern split = n.path("use_regex").asBoolean(true) ? compile(GPT2_PATTERN, where) : null;
                yield pieces -> {
                    List<Piece> out = new ArrayList<>();
                    for (Piece p : pieces) {
                        String s = prefixSpace && !p.text.startsWith(" ") ? " " + p.text : p.text;
                        List<Piece> parts = split == null ? List.of(new Piece(s, p.atStart))
                                : split(new Piece(s, p.atStart), split, "Isolated");
                        for (Piece part : parts) {
                            out.add(new Piece(ByteLevel.encode(part.text), part.atStart));
                        }
                    }
                    return out;
                };
            }
            case "Metaspace" -> {
                String replacement = character(n, "replacement", where);
                String scheme = prependScheme(n);
                boolean splitOn = n.path("split").asBoolean(true);
                Pattern delimiter = Pattern.compile(Pattern.quote(replacement));
                yield pieces -> {
                    List<Piece> out = new ArrayList<>();
                    for (Piece p : pieces) {
                        String s = p.text.replace(" ", replacement);
                        boolean prepend = scheme.equals("always") || (scheme.equals("first") && p.atStart);
                        if (prepend && !s.startsWith(replacement)) {
                            s = replacement + s;
                        }
                        Piece q = new Piece(s, p.atStart);
                        out.addAll(splitOn ? split(q, delimiter, "MergedWithNext") : List.of(q));
                    }
                    return out;
                };
            }
            case "Split" -> {
                if (n.path("invert").asBoolean(false)) {
                    throw unsupported(where, "Split pre-tokenizer with invert", "true", "invert false");
                }
                Pattern p = pattern(n.get("pattern"), where);
                String behavior = n.path("behavior").asText("");
                if (!List.of("Isolated", "Removed", "MergedWithPrevious", "MergedWithNext").contains(behavior)) {
                    throw unsupported(where, "Split behavior", behavior,
                            "Isolated, Removed, MergedWithPrevious, MergedWithNext");
                }
                yield pieces -> {
                    List<Piece> out = new ArrayList<>();
                    for (Piece piece : pieces) {
                        out.addAll(split(piece, p, behavior));
                    }
                    return out;
                };
            }
            default -> throw unsupported(where, "pre-tokenizer", type, "Sequence, ByteLevel, Metaspace, Split");
        };
    }

    /** The Metaspace prepend scheme, from {@code prepend_scheme} or the older {@code add_prefix_space}. */
    static String prependScheme(JsonNode n) {
        if (n.hasNonNull("prepend_scheme")) {
            return n.get("prepend_scheme").asText();
        }
        return n.path("add_prefix_space").asBoolean(true) ? "always" : "never";
    }

    /** Splits a piece at the pattern's matches as Hugging Face's {@code SplitDelimiterBehavior} does. */
    static List<Piece> split(Piece piece, Pattern pattern, String behavior) {
        String s = piece.text;
        List<String> parts = new ArrayList<>();
        Matcher m = pattern.matcher(s);
        int last = 0;
        String pendingDelimiter = null;
        while (m.find()) {
            if (m.end() == m.start()) {
                continue;
            }
            String gap = s.substring(last, m.start());
            String match = m.group();
            switch (behavior) {
                case "Isolated" -> {
                    parts.add(gap);
                    parts.add(match);
                }
                case "Removed" -> parts.add(gap);
                case "MergedWithPrevious" -> parts.add(gap + match);
                default -> { // MergedWithNext
                    parts.add((pendingDelimiter == null ? "" : pendingDelimiter) + gap);
                    pendingDelimiter = match;
                }
            }
            last = m.end();
        }
        String tail = s.substring(last);
        parts.add(pendingDelimiter == null ? tail : pendingDelimiter + tail);
        List<Piece> out = new ArrayList<>();
        boolean first = piece.atStart;
        for (String part : parts) {
            if (!part.isEmpty()) {
                out.add(new Piece(part, first));
            }
            // Only the piece at offset 0 of the input is "at start", and an empty one is dropped but still first.
            first = false;
        }
        return out;
    }

    // ---------------------------------------------------------------- decoders

    static Decoder decoder(JsonNode n, String where) {
        if (n == null || n.isNull()) {
            // Without a decoder Hugging Face joins the tokens with spaces.
            return tokens -> List.of(String.join(" ", tokens));
        }
        String type = n.path("type").asText("");
        return switch (type) {
            case "Sequence" -> {
                List<Decoder> parts = new ArrayList<>();
                for (JsonNode c : array(n, "decoders", where)) {
                    parts.add(decoder(c, where));
                }
                yield tokens -> {
                    for (Decoder d : parts) {
                        tokens = d.apply(tokens);
                    }
                    return tokens;
                };
            }
            case "ByteLevel" -> tokens -> {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                tokens.forEach(t -> ByteLevel.decode(t, bytes));
                return List.of(bytes.toString(StandardCharsets.UTF_8));
            };
            case "Metaspace" -> {
                String replacement = character(n, "replacement", where);
                boolean dropFirst = !prependScheme(n).equals("never");
                yield tokens -> {
                    List<String> out = new ArrayList<>();
                    for (int i = 0; i < tokens.size(); i++) {
                        // As in Hugging Face: in the first token every replacement character goes, not only the
                        // leading one; elsewhere each becomes a space.
                        out.add(tokens.get(i).replace(replacement, i == 0 && dropFirst ? "" : " "));
                    }
                    return out;
                };
            }
            case "Replace" -> {
                Pattern p = pattern(n.get("pattern"), where);
                String content = Matcher.quoteReplacement(text(n, "content", where));
                yield tokens -> tokens.stream().map(t -> p.matcher(t).replaceAll(content)).toList();
            }
            case "ByteFallback" -> TokenizerPipeline::byteFallback;
            case "Fuse" -> tokens -> List.of(String.join("", tokens));
            case "Strip" -> {
                String content = character(n, "content", where);
                int start = n.path("start").asInt(0);
                int stop = n.path("stop").asInt(0);
                yield tokens -> tokens.stream().map(t -> strip(t, content, start, stop)).toList();
            }
            default -> throw unsupported(where, "decoder", type,
                    "Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip");
        };
    }

    /**
     * Runs of {@code <0xXX>} tokens become the text their bytes spell; a run that is not valid UTF-8 becomes one
     * U+FFFD token per byte, as in Hugging Face (later stages such as Strip see them as separate tokens).
     */
    static List<String> byteFallback(List<String> tokens) {
        List<String> out = new ArrayList<>();
        ByteArrayOutputStream run = new ByteArrayOutputStream();
        for (String t : tokens) {
            int b = byteToken(t);
            if (b >= 0) {
                run.write(b);
                continue;
            }
            flush(run, out);
            out.add(t);
        }
        flush(run, out);
        return out;
    }

    private static void flush(ByteArrayOutputStream run, List<String> out) {
        if (run.size() == 0) {
            return;
        }
        byte[] bytes = run.toByteArray();
        run.reset();
        try {
            out.add(StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString());
        } catch (CharacterCodingException e) {
            for (int i = 0; i < bytes.length; i++) {
                out.add("\uFFFD");
            }
        }
    }

    /** The byte of a {@code <0xXX>} token, or -1. */
    static int byteToken(String t) {
        if (t.length() != 6 || !t.startsWith("<0x") || t.charAt(5) != '>') {
            return -1;
        }
        int hi = hexDigit(t.charAt(3));
        int lo = hexDigit(t.charAt(4));
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    /** ASCII only: Character.digit would also read other scripts' digits, which the library does not. */
    private static int hexDigit(char c) {
        return c < 0x80 ? Character.digit(c, 16) : -1;
    }

    private static String strip(String t, String content, int start, int stop) {
        int from = 0;
        while (from < start && t.startsWith(content, from * content.length()) && !content.isEmpty()) {
            from++;
        }
        int begin = from * content.length();
        int end = t.length();
        int removed = 0;
        while (removed < stop && end - content.length() >= begin && !content.isEmpty()
                && t.startsWith(content, end - content.length())) {
            end -= content.length();
            removed++;
        }
        return t.substring(begin, end);
    }

    // ---------------------------------------------------------------- JSON helpers

    /** A {@code {"String": ...}} or {@code {"Regex": ...}} pattern (Oniguruma syntax, read as Java regex). */
    static Pattern pattern(JsonNode n, String where) {
        if (n != null && n.hasNonNull("String")) {
            return Pattern.compile(Pattern.quote(n.get("String").asText()));
        }
        if (n != null && n.hasNonNull("Regex")) {
            return compile(n.get("Regex").asText(), where);
        }
        throw corrupt(where, "a pattern is neither {\"String\": ...} nor {\"Regex\": ...}: " + n);
    }

    /** Unicode-aware like Oniguruma: {@code \s} includes every Unicode space. */
    static Pattern compile(String regex, String where) {
        try {
            return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
        } catch (PatternSyntaxException e) {
            throw corrupt(where, "the pattern " + regex + " is not a valid regular expression ("
                    + e.getDescription() + ")");
        }
    }

    static Iterable<JsonNode> array(JsonNode n, String field, String where) {
        JsonNode a = n.get(field);
        if (a == null || !a.isArray()) {
            throw corrupt(where, "a " + n.path("type").asText() + " lacks its '" + field + "' array");
        }
        return a;
    }

    static String text(JsonNode n, String field, String where) {
        JsonNode t = n.get(field);
        if (t == null || !t.isTextual()) {
            throw corrupt(where, "a " + n.path("type").asText() + " lacks its '" + field + "' string");
        }
        return t.asText();
    }

    /** A field the library reads as one character (a Rust {@code char}): anything else does not load there. */
    static String character(JsonNode n, String field, String where) {
        String t = text(n, field, where);
        if (t.codePointCount(0, t.length()) != 1) {
            throw corrupt(where, "a " + n.path("type").asText() + "'s '" + field + "' must be one character, not '"
                    + t + "'");
        }
        return t;
    }

    static SqueezeException corrupt(String where, String what) {
        return new SqueezeException("Corrupt tokenizer file " + where + ": " + what,
                "get a fresh copy of tokenizer.json for this model");
    }

    static SqueezeException unsupported(String where, String stage, String type, String supported) {
        return new SqueezeException("Unsupported tokenizer in " + where + ": " + stage + " '" + type
                + "'; Squeeze supports " + supported, "use a BPE tokenizer of the Llama, Mistral, Qwen2 or GPT-2 kind");
    }
}
