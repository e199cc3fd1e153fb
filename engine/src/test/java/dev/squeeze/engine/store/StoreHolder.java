package dev.squeeze.engine.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

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

    /** A child JVM holding a database; closing it lets the child go. */
    public static final class Held implements AutoCloseable {
        private final Process process;

        private Held(Process process) {
            this.process = process;
        }

        @Override
        public void close() throws IOException, InterruptedException {
            process.getOutputStream().close();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    /**
     * Starts a child JVM that opens the database at {@code base} and returns once it holds it; the child's output
     * ends without opening it → {@link AssertionError}.
     */
    public static Held hold(Path base) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process holder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                StoreHolder.class.getName(), base.toString()).redirectErrorStream(true).start();
        Held held = new Held(holder);
        var out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
        String line;
        do {
            line = out.readLine();
        } while (line != null && !line.startsWith("open "));
        if (line == null) {
            held.close();
            throw new AssertionError("the child JVM did not open the database " + base);
        }
        return held;
    }
}
