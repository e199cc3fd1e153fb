package dev.squeeze.engine;

/**
 * An error meant for a person: it says what was wrong, where (file, offset, layer, field) and what to do.
 * The CLI and the app print {@link #getMessage()} and never a stack trace for this type.
 */
public class SqueezeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String fix;

    public SqueezeException(String what, String fix) {
        this(what, fix, null);
    }

    public SqueezeException(String what, String fix, Throwable cause) {
        super(fix == null || fix.isBlank() ? what : what + "\n  Fix: " + fix, cause);
        this.fix = fix;
    }

    /** What the user can do about it, or null when nothing useful can be said. */
    public String fix() {
        return fix;
    }
}
