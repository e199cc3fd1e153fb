package dev.squeeze.engine.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Child-JVM helper for tests: opens a file database, says so on stdout, and holds it until stdin closes. With
 * {@code --plain-h2} it opens the file with plain H2 as an older Squeeze would (no schema check, no upgrade).
 */
public final class StoreHolder {
    private StoreHolder() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 1 && args[1].equals("--plain-h2")) {
            try (var c = java.sql.DriverManager.getConnection("jdbc:h2:file:" + Path.of(args[0]).toAbsolutePath()
                    + ";WRITE_DELAY=0;TRACE_LEVEL_FILE=0;DB_CLOSE_ON_EXIT=FALSE", "sa", "")) {
                System.out.println("open " + c.getMetaData().getURL());
                System.out.flush();
                while (System.in.read() >= 0) {
                    // Hold it, as above.
                }
            }
            return;
        }
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
        return hold(base, false);
    }

    /** {@link #hold(Path)}; {@code plainH2}: as an older Squeeze holds it (plain H2, no upgrade). */
    public static Held hold(Path base, boolean plainH2) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                StoreHolder.class.getName(), base.toString()));
        if (plainH2) {
            cmd.add("--plain-h2");
        }
        Process holder = new ProcessBuilder(cmd).redirectErrorStream(true).start();
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
