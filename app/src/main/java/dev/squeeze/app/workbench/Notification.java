package dev.squeeze.app.workbench;

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
     * are the message, the other lines its details.
     */
    public static Notification of(String text) {
        String t = text == null || text.isBlank() ? "Something failed without a message; the log has the details."
                : text.strip();
        String[] lines = t.split("\\R");
        StringBuilder message = new StringBuilder(lines[0].strip());
        StringBuilder details = new StringBuilder();
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.startsWith("Fix:") && message.indexOf("Fix:") < 0) {
                message.append("  ").append(line); // what to do belongs on the banner, not behind "Details"
            } else if (!line.isEmpty()) {
                details.append(details.isEmpty() ? "" : "\n").append(lines[i].stripTrailing());
            }
        }
        return new Notification(message.toString(), details.isEmpty() ? null : details.toString(), null, null);
    }

    /** A message with an action button. */
    public static Notification withAction(String message, String actionText, Runnable action) {
        return new Notification(message, null, actionText, action);
    }

    public boolean hasDetails() {
        return details != null && !details.isBlank();
    }
}
