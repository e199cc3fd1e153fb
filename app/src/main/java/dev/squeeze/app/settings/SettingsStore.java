package dev.squeeze.app.settings;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Properties;

/**
 * The workbench's settings as a properties file ({@code settings.properties} in the data folder, see
 * {@link dev.squeeze.engine.store.DataDirs#home()}), or in memory for tests. Writes are whole-file and atomic
 * (a temporary file moved over the old one), so a crash never leaves half a settings file. Thread-safe.
 */
public final class SettingsStore {
    private static final Logger LOG = LoggerFactory.getLogger(SettingsStore.class);
    /** The file's name in the data folder. */
    public static final String FILE_NAME = "settings.properties";

    private final Path file;
    private final Properties values = new Properties();
    private final String loadProblem;

    private SettingsStore(Path file) {
        this.file = file;
        String problem = null;
        if (file != null && Files.exists(file)) {
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                values.load(in);
            } catch (IOException | IllegalArgumentException e) {
                values.clear();
                problem = "The settings file " + file + " could not be read (" + e.getMessage()
                        + "); the defaults are used and the file is rewritten on the next change.";
                LOG.warn("{}", problem);
            }
        }
        this.loadProblem = problem;
    }

    /** Settings kept in {@code file} (read now if it exists; created on the first change). */
    public static SettingsStore file(Path file) {
        return new SettingsStore(file);
    }

    /** Settings that live only as long as this object (tests, embedding). */
    public static SettingsStore inMemory() {
        return new SettingsStore(null);
    }

    /** The file, or null in memory. */
    public Path path() {
        return file;
    }

    /** Why the file could not be read (its defaults were used), or null. */
    public String loadProblem() {
        return loadProblem;
    }

    public synchronized String get(String key) {
        return values.getProperty(key);
    }

    /** Sets (or with null removes) one value; call {@link #save()} to write it. */
    public synchronized void put(String key, String value) {
        if (value == null) {
            values.remove(key);
        } else {
            values.setProperty(key, value);
        }
    }

    /** Writes every value to the file (nothing in memory). Throws with the file's name when it cannot. */
    public void save() throws IOException {
        if (file == null) {
            return;
        }
        Properties copy = new Properties();
        synchronized (this) {
            copy.putAll(values);
        }
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, FILE_NAME, ".tmp");
        try {
            try (Writer out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                copy.store(out, "Squeeze workbench settings (written by the Settings dialog)");
            }
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
