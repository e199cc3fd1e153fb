package dev.squeeze.engine.data.text;

/**
 * Text as the tokenizers see it: a Java String may hold unpaired UTF-16 surrogates, which are not Unicode text.
 * Java's UTF-8 encoder would silently turn each into '?', a real character with its own token; the Hugging Face
 * library (Rust strings) cannot even be handed one. Each becomes U+FFFD instead, the replacement character that
 * the decoders also produce for bytes that are not text.
 */
final class WellFormedText {
    private WellFormedText() {
    }

    /** {@code text} itself when it is well formed, else a copy with U+FFFD for each unpaired surrogate. */
    static String of(String text) {
        StringBuilder b = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                if (b != null) {
                    b.append(c).append(text.charAt(i + 1));
                }
                i++;
            } else if (Character.isSurrogate(c)) {
                if (b == null) {
                    b = new StringBuilder(text.length()).append(text, 0, i);
                }
                b.append('\uFFFD');
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? text : b.toString();
    }
}
