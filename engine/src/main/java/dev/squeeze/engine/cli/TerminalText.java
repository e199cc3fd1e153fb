package dev.squeeze.engine.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.util.Locale;

/**
 * The CLI's output as text, whatever the user's files are called. File names, layer names, labels and tags come
 * from users and from model files; printed raw, an escape sequence in one of them recolours, hides or rewrites what
 * the terminal shows (or retitles the window, or writes the clipboard). Every byte the CLI writes goes through
 * {@link #escaping}, which writes control characters as {@code \x1b}, Unicode direction overrides as
 * {@code \u202e}; line breaks and tabs stay. One place, so that no message can forget it.
 *
 * <p>Squeeze's own terminal control — picocli's coloured help, the progress line's carriage return — is written
 * to {@link #raw} and contains no user text.
 */
final class TerminalText {
    private TerminalText() {
    }

    /** {@code s} with every character that would control the terminal written out as an escape. */
    static String escape(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (controls(c) && !lineBreak(c, i + 1 < s.length() ? s.charAt(i + 1) : 0)) {
                if (b == null) {
                    b = new StringBuilder(s.length() + 16).append(s, 0, i);
                }
                appendEscape(b, c);
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    /**
     * C0 and C1 controls (ESC, CR, BEL, DEL, CSI …) but line feed and tab; line and paragraph separators; the
     * bidirectional marks, embeddings, overrides and isolates ("Trojan Source").
     */
    static boolean controls(char c) {
        if (c == '\n' || c == '\t') {
            return false;
        }
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029' || c == '\u061c'
                || c == '\u200e' || c == '\u200f' || (c >= '\u202a' && c <= '\u202e')
                || (c >= '\u2066' && c <= '\u2069');
    }

    /** CR LF: the line separator println writes on Windows (in one piece). */
    private static boolean lineBreak(char c, int next) {
        return c == '\r' && next == '\n';
    }

    private static void appendEscape(StringBuilder b, char c) {
        b.append(String.format(Locale.ROOT, c <= 0xff ? "\\x%02x" : "\\u%04x", (int) c));
    }

    /** A writer that escapes everything written to it and passes it to {@code raw}. */
    static PrintWriter escaping(PrintWriter raw) {
        return raw instanceof Escaping ? raw : new Escaping(raw);
    }

    /** The unescaped writer under {@code w}, for text that is Squeeze's own terminal control. */
    static PrintWriter raw(PrintWriter w) {
        return w instanceof Escaping e ? e.raw : w;
    }

    private static final class Escaping extends PrintWriter {
        final PrintWriter raw;

        Escaping(PrintWriter raw) {
            // Auto-flush as the CLI's writers do; PrintWriter adds no buffer, so this output and raw output stay
            // in the order they were written.
            super(new EscapingWriter(raw), true);
            this.raw = raw;
        }
    }

    private static final class EscapingWriter extends Writer {
        private final PrintWriter out;

        EscapingWriter(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void write(char[] buf, int off, int len) {
            int start = off;
            int end = off + len;
            for (int i = off; i < end; i++) {
                if (controls(buf[i]) && !lineBreak(buf[i], i + 1 < end ? buf[i + 1] : 0)) {
                    out.write(buf, start, i - start);
                    StringBuilder b = new StringBuilder(6);
                    appendEscape(b, buf[i]);
                    out.write(b.toString());
                    start = i + 1;
                }
            }
            out.write(buf, start, end - start);
        }

        @Override
        public void flush() {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }
}
