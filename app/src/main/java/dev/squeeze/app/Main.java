package dev.squeeze.app;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.backend.Backends;
import javafx.application.Application;

/**
 * Entry point of the workbench. It is not the {@link Application} subclass on purpose: with JavaFX on the class
 * path, the JDK launcher refuses to start an Application subclass directly.
 */
public final class Main {
    private Main() {
    }

    /** Exit code of a start that was given a setting it cannot use (as the CLI's usage errors). */
    static final int EXIT_USAGE = 2;

    public static void main(String[] args) {
        String problem = backendSettingsProblem();
        if (problem != null) {
            // A typo in -Dsqueeze.backend* stops the start here, not a job or an evaluation halfway through.
            System.err.println("squeeze: " + problem);
            System.exit(EXIT_USAGE);
        }
        try {
            Application.launch(SqueezeApp.class, args);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            // JavaFX reports a desktop it cannot use (no GTK 3, no OpenGL/software pipeline, no display) by
            // throwing from launch: say what is missing instead of printing its stack trace.
            System.err.println("squeeze: " + cannotStart(e));
            System.exit(3);
        }
    }

    /**
     * The {@code -Dsqueeze.backend*} properties of this JVM checked ({@link Backends#checkSystemProperties()}):
     * null when they are valid (or absent), else what is wrong and what to give instead.
     */
    static String backendSettingsProblem() {
        try {
            Backends.checkSystemProperties();
            return null;
        } catch (SqueezeException e) {
            return e.getMessage();
        }
    }

    /** What to tell a person whose workbench could not start, from JavaFX's start-up failure. */
    static String cannotStart(Throwable e) {
        String what = String.valueOf(e.getMessage());
        String fix;
        if (what.contains("GTK")) {
            fix = "install GTK 3 (Debian/Ubuntu: sudo apt-get install libgtk-3-0 libgl1), or use the headless CLI:"
                    + " ./squeeze --help";
        } else if (what.toLowerCase(java.util.Locale.ROOT).contains("display")) {
            fix = "run it in a desktop session, or on a headless machine: xvfb-run -a ./squeeze";
        } else {
            fix = "check the graphics libraries (GTK 3, OpenGL); the headless CLI needs none: ./squeeze --help";
        }
        return "the workbench cannot start: JavaFX failed to open a window (" + what + ")\n  Fix: " + fix;
    }
}
