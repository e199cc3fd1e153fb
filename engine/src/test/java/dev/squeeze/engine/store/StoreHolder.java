package dev.squeeze.engine.store;

import java.nio.file.Path;

/** Child-JVM helper for tests: opens a file database, says so on stdout, and holds it until stdin closes. */
public final class StoreHolder {
    private StoreHolder() {
    }

    public static void main(String[] args) throws Exception {
        try (ResultsStore store = ResultsStore.openFile(Path.of(args[0]))) {
            System.out.println("open " + store.location());
            System.out.flush();
            while (System.in.read() >= 0) {
                // Hold the database until the parent closes our stdin (or the test kills us).
            }
        }
    }
}
