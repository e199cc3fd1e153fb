package dev.squeeze.engine.plan;

import dev.squeeze.engine.SqueezeException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The problems found in a plan: every one counted, the first {@link #SHOWN} kept for the message. A plan written
 * by a program can be wrong a million times over (one bad name per override); a person needs the first few and
 * the count, not 100 MB of lines — and the reader must not hold them all either.
 */
final class Problems {
    /** Problems shown in a message; the rest are counted. */
    static final int SHOWN = 20;

    private final List<String> shown = new ArrayList<>();
    private int count;

    void add(String problem) {
        if (count++ < SHOWN) {
            shown.add(problem);
        }
    }

    boolean isEmpty() {
        return count == 0;
    }

    /** The problems a message shows: the first {@link #SHOWN}. */
    List<String> shown() {
        return List.copyOf(shown);
    }

    /** All problems added so far, shown or not. */
    int count() {
        return count;
    }

    /** {@code heading (N problems):} and the list, e.g. "The plan is invalid (3 problems): - ... - ...". */
    SqueezeException exception(String heading, String fix) {
        StringBuilder b = new StringBuilder(heading).append(" (")
                .append(String.format(Locale.ROOT, "%,d", count)).append(count == 1 ? " problem" : " problems")
                .append(count > SHOWN ? "; the first " + SHOWN + " follow" : "").append("):");
        for (String p : shown) {
            b.append("\n  - ").append(p);
        }
        if (count > SHOWN) {
            b.append(String.format(Locale.ROOT, "\n  - … and %,d more", count - SHOWN));
        }
        return new SqueezeException(b.toString(), fix);
    }
}
