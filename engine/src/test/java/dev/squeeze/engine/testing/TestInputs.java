package dev.squeeze.engine.testing;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Path;

/**
 * The one rule for inputs that live outside the repository (../shared, real tokenizer files from npm): a folder
 * is found by a system property, else an environment variable, else a default; when something is missing a test
 * is skipped with a message saying how to provide it, except under CI ({@code CI=true}), where it must be there
 * and its absence fails the test.
 */
final class TestInputs {
    private TestInputs() {
    }

    static Path folder(String property, String environment, Path fallback) {
        String prop = System.getProperty(property);
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        String env = System.getenv(environment);
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return fallback;
    }

    /** Skips the test (fails it under CI) with {@code message}. */
    static void missing(String message) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            throw new AssertionError(message + "; under CI it must be present");
        }
        Assumptions.abort(message);
    }
}
