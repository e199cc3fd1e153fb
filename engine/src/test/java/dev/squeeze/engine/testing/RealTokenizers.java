package dev.squeeze.engine.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the real {@code tokenizer.json} files that {@code .ci/tokenizer-fixtures.sh} unpacks from npm (they are
 * never committed): {@code -Dsqueeze.tokenizers}, else {@code $SQUEEZE_TOKENIZERS}, else
 * {@code <user.home>/.cache/squeeze-test/tokenizers} (the script's default folder when {@code HOME} is the
 * user's home; Java's {@code user.home} ignores a changed {@code HOME}). When a tokenizer is absent the test is
 * skipped with a message, except under CI ({@code CI=true}), where its absence fails the test, as in
 * {@link SharedData}.
 */
public final class RealTokenizers {
    private RealTokenizers() {
    }

    public static Path root() {
        return TestInputs.folder("squeeze.tokenizers", "SQUEEZE_TOKENIZERS",
                Path.of(System.getProperty("user.home"), ".cache", "squeeze-test", "tokenizers"));
    }

    /** The folder holding {@code name}'s tokenizer.json and tokenizer_config.json, or a skip (failure under CI). */
    public static Path require(String name) {
        Path dir = root().resolve(name);
        if (!Files.isRegularFile(dir.resolve("tokenizer.json"))
                || !Files.isRegularFile(dir.resolve("tokenizer_config.json"))) {
            TestInputs.missing("real tokenizer files missing: " + dir + " (run .ci/tokenizer-fixtures.sh " + root()
                    + ", or point -Dsqueeze.tokenizers / SQUEEZE_TOKENIZERS at the folder it filled)");
        }
        return dir;
    }
}
