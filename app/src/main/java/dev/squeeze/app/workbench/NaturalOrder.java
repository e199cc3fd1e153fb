package dev.squeeze.app.workbench;

import java.util.Comparator;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How table columns whose cells are text sort: numbers as numbers ({@code 9} before {@code 10}, {@code 64}
 * before {@code 128}, {@code 1,290} as 1290, {@code 51 %}), durations as durations ({@code 3:55} before
 * {@code 10:02}, {@code 1:02:03}, an estimate {@code ~0:42}); words after the numbers, alphabetically; "no value"
 * (blank or a dash) last.
 */
public final class NaturalOrder {
    private static final Pattern DURATION = Pattern.compile("~?(\\d+):(\\d{2})(?::(\\d{2}))?");
    private static final Pattern NUMBER = Pattern.compile("[-+]?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?");

    /** Numbers and durations first, in value order; the rest after them, alphabetically. Nulls last. */
    public static final Comparator<String> TEXT = NaturalOrder::compare;

    private NaturalOrder() {
    }

    /** The value a cell's text sorts by, or NaN when it is not a number or a duration. */
    public static double value(String text) {
        if (text == null) {
            return Double.NaN;
        }
        String t = text.strip().replace(",", "").replace("≈", "").replace("%", "").strip();
        Matcher d = DURATION.matcher(t);
        if (d.matches()) {
            long a = Long.parseLong(d.group(1));
            long b = Long.parseLong(d.group(2));
            return d.group(3) == null ? a * 60 + b : (a * 60 + b) * 60 + Long.parseLong(d.group(3));
        }
        return NUMBER.matcher(t).matches() ? Double.parseDouble(t) : Double.NaN;
    }

    private static int compare(String a, String b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : 1) : -1;
        }
        int ra = rank(a);
        int rb = rank(b);
        if (ra != rb) {
            return Integer.compare(ra, rb);
        }
        return ra == 0 ? Double.compare(value(a), value(b)) : a.toLowerCase(Locale.ROOT).compareTo(b.toLowerCase(Locale.ROOT));
    }

    /** 0 for a number or duration, 1 for other text, 2 for "no value" (blank or a dash). */
    private static int rank(String s) {
        if (!Double.isNaN(value(s))) {
            return 0;
        }
        String t = s.strip();
        return t.isEmpty() || t.equals("—") || t.equals("-") || t.equals("–") ? 2 : 1;
    }
}
