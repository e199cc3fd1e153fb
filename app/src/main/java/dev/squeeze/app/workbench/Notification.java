package dev.squeeze.app.workbench;

import java.util.List;

/**
 * One message for the user: a one-line {@code message}, optional {@code details} shown on demand (the fix, the
 * rest of a long message, a diagnostic) and optionally one action (e.g. "Resume") with its button text.
 */
public record Notification(String message, String details, String actionText, Runnable action) {
    public Notification {
        if (message == null || message.isBlank()) {
            throw new IllegalArgumentException("a notification needs a message");
        }
    }

    /**
     * A message as the engine words it ("what happened\n  Fix: what to do"): the first line and the "Fix:" line
     * are the message (a first line ending in ":" also takes the first item of the list after it), the other
     * lines its details.
     */
    public static Notification of(String text) {
        String t = text == null || text.isBlank() ? "Something failed without a message; the log has the details."
                : text.strip();
        List<String> lines = t.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        StringBuilder message = new StringBuilder(lines.getFirst());
        String fix = lines.stream().filter(l -> l.startsWith("Fix:")).findFirst().orElse(null);
        List<String> rest = lines.subList(1, lines.size()).stream().filter(l -> !l.equals(fix)).toList();
        if (message.toString().endsWith(":") && !rest.isEmpty()) {
            // "N problems:" then a list: the first item belongs on the banner, the others behind "Details".
            message.append(' ').append(rest.getFirst().replaceFirst("^[-*•]\\s*", ""));
            if (rest.size() > 1) {
                message.append(" (and ").append(rest.size() - 1).append(" more)");
            }
        }
        if (fix != null) {
            message.append("  ").append(fix); // what to do belongs on the banner, not behind "Details"
        }
        boolean allOnBanner = rest.isEmpty() || (lines.getFirst().endsWith(":") && rest.size() == 1);
        String details = allOnBanner ? null : t.lines().skip(1)
                .filter(l -> !l.isBlank() && !l.strip().equals(fix))
                .map(String::strip).collect(java.util.stream.Collectors.joining("\n"));
        return new Notification(message.toString(), details, null, null);
    }

    /** A message with an action button. */
    public static Notification withAction(String message, String actionText, Runnable action) {
        return new Notification(message, null, actionText, action);
    }

    public boolean hasDetails() {
        return details != null && !details.isBlank();
    }
}
