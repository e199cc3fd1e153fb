package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.SqueezeException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * What every fuzz target shares: a scratch folder for the input (readers take paths, so each input is written to
 * a file, on {@code /dev/shm} where it exists so that the disk is not the bottleneck), and the one rule of the
 * campaign: a reader may refuse an input only with a {@link SqueezeException}. Anything else that escapes —
 * another exception, an {@link Error} such as {@link OutOfMemoryError} or {@link StackOverflowError}, a hang —
 * is a finding.
 */
public final class FuzzFiles {
    private static final Path SCRATCH = createScratch();

    private FuzzFiles() {
    }

    /** A folder private to this process; cleared of nothing between inputs (targets overwrite their files). */
    public static Path scratch() {
        return SCRATCH;
    }

    /** Writes {@code data} to {@code name} in the scratch folder and returns its path. */
    public static Path write(String name, byte[] data) {
        return write(SCRATCH, name, data);
    }

    /**
     * A sub-folder of the scratch folder, for targets whose files must not see each other (a {@code config.json}
     * makes a folder a Hugging Face model, and the replay test runs every target in one JVM).
     */
    public static Path folder(String name) {
        Path dir = SCRATCH.resolve(name);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("fuzz scratch folder " + dir, e);
        }
        return dir;
    }

    /** Writes {@code data} to {@code name} in {@code dir} and returns its path. */
    public static Path write(Path dir, String name, byte[] data) {
        Path file = dir.resolve(name);
        try {
            Files.write(file, data);
        } catch (IOException e) {
            throw new UncheckedIOException("fuzz scratch file " + file, e);
        }
        return file;
    }

    /**
     * Runs {@code body}; a {@link SqueezeException} is the expected way to refuse a bad input — except while
     * {@link #acceptingOnly} replays valid seeds, which must be read without any refusal.
     */
    public static void refusedOnlyCleanly(ThrowingRunnable body) throws Exception {
        try {
            body.run();
        } catch (SqueezeException expected) {
            if (ACCEPT_ONLY.get()) {
                throw new AssertionError("a valid seed was refused: " + expected.getMessage(), expected);
            }
            if (expected.getMessage() == null || expected.getMessage().isBlank()) {
                throw new AssertionError("a SqueezeException without a message", expected);
            }
        }
    }

    private static final ThreadLocal<Boolean> ACCEPT_ONLY = ThreadLocal.withInitial(() -> false);

    /** Runs {@code body} with refusals treated as failures: seeds are valid inputs and must pass the whole path. */
    static void acceptingOnly(ThrowingRunnable body) throws Exception {
        ACCEPT_ONLY.set(true);
        try {
            body.run();
        } finally {
            ACCEPT_ONLY.set(false);
        }
    }

    /**
     * Runs a target once on each seed before fuzzing starts (Jazzer calls a target's {@code fuzzerInitialize}
     * outside the per-input timeout): class loading and instrumentation of everything the seeds reach takes
     * seconds on a loaded machine and would otherwise be charged to the first input as a "timeout".
     */
    public static void warmUp(FuzzTargets.SeedSource seeds, InputConsumer target) {
        try {
            for (byte[] seed : seeds.seeds().values()) {
                target.accept(seed);
            }
        } catch (Exception e) {
            throw new IllegalStateException("a fuzz target fails on its own seeds", e);
        }
    }

    @FunctionalInterface
    public interface InputConsumer {
        void accept(byte[] data) throws Exception;
    }

    @FunctionalInterface
    public interface ThrowingRunnable {
        void run() throws Exception;
    }

    @FunctionalInterface
    public interface OneInput {
        void fuzzerTestOneInput(byte[] data) throws Exception;
    }

    /**
     * Runs a target once on each of its seeds. Targets call this from {@code fuzzerInitialize}, which Jazzer runs
     * before fuzzing: the first input would otherwise pay for loading and instrumenting every class on its path
     * (Jackson, protobuf, ONNX Runtime's native library), over 20 s on a busy machine, and end as a timeout.
     */
    public static void warmUp(Map<String, byte[]> seeds, OneInput target) throws Exception {
        for (byte[] seed : seeds.values()) {
            target.fuzzerTestOneInput(seed);
        }
    }

    private static void deleteTree(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException ignored) {
            // Best effort at exit.
        }
    }

    private static Path createScratch() {
        Path shm = Path.of("/dev/shm");
        Path parent = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        try {
            Path dir = Files.createTempDirectory(parent, "squeeze-fuzz-");
            // /dev/shm is memory: remove the folder and everything targets wrote into it when the JVM ends
            // (File.deleteOnExit would skip a folder that is not empty). A crash or kill -9 can still leave one.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir), "remove-fuzz-scratch"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a fuzz scratch folder in " + parent, e);
        }
    }
}
