package dev.squeeze.app;

import javafx.application.Application;

/**
 * Entry point of the workbench. It is not the {@link Application} subclass on purpose: with JavaFX on the class
 * path, the JDK launcher refuses to start an Application subclass directly.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        Application.launch(SqueezeApp.class, args);
    }
}
