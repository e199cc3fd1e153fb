package dev.squeeze.engine.store;

import java.nio.file.Path;

/**
 * Where Squeeze keeps its files: {@code -Dsqueeze.home}, else {@code $SQUEEZE_HOME}, else
 * {@code $XDG_DATA_HOME/squeeze}, else {@code ~/.local/share/squeeze}.
 */
public final class DataDirs {
    private DataDirs() {
    }

    public static Path home() {
        String prop = System.getProperty("squeeze.home");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String env = System.getenv("SQUEEZE_HOME");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String xdg = System.getenv("XDG_DATA_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "squeeze");
        }
        return Path.of(System.getProperty("user.home"), ".local", "share", "squeeze");
    }

    /** The results database's base path (H2 adds {@code .mv.db}). */
    public static Path resultsDatabase() {
        return home().resolve("results");
    }
}
