package dev.squeeze.engine.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the read-only {@code shared/} folder (models, data, reference outputs) that lives beside the project:
 * {@code -Dsqueeze.shared}, else {@code $SQUEEZE_SHARED}, else {@code <project root>/../shared}. When it is
 * absent a test is skipped with a message, except under CI ({@code CI=true}), where it must be there and its
 * absence fails the test.
 */
public final class SharedData {
    private SharedData() {
    }

    public static Path root() {
        String projectRoot = System.getProperty("squeeze.root", Path.of("").toAbsolutePath().getParent().toString());
        return TestInputs.folder("squeeze.shared", "SQUEEZE_SHARED",
                Path.of(projectRoot).toAbsolutePath().normalize().resolveSibling("shared"));
    }

    /** The file at {@code relative} under shared/, or a skip (a failure under CI) when it is missing. */
    public static Path require(String relative) {
        Path p = root().resolve(relative);
        if (!Files.exists(p)) {
            TestInputs.missing("shared data missing: " + p + " (set -Dsqueeze.shared or SQUEEZE_SHARED to the shared/ folder)");
        }
        return p;
    }
}
