package dev.squeeze.app.settings;

import dev.squeeze.app.workbench.TaskExecutor;
import dev.squeeze.engine.kernels.Kernels;
import dev.squeeze.engine.store.DataDirs;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The user's settings as properties: database location, kernel backend, worker count, where jobs run
 * ({@link #cluster()}), theme, window bounds and recent models. Every change is written to the
 * {@link SettingsStore} in the background; a failed write is
 * reported through {@code onError}. Needs no JavaFX toolkit.
 */
public final class SettingsViewModel {
    /** How many recent models are remembered. */
    public static final int MAX_RECENT = 10;
    static final String DATABASE = "database";
    static final String KERNELS = "kernels";
    static final String WORKERS = "workers";
    static final String THEME = "theme";
    static final String WINDOW = "window";
    static final String RECENT = "recent.";

    private final SettingsStore store;
    private final TaskExecutor executor;
    private final Consumer<String> onError;
    private final int maxWorkers;
    private final ReadOnlyObjectWrapper<Path> database = new ReadOnlyObjectWrapper<>();
    private final ObjectProperty<KernelBackend> kernelBackend = new SimpleObjectProperty<>(KernelBackend.AUTO);
    private final ReadOnlyStringWrapper kernelNote = new ReadOnlyStringWrapper();
    private final IntegerProperty workers = new SimpleIntegerProperty(1);
    private final ObjectProperty<Theme> theme = new SimpleObjectProperty<>(Theme.LIGHT);
    private final ObservableList<RecentModel> recent = FXCollections.observableArrayList();
    private final String commandLineKernels;
    private final ClusterSettingsViewModel cluster;
    private String backendInUse;

    /**
     * @param store          where the settings live
     * @param executor       runs the file writes and existence checks off the FX thread
     * @param maxWorkers     the largest worker count offered
     * @param defaultWorkers the worker count when none is saved
     * @param onError        a message for the user when the settings cannot be written
     */
    public SettingsViewModel(SettingsStore store, TaskExecutor executor, int maxWorkers, int defaultWorkers,
                             Consumer<String> onError) {
        this.store = store;
        this.executor = executor;
        this.onError = onError;
        this.maxWorkers = maxWorkers;
        this.commandLineKernels = System.getProperty(Kernels.BACKEND_PROPERTY);

        String db = store.get(DATABASE);
        database.set(db == null || db.isBlank() ? null : Path.of(db));
        kernelBackend.set(KernelBackend.parse(store.get(KERNELS)));
        workers.set(clampWorkers(parseInt(store.get(WORKERS), defaultWorkers)));
        theme.set(Theme.parse(store.get(THEME)));
        List<RecentModel> saved = new ArrayList<>();
        for (int i = 0; i < MAX_RECENT; i++) {
            String p = store.get(RECENT + i);
            if (p != null && !p.isBlank()) {
                saved.add(new RecentModel(Path.of(p), true));
            }
        }
        recent.setAll(saved);
        updateKernelNote();
        // A check waits up to a minute for srun: on its own thread, not ahead of the workbench's short reads.
        cluster = new ClusterSettingsViewModel(store, executor.dedicated("squeeze-cluster-check"), this::save);

        kernelBackend.addListener((obs, old, b) -> {
            KernelBackend chosen = b == null ? KernelBackend.AUTO : b;
            applyKernelProperty(chosen);
            store.put(KERNELS, chosen.propertyValue());
            updateKernelNote();
            save();
        });
        workers.addListener((obs, old, n) -> {
            int clamped = clampWorkers(n.intValue());
            if (clamped != n.intValue()) {
                workers.set(clamped);
                return;
            }
            store.put(WORKERS, Integer.toString(clamped));
            save();
        });
        theme.addListener((obs, old, t) -> {
            store.put(THEME, (t == null ? Theme.LIGHT : t).name().toLowerCase(Locale.ROOT));
            save();
        });
    }

    /**
     * Called once at start, before any engine work: a saved kernel backend becomes the system property the
     * engine reads, unless {@code -D}{@value Kernels#BACKEND_PROPERTY} was given on the command line (that wins
     * for this start).
     */
    public void applyAtStart() {
        if (commandLineKernels == null && kernelBackend.get() != KernelBackend.AUTO) {
            applyKernelProperty(kernelBackend.get());
        }
        updateKernelNote();
    }

    private static void applyKernelProperty(KernelBackend b) {
        if (b.propertyValue() == null) {
            System.clearProperty(Kernels.BACKEND_PROPERTY);
        } else {
            System.setProperty(Kernels.BACKEND_PROPERTY, b.propertyValue());
        }
    }

    /**
     * Asks the engine (in the background: the first call loads and self-tests the kernels) which backend this
     * window's process uses for the packed op ({@link Kernels#backendName()}), for the note under the choice.
     */
    public void readBackendInUse() {
        executor.submit(Kernels::backendName, name -> {
            backendInUse = name;
            updateKernelNote();
        }, onError);
    }

    private void updateKernelNote() {
        StringBuilder s = new StringBuilder("Applies to jobs started from now on (each job runs in a new worker);"
                + " the workbench's own evaluations switch at its next start.");
        if (commandLineKernels != null) {
            s.append(" This start was given -D").append(Kernels.BACKEND_PROPERTY).append('=')
                    .append(commandLineKernels).append(" on the command line.");
        }
        if (backendInUse != null) {
            s.append(" In use in this window: ").append(backendInUse)
                    .append(" (the packed kernels of quantized layers).");
        }
        kernelNote.set(s.toString());
    }

    private int clampWorkers(int n) {
        return Math.max(1, Math.min(maxWorkers, n));
    }

    private static int parseInt(String s, int otherwise) {
        try {
            return s == null ? otherwise : Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    /** Writes the settings in the background; a failure is reported once per attempt. */
    private void save() {
        executor.submit(() -> {
            try {
                store.save();
                return Boolean.TRUE;
            } catch (IOException e) {
                throw new dev.squeeze.engine.SqueezeException("Cannot save the settings to " + store.path() + ": "
                        + e.getMessage(), "check that the folder is writable (or set SQUEEZE_HOME to one that is)");
            }
        }, done -> { }, onError);
    }

    /** The chosen results database (its base path, H2 adds .mv.db), or null for the default one. */
    public ReadOnlyObjectProperty<Path> database() {
        return database.getReadOnlyProperty();
    }

    /** The database the workbench opens: the chosen one, else {@link DataDirs#resultsDatabase()}. */
    public Path effectiveDatabase() {
        return database.get() != null ? database.get() : DataDirs.resultsDatabase();
    }

    /**
     * The H2 base path for what the user typed or picked: a {@code .mv.db} file name loses that suffix (H2 adds
     * it); a leading {@code ~} is the home folder.
     */
    public static Path databaseBase(String typed) {
        String t = typed.strip();
        if (t.startsWith("~" + java.io.File.separator) || t.equals("~")) {
            t = System.getProperty("user.home") + t.substring(1);
        }
        if (t.endsWith(".mv.db")) {
            t = t.substring(0, t.length() - ".mv.db".length());
        }
        return Path.of(t).toAbsolutePath().normalize();
    }

    /** The settings file, or null when they are kept in memory. */
    public Path storePath() {
        return store.path();
    }

    /** Why the settings file could not be read at start (defaults used), or null. */
    public String loadProblem() {
        return store.loadProblem();
    }

    /** Remembers {@code base} (null: the default) as the database; call after it was opened successfully. */
    public void setDatabase(Path base) {
        database.set(base);
        store.put(DATABASE, base == null ? null : base.toAbsolutePath().toString());
        save();
    }

    public ObjectProperty<KernelBackend> kernelBackend() {
        return kernelBackend;
    }

    /** When the kernel choice takes effect, and what runs now. */
    public ReadOnlyStringProperty kernelNote() {
        return kernelNote.getReadOnlyProperty();
    }

    /** Jobs running at once, 1 to {@link #maxWorkers()}. */
    public IntegerProperty workers() {
        return workers;
    }

    public int maxWorkers() {
        return maxWorkers;
    }

    /** Where jobs run: this computer or a Slurm cluster, with the cluster's settings. */
    public ClusterSettingsViewModel cluster() {
        return cluster;
    }

    /** The colour theme; views (and JFreeChart views, through {@link Theme#chartBackground()}) follow it. */
    public ObjectProperty<Theme> theme() {
        return theme;
    }

    /** The window's last bounds, or null when none were saved (or they cannot be read). */
    public WindowBounds windowBounds() {
        String s = store.get(WINDOW);
        if (s == null) {
            return null;
        }
        String[] p = s.split(",");
        try {
            WindowBounds b = new WindowBounds(Double.parseDouble(p[0]), Double.parseDouble(p[1]),
                    Double.parseDouble(p[2]), Double.parseDouble(p[3]), p.length > 4 && Boolean.parseBoolean(p[4]));
            boolean finite = Double.isFinite(b.x()) && Double.isFinite(b.y()) && b.width() > 0 && b.height() > 0
                    && Double.isFinite(b.width()) && Double.isFinite(b.height());
            return finite ? b : null;
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            return null;
        }
    }

    /** Remembers the window's bounds (written in the background). */
    public void saveWindowBounds(WindowBounds b) {
        store.put(WINDOW, b.x() + "," + b.y() + "," + b.width() + "," + b.height() + "," + b.maximized());
        save();
    }

    /** The last models opened, newest first, at most {@value #MAX_RECENT}. */
    public ObservableList<RecentModel> recentModels() {
        return recent;
    }

    /** Puts {@code model} first in the recent models (once), dropping the oldest beyond ten. */
    public void addRecent(Path model) {
        Path p = model.toAbsolutePath().normalize();
        List<RecentModel> list = new ArrayList<>(recent);
        list.removeIf(r -> r.path().equals(p));
        list.addFirst(new RecentModel(p, true));
        while (list.size() > MAX_RECENT) {
            list.removeLast();
        }
        recent.setAll(list);
        storeRecent();
    }

    /** Forgets one recent model (e.g. one that is gone). */
    public void removeRecent(Path model) {
        if (recent.removeIf(r -> r.path().equals(model))) {
            storeRecent();
        }
    }

    /** Forgets every recent model. */
    public void clearRecent() {
        recent.clear();
        storeRecent();
    }

    /** Checks in the background which recent models still exist; gone ones are marked (shown greyed). */
    public void checkRecent() {
        List<Path> paths = recent.stream().map(RecentModel::path).toList();
        executor.submit(() -> paths.stream().map(p -> new RecentModel(p, Files.exists(p))).toList(), checked -> {
            if (recent.stream().map(RecentModel::path).toList().equals(paths)) {
                recent.setAll(checked);
            }
        }, onError);
    }

    private void storeRecent() {
        for (int i = 0; i < MAX_RECENT; i++) {
            store.put(RECENT + i, i < recent.size() ? recent.get(i).path().toString() : null);
        }
        save();
    }
}
