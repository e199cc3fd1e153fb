package dev.squeeze.engine.runs;

/** Thrown by {@link RunHooks#checkCancelled()} when the user cancelled the run; nothing of the run is stored. */
public final class RunCancelledException extends RuntimeException {
    public RunCancelledException(String message) {
        super(message, null, false, false);
    }
}
